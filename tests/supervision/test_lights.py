"""Rules and the lights sweep, by time travel across working days; signals are immutable and name who and which rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from celery import Celery
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.audit.models import AuditEntry
from app.extensions import db
from app.permits.cases import services as cases
from app.permits.cases.models import ApplicationChannel
from app.supervision import lights
from app.supervision.models import Light, MonitoredItem, Rule, Signal, SignalImmutable
from tests.permits.cases.helpers import attach, attach_all, people, submit, who
from tests.supervision.conftest import run_lights, sweep


def at(day: int, hour: int = 9) -> datetime:
    """March 2026, `hour` o'clock in Beijing."""
    return datetime(2026, 3, day, hour, tzinfo=UTC) - timedelta(hours=8)


def _signals(app: Flask) -> list[tuple[str, str, int | None, str, dict[str, Any]]]:
    with app.app_context():
        rows = db.session.execute(
            select(Rule.code, Signal.colour, Signal.person_id, Signal.department, Signal.detail)
            .join(Rule, Signal.rule_id == Rule.id)
            .order_by(Signal.id)
        ).all()
        return [(r[0], str(r[1]), r[2], r[3], dict(r[4])) for r in rows]


def _waiting_application(app: Flask) -> dict[str, int]:
    ids = people(app)
    with app.app_context():
        application = submit(who(ids["desk"]), channel=ApplicationChannel.DESK)
        ids["application"] = application.id
        db.session.commit()
    return ids


def test_yellow_then_red_across_working_days(desk_app: Flask, clock: Any) -> None:
    """Received Monday 03-02; the desk's 5 working days end Monday 03-09."""
    ids = _waiting_application(desk_app)
    assert sweep(desk_app)["signals"] == 0
    clock.set(at(5))  # Thursday: two working days left after today (Fri, Mon), 3 of 5 used
    assert sweep(desk_app)["signals"] == 0
    clock.set(at(6))  # Friday: one working day left
    assert sweep(desk_app) == {"items": 1, "signals": 1, "red": 0, "yellow": 1, "done": 0}
    clock.set(at(7, 15))  # Saturday and Sunday count for nothing
    clock.set(at(8, 20))
    assert sweep(desk_app)["signals"] == 0
    clock.set(at(9))  # Monday, the last day: 5 of 5 working days used
    assert sweep(desk_app)["yellow"] == 1
    clock.set(at(9, 23))
    assert sweep(desk_app)["signals"] == 0  # still in time until midnight
    clock.set(at(10, 0) + timedelta(minutes=1))  # Tuesday 00:01: overdue
    assert sweep(desk_app) == {"items": 1, "signals": 1, "red": 1, "yellow": 0, "done": 0}
    signals = _signals(desk_app)
    assert [s[0] for s in signals] == ["workdays-left-1", "share-used-90", "overdue"]
    assert signals[0][4] == {"workdays_left": 1} and signals[1][4] == {"percent": 100}
    assert signals[2][4] == {"minutes_late": 1}
    assert {s[2] for s in signals} == {ids["desk"]}  # each names the responsible person and the department
    assert all(s[3] for s in signals)
    with desk_app.app_context():
        assert db.session.scalar(select(MonitoredItem.light)) is Light.RED


def test_the_sweep_is_idempotent_and_logs_each_run_that_fired(desk_app: Flask, clock: Any) -> None:
    _waiting_application(desk_app)
    clock.set(at(10))
    first = sweep(desk_app)
    assert first["signals"] == 1  # late at the first look: the red alone (a warning would say nothing new)
    with desk_app.app_context():
        fired = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "supervision.signals.fired")).all()
        assert len(fired) == 1 and fired[0].data["count"] == 1 and fired[0].data["red"] == 1
    assert run_lights(desk_app)["signals"] == 0
    clock.advance(timedelta(days=3))
    assert sweep(desk_app)["signals"] == 0
    with desk_app.app_context():
        assert db.session.scalar(select(func.count(Signal.id))) == 1
        assert (
            db.session.scalar(
                select(func.count(AuditEntry.index)).where(AuditEntry.action == "supervision.signals.fired")
            )
            == 1
        )


