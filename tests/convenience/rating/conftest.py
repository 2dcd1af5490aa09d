"""好差评 fixtures: the demo floor with the catalogue, storage and the 2026 working-day calendar."""

from __future__ import annotations

import pytest
from flask import Flask


@pytest.fixture
def rated_floor(floor: Flask) -> Flask:
    """The demo floor, the demo catalogue, storage and the 2026 working-day calendar (Monday 2026-12-07 09:00)."""
    from app.core.storage import get_storage
    from app.extensions import db
    from app.permits.calendar import services as calendar
    from app.permits.catalogue import services as catalogue

    with floor.app_context():
        get_storage().ensure_buckets()
        catalogue.load_catalogue_file(catalogue.DEMO_CATALOGUE, actor="system:test")
        calendar.seed(2026, 2026)
        db.session.commit()
    return floor
