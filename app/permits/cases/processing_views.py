"""Pages of case processing: the department desk (my departments' co-department tasks and the cases they lead),
the answer form, the case page (steps, tasks, the decision by the chief representative) and the administrators'
page of department staff and authorisations (授权委托书). Thin: parse the form, call one service, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.db import db
from app.core.fields import InstantOutOfRange, parse_instant
from app.core.home import Item as HomeItem
from app.core.home import Section, register_personal
from app.core.pages import Errors, attempt, me
from app.core.security import caller_has, requires
from app.core.views import register_nav
from app.permits.calendar import services as calendar_services
from app.permits.calendar.deadlines import PauseReason
from app.permits.cases import authorisations, clock, joint, processing
from app.permits.cases.processing_api import authorisation_item_codes
from app.permits.cases.processing_models import CaseStepKind, TaskAnswer
from app.permits.catalogue.models import Department
from app.permits.permissions import AUTHORISATIONS_MANAGE, REVIEW

bp = Blueprint("permits_processing", __name__, url_prefix="/permits", template_folder="templates")

STEP_LABELS = {
    "acceptance": _l("Acceptance (受理)"),
    "review": _l("Review (审查)"),
    "decision": _l("Decision (决定)"),
    "production": _l("Certificate production (制证)"),
    "delivery": _l("Delivery (送达)"),
}
ANSWER_LABELS = {
    "agree": _l("Agrees"),
    "disagree": _l("Disagrees"),
    "agree_subject_to_higher": _l("Agrees subject to higher approval"),
}
OUTCOME_LABELS = {"approve": _l("Licence granted"), "refuse": _l("Licence refused")}
PAUSE_LABELS = {
    PauseReason.CORRECTION.value: _l("Correction of materials (补正)"),
    PauseReason.HEARING.value: _l("Hearing (听证)"),
    PauseReason.TENDER_AUCTION.value: _l("Tender or auction (招标、拍卖)"),
    PauseReason.TESTING.value: _l("Testing, inspection or quarantine (检验、检测、检疫)"),
    PauseReason.APPRAISAL.value: _l("Appraisal (鉴定)"),
    PauseReason.INSPECTION.value: _l("Joint site inspection (联合踏勘)"),
    PauseReason.RECTIFICATION.value: _l("Rectification by the applicant (整改)"),
    PauseReason.EXPERT_REVIEW.value: _l("Expert review (专家评审)"),
    PauseReason.PUBLIC_NOTICE.value: _l("Public notice (公示)"),
}


# --- the department desk -------------------------------------------------------------------------------------


@bp.get("/department")
@requires(REVIEW)
def department() -> Any:
    """My departments' co-department tasks (open first) and the open cases they lead."""
    cases = processing.led_cases(me())
    calendar = calendar_services.load_calendar() if any(a.pauses for a in cases) else None
    return render_template(
        "permits_cases/department.html",
        departments=authorisations.departments_of(me()),
        tasks=processing.department_tasks(me()),
        cases=cases,
        clocks={a.id: clock.view(a, calendar) for a in cases},
        missed=joint.missed_meetings,
        current_step=processing.current_step,
    )


def _task_page(
    task_id: int, errors: Errors | None = None, status: int = 200, values: dict[str, str] | None = None
) -> Any:
    task = processing.visible_task(me(), task_id)
    application = processing.get_case(task.application_id)
    return (
        render_template(
            "permits_cases/task.html",
            t=task,
            a=application,
            answers=[a.value for a in TaskAnswer],
            errors=errors or Errors(),
            values=values or {},
        ),
        status,
    )


@bp.get("/department/tasks/<int:task_id>")
@requires(REVIEW)
def task(task_id: int) -> Any:
    return _task_page(task_id)


