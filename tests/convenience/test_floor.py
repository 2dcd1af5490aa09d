"""Services, windows, working plans and staff: loading the floor data, sign-on and sign-off."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.time import FakeClock
from tests.convenience.conftest import staff, user, window_id


def _entries(action: str) -> list[Any]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _demo() -> dict[str, Any]:
    from app.convenience.services import DEMO_FLOOR

    return dict(json.loads(DEMO_FLOOR.read_text(encoding="utf-8")))


def test_demo_floor_has_what_the_issue_asks(floor: Flask) -> None:
    from app.convenience.models import Service, Window, WorkingPlan
    from app.extensions import db

    with floor.app_context():
        assert db.session.scalar(select(func.count(Service.id))) >= 20
        assert db.session.scalar(select(func.count(Window.id))) >= 8
        windows = list(db.session.scalars(select(Window)))
        for window in windows:  # a week of plans: every working day, some Saturdays
            assert {p.weekday for p in window.plans} >= {0, 1, 2, 3, 4}
        assert db.session.scalar(select(func.count(WorkingPlan.id)).where(WorkingPlan.weekday == 5)) >= 1
        assert db.session.scalar(select(func.count(WorkingPlan.id)).where(WorkingPlan.extended_until.isnot(None)))
        flags = {(s.is_bookable, s.is_at_home, s.is_after_hours) for s in db.session.scalars(select(Service))}
        assert any(f[0] for f in flags) and any(f[1] for f in flags) and any(f[2] for f in flags)
        assert len(_entries("convenience.floor_loaded")) == 1


def test_loading_twice_changes_nothing_and_a_change_is_applied(floor: Flask) -> None:
    from app.convenience import services
    from app.convenience.models import Service, Window
    from app.extensions import db

    data = _demo()
    with floor.app_context():
        assert services.load_floor(data, actor="system:test") == {"created": 0, "updated": 0}
        changed = copy.deepcopy(data)
        changed["services"][0]["average_service_seconds"] = 900
        changed["windows"][0]["plans"] = changed["windows"][0]["plans"][:3]  # Thursday and Friday off
        assert services.load_floor(changed, actor="system:test") == {"created": 0, "updated": 2}
        db.session.commit()
        service = db.session.scalar(select(Service).where(Service.code == data["services"][0]["code"]))
        assert service is not None and service.average_service_seconds == 900
        window = db.session.scalar(select(Window).where(Window.number == "01"))
        assert window is not None and [p.weekday for p in window.plans] == [0, 1, 2]
        assert len(_entries("convenience.floor_loaded")) == 2


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["windows"][0]["plans"][0].update(closes_at="08:00"), "closes_at"),
        (lambda d: d["windows"][0]["plans"][0].update(break_starts_at="07:00"), "break_starts_at"),
        (lambda d: d["windows"][0]["plans"][0].update(break_ends_at=None), "break_ends_at"),
        (lambda d: d["windows"][0]["plans"][1].update(extended_until="17:00"), "extended_until"),
        (lambda d: d["windows"][0]["plans"][0].update(opens_at="8:30"), "opens_at"),
        (lambda d: d["windows"][0]["plans"].append(dict(d["windows"][0]["plans"][0])), "plans"),
        (lambda d: d["services"][0].update(group="nowhere"), "services.0.group"),
        (lambda d: d["services"][1].update(code=d["services"][0]["code"]), "services"),
        (lambda d: d["groups"][1].update(prefix="A"), "groups"),
        (lambda d: d["services"][0].update(average_service_seconds="600"), "average_service_seconds"),
        (lambda d: d["services"][0].update(name="bad\x00name"), "name"),
    ],
)
def test_bad_floor_data_is_refused_and_nothing_stored(app: Flask, clock: FakeClock, mutate: Any, where: str) -> None:
    from app.convenience import services
    from app.convenience.models import Service
    from app.core.errors import ValidationFailed
    from app.extensions import db

    data = _demo()
    mutate(data)
    with app.app_context():
        with pytest.raises(ValidationFailed) as caught:
            services.load_floor(data, actor="system:test")
        assert where in json.dumps(caught.value.extra.get("errors"))
        db.session.rollback()
        assert db.session.scalar(select(func.count(Service.id))) == 0


def test_opening_hours_breaks_and_after_hours(floor: Flask, clock: FakeClock) -> None:
    from app.convenience import services

    w1, w2 = window_id(floor, "01"), window_id(floor, "02")
    with floor.app_context():
        window = services.get_window(w1)  # extended on Tuesdays and Thursdays to 19:00
        other = services.get_window(w2)
        assert services.is_open(window)  # Monday 09:00
        clock.advance(timedelta(hours=3, minutes=30))  # 12:30: the lunch break
        assert not services.is_open(window)
        clock.advance(timedelta(hours=5, minutes=30))  # Monday 18:00: closed
        assert not services.is_open(window)
        clock.advance(timedelta(days=1))  # Tuesday 18:00: after-hours service at 01, not at 02
        assert services.is_open(window) and not services.is_open(other)
        clock.advance(timedelta(hours=1))  # 19:00: the extension is over
        assert not services.is_open(window)
        clock.advance(timedelta(days=5, hours=-5))  # Sunday 14:00
        assert not services.is_open(window)


def test_sign_on_and_off_are_recorded_and_exclusive(floor: Flask) -> None:
    from app.convenience import services
    from app.core.errors import Conflict, PermissionDenied
    from app.extensions import db

    alice = staff(floor, "alice", ("01", "02"))
    bob = staff(floor, "bob", ("01",))
    w1, w2, w3 = window_id(floor, "01"), window_id(floor, "02"), window_id(floor, "03")
    with floor.app_context():
        with pytest.raises(PermissionDenied):
            services.sign_on(actor=user(alice), window_id=w3)  # not her window
        first = services.sign_on(actor=user(alice), window_id=w1)
        assert services.sign_on(actor=user(alice), window_id=w1).id == first.id  # again: nothing new
        with pytest.raises(Conflict):
            services.sign_on(actor=user(alice), window_id=w2)  # one window at a time
        with pytest.raises(Conflict):
            services.sign_on(actor=user(bob), window_id=w1)  # somebody is there
        with pytest.raises(Conflict):
            services.unassign_staff(actor="system:test", window_id=w1, user_id=alice)
        with pytest.raises(Conflict):
            services.sign_off(actor=user(bob), window_id=w1)
        services.sign_off(actor=user(alice), window_id=w1)
        services.sign_on(actor=user(bob), window_id=w1)
        db.session.commit()
        assert [e.data["window"] for e in _entries("convenience.signed_on")] == ["01", "01"]
        assert [e.actor for e in _entries("convenience.signed_off")] == [f"user:{alice}"]
        with pytest.raises(Conflict):
            services.assign_staff(actor="system:test", window_id=w1, user_id=alice)