def test_a_step_that_overran_is_red_even_when_it_ends_before_anyone_looked(desk_app: Flask, clock: Any) -> None:
    ids = _waiting_application(desk_app)
    with desk_app.app_context():
        from app.permits.catalogue import services as catalogue
        from tests.permits.cases.conftest import ITEM

        # Limits long enough that the accepted cases themselves (their own `case` items) are not late here.
        catalogue.get_item(ITEM).promised_limit_days = 10
        catalogue.get_item(ITEM).statutory_limit_days = 20
        on_time = submit(who(ids["desk"]), channel=ApplicationChannel.DESK)
        attach_all(who(ids["desk"]), on_time)
        cases.accept_application(actor=who(ids["desk"]), application=cases.get_application(on_time.id))
        db.session.commit()
    clock.set(at(10, 10))  # Tuesday: the first application is decided a day late
    with desk_app.app_context():
        late = cases.get_application(ids["application"])
        attach_all(who(ids["desk"]), late)
        cases.accept_application(actor=who(ids["desk"]), application=cases.get_application(late.id))
        db.session.commit()
    result = sweep(desk_app)  # the first look: both items are already closed
    assert result["red"] == 1 and result["yellow"] == 0 and result["done"] == 2
    [(code, colour, person, _dept, detail)] = _signals(desk_app)
    assert (code, colour, person) == ("overdue", "red", ids["desk"])
    assert detail["minutes_late"] == 10 * 60  # Tuesday 10:00 against midnight
    assert sweep(desk_app)["items"] == 0  # judged for good


def test_a_ticket_waiting_turns_yellow_at_90_percent_and_red_after_30_minutes(app: Flask, clock: Any) -> None:
    from app.convenience import queue
    from app.convenience import services as floor
    from tests.convenience.conftest import MONDAY_9

    clock.set(MONDAY_9)
    with app.app_context():
        floor.load_floor_file(floor.DEMO_FLOOR, actor="system:test")
        queue.issue_ticket(service_code="SI-001", channel="kiosk")
        db.session.commit()
    clock.advance(timedelta(minutes=26))
    assert sweep(app)["signals"] == 0
    clock.advance(timedelta(minutes=1))  # 27 of 30 minutes
    assert sweep(app)["yellow"] == 1
    clock.advance(timedelta(minutes=4))
    assert sweep(app)["red"] == 1
    assert [s[0] for s in _signals(app)] == ["share-used-90", "overdue"]


def test_a_second_correction_notice_is_an_event_red(desk_app: Flask, clock: Any) -> None:
    ids = _waiting_application(desk_app)
    with desk_app.app_context():
        application = cases.get_application(ids["application"])
        cases.request_correction(actor=who(ids["desk"]), application=application)
        db.session.commit()
    clock.advance(timedelta(hours=1))
    with desk_app.app_context():
        application = cases.get_application(ids["application"])
        for i in range(len(application.item.materials)):
            attach(who(ids["desk"]), application, i)
        cases.resubmit_application(actor=who(ids["desk"]), application=cases.get_application(application.id))
        cases.request_correction(
            actor=who(ids["lead"]),
            application=cases.get_application(application.id),
            defective=[{"material_id": application.item.materials[0].id, "reason": "印章不清"}],
            override_reason="申请人提交的营业执照复印件印章不清",
        )
        db.session.commit()
    result = sweep(desk_app)
    assert result["signals"] == 0  # no time rule is due: the event fired during the ingest
    [(code, colour, person, department, detail)] = _signals(desk_app)
    assert (code, colour, person) == ("second-correction-notice", "red", ids["desk"]) and department
    assert detail["action"] == "permits.application.correction_requested"


