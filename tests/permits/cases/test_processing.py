"""Case processing: the five steps with due instants from the deadline service (time travel across the 2026 Spring
Festival and 调休 weekends), joint cases (抄告制) with deemed consent at the due instant only where the item allows
it, the chief representatives' authorisations, the sealed decision, bad input storing nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permits.calendar import services as calendar_services
from app.permits.cases import authorisations, processing
from app.permits.cases.authorisations import AuthorisationRefused
from app.permits.cases.processing_models import (
    Authorisation,
    CaseDecision,
    CaseStepKind,
    CaseStepStatus,
    DepartmentTask,
    TaskAnswer,
    TaskStatus,
)
from app.permits.catalogue import services as catalogue
from tests.permits.cases.conftest import ITEM
from tests.permits.cases.helpers import attach_all, people, submit, who
from tests.permits.cases.processing_helpers import BEIJING, CO, LEAD, accepted_case, at, reviewer, sweep


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _steps(app_id: int) -> dict[CaseStepKind, Any]:
    return {s.kind: s for s in processing.get_case(app_id).case_steps}


def _task(app_id: int, code: str) -> DepartmentTask:
    return next(t for t in processing.get_case(app_id).tasks if t.department.code == code)


# --- the split -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [(0, (0, 0, 0, 0)), (1, (1, 0, 0, 0)), (4, (2, 1, 1, 0)), (10, (5, 2, 2, 1)), (15, (8, 3, 3, 1))],
)
def test_the_promised_limit_is_split_between_the_steps(days: int, expected: tuple[int, ...]) -> None:
    parts = processing.split_days(days)
    assert tuple(parts[k] for k in processing.STEP_SHARES) == expected
    assert sum(parts.values()) == days


# --- steps and due instants across the Spring Festival ---------------------------------------------------


def test_step_due_instants_across_the_spring_festival_and_a_make_up_saturday(desk_app: Flask, clock: Any) -> None:
    lead = reviewer(desk_app, LEAD)
    # Accepted Thursday 2026-02-12 with a promised limit of 10 working days: 审查 5, 决定 2, 制证 2, 送达 1.
    at(clock, 2026, 2, 12, 10)
    app_id, _p = accepted_case(desk_app, co=(), promised_limit_days=10)
    with desk_app.test_request_context():
        steps = _steps(app_id)
        assert [s.kind for s in processing.get_case(app_id).case_steps] == list(processing.STEP_ORDER)
        assert steps[CaseStepKind.ACCEPTANCE].status is CaseStepStatus.DONE
        review = steps[CaseStepKind.REVIEW]
        # Fri 13, Sat 14 (调休上班), the holiday 15–23, Tue 24, Wed 25, Thu 26 → due Thursday 2026-02-26.
        assert review.status is CaseStepStatus.OPEN and review.share_days == 5
        assert review.due_on == date(2026, 2, 26)
        assert review.due_at == datetime(2026, 2, 27, 0, 0, tzinfo=BEIJING)
        assert steps[CaseStepKind.DECISION].due_at is None  # computed when it starts
        started = _entries("permits.case.step_started")
        assert started[-1].data["step"] == "review" and started[-1].data["due_at"] == "2026-02-26T16:00:00+00:00"
    # 审查 finished Friday 2026-02-27: 决定's 2 days are Saturday 02-28 (调休上班) and Monday 03-02.
    at(clock, 2026, 2, 27, 9)
    with desk_app.test_request_context():
        processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="review", note="审查通过")
        db.session.commit()
        steps = _steps(app_id)
        assert steps[CaseStepKind.REVIEW].status is CaseStepStatus.DONE
        assert steps[CaseStepKind.REVIEW].responsible_id == lead
        decision = steps[CaseStepKind.DECISION]
        assert decision.status is CaseStepStatus.OPEN and decision.due_on == date(2026, 3, 2)
        assert decision.due_at == datetime(2026, 3, 3, 0, 0, tzinfo=BEIJING)


def test_a_make_up_sunday_of_2027_is_a_working_day_for_a_step(desk_app: Flask) -> None:
    with desk_app.test_request_context():
        item = catalogue.get_item(ITEM)
        cal = calendar_services.load_calendar()
        # 2027 notice: Sunday 04-25 is worked (劳动节 调休). A 1-day step started Friday 04-23 is due that Sunday.
        assert processing.step_due(cal, item, date(2027, 4, 23), 1) == date(2027, 4, 25)
        assert processing.step_due(cal, item, date(2027, 4, 23), 0) == date(2027, 4, 23)


def test_acceptance_names_co_departments_and_opens_their_tasks_at_once(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)  # Monday; promised 1 working day → 审查 and the tasks due Tuesday 03-03
    app_id, _p = accepted_case(desk_app)
    with desk_app.test_request_context():
        case = processing.get_case(app_id)
        assert {t.department.code for t in case.tasks} == set(CO)
        for task in case.tasks:
            assert task.status is TaskStatus.OPEN and task.due_on == date(2026, 3, 3)
            assert task.due_at == datetime(2026, 3, 4, 0, 0, tzinfo=BEIJING)
        opened = _entries("permits.task.opened")
        assert len(opened) == 2 and {e.data["department"] for e in opened} == set(CO)
        assert all(e.data["due_at"] and e.data["case_number"] == case.case_number for e in opened)


@pytest.mark.parametrize(
    ("co", "field"),
    [(["NOPE"], "co_departments.0"), ([LEAD], "co_departments.0"), (["HDGSJ", "HDGSJ"], "co_departments.1")],
)
def test_bad_co_departments_store_nothing(desk_app: Flask, co: list[str], field: str) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), row)
        db.session.commit()
        from app.permits.cases import services

        with pytest.raises(ValidationFailed) as err:
            services.accept_application(actor=who(p["desk"]), application=row, co_departments=co)
        assert field in err.value.extra.get("errors", {}) or field in str(err.value.__dict__)
        db.session.rollback()
        assert db.session.scalar(select(func.count(DepartmentTask.id))) == 0
        assert services.get_application(row.id).case_number is None


# --- deemed consent, overdue, answers --------------------------------------------------------------------


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_deemed_consent_at_the_due_instant_where_the_item_allows_it(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app)
    at(clock, 2026, 3, 3, 23, 59)
    assert sweep(desk_app) == {"deemed": 0, "overdue": 0}
    at(clock, 2026, 3, 4, 0, 0)  # the due instant
    assert sweep(desk_app) == {"deemed": 2, "overdue": 0}
    assert sweep(desk_app) == {"deemed": 0, "overdue": 0}  # idempotent
    with desk_app.test_request_context():
        task = _task(app_id, "HDGSJ")
        assert task.status is TaskStatus.DEEMED and task.is_deemed and task.answer is TaskAnswer.AGREE
        assert task.deemed_at == datetime(2026, 3, 4, 0, 0, tzinfo=BEIJING) and "超时默许" in task.deemed_rule
        assert task.accountability_flag and task.flagged_at is not None and task.authorisation_id is None
        entries = _entries("permits.task.deemed_consent")
        assert len(entries) == 2 and all(e.data["deemed"] and e.data["accountability_flag"] for e in entries)


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_never_deemed_where_the_item_forbids_it(desk_app: Flask, clock: Any) -> None:
    co_reviewer = reviewer(desk_app, "HDGSJ")
    lead = reviewer(desk_app, LEAD)
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app, deemed_approval=False)
    at(clock, 2026, 3, 9, 12)  # days past the due instant
    assert sweep(desk_app) == {"deemed": 0, "overdue": 2}
    assert sweep(desk_app) == {"deemed": 0, "overdue": 0}
    with desk_app.test_request_context():
        task = _task(app_id, "HDGSJ")
        assert task.status is TaskStatus.OVERDUE and not task.is_deemed and task.answer is None
        assert task.accountability_flag and task.flag_reason.startswith("timeout")
        assert len(_entries("permits.task.overdue")) == 2 and not _entries("permits.task.deemed_consent")
        # 审查 cannot finish while a co-department has not answered.
        with pytest.raises(Conflict):
            processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="review")
        db.session.rollback()
        # The late answer is still taken; the flag stays.
        processing.answer_task(actor=who(co_reviewer), task=_task(app_id, "HDGSJ"), answer="agree")
        db.session.commit()
        task = _task(app_id, "HDGSJ")
        assert task.status is TaskStatus.ANSWERED and task.accountability_flag
        assert _entries("permits.task.answered")[-1].data["late"] is True


def test_disagreement_without_reasons_is_refused_and_the_task_later_deemed(desk_app: Flask, clock: Any) -> None:
    co_reviewer = reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app)
    with desk_app.test_request_context():
        for answer in ("disagree", "agree_subject_to_higher"):
            with pytest.raises(ValidationFailed):
                processing.answer_task(actor=who(co_reviewer), task=_task(app_id, "HDGSJ"), answer=answer, reasons="  ")
            db.session.rollback()
        with pytest.raises(ValidationFailed):
            processing.answer_task(actor=who(co_reviewer), task=_task(app_id, "HDGSJ"), answer="maybe")
        db.session.rollback()
        assert _task(app_id, "HDGSJ").status is TaskStatus.OPEN and not _entries("permits.task.answered")
    at(clock, 2026, 3, 4, 0, 0)
    assert sweep(desk_app)["deemed"] == 2
    with desk_app.test_request_context():
        assert _task(app_id, "HDGSJ").is_deemed
        with pytest.raises(Conflict):  # closed: a deemed consent is not answered again
            processing.answer_task(actor=who(co_reviewer), task=_task(app_id, "HDGSJ"), answer="disagree", reasons="x")


def test_answers_record_their_authorisation(desk_app: Flask, clock: Any) -> None:
    gs = reviewer(desk_app, "HDGSJ")
    ds = reviewer(desk_app, "HDDSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app)
    with desk_app.test_request_context():
        processing.answer_task(
            actor=who(gs), task=_task(app_id, "HDGSJ"), answer="disagree", reasons="税务登记信息不一致"
        )
        processing.answer_task(
            actor=who(ds), task=_task(app_id, "HDDSJ"), answer="agree_subject_to_higher", reasons="须报省局审批"
        )
        db.session.commit()
        task = _task(app_id, "HDGSJ")
        assert task.answer is TaskAnswer.DISAGREE and task.reasons == "税务登记信息不一致"
        auth = db.session.get(Authorisation, task.authorisation_id)
        assert auth is not None and auth.representative_id == gs and auth.department.code == "HDGSJ"
        entry = _entries("permits.task.answered")[0]
        assert entry.data["authorisation_id"] == task.authorisation_id and entry.data["responsible_id"] == gs


def test_only_the_departments_staff_answer(desk_app: Flask, clock: Any) -> None:
    other = reviewer(desk_app, "HDDSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, p = accepted_case(desk_app)
    with desk_app.test_request_context():
        for actor in (other, p["desk"]):
            with pytest.raises(PermissionDenied):
                processing.answer_task(actor=who(actor), task=_task(app_id, "HDGSJ"), answer="agree")
            db.session.rollback()
        with pytest.raises(NotFound):
            processing.visible_task(who(other), _task(app_id, "HDGSJ").id)


# --- authorisations --------------------------------------------------------------------------------------


def test_a_decision_outside_the_authorisation_is_refused(desk_app: Flask, clock: Any) -> None:
    wrong_item = reviewer(desk_app, "HDGSJ", items=("HDGSJ-FW-001",))
    none = reviewer(desk_app, "HDDSJ", authorise=False)
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app)
    with desk_app.test_request_context():
        with pytest.raises(AuthorisationRefused, match="does not cover"):
            processing.answer_task(actor=who(wrong_item), task=_task(app_id, "HDGSJ"), answer="agree")
        db.session.rollback()
        with pytest.raises(AuthorisationRefused, match="no authorisation"):
            processing.answer_task(actor=who(none), task=_task(app_id, "HDDSJ"), answer="agree")
        db.session.rollback()
        assert {t.status for t in processing.get_case(app_id).tasks} == {TaskStatus.OPEN}
        assert AuthorisationRefused.status == 403


def test_an_expired_or_not_yet_valid_authorisation_is_refused(desk_app: Flask, clock: Any) -> None:
    gs = reviewer(desk_app, "HDGSJ", authorise=False)
    p = people(desk_app)
    with desk_app.test_request_context():
        authorisations.grant(
            actor=who(p["lead"]),
            department_code="HDGSJ",
            username=who(gs).username,
            item_codes=[ITEM],
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
            valid_to=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),  # 10:00 Beijing on 03-02
            approved_by="局长 张某",
        )
        db.session.commit()
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app)
    at(clock, 2026, 3, 2, 10, 0)  # the end instant is excluded
    with desk_app.test_request_context():
        with pytest.raises(AuthorisationRefused, match="expired"):
            processing.answer_task(actor=who(gs), task=_task(app_id, "HDGSJ"), answer="agree")
        db.session.rollback()
        authorisations.grant(
            actor=who(p["lead"]),
            department_code="HDGSJ",
            username=who(gs).username,
            item_codes=[ITEM],
            valid_from=datetime(2026, 3, 3, tzinfo=UTC),
            valid_to=datetime(2026, 12, 31, tzinfo=UTC),
            approved_by="局长 张某",
        )
        db.session.commit()
        with pytest.raises(AuthorisationRefused, match="not valid yet"):
            processing.answer_task(actor=who(gs), task=_task(app_id, "HDGSJ"), answer="agree")
        db.session.rollback()


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_revocation_takes_effect_at_once(desk_app: Flask, clock: Any) -> None:
    gs = reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, p = accepted_case(desk_app)
    with desk_app.test_request_context():
        auth = authorisations.list_authorisations()[0]
        auth_id = auth.id
        assert auth.representative_id == gs
        authorisations.revoke(actor=who(p["lead"]), authorisation=auth, reason="首席代表调离")
        db.session.commit()
    with desk_app.test_request_context():  # the very next request, same instant
        with pytest.raises(AuthorisationRefused, match="revoked"):
            processing.answer_task(actor=who(gs), task=_task(app_id, "HDGSJ"), answer="agree")
        db.session.rollback()
        assert _task(app_id, "HDGSJ").status is TaskStatus.OPEN
        with pytest.raises(Conflict):
            authorisations.revoke(
                actor=who(p["lead"]), authorisation=authorisations.list_authorisations()[0], reason="x"
            )
        db.session.rollback()
        assert _entries("permits.authorisation.revoked")[0].data["authorisation_id"] == auth_id


def test_bad_authorisations_store_nothing(desk_app: Flask) -> None:
    gs = reviewer(desk_app, "HDGSJ", authorise=False)
    outsider = reviewer(desk_app, "HDDSJ", authorise=False)
    p = people(desk_app)
    good: dict[str, Any] = {
        "department_code": "HDGSJ",
        "username": None,
        "item_codes": [ITEM],
        "valid_from": datetime(2026, 1, 1, tzinfo=UTC),
        "valid_to": datetime(2027, 1, 1, tzinfo=UTC),
        "approved_by": "局长 张某",
    }
    with desk_app.test_request_context():
        good["username"] = who(gs).username
        bad = [
            {"department_code": "NOPE"},
            {"username": who(outsider).username},  # not on this department's staff
            {"item_codes": []},
            {"item_codes": ["NOPE-1"]},
            {"valid_to": datetime(2025, 1, 1, tzinfo=UTC)},
            {"valid_from": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)},  # naive
            {"approved_by": " "},
        ]
        for change in bad:
            with pytest.raises(ValidationFailed):
                authorisations.grant(actor=who(p["lead"]), **{**good, **change})
            db.session.rollback()
        with pytest.raises(PermissionDenied):
            authorisations.grant(actor=who(p["desk"]), **good)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Authorisation.id))) == 0


# --- the decision ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_decision_is_sealed_and_records_its_authorisation(desk_app: Flask, clock: Any) -> None:
    lead = reviewer(desk_app, LEAD)
    unauthorised = reviewer(desk_app, LEAD, authorise=False)
    gs = reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = accepted_case(desk_app, co=("HDGSJ",), promised_limit_days=4)
    with desk_app.test_request_context():
        case = processing.get_case(app_id)
        with pytest.raises(Conflict):  # not the running step
            processing.decide(actor=who(lead), application=case, outcome="approve", reasons="符合条件")
        db.session.rollback()
        processing.answer_task(actor=who(gs), task=_task(app_id, "HDGSJ"), answer="agree")
        processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="review")
        db.session.commit()
        for outcome, reasons in (("maybe", "x"), ("approve", "")):
            with pytest.raises(ValidationFailed):
                processing.decide(
                    actor=who(lead), application=processing.get_case(app_id), outcome=outcome, reasons=reasons
                )
            db.session.rollback()
        with pytest.raises(PermissionDenied):  # the co-department's representative is not the lead's staff
            processing.decide(actor=who(gs), application=processing.get_case(app_id), outcome="approve", reasons="x")
        db.session.rollback()
        with pytest.raises(AuthorisationRefused):  # the lead's staff member without an authorisation
            processing.decide(
                actor=who(unauthorised), application=processing.get_case(app_id), outcome="approve", reasons="x"
            )
        db.session.rollback()
        assert db.session.scalar(select(func.count(CaseDecision.id))) == 0
        decision = processing.decide(
            actor=who(lead), application=processing.get_case(app_id), outcome="refuse", reasons="不符合法定条件"
        )
        decision_case_number = processing.get_case(app_id).case_number
        db.session.commit()
        assert decision.authorisation.representative_id == lead
        assert decision.facts["review_by"] == "2026-05-01" and decision.facts["litigation_by"] == "2026-09-02"
        assert "行政复议" in decision.remedies and "行政诉讼" in decision.remedies
        steps = _steps(app_id)
        assert steps[CaseStepKind.DECISION].status is CaseStepStatus.DONE
        assert steps[CaseStepKind.PRODUCTION].status is CaseStepStatus.SKIPPED
        assert steps[CaseStepKind.DELIVERY].status is CaseStepStatus.OPEN
        pdf = processing.decision_pdf(processing.get_case(app_id))
        assert pdf.startswith(b"%PDF-") and b"/ByteRange" in pdf
        entry = _entries("permits.case.decided")[0]
        assert entry.data["authorisation_id"] == decision.authorisation_id and entry.data["outcome"] == "refuse"
        processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="delivery")
        db.session.commit()
        assert processing.current_step(processing.get_case(app_id)) is None
        # Supervision reads the log as its event stream: every processing entry carries the same facts.
        keys = {
            "case_number",
            "step",
            "task_id",
            "department",
            "responsible_id",
            "due_at",
            "deemed",
            "authorisation_id",
        }
        entries = [
            e
            for e in db.session.execute(select(AuditEntry)).scalars()
            if e.action.startswith(("permits.case.", "permits.task."))
        ]
        assert len(entries) >= 8 and all(keys <= set(e.data) for e in entries)
        assert all(e.data["case_number"] == decision_case_number for e in entries)


def test_the_deemed_consent_sweep_is_in_the_beat_schedule() -> None:
    from celery import Celery

    from app.core import tasks as core_tasks
    from app.permits.cases import tasks

    celery = Celery("t")
    core_tasks.bind(celery)
    schedule = celery.conf.beat_schedule
    assert schedule["permits.deem_tasks"] == {"task": "permits.deem_tasks", "schedule": 300.0}
    assert "permits.deem_overdue" in schedule
    assert core_tasks.declared()["permits.deem_tasks"].fn is tasks.deem_tasks  # the locked wrapper
