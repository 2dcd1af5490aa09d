"""Supervision fixtures: the permits desk (catalogue and calendar, Monday 2026-03-02 09:00 in Beijing), helpers to
ingest the evidence log and sweep the lights as the worker does (each run committed)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.permits.cases.conftest import desk_app  # noqa: F401  (the permits desk fixture, reused)


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test asks for PostgreSQL (indirect parametrisation)."""
    return str(getattr(request, "param", "sqlite"))


def run_ingest(app: Flask, **kwargs: Any) -> Any:
    from app.extensions import db
    from app.supervision import ingest

    with app.app_context():
        try:
            batch = ingest.ingest(**kwargs)
            db.session.commit()
        finally:
            db.session.remove()
    return batch


def run_lights(app: Flask) -> dict[str, int]:
    from app.extensions import db
    from app.supervision import lights

    with app.app_context():
        try:
            result = lights.sweep_lights()
            db.session.commit()
        finally:
            db.session.remove()
    return result


def sweep(app: Flask) -> dict[str, int]:
    """What the beat does: ingest everything, then the lights."""
    while run_ingest(app).read:
        pass
    return run_lights(app)
