"""The case clock: time that does not count toward the limit (行政许可法 第四十五条) — a hearing stopped by hand, the
joint site inspection and its rectification stopping it themselves — with the due dates moved by a day-by-day
reference walk over the calendar table across the 2026 Spring Festival and its 调休 Saturdays; the deadline sweep
(idempotent, paused cases left be); the joint meeting never held; the pages and supervision reading the same dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permits.calendar import services as calendar_services
from app.permits.cases import clock as case_clock
from app.permits.cases import joint, processing
from app.permits.cases.processing_models import CasePause, CaseStepKind
from tests.permits.cases.helpers import who
from tests.permits.cases.joint_helpers import beijing, meeting_case
from tests.permits.cases.processing_helpers import CO, LEAD, accepted_case, at, reviewer
from tests.permits.cases.processing_helpers import sweep as deem_sweep


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _walk(start: date, n: int, skip: set[date]) -> date:
    """The reference: the n-th workday after `start` on the calendar table, one day at a time, skipping `skip`."""
    cal = calendar_services.load_calendar()
    day, count = start, 0
    while True:
        day += timedelta(days=1)
        if day in skip or not cal.is_workday(day):
            continue
        count += 1
        if count == n:
            return day


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=i) for i in range((last - first).days + 1)}


def _deadlines(app: Flask) -> dict[str, int]:
    with app.test_request_context():
        out = case_clock.sweep_deadlines()
        db.session.commit()
        return out


LIMITS = {"promised_limit_days": 10, "statutory_limit_days": 20, "deemed_approval": True}


def test_a_hearing_stops_the_clock_across_the_spring_festival(desk_app: Flask, clock: Any) -> None:
    lead = reviewer(desk_app, LEAD)
    gs = reviewer(desk_app, CO[0])
    at(clock, 2026, 2, 10, 9)  # Tuesday
    app_id, _p = accepted_case(desk_app, **LIMITS)
    with desk_app.test_request_context():
        case = processing.get_case(app_id)
        assert case.promised_due == _walk(date(2026, 2, 10), 10, set()) == date(2026, 3, 2)
        review = processing.current_step(case)
        assert review is not None and review.due_on == date(2026, 2, 24)
    at(clock, 2026, 2, 12, 10)  # Thursday: the hearing starts
    with desk_app.test_request_context():
        with pytest.raises(PermissionDenied):  # a co-department does not stop the lead's clock
            case_clock.pause_clock(actor=who(gs), application=processing.get_case(app_id), reason="hearing", note="x")
        db.session.rollback()
        for reason, note in (("inspection", "听证"), ("nope", "听证"), ("hearing", "  ")):
            with pytest.raises(ValidationFailed):
                case_clock.pause_clock(
                    actor=who(lead), application=processing.get_case(app_id), reason=reason, note=note
                )
            db.session.rollback()
        assert db.session.scalar(select(func.count(CasePause.id))) == 0
        pause = case_clock.pause_clock(
            actor=who(lead), application=processing.get_case(app_id), reason="hearing", note="利害关系人申请听证"
        )
        db.session.commit()
        with pytest.raises(Conflict):  # one open pause of a reason
            case_clock.pause_clock(
                actor=who(lead), application=processing.get_case(app_id), reason="hearing", note="again"
            )
        db.session.rollback()
        case = processing.get_case(app_id)
        assert case.clock_paused_at is not None
        paused = _entries("permits.case.paused")
        assert len(paused) == 1 and paused[0].data["reason"] == "hearing" and paused[0].data["paused"] is True
    # Past the review's original due day while paused: nothing is late, no task is deemed.
    at(clock, 2026, 2, 25, 9)
    assert _deadlines(desk_app) == {"steps": 0, "promised": 0, "statutory": 0}
    assert deem_sweep(desk_app) == {"deemed": 0, "overdue": 0}
    at(clock, 2026, 2, 26, 10)  # Thursday: the hearing is over
    with desk_app.test_request_context():
        case_clock.resume_clock(actor=who(lead), application=processing.get_case(app_id), pause_id=pause.id)
        db.session.commit()
        with pytest.raises(Conflict):  # once
            case_clock.resume_clock(actor=who(lead), application=processing.get_case(app_id), pause_id=pause.id)
        db.session.rollback()
        skip = _days(date(2026, 2, 12), date(2026, 2, 26))
        case = processing.get_case(app_id)
        assert case.clock_paused_at is None
        assert case.promised_due == _walk(date(2026, 2, 10), 10, skip) == date(2026, 3, 10)
        assert case.statutory_due == _walk(date(2026, 2, 10), 20, skip)
        review = processing.current_step(case)
        assert review is not None and review.due_on == _walk(date(2026, 2, 10), 5, skip) == date(2026, 3, 3)
        assert all(t.due_on == review.due_on and t.due_at == review.due_at for t in case.tasks)
        view = case_clock.view(case)
        assert view.paused_workdays == 6  # 12, 13, 14 (调休), 24, 25, 26 February
        resumed = _entries("permits.case.resumed")
        assert resumed[0].data["promised_due"] == "2026-03-10" and resumed[0].data["paused_workdays"] == 6
    at(clock, 2026, 3, 4, 9)  # the review's new due day is past: the step is late, the tasks deemed
    assert _deadlines(desk_app) == {"steps": 1, "promised": 0, "statutory": 0}
    assert _deadlines(desk_app) == {"steps": 0, "promised": 0, "statutory": 0}  # idempotent
    assert deem_sweep(desk_app)["deemed"] == 2
    at(clock, 2026, 3, 11, 9)
    assert _deadlines(desk_app) == {"steps": 0, "promised": 1, "statutory": 0}
    with desk_app.test_request_context():
        (late,) = _entries("permits.case.overdue")
        assert late.data["limit"] == "promised"
        assert late.data["cases"] == [
            {
                "application_id": app_id,
                "case_number": late.data["cases"][0]["case_number"],
                "department": LEAD,
                "due": "2026-03-10",
            }
        ]
        (step,) = _entries("permits.case.step_overdue")
        assert [(s["application_id"], s["step"]) for s in step.data["steps"]] == [(app_id, "review")]


def test_the_decision_waits_for_a_stopped_clock(desk_app: Flask, clock: Any) -> None:
    lead = reviewer(desk_app, LEAD)
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app, co=())
    with desk_app.test_request_context():
        processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="review")
        case_clock.pause_clock(
            actor=who(lead), application=processing.get_case(app_id), reason="expert_review", note="专家评审"
        )
        db.session.commit()
        with pytest.raises(Conflict):
            processing.decide(actor=who(lead), application=processing.get_case(app_id), outcome="approve", reasons="x")
        db.session.rollback()


def test_the_site_inspection_stops_the_clock_itself(desk_app: Flask, clock: Any) -> None:
    lead, gs = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)  # Monday
    app_id, _p = meeting_case(desk_app, co=("HDGSJ",), mode="notify", **LIMITS)
    names = {}
    with desk_app.test_request_context():
        names = {"HDZJ": who(lead).username, "HDGSJ": who(gs).username}
        first = joint.schedule_inspection(
            actor=who(lead),
            application=processing.get_case(app_id),
            starts_at=beijing(2026, 3, 4, 9),
            address="邯郸市丛台路1号",
            inspectors=names,
        ).id
        db.session.commit()
        case = processing.get_case(app_id)
        (pause,) = case.pauses
        assert pause.reason == "inspection" and pause.source == f"permits.inspection:{first}" and pause.ended_at is None
        with pytest.raises(Conflict):  # the inspection's own pause ends with its findings
            case_clock.resume_clock(actor=who(lead), application=case, pause_id=pause.id)
        db.session.rollback()
    at(clock, 2026, 3, 4, 10)  # Wednesday: rectification needed
    with desk_app.test_request_context():
        for user, finding, kw in ((lead, "pass", {}), (gs, "rectify", {"items": "消防通道堆放杂物"})):
            inspection = joint.get_inspection(first)
            joint.report(
                actor=who(user),
                inspection=inspection,
                application=processing.get_case(app_id),
                finding=finding,
                **kw,
            )
        db.session.commit()
        pauses = processing.get_case(app_id).pauses
        assert [(p.reason, p.ended_at is None) for p in pauses] == [("inspection", False), ("rectification", True)]
    at(clock, 2026, 3, 9, 9)  # Monday: the applicant has rectified; the reinspection is scheduled
    with desk_app.test_request_context():
        second = joint.schedule_inspection(
            actor=who(lead),
            application=processing.get_case(app_id),
            starts_at=beijing(2026, 3, 10, 9),
            address="邯郸市丛台路1号",
            inspectors=names,
        ).id
        db.session.commit()
        pauses = processing.get_case(app_id).pauses
        assert [(p.reason, p.ended_at is None) for p in pauses] == [
            ("inspection", False),
            ("rectification", False),
            ("inspection", True),
        ]
    at(clock, 2026, 3, 10, 10)  # Tuesday: passed
    with desk_app.test_request_context():
        for user in (lead, gs):
            joint.report(
                actor=who(user),
                inspection=joint.get_inspection(second),
                application=processing.get_case(app_id),
                finding="pass",
            )
        db.session.commit()
        case = processing.get_case(app_id)
        assert case.clock_paused_at is None and all(p.ended_at is not None for p in case.pauses)
        skip = _days(date(2026, 3, 2), date(2026, 3, 10))  # from the scheduling to the last findings
        assert case.promised_due == _walk(date(2026, 3, 2), 10, skip)
        assert case.statutory_due == _walk(date(2026, 3, 2), 20, skip)
        review = processing.current_step(case)
        assert review is not None and review.kind is CaseStepKind.REVIEW
        assert review.due_on == _walk(date(2026, 3, 2), 5, skip)
        assert len(_entries("permits.case.paused")) == 3 and len(_entries("permits.case.resumed")) == 3


def test_a_joint_meeting_never_held_is_flagged_once(desk_app: Flask, clock: Any) -> None:
    from tests.supervision.conftest import sweep as supervise

    lead = reviewer(desk_app, "HDZJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app)
    with desk_app.test_request_context():
        meeting_id = joint.schedule_meeting(
            actor=who(lead), application=processing.get_case(app_id), starts_at=beijing(2026, 3, 3, 10), place="三楼"
        ).id
        db.session.commit()
    supervise(desk_app)

    def run() -> dict[str, int]:
        with desk_app.test_request_context():
            out = joint.sweep_missed_meetings()
            db.session.commit()
            return out

    at(clock, 2026, 3, 3, 11, 59)  # within the 2-hour margin
    assert run() == {"missed": 0}
    at(clock, 2026, 3, 3, 12, 1)
    assert run() == {"missed": 1}
    assert run() == {"missed": 0}
    supervise(desk_app)
    with desk_app.test_request_context():
        from app.supervision.models import Light, Signal

        (entry,) = _entries("permits.meeting.missed")
        assert entry.data["meeting_id"] == meeting_id and entry.data["margin_minutes"] == 120
        assert joint.missed_meetings(processing.get_case(app_id))[0].id == meeting_id
        signals = [s for s in db.session.scalars(select(Signal)) if s.kind == "joint_meeting"]
        assert len(signals) == 1 and signals[0].colour == Light.RED
        assert signals[0].department == processing.get_case(app_id).item.department.name


def test_supervision_reads_the_stored_due_dates(desk_app: Flask, clock: Any) -> None:
    from app.supervision.models import MonitoredItem
    from tests.supervision.conftest import sweep as supervise

    lead = reviewer(desk_app, LEAD)
    at(clock, 2026, 2, 10, 9)
    app_id, _p = accepted_case(desk_app, co=(), **LIMITS)
    supervise(desk_app)

    def item() -> MonitoredItem:
        return db.session.scalars(select(MonitoredItem).where(MonitoredItem.kind == "case")).one()

    with desk_app.test_request_context():
        assert item().promised_due_at == beijing(2026, 3, 3, 0) - timedelta(microseconds=1)
        at(clock, 2026, 2, 12, 10)
        case_clock.pause_clock(actor=who(lead), application=processing.get_case(app_id), reason="testing", note="检测")
        db.session.commit()
    supervise(desk_app)
    with desk_app.test_request_context():
        assert item().promised_due_at is None and item().statutory_due_at is None
        at(clock, 2026, 2, 26, 10)
        (pause,) = processing.get_case(app_id).pauses
        case_clock.resume_clock(actor=who(lead), application=processing.get_case(app_id), pause_id=pause.id)
        db.session.commit()
    supervise(desk_app)
    with desk_app.test_request_context():
        assert item().promised_due_at == beijing(2026, 3, 11, 0) - timedelta(microseconds=1)
        # 02-12 … 02-26 held six working days (Thu, Fri, the 调休 Saturday 02-14, then 02-24 … 02-26)
        assert item().paused_days == 6


def test_the_days_the_clock_stood_still_are_not_time_used(desk_app: Flask, clock: Any) -> None:
    """Promised 10 working days from 02-11, six of them paused: on 03-09, 15 working days after the start, 9 of the
    10 are used (90 %), not 15 of 16 (93 %)."""
    from app.supervision.models import Rule, Signal
    from tests.supervision.conftest import sweep as supervise

    lead = reviewer(desk_app, LEAD)
    at(clock, 2026, 2, 10, 9)
    app_id, _p = accepted_case(desk_app, co=(), **LIMITS)
    supervise(desk_app)
    with desk_app.test_request_context():
        at(clock, 2026, 2, 12, 10)
        case_clock.pause_clock(actor=who(lead), application=processing.get_case(app_id), reason="testing", note="检测")
        db.session.commit()
        at(clock, 2026, 2, 26, 10)
        (pause,) = processing.get_case(app_id).pauses
        case_clock.resume_clock(actor=who(lead), application=processing.get_case(app_id), pause_id=pause.id)
        db.session.commit()
    supervise(desk_app)

    def share_used() -> list[dict[str, Any]]:
        with desk_app.app_context():
            rows = db.session.execute(
                select(Signal.detail).join(Rule, Signal.rule_id == Rule.id).where(Rule.code == "share-used-90")
            ).scalars()
            return [dict(d) for d in rows]

    at(clock, 2026, 3, 6, 10)  # 14 working days since the start, 8 of them counted: 80 %
    supervise(desk_app)
    assert share_used() == []
    at(clock, 2026, 3, 9, 10)
    supervise(desk_app)
    assert {"percent": 90} in share_used() and {"percent": 93} not in share_used()


def test_the_pages_show_the_time_not_counted(desk_app: Flask, clock: Any) -> None:
    from tests.accounts.helpers import post_form
    from tests.permits.cases.test_processing_pages import _client

    lead = reviewer(desk_app, LEAD)
    at(clock, 2026, 2, 10, 9)
    app_id, _p = accepted_case(desk_app, co=(), **LIMITS)
    at(clock, 2026, 2, 12, 10)
    client = _client(desk_app, lead)
    bad = post_form(client, f"/permits/department/cases/{app_id}/pauses", {"reason": "hearing", "note": ""})
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    ok = post_form(client, f"/permits/department/cases/{app_id}/pauses", {"reason": "hearing", "note": "听证会"})
    assert ok.status_code == 303
    page = client.get(f"/permits/department/cases/{app_id}").get_data(as_text=True)
    assert "计时已暂停" in page or "clock-stopped" in page
    with desk_app.app_context():
        pause_id = db.session.scalars(select(CasePause.id)).one()
    at(clock, 2026, 2, 26, 10)
    client = _client(desk_app, lead)  # signed in again: the session does not last two weeks
    assert post_form(client, f"/permits/department/cases/{app_id}/pauses/{pause_id}/end", {}).status_code == 303
    page = client.get(f"/permits/department/cases/{app_id}").get_data(as_text=True)
    assert "2026-03-10" in page and 'id="case-pauses"' in page
    desk = client.get("/permits/department").get_data(as_text=True)
    assert "2026-03-10" in desk
    with desk_app.app_context():
        from app.permits.cases.api import tracking_url
        from app.permits.cases.services import get_application

        with desk_app.test_request_context():
            url = tracking_url(get_application(app_id))
    tracking = desk_app.test_client().get(url, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'id="case-clock"' in tracking and "2026-03-10" in tracking and "听证" in tracking
