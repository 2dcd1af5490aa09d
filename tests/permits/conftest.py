"""Permits test fixtures: the app of tests/conftest.py with the demo catalogue loaded."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.accounts.helpers import compile_translations


@pytest.fixture
def catalogue(app: Flask) -> Flask:
    """The demo catalogue (demo_catalogue.json and its files), loaded and committed."""
    from app.core.storage import get_storage
    from app.extensions import db
    from app.permits.catalogue import services

    compile_translations()
    with app.app_context():
        get_storage().ensure_buckets()
        services.load_catalogue_file(services.DEMO_CATALOGUE, actor="system:test")
        db.session.commit()
    return app


@pytest.fixture
def demo_data() -> dict[str, Any]:
    import json

    from app.permits.catalogue.services import DEMO_CATALOGUE

    return dict(json.loads(DEMO_CATALOGUE.read_text(encoding="utf-8")))
