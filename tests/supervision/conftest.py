"""Supervision fixtures: the permits desk (catalogue and calendar, Monday 2026-03-02 09:00 in Beijing), helpers to
ingest the evidence log and sweep the lights as the worker does (each run committed)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.permits.cases.conftest import desk_app  # noqa: F401  (the permits desk fixture, reused)
from tests.supervision.followup_helpers import SECRETS, at


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


@pytest.fixture
def red(desk_app: Flask, clock: Any) -> dict[str, Any]:  # noqa: F811  (the fixture, by its name)
    """A red signal (the desk left an application undecided), a supervisor `watcher`, the department's `head`, the
    clerk the signal names, other staff `other` and a leader on duty `leader` (see test_followup.py's dates)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.permits.cases.models import ApplicationChannel
    from app.supervision.models import DepartmentHead, Signal
    from tests.factories import user
    from tests.permits.cases.helpers import DESK_ROLE, submit, who

    clerk, _ = user(desk_app, "clerk", roles=[DESK_ROLE], totp=False, display_name="窗口王五")
    user(desk_app, "other", roles=[DESK_ROLE], totp=False)
    _w, SECRETS["watcher"] = user(desk_app, "watcher", roles=["supervisor"], display_name="监察李四")
    leader, SECRETS["leader"] = user(desk_app, "leader", roles=["duty_leader"], totp=True, display_name="副市长赵六")
    head, _ = user(desk_app, "head", roles=[DESK_ROLE], totp=False)
    with desk_app.app_context():
        application = submit(who(clerk), channel=ApplicationChannel.DESK)
        department = application.item.department.name
        db.session.add(DepartmentHead(user_id=head, department=department))
        db.session.commit()
    clock.set(at(10, 10))
    assert sweep(desk_app)["red"] == 1
    with desk_app.app_context():
        signal_id = db.session.scalar(select(Signal.id))
    return {"signal": signal_id, "department": department, "leader": leader, "clerk": clerk}