def test_the_most_specific_rule_wins_per_metric() -> None:
    generic = Rule(id=1, code="overdue", metric="overdue", colour=Light.RED, threshold=0)
    opening = Rule(
        id=2, code="opening-late", metric="overdue", colour=Light.RED, threshold=5, floor="tendering", kind="opening"
    )
    share = Rule(id=3, code="share", metric="share_used", colour=Light.YELLOW, threshold=90)
    for r in (generic, opening, share):
        r.department = r.department if r.department else None
        r.floor = r.floor or None
        r.kind = r.kind or None
    assert lights.applicable([generic, opening, share], "tendering", "opening", "") == [opening, share]
    assert lights.applicable([generic, opening, share], "tendering", "publicity", "") == [generic, share]


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_a_signal_never_changes(desk_app: Flask, clock: Any) -> None:
    _waiting_application(desk_app)
    clock.set(at(10))
    sweep(desk_app)
    with desk_app.app_context():
        signal = db.session.scalar(select(Signal).order_by(Signal.id))
        signal.colour = Light.GREEN
        with pytest.raises(SignalImmutable):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.scalar(select(Signal)))
        with pytest.raises(SignalImmutable):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(DBAPIError, match="immutable"):  # and the database itself refuses
            db.session.execute(text("UPDATE supervision_signals SET colour = 'green'"))
        db.session.rollback()
        assert db.session.scalar(select(func.count(Signal.id)).where(Signal.colour == Light.GREEN)) == 0


def test_the_two_sweeps_are_in_the_beat_schedule(app: Flask) -> None:
    from app.core import tasks

    celery = Celery("t")
    tasks.bind(celery)
    schedule = celery.conf.beat_schedule
    assert schedule["supervision.ingest"]["schedule"] == 20
    assert schedule["supervision.lights"]["schedule"] == 60
    assert {"supervision.ingest", "supervision.lights"} <= set(celery.tasks)
    with app.app_context():
        from app import audit

        audit.record("accounts.signed_in", actor="system:test", subject=None)
        db.session.commit()
        assert tasks.declared()["supervision.ingest"].fn()["read"] >= 1
        assert tasks.declared()["supervision.lights"].fn()["signals"] == 0
        db.session.commit()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_log_names_the_signals_the_sweep_wrote(desk_app: Flask, clock: Any) -> None:
    """PostgreSQL takes the sweep's signals by COPY with ids drawn from the sequence first: the evidence-log entry
    names exactly the rows written, and later signals (one by one) draw the next ids without a clash."""
    _waiting_application(desk_app)
    _waiting_application(desk_app)
    clock.set(at(6))
    assert run_lights(desk_app)["signals"] == 0  # nothing ingested yet
    assert sweep(desk_app)["yellow"] == 2
    clock.set(at(10, 0) + timedelta(minutes=1))
    assert sweep(desk_app)["red"] == 2
    with desk_app.app_context():
        ids = list(db.session.scalars(select(Signal.id).order_by(Signal.id)))
        logged = [
            e.data
            for e in db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "supervision.signals.fired").order_by(AuditEntry.index)
            )
        ]
        assert [i for d in logged for i in d["ids"]] == ids and len(ids) == 4
        assert [(d["red"], d["yellow"]) for d in logged] == [(0, 2), (2, 0)]
        later = lights.insert_signals(
            [
                {
                    "dedupe": "event:test",
                    "item_id": None,
                    "rule_id": db.session.scalar(select(Rule.id).where(Rule.code == "deemed-acceptance")),
                    "colour": Light.RED,
                    "floor": "permits",
                    "kind": "desk_decision",
                    "subject": "test",
                    "reference": "T1",
                    "department": "d",
                    "person_id": None,
                    "fired_at": clock.now(),
                    "log_index": None,
                    "detail": {},
                }
            ],
            source="test",
        )
        assert later and later[0] > ids[-1]
        db.session.commit()
