"""Pages of joint review (联审制) and joint site inspection (联合踏勘): the lead's scheduling forms, the meeting
page (attendance, opinions, minutes), the inspection page with the inspector's report form. Thin: parse the form,
call one service, render."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import field_error
from app.core.fields import InstantOutOfRange, parse_instant
from app.core.pages import Errors, attempt, me
from app.core.problems import N_
from app.core.security import requires
from app.core.storage import content_disposition
from app.permits.cases import authorisations, joint, processing
from app.permits.cases.joint_api import uploaded_photos
from app.permits.cases.joint_models import Attendance
from app.permits.cases.processing_models import TaskAnswer
from app.permits.permissions import REVIEW

bp = Blueprint("permits_joint", __name__, url_prefix="/permits", template_folder="templates")

MODE_LABELS = {"notify": _l("Notification (抄告制)"), "meeting": _l("Joint meeting (联审制)")}
EFFECT_LABELS = {
    "answered": _l("Its opinion closes its task"),
    "deemed": _l("Absent: deemed to consent, flagged for accountability"),
    "undecided": _l("Absent: this item allows no deemed consent, the meeting cannot decide for it"),
    "already_closed": _l("Its task was closed before"),
}


def _instant(name: str) -> datetime:
    try:
        zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
        return parse_instant(request.form.get(name, ""), default_zone=zone)
    except InstantOutOfRange:
        raise field_error(name, N_("A date and time, e.g. 2026-03-05 09:30.")) from None


# --- the joint meeting -----------------------------------------------------------------------------------------


def _schedule_meeting_page(application_id: int, errors: Errors | None = None, status: int = 200) -> Any:
    application = processing.visible_case(me(), application_id)
    authorisations.require_staff(me(), application.item.department)
    return (
        render_template(
            "permits_cases/meeting_new.html",
            a=application,
            open_tasks=[t for t in application.tasks if t.status.value in ("open", "overdue")],
            errors=errors or Errors(),
            values=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.get("/department/cases/<int:application_id>/meetings/new")
@requires(REVIEW)
def new_meeting(application_id: int) -> Any:
    return _schedule_meeting_page(application_id)


@bp.post("/department/cases/<int:application_id>/meetings/new")
@requires(REVIEW)
def schedule_meeting(application_id: int) -> Any:
    with attempt() as outcome:
        meeting = joint.schedule_meeting(
            actor=me(),
            application=processing.visible_case(me(), application_id),
            starts_at=_instant("starts_at"),
            place=request.form.get("place", ""),
            departments=request.form.getlist("departments") or None,
        )
    if outcome.failed:
        return _schedule_meeting_page(application_id, outcome.errors, outcome.status)
    flash(_("The joint meeting is scheduled; the departments invited see it on their desk."), "success")
    return redirect(url_for("permits_joint.meeting", meeting_id=meeting.id), code=303)


def _meeting_page(meeting_id: int, errors: Errors | None = None, status: int = 200) -> Any:
    meeting, application = joint.visible_meeting(me(), meeting_id)
    mine = {d.id for d in authorisations.departments_of(me())}
    return (
        render_template(
            "permits_cases/meeting.html",
            m=meeting,
            a=application,
            mine=mine,
            me_id=me().id,
            is_lead=application.item.department_id in mine,
            answers=[k.value for k in TaskAnswer],
            errors=errors or Errors(),
            values=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.get("/department/meetings/<int:meeting_id>")
@requires(REVIEW)
def meeting(meeting_id: int) -> Any:
    return _meeting_page(meeting_id)


def _meeting_act(meeting_id: int, action: Any, done: str) -> Any:
    with attempt() as outcome:
        action(*joint.visible_meeting(me(), meeting_id))
    if outcome.failed:
        return _meeting_page(meeting_id, outcome.errors, outcome.status)
    flash(done, "success")
    return redirect(url_for("permits_joint.meeting", meeting_id=meeting_id), code=303)


@bp.post("/department/meetings/<int:meeting_id>/attend")
@requires(REVIEW)
def attend(meeting_id: int) -> Any:
    department = request.form.get("department", "")
    return _meeting_act(
        meeting_id,
        lambda m, a: joint.attend(actor=me(), meeting=m, application=a, department=department),
        _("Your attendance is recorded, under your authorisation."),
    )


@bp.post("/department/meetings/<int:meeting_id>/absent")
@requires(REVIEW)
def absent(meeting_id: int) -> Any:
    department = request.form.get("department", "")
    return _meeting_act(
        meeting_id,
        lambda m, a: joint.mark_absent(actor=me(), meeting=m, application=a, department=department),
        _("The department is recorded absent."),
    )


@bp.post("/department/meetings/<int:meeting_id>/opinion")
@requires(REVIEW)
def opinion(meeting_id: int) -> Any:
    form = request.form
    return _meeting_act(
        meeting_id,
        lambda m, a: joint.state_opinion(
            actor=me(),
            meeting=m,
            application=a,
            department=form.get("department", ""),
            opinion=form.get("opinion", ""),
            reasons=form.get("reasons", ""),
        ),
        _("The department's opinion is recorded."),
    )


@bp.post("/department/meetings/<int:meeting_id>/conclude")
@requires(REVIEW)
def conclude(meeting_id: int) -> Any:
    return _meeting_act(
        meeting_id,
        lambda m, a: joint.conclude(actor=me(), meeting=m, application=a, minutes=request.form.get("minutes", "")),
        _("Decided on the spot: the minutes are sealed and the co-departments' tasks closed."),
    )


@bp.get("/department/meetings/<int:meeting_id>/minutes.pdf")
@requires(REVIEW)
def minutes_pdf(meeting_id: int) -> Any:
    meeting, application = joint.visible_meeting(me(), meeting_id)
    return Response(
        joint.minutes_pdf(meeting),
        content_type="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{application.case_number}-minutes-{meeting.id}.pdf")},
    )


# --- the joint site inspection ---------------------------------------------------------------------------------


def _schedule_inspection_page(application_id: int, errors: Errors | None = None, status: int = 200) -> Any:
    application = processing.visible_case(me(), application_id)
    authorisations.require_staff(me(), application.item.department)
    departments = joint.involved_departments(application)
    return (
        render_template(
            "permits_cases/inspection_new.html",
            a=application,
            departments=departments,
            staff={d.id: joint.staff_of(d) for d in departments},
            errors=errors or Errors(),
            values=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.get("/department/cases/<int:application_id>/inspections/new")
@requires(REVIEW)
def new_inspection(application_id: int) -> Any:
    return _schedule_inspection_page(application_id)


@bp.post("/department/cases/<int:application_id>/inspections/new")
@requires(REVIEW)
def schedule_inspection(application_id: int) -> Any:
    with attempt() as outcome:
        application = processing.visible_case(me(), application_id)
        inspection = joint.schedule_inspection(
            actor=me(),
            application=application,
            starts_at=_instant("starts_at"),
            address=request.form.get("address", ""),
            inspectors={
                d.code: request.form.get(f"inspector-{d.code}", "") for d in joint.involved_departments(application)
            },
        )
    if outcome.failed:
        return _schedule_inspection_page(application_id, outcome.errors, outcome.status)
    flash(_("The joint site inspection is scheduled; each inspector sees it on their desk."), "success")
    return redirect(url_for("permits_joint.inspection", inspection_id=inspection.id), code=303)


def _inspection_page(inspection_id: int, errors: Errors | None = None, status: int = 200) -> Any:
    inspection, application = joint.visible_inspection(me(), inspection_id)
    return (
        render_template(
            "permits_cases/inspection.html",
            i=inspection,
            a=application,
            me_id=me().id,
            is_lead=authorisations.is_staff(me(), application.item.department_id),
            errors=errors or Errors(),
            values=request.form if request.method == "POST" else {},
        ),
        status,
    )


@bp.get("/department/inspections/<int:inspection_id>")
@requires(REVIEW)
def inspection(inspection_id: int) -> Any:
    return _inspection_page(inspection_id)


@bp.post("/department/inspections/<int:inspection_id>/report")
@requires(REVIEW)
def report(inspection_id: int) -> Any:
    with attempt() as outcome:
        row, application = joint.visible_inspection(me(), inspection_id)
        joint.report(
            actor=me(),
            inspection=row,
            application=application,
            finding=request.form.get("finding", ""),
            items=request.form.get("items", ""),
            notes=request.form.get("notes", ""),
            photos=uploaded_photos(),
        )
    if outcome.failed:
        return _inspection_page(inspection_id, outcome.errors, outcome.status)
    flash(_("Your findings are recorded."), "success")
    return redirect(url_for("permits_joint.inspection", inspection_id=inspection_id), code=303)


@bp.get("/department/inspections/<int:inspection_id>/photos/<int:photo_id>")
@requires(REVIEW)
def photo(inspection_id: int, photo_id: int) -> Any:
    inspection_row, _application = joint.visible_inspection(me(), inspection_id)
    row, data = joint.photo_file(inspection_row, photo_id)
    return Response(
        data,
        content_type=row.content_type,
        headers={
            "Content-Disposition": content_disposition(row.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "permits_joint_mode": lambda k: MODE_LABELS.get(k, k),
        "permits_meeting_effect": lambda k: EFFECT_LABELS.get(k, k),
        "permits_attendance_present": Attendance.PRESENT.value,
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