@bp.post("/department/tasks/<int:task_id>")
@requires(REVIEW)
def answer(task_id: int) -> Any:
    values = {"answer": request.form.get("answer", ""), "reasons": request.form.get("reasons", "")}
    with attempt() as outcome:
        processing.answer_task(
            actor=me(), task=processing.visible_task(me(), task_id), answer=values["answer"], reasons=values["reasons"]
        )
    if outcome.failed:
        return _task_page(task_id, outcome.errors, outcome.status, values)
    flash(_("Your department's answer was recorded."), "success")
    return redirect(url_for("permits_processing.department"), code=303)


def _case_page(application_id: int, errors: Errors | None = None, status: int = 200) -> Any:
    application = processing.visible_case(me(), application_id)
    lead = authorisations.is_staff(me(), application.item.department_id)
    return (
        render_template(
            "permits_cases/case.html",
            a=application,
            current=processing.current_step(application),
            is_lead=lead,
            clock=clock.view(application),
            pause_reasons=[r.value for r in clock.MANUAL_REASONS],
            errors=errors or Errors(),
        ),
        status,
    )


@bp.get("/department/cases/<int:application_id>")
@requires(REVIEW)
def case(application_id: int) -> Any:
    return _case_page(application_id)


def _act(application_id: int, action: Any, done: str) -> Any:
    with attempt() as outcome:
        action(processing.visible_case(me(), application_id))
    if outcome.failed:
        return _case_page(application_id, outcome.errors, outcome.status)
    flash(done, "success")
    return redirect(url_for("permits_processing.case", application_id=application_id), code=303)


@bp.post("/department/cases/<int:application_id>/claim")
@requires(REVIEW)
def claim(application_id: int) -> Any:
    return _act(
        application_id,
        lambda a: processing.claim_step(actor=me(), application=a),
        _("You are now responsible for the running step."),
    )


@bp.post("/department/cases/<int:application_id>/finish/<string:step>")
@requires(REVIEW)
def finish(application_id: int, step: str) -> Any:
    return _act(
        application_id,
        lambda a: processing.finish_step(actor=me(), application=a, kind=step, note=request.form.get("note", "")),
        _("The step is finished; the next one has started with its due date."),
    )


@bp.post("/department/cases/<int:application_id>/pauses")
@requires(REVIEW)
def pause(application_id: int) -> Any:
    """Stop the case's clock (a hearing, tender or auction, testing, appraisal, expert review, public notice)."""
    return _act(
        application_id,
        lambda a: clock.pause_clock(
            actor=me(), application=a, reason=request.form.get("reason", ""), note=request.form.get("note", "")
        ),
        _("The clock is stopped: the days until it runs again do not count toward the time limit."),
    )


@bp.post("/department/cases/<int:application_id>/pauses/<int:pause_id>/end")
@requires(REVIEW)
def resume(application_id: int, pause_id: int) -> Any:
    return _act(
        application_id,
        lambda a: clock.resume_clock(actor=me(), application=a, pause_id=pause_id),
        _("The clock runs again; the due dates are moved on by the days it stood still."),
    )


@bp.post("/department/cases/<int:application_id>/decide")
@requires(REVIEW)
def decide(application_id: int) -> Any:
    return _act(
        application_id,
        lambda a: processing.decide(
            actor=me(), application=a, outcome=request.form.get("outcome", ""), reasons=request.form.get("reasons", "")
        ),
        _("The decision was recorded and sealed."),
    )


# --- administrators: staff and authorisations -------------------------------------------------------------------


def _admin_page(errors: Errors | None = None, status: int = 200, values: dict[str, Any] | None = None) -> Any:
    rows = authorisations.list_authorisations()
    from app.accounts.models import User

    users = {
        u.id: u
        for u in db.session.execute(
            select(User).where(User.id.in_({r.representative_id for r in rows} or {0}))
        ).scalars()
    }
    return (
        render_template(
            "permits_cases/admin_authorisations.html",
            rows=rows,
            users=users,
            codes=authorisation_item_codes(rows),
            staff=authorisations.list_staff(),
            departments=list(
                db.session.execute(select(Department).order_by(Department.position, Department.id)).scalars()
            ),
            errors=errors or Errors(),
            values=values or {},
        ),
        status,
    )


