"""Absence and idleness alerts: time travel over the demo floor's Monday (window 01 opens 09:00)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from app.supervision.models import Signal
from tests.convenience.conftest import MONDAY_9, staff, user, window_id


def _camera(app: Flask, number: str = "01") -> int:
    from app.supervision.presence import services

    wid = window_id(app, number)
    with app.app_context():
        services.set_camera(window_id=wid, source="synthetic", seat=(0.3, 0.1, 0.4, 0.7), actor="system:test")
        db.session.commit()
    return wid


def _see(app: Flask, wid: int, clock: Any, present: bool, seconds: int) -> None:
    """The watcher's frames: one every 30 s for `seconds`, the clock following."""
    from app.supervision.presence import services

    with app.app_context():
        for _ in range(0, seconds, 30):
            services.observe(wid, clock.now(), present)
            clock.advance(timedelta(seconds=30))
        services.observe(wid, clock.now(), present)
        db.session.commit()


def _ticket(app: Flask) -> None:
    from app.convenience import queue

    with app.app_context():
        queue.issue_ticket(service_code="SI-001", channel="kiosk")
        db.session.commit()


def _sweep(app: Flask) -> dict[str, int]:
    from app.supervision.presence.alerts import sweep_alerts

    with app.app_context():
        done = sweep_alerts()
        db.session.commit()
        return done


def _signals(app: Flask) -> list[tuple[str, str, str, int | None]]:
    with app.app_context():
        return [
            (s.kind, s.colour.value, s.reference, s.person_id)
            for s in db.session.scalars(select(Signal).order_by(Signal.id))
        ]


def test_an_empty_seat_while_tickets_wait_turns_red_once(floor: Flask, clock: Any) -> None:
    app = floor
    wid = _camera(app)
    clerk = staff(app, "clerk1", ("01",), sign_on="01")
    _see(app, wid, clock, True, 120)
    _ticket(app)
    _see(app, wid, clock, False, 9 * 60)  # empty for 9 minutes: not yet
    assert _sweep(app)["signals"] == 0
    _see(app, wid, clock, False, 90)  # 10.5 minutes
    assert _sweep(app)["signals"] == 1
    assert _signals(app) == [("window_absent", "red", "01号窗口", clerk)]
    assert _sweep(app)["signals"] == 0  # idempotent
    _see(app, wid, clock, False, 120)
    assert _sweep(app)["signals"] == 0  # the same absence: still one signal
    with app.app_context():
        logged = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "supervision.signals.fired").order_by(AuditEntry.index.desc())
        )
        assert logged is not None and logged.data["red"] == 1


def test_no_absence_alert_without_waiting_tickets_outside_hours_or_with_a_dark_camera(floor: Flask, clock: Any) -> None:
    app = floor
    wid = _camera(app)
    _see(app, wid, clock, False, 15 * 60)  # nobody waits
    assert _sweep(app)["signals"] == 0
    _ticket(app)
    clock.advance(timedelta(minutes=5))  # the camera sent nothing for 5 minutes: it says nothing
    assert _sweep(app)["signals"] == 0
    clock.set(MONDAY_9 + timedelta(hours=12))  # 21:00 in the center: closed
    _see(app, wid, clock, False, 15 * 60)
    assert _sweep(app)["signals"] == 0


def test_an_absence_counts_from_the_opening_not_from_the_night(floor: Flask, clock: Any) -> None:
    app = floor
    wid = _camera(app)
    clock.set(MONDAY_9 - timedelta(minutes=90))  # 07:30: empty since before the window opened (08:30)
    _see(app, wid, clock, False, 65 * 60)  # until 08:35
    _ticket(app)
    assert _sweep(app)["signals"] == 0  # 5 minutes into opening hours
    _see(app, wid, clock, False, 6 * 60)
    assert _sweep(app)["signals"] == 1


def test_signed_on_but_not_calling_while_tickets_wait_is_a_yellow_light(floor: Flask, clock: Any) -> None:
    from app.convenience import queue

    app = floor
    clerk = staff(app, "clerk1", ("01",), sign_on="01")
    _ticket(app)
    clock.advance(timedelta(minutes=14))
    assert _sweep(app)["signals"] == 0
    clock.advance(timedelta(minutes=2))
    assert _sweep(app)["signals"] == 1
    assert _signals(app) == [("window_idle", "yellow", "01号窗口", clerk)]
    assert _sweep(app)["signals"] == 0
    wid = window_id(app, "01")
    with app.app_context():  # a call, then the next ticket waits 16 minutes uncalled: a new stretch, a new light
        queue.call_next(actor=user(clerk), window_id=wid)
        queue.serve(actor=user(clerk), window_id=wid)
        db.session.commit()
    _ticket(app)
    clock.advance(timedelta(minutes=16))
    assert _sweep(app)["signals"] == 1
    assert [s[0] for s in _signals(app)] == ["window_idle", "window_idle"]


def test_a_present_seat_raises_nothing(floor: Flask, clock: Any) -> None:
    app = floor
    wid = _camera(app)
    _ticket(app)
    _see(app, wid, clock, True, 20 * 60)
    assert _sweep(app)["signals"] == 0
