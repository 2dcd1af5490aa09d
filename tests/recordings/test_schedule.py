"""Schedules: the sweep asks for and stops sessions around windows (with margins); a follow-mode recorder
starts and stops by itself; staff start and stop by hand through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.core.time import FakeClock
from tests.recordings.conftest import create_room, csrf_of, record, user_client


def _sessions(app: Flask) -> list[Any]:
    from app.extensions import db
    from app.recordings.models import RecordingSession

    with app.app_context():
        rows = db.session.scalars(select(RecordingSession).order_by(RecordingSession.id)).all()
        db.session.expunge_all()
        return list(rows)


def test_sweep_follows_the_window_and_its_margins(app: Flask, clock: FakeClock) -> None:
    from app.extensions import db
    from app.recordings import services, tasks

    create_room(app)
    opening = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    with app.app_context():
        services.schedule_recording("room-a", "tender:12", opening, opening + timedelta(hours=1))
        db.session.commit()
    clock.set(opening - timedelta(minutes=6))  # default margin: 5 minutes
    with app.app_context():
        assert tasks.apply_schedules_sweep() == []
        db.session.commit()
    clock.set(opening - timedelta(minutes=4))
    with app.app_context():
        changes = tasks.apply_schedules_sweep()
        assert len(changes) == 1 and changes[0].startswith("start ")
        assert tasks.apply_schedules_sweep() == []  # idempotent
        db.session.commit()
    [session] = _sessions(app)
    assert session.status.value == "pending" and session.subject == "tender:12" and session.schedule_id
    with app.app_context():  # the recorder picks it up
        services.begin_session(session.id, recorder="test:1")
        db.session.commit()
    clock.set(opening + timedelta(minutes=64))
    with app.app_context():
        assert tasks.apply_schedules_sweep() == []
        db.session.commit()
    clock.set(opening + timedelta(minutes=65))
    with app.app_context():
        assert tasks.apply_schedules_sweep() == [f"stop {session.key}: window over"]
        db.session.commit()
    [session] = _sessions(app)
    assert session.stop_requested_by == f"schedule:{session.schedule_id}"
    with app.app_context():  # once stopped, the window does not start another session
        assert tasks.apply_schedules_sweep() == []


def test_schedule_rejects_bad_windows(app: Flask) -> None:
    from app.core.errors import NotFound, ValidationFailed
    from app.recordings import services

    create_room(app)
    now = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    with app.app_context():
        for args in [
            (now, now - timedelta(minutes=1)),
            (now, now + timedelta(hours=25)),
            (now.replace(tzinfo=None), now + timedelta(hours=1)),
        ]:
            try:
                services.schedule_recording("room-a", None, *args)
            except ValidationFailed:
                continue
            raise AssertionError(f"accepted {args}")
        try:
            services.schedule_recording("no-room", None, now, now + timedelta(hours=1))
        except NotFound:
            pass
        else:
            raise AssertionError("accepted an unknown room")


def test_follow_mode_records_a_scheduled_window_by_itself(app: Flask) -> None:
    from app.audit.models import AuditEntry
    from app.core.time import now_utc
    from app.extensions import db
    from app.recordings import services

    create_room(app)
    with app.app_context():
        start = now_utc() + timedelta(seconds=2)
        services.schedule_recording(
            "room-a",
            "tender:7",
            start,
            start + timedelta(seconds=4),
            margin_before=timedelta(0),
            margin_after=timedelta(0),
        )
        db.session.commit()
    record(app, seconds=11, follow=True, subject=None)
    [session] = _sessions(app)
    assert session.status.value == "closed" and session.subject == "tender:7"
    assert session.started_at >= start - timedelta(seconds=0.5)
    assert session.stop_requested_by == f"schedule:{session.schedule_id}"
    assert session.ended_at - session.started_at < timedelta(seconds=9)
    with app.app_context():
        started = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "recording.session_started"))
        assert started.subject == "tender:7"


def test_staff_start_and_stop_by_hand(app: Flask) -> None:
    create_room(app)
    agency = user_client(app, "agency1", ["agency"])
    token = {"X-CSRFToken": csrf_of(agency)}
    resp = agency.post("/api/v1/recordings/rooms/room-a/start", json={"subject": "tender:3"}, headers=token)
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["status"] == "pending"
    assert agency.post("/api/v1/recordings/rooms/room-a/start", json={}, headers=token).status_code == 409
    rooms = agency.get("/api/v1/recordings/rooms").get_json()
    assert rooms[0]["active"][0]["subject"] == "tender:3"
    resp = agency.post("/api/v1/recordings/rooms/room-a/stop", headers=token)
    assert resp.status_code == 202 and resp.get_json()[0]["status"] == "cancelled"
    assert agency.post("/api/v1/recordings/rooms/room-a/stop", headers=token).status_code == 409
    assert agency.post("/api/v1/recordings/rooms/nope/start", json={}, headers=token).status_code == 404
    assert (
        agency.post("/api/v1/recordings/rooms/room-a/start", json={"subject": "x y"}, headers=token).status_code == 422
    )
    # the button on the page does the same
    page = agency.get("/recordings/")
    assert page.status_code == 200 and "Start recording" in page.get_data(as_text=True)
    resp = agency.post("/recordings/rooms/room-a/start", data={"csrf_token": csrf_of(agency)})
    assert resp.status_code == 303
    assert [s.status.value for s in _sessions(app)] == ["cancelled", "pending"]
    bidder = user_client(app, "bidder2", ["bidder"])
    assert (
        bidder.post("/api/v1/recordings/rooms/room-a/stop", headers={"X-CSRFToken": csrf_of(bidder)}).status_code == 403
    )