@bp.get("/admin/authorisations")
@requires(AUTHORISATIONS_MANAGE)
def admin_authorisations() -> Any:
    return _admin_page()


def _instant(name: str) -> datetime:
    from app.core.errors import field_error
    from app.core.problems import N_

    try:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
        return parse_instant(request.form.get(name, ""), default_zone=zone)
    except InstantOutOfRange:
        raise field_error(name, N_("A date and time with its time zone.")) from None


@bp.post("/admin/authorisations")
@requires(AUTHORISATIONS_MANAGE)
def grant() -> Any:
    values = request.form.to_dict()
    with attempt() as outcome:
        authorisations.grant(
            actor=me(),
            department_code=request.form.get("department", ""),
            username=request.form.get("username", ""),
            item_codes=[c.strip() for c in request.form.get("items", "").replace("，", ",").split(",") if c.strip()],
            valid_from=_instant("valid_from"),
            valid_to=_instant("valid_to"),
            approved_by=request.form.get("approved_by", ""),
            reference=request.form.get("reference", ""),
        )
    if outcome.failed:
        return _admin_page(outcome.errors, outcome.status, values)
    flash(_("The authorisation was recorded."), "success")
    return redirect(url_for("permits_processing.admin_authorisations"), code=303)


@bp.post("/admin/authorisations/<int:authorisation_id>/revoke")
@requires(AUTHORISATIONS_MANAGE)
def revoke(authorisation_id: int) -> Any:
    with attempt() as outcome:
        authorisations.revoke(
            actor=me(),
            authorisation=authorisations.get_authorisation(authorisation_id),
            reason=request.form.get("reason", ""),
        )
    if outcome.failed:
        return _admin_page(outcome.errors, outcome.status)
    flash(_("The authorisation was revoked, with effect at once."), "success")
    return redirect(url_for("permits_processing.admin_authorisations"), code=303)


@bp.post("/admin/department-staff")
@requires(AUTHORISATIONS_MANAGE)
def add_staff() -> Any:
    with attempt() as outcome:
        authorisations.add_staff(
            actor=me(), department_code=request.form.get("department", ""), username=request.form.get("username", "")
        )
    if outcome.failed:
        return _admin_page(outcome.errors, outcome.status, request.form.to_dict())
    flash(_("The staff member was recorded."), "success")
    return redirect(url_for("permits_processing.admin_authorisations"), code=303)


# --- home page and helpers ---------------------------------------------------------------------------------------


def department_sections(user: Any, now: datetime) -> list[Section]:
    if not caller_has(REVIEW):
        return []
    waiting = processing.department_tasks(user, open_only=True)
    if not waiting:
        return []
    items = [
        HomeItem(
            t.application.item.name,
            url_for("permits_processing.task", task_id=t.id),
            note=_l("Answer for %(department)s", department=t.department.name),
            reference=t.application.case_number or "",
        )
        for t in waiting[:10]
    ]
    return [Section("permits-department", _l("Joint cases waiting for your department (%(n)s)", n=len(waiting)), items)]


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "permits_case_step": lambda k: STEP_LABELS.get(k, k),
        "permits_answer": lambda k: ANSWER_LABELS.get(k, k),
        "permits_outcome": lambda k: OUTCOME_LABELS.get(k, k),
        "permits_pause_reason": lambda k: PAUSE_LABELS.get(k, k),
        "permits_finishable": [k.value for k in processing.FINISHABLE],
        "permits_decision_step": CaseStepKind.DECISION.value,
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("permits_processing.department", _l("Department desk"), REVIEW, order=13)
    register_nav(
        "permits_processing.admin_authorisations", _l("Chief representatives"), AUTHORISATIONS_MANAGE, order=94
    )
    register_personal("permits.department", department_sections, order=47)
