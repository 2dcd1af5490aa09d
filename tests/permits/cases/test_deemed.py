"""Deemed acceptance (行政许可法 第三十二条): 5 working days without a decision → accepted from receipt.

Time travel on the loaded calendar: across the 2026 Spring Festival (with its 调休 Saturday) and a 调休 weekend
of the 2027 notice; the sweep is idempotent and skips (and records, once) what the calendar cannot count.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import delete, select

from app.audit.models import AuditEntry
from app.core.time import FakeClock
from app.extensions import db
from app.permits.calendar.models import CalendarDay
from app.permits.cases import services, tasks
from app.permits.cases.models import ApplicationStatus, StepKind
from tests.permits.cases.helpers import people, submit, who

BEIJING = ZoneInfo("Asia/Shanghai")


def _at(clock: FakeClock, year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> None:
    """Beijing wall-clock time on the fake clock."""
    clock.set(datetime(year, month, day, hour, minute, tzinfo=BEIJING))


def _sweep(app: Flask) -> dict[str, int]:
    with app.test_request_context():
        out = tasks.deem_overdue()
        db.session.commit()
        return dict(out or {})


def test_deemed_at_exactly_five_working_days_across_the_spring_festival(desk_app: Flask, clock: Any) -> None:
    p = people(desk_app)
    # Received Thursday 2026-02-12. Working days after it: Fri 13, Sat 14 (调休上班), then the holiday to Mon 23,
    # Tue 24, Wed 25, Thu 26: the desk may decide until the end of Thursday 2026-02-26.
    _at(clock, 2026, 2, 12, 15)
    with desk_app.test_request_context():
        app_id = submit(who(p["applicant"])).id
        db.session.commit()
        assert services.decision_due(services.get_application(app_id)) == date(2026, 2, 26)
    _at(clock, 2026, 2, 26, 23, 59)
    assert _sweep(desk_app) == {"deemed": 0, "skipped": 0}
    with desk_app.test_request_context():
        assert services.get_application(app_id).status is ApplicationStatus.RECEIVED
    _at(clock, 2026, 2, 27, 0, 0)
    assert _sweep(desk_app) == {"deemed": 1, "skipped": 0}
    assert _sweep(desk_app) == {"deemed": 0, "skipped": 0}  # idempotent
    with desk_app.test_request_context():
        row = services.get_application(app_id)
        assert row.status is ApplicationStatus.ACCEPTED and row.is_deemed and "第三十二条" in row.deemed_rule
        # Accepted from the day of receipt: 4 working days from 02-12 → 13, 14, 24, 25; promised 1 → 13.
        assert row.accepted_on == date(2026, 2, 12) and row.case_number == "2026-0001"
        assert (row.statutory_due, row.promised_due) == (date(2026, 2, 25), date(2026, 2, 13))
        assert row.decided_by_id is None and row.steps[-1].kind is StepKind.DEEMED
        entry = db.session.execute(select(AuditEntry).order_by(AuditEntry.index.desc())).scalars().first()
        assert entry is not None and entry.action == "permits.application.deemed_accepted"
        assert entry.data["accepted_on"] == "2026-02-12" and entry.data["deadline"] == "2026-02-26"


def test_a_make_up_weekend_counts_and_a_notice_stops_the_clock(desk_app: Flask, clock: Any) -> None:
    p = people(desk_app)
    # 2027 notice (tests/permits/calendar_helpers.py): Sunday 2027-04-25 is worked (劳动节 调休), 05-01..05 off.
    # Received Wednesday 04-21: Thu 22, Fri 23, Sun 25 (调休), Mon 26, Tue 27 → deadline Tuesday 04-27.
    _at(clock, 2027, 4, 21, 10)
    with desk_app.test_request_context():
        late = submit(who(p["applicant"])).id
        noticed = submit(who(p["applicant"])).id
        db.session.commit()
        assert services.decision_due(services.get_application(late)) == date(2027, 4, 27)
    _at(clock, 2027, 4, 27, 17)
    with desk_app.test_request_context():
        services.request_correction(actor=who(p["desk"]), application=services.get_application(noticed))
        db.session.commit()
    _at(clock, 2027, 4, 28, 8)
    assert _sweep(desk_app) == {"deemed": 1, "skipped": 0}
    with desk_app.test_request_context():
        assert services.get_application(late).accepted_on == date(2027, 4, 21)
        assert services.get_application(noticed).status is ApplicationStatus.CORRECTION_REQUESTED


def test_resubmission_restarts_the_five_days(desk_app: Flask, clock: Any) -> None:
    from tests.permits.cases.helpers import attach_all

    p = people(desk_app)
    _at(clock, 2026, 3, 2, 9)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        services.request_correction(actor=who(p["desk"]), application=row)
        db.session.commit()
        row_id = row.id
    _at(clock, 2026, 3, 20, 9)  # Friday; the applicant corrects weeks later
    with desk_app.test_request_context():
        row = services.get_application(row_id)
        attach_all(who(p["applicant"]), row)
        services.resubmit_application(actor=who(p["applicant"]), application=services.get_application(row.id))
        db.session.commit()
    _at(clock, 2026, 3, 27, 9)  # Friday: Mon 23 … Fri 27 is the 5th working day
    assert _sweep(desk_app)["deemed"] == 0
    _at(clock, 2026, 3, 28, 9)
    assert _sweep(desk_app)["deemed"] == 1
    with desk_app.test_request_context():
        assert services.get_application(row_id).accepted_on == date(2026, 3, 20)


def test_calendar_not_loaded_skips_and_records_once(desk_app: Flask, clock: Any) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        db.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(2027, 1, 1)))
        db.session.commit()
    _at(clock, 2026, 12, 28, 9)  # Monday; its 5th working day after falls in 2027, which is not loaded
    with desk_app.test_request_context():
        stuck = submit(who(p["applicant"])).id
        db.session.commit()
    _at(clock, 2026, 12, 14, 9)
    with desk_app.test_request_context():
        fine = submit(who(p["applicant"])).id  # received 12-14: deadline Monday 12-21
        db.session.commit()
    _at(clock, 2027, 1, 10, 9)
    assert _sweep(desk_app) == {"deemed": 1, "skipped": 1}
    assert _sweep(desk_app) == {"deemed": 0, "skipped": 1}
    with desk_app.test_request_context():
        assert services.get_application(fine).is_deemed
        row = services.get_application(stuck)
        assert row.status is ApplicationStatus.RECEIVED and "2026-12-31" in row.sweep_problem
        skipped = (
            db.session.execute(select(AuditEntry).where(AuditEntry.action == "permits.application.deemed_skipped"))
            .scalars()
            .all()
        )
        assert len(skipped) == 1 and skipped[0].subject == row.audit_ref
        assert [s.kind for s in row.steps].count(StepKind.SWEEP_SKIPPED) == 1
