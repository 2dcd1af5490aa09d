"""Extreme instants on the recordings API and pages (schedules, exports, grants): a 4xx answer, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.recordings.conftest import create_room, csrf_of, user_client

EXTREMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "3000-01-01T00:00:00Z"]


def _count(app: Flask, model: Any) -> int:
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _pending_session(app: Flask) -> int:
    from app.extensions import db
    from app.recordings import services

    create_room(app)
    with app.app_context():
        session = services.request_start("room-a", actor="test", subject="tender:1")
        db.session.commit()
        return int(session.id)


@pytest.mark.parametrize("value", EXTREMES)
def test_extreme_instants_on_the_recordings_api_are_422(app: Flask, value: str) -> None:
    from app.recordings.models import RecordingExport, RecordingGrant, RecordingSchedule

    sid = _pending_session(app)
    agency = user_client(app, "agency1", ["agency"])
    token = {"X-CSRFToken": csrf_of(agency)}
    good = "2026-03-02T09:30:00+08:00"
    for body in ({"starts_at": value, "ends_at": good}, {"starts_at": good, "ends_at": value}):
        resp = agency.post("/api/v1/recordings/schedules", json={"room": "room-a", **body}, headers=token)
        assert resp.status_code == 422, resp.get_json()
        assert resp.mimetype == "application/problem+json"
    auditor = user_client(app, "auditor1", ["auditor"])
    token = {"X-CSRFToken": csrf_of(auditor)}
    for body in ({"start": value, "end": good}, {"start": good, "end": value}):
        resp = auditor.post(f"/api/v1/recordings/sessions/{sid}/exports", json=body, headers=token)
        assert resp.status_code == 422, resp.get_json()
    resp = auditor.post(
        f"/api/v1/recordings/sessions/{sid}/grants", json={"username": "agency1", "expires_at": value}, headers=token
    )
    assert resp.status_code == 422, resp.get_json()
    assert _count(app, RecordingSchedule) == _count(app, RecordingExport) == _count(app, RecordingGrant) == 0


@pytest.mark.parametrize("local", ["9999-12-31T23:59", "0001-01-01T00:00", "1999-12-31T23:59"])
def test_extreme_local_times_in_the_grant_form_are_refused(app: Flask, local: str) -> None:
    from app.recordings.models import RecordingGrant

    sid = _pending_session(app)
    user_client(app, "expert1", ["expert"])
    auditor = user_client(app, "auditor1", ["auditor"])
    resp = auditor.post(
        f"/recordings/sessions/{sid}/grants",
        data={"csrf_token": csrf_of(auditor), "username": "expert1", "expires_at": local, "reason": "x"},
    )
    assert resp.status_code == 303
    page = auditor.get(resp.headers["Location"]).get_data(as_text=True)
    assert "between the years 2000 and 2999" in page
    assert _count(app, RecordingGrant) == 0
