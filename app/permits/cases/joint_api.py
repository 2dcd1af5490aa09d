"""JSON API of joint review (联审制) and joint site inspection (联合踏勘): /api/v1/permits/….

Department reviewers (permits.review) of the departments involved see a case's meetings and inspections; the
lead's staff schedule them; chief representatives attend and state opinions under their authorisation (403
`authorisation-refused` otherwise); the named inspectors report (multipart, with photos). Bad input is a problem
JSON (4xx) and stores nothing.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import validate

from app.core.api import problem_responses
from app.core.errors import field_error
from app.core.fields import Instant, Integer
from app.core.pages import me
from app.core.problems import N_
from app.core.security import requires
from app.core.storage import content_disposition
from app.permits.cases import joint, processing
from app.permits.cases.joint_models import Inspection, JointMeeting
from app.permits.cases.models import Application
from app.permits.cases.processing_models import TaskAnswer
from app.permits.permissions import REVIEW
from app.tendering.schemas import PlainText

blp = Blueprint(
    "permits-joint-api",
    __name__,
    url_prefix="/api/v1/permits",
    description="Joint review meetings (联审制: attendance, opinions, sealed minutes) and joint site inspections "
    "(联合踏勘: inspectors' findings, rectification, reinspection).",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


# --- schemas ---------------------------------------------------------------------------------------------------


class MeetingIn(ma.Schema):
    starts_at = Instant(required=True, metadata={"description": "When the meeting starts (with its offset)"})
    place = PlainText(required=True, validate=validate.Length(max=200))
    departments = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=32)),
        load_default=None,
        validate=validate.Length(max=10),
        metadata={"description": "The co-departments invited (codes); every one with an open task by default"},
    )


class AttendanceIn(ma.Schema):
    department = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    present = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "true: the caller attends as the department's chief representative (authorisation "
            "checked); false: the lead's staff record the department absent"
        },
    )


class OpinionIn(ma.Schema):
    department = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    opinion = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in TaskAnswer]))
    reasons = PlainText(load_default="", validate=validate.Length(max=2000))


class ConclusionIn(ma.Schema):
    minutes = PlainText(required=True, validate=validate.Length(max=10000))


class ParticipantOut(ma.Schema):
    department = ma.fields.String(required=True)
    department_name = ma.fields.String(required=True)
    is_lead = ma.fields.Boolean(required=True)
    attendance = ma.fields.String(required=True)
    attendance_at = Instant(allow_none=True)
    representative = ma.fields.String(required=True)
    authorisation_id = Integer(allow_none=True)
    opinion = ma.fields.String(allow_none=True)
    reasons = ma.fields.String(required=True)
    effect = ma.fields.String(allow_none=True)


class MeetingOut(ma.Schema):
    id = Integer(required=True)
    application_id = Integer(required=True)
    case_number = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    starts_at = Instant(required=True)
    place = ma.fields.String(required=True)
    scheduled_by = ma.fields.String(required=True)
    concluded_at = Instant(allow_none=True)
    concluded_by = ma.fields.String(required=True)
    authorisation_id = Integer(allow_none=True)
    minutes = ma.fields.String(required=True)
    minutes_sha256 = ma.fields.String(allow_none=True)
    sealed_by = ma.fields.String(required=True)
    participants = ma.fields.List(ma.fields.Nested(ParticipantOut), required=True)


class InspectorIn(ma.Schema):
    department = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=150))


class InspectionIn(ma.Schema):
    starts_at = Instant(required=True)
    address = PlainText(required=True, validate=validate.Length(max=300))
    inspectors = ma.fields.List(ma.fields.Nested(InspectorIn), required=True, validate=validate.Length(min=1, max=11))


class ReportForm(ma.Schema):
    finding = ma.fields.String(required=True, validate=validate.OneOf(["pass", "rectify", "fail"]))
    items = PlainText(load_default="", validate=validate.Length(max=9000), metadata={"description": "One a line"})
    notes = PlainText(load_default="", validate=validate.Length(max=2000))


class ReportFiles(ma.Schema):
    photos = ma.fields.Raw(
        metadata={"type": "array", "items": {"type": "string", "format": "binary"}, "description": "JPEG or PNG"}
    )


class PhotoOut(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = Integer(required=True)
    sha256 = ma.fields.String(required=True)


class InspectorOut(ma.Schema):
    department = ma.fields.String(required=True)
    department_name = ma.fields.String(required=True)
    inspector = ma.fields.String(required=True)
    finding = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.String(), required=True)
    notes = ma.fields.String(required=True)
    reported_at = Instant(allow_none=True)
    photos = ma.fields.List(ma.fields.Nested(PhotoOut), required=True)


class InspectionOut(ma.Schema):
    id = Integer(required=True)
    application_id = Integer(required=True)
    case_number = ma.fields.String(required=True)
    round = Integer(required=True)
    status = ma.fields.String(required=True)
    starts_at = Instant(required=True)
    address = ma.fields.String(required=True)
    outcome = ma.fields.String(allow_none=True)
    rectification = ma.fields.List(ma.fields.String(), required=True)
    applicant_notified_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    inspectors = ma.fields.List(ma.fields.Nested(InspectorOut), required=True)


# --- views -----------------------------------------------------------------------------------------------------


def meeting_view(meeting: JointMeeting, application: Application) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "application_id": application.id,
        "case_number": application.case_number or "",
        "status": meeting.status.value,
        "starts_at": meeting.starts_at,
        "place": meeting.place,
        "scheduled_by": meeting.scheduled_by_name,
        "concluded_at": meeting.concluded_at,
        "concluded_by": meeting.concluded_by_name,
        "authorisation_id": meeting.authorisation_id,
        "minutes": meeting.minutes,
        "minutes_sha256": meeting.pdf_sha256,
        "sealed_by": meeting.sealed_by,
        "participants": [
            {
                "department": p.department.code,
                "department_name": p.department.name,
                "is_lead": p.is_lead,
                "attendance": p.attendance.value,
                "attendance_at": p.attendance_at,
                "representative": p.representative_name,
                "authorisation_id": p.authorisation_id,
                "opinion": p.opinion,
                "reasons": p.reasons,
                "effect": p.effect.value if p.effect else None,
            }
            for p in meeting.participants
        ],
    }


def inspection_view(inspection: Inspection, application: Application) -> dict[str, Any]:
    return {
        "id": inspection.id,
        "application_id": application.id,
        "case_number": application.case_number or "",
        "round": inspection.round,
        "status": inspection.status.value,
        "starts_at": inspection.starts_at,
        "address": inspection.address,
        "outcome": inspection.outcome.value if inspection.outcome else None,
        "rectification": list(inspection.rectification or []),
        "applicant_notified_at": inspection.applicant_notified_at,
        "completed_at": inspection.completed_at,
        "inspectors": [
            {
                "department": i.department.code,
                "department_name": i.department.name,
                "inspector": i.user_name,
                "finding": i.finding.value if i.finding else None,
                "items": list(i.items or []),
                "notes": i.notes,
                "reported_at": i.reported_at,
                "photos": [
                    {"id": p.id, "name": p.name, "content_type": p.content_type, "size": p.size, "sha256": p.sha256}
                    for p in i.photos
                ],
            }
            for i in inspection.inspectors
        ],
    }


def _meeting(meeting_id: int) -> tuple[JointMeeting, Application]:
    return joint.visible_meeting(me(), meeting_id)


def _meeting_out(meeting_id: int) -> dict[str, Any]:
    meeting, application = _meeting(meeting_id)
    return meeting_view(meeting, application)


@blp.route("/cases/<int:application_id>/meetings", methods=["POST"])
@blp.arguments(MeetingIn)
@blp.response(201, MeetingOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def schedule_meeting(args: dict[str, Any], application_id: int) -> Any:
    """The lead's staff schedule the joint meeting of a 联审 case: time, place, the co-departments invited."""
    application = processing.visible_case(me(), application_id)
    meeting = joint.schedule_meeting(
        actor=me(),
        application=application,
        starts_at=args["starts_at"],
        place=args["place"],
        departments=args["departments"],
    )
    return meeting_view(meeting, application)


@blp.route("/meetings/<int:meeting_id>", methods=["GET"])
@blp.response(200, MeetingOut)
@_problems(401, 403, 404)
@requires(REVIEW)
def get_meeting(meeting_id: int) -> Any:
    """A joint meeting: attendance, opinions, the minutes (the departments involved in the case)."""
    return _meeting_out(meeting_id)


@blp.route("/meetings/<int:meeting_id>/attendance", methods=["POST"])
@blp.arguments(AttendanceIn)
@blp.response(200, MeetingOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def attendance(args: dict[str, Any], meeting_id: int) -> Any:
    """Attendance: the caller attends for the department (under an authorisation for the item), or the lead's
    staff record it absent."""
    meeting, application = _meeting(meeting_id)
    if args["present"]:
        joint.attend(actor=me(), meeting=meeting, application=application, department=args["department"])
    else:
        joint.mark_absent(actor=me(), meeting=meeting, application=application, department=args["department"])
    return _meeting_out(meeting_id)


@blp.route("/meetings/<int:meeting_id>/opinions", methods=["POST"])
@blp.arguments(OpinionIn)
@blp.response(200, MeetingOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def opinion(args: dict[str, Any], meeting_id: int) -> Any:
    """A present co-department's opinion (agree / disagree with reasons / agree subject to higher approval)."""
    meeting, application = _meeting(meeting_id)
    joint.state_opinion(
        actor=me(),
        meeting=meeting,
        application=application,
        department=args["department"],
        opinion=args["opinion"],
        reasons=args["reasons"],
    )
    return _meeting_out(meeting_id)


@blp.route("/meetings/<int:meeting_id>/conclusion", methods=["POST"])
@blp.arguments(ConclusionIn)
@blp.response(200, MeetingOut)
@_problems(401, 403, 404, 409, 422, 503)
@requires(REVIEW)
def conclude(args: dict[str, Any], meeting_id: int) -> Any:
    """Decided on the spot: the co-departments' tasks closed at once, the minutes sealed (PDF), and 审查
    finished when nothing else holds the case."""
    meeting, application = _meeting(meeting_id)
    joint.conclude(actor=me(), meeting=meeting, application=application, minutes=args["minutes"])
    return _meeting_out(meeting_id)


@blp.route("/meetings/<int:meeting_id>/minutes.pdf", methods=["GET"])
@blp.doc(responses={"200": {"description": "The sealed minutes", "content": {"application/pdf": {}}}})
@_problems(401, 403, 404)
@requires(REVIEW)
def minutes_pdf(meeting_id: int) -> Any:
    meeting, application = _meeting(meeting_id)
    return Response(
        joint.minutes_pdf(meeting),
        content_type="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{application.case_number}-minutes-{meeting.id}.pdf")},
    )


@blp.route("/cases/<int:application_id>/inspections", methods=["POST"])
@blp.arguments(InspectionIn)
@blp.response(201, InspectionOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def schedule_inspection(args: dict[str, Any], application_id: int) -> Any:
    """The lead's staff schedule the joint site inspection (or the reinspection after a rectification) with one
    inspector of every department involved."""
    application = processing.visible_case(me(), application_id)
    named: dict[str, str] = {}
    for i, row in enumerate(args["inspectors"]):
        if row["department"] in named:
            raise field_error(f"inspectors.{i}", N_("One inspector of each department."))
        named[row["department"]] = row["username"]
    inspection = joint.schedule_inspection(
        actor=me(), application=application, starts_at=args["starts_at"], address=args["address"], inspectors=named
    )
    return inspection_view(inspection, application)


@blp.route("/inspections/<int:inspection_id>", methods=["GET"])
@blp.response(200, InspectionOut)
@_problems(401, 403, 404)
@requires(REVIEW)
def get_inspection(inspection_id: int) -> Any:
    """A joint site inspection with every inspector's findings."""
    inspection, application = joint.visible_inspection(me(), inspection_id)
    return inspection_view(inspection, application)


@blp.route("/inspections/<int:inspection_id>/report", methods=["POST"])
@blp.arguments(ReportForm, location="form")
@blp.arguments(ReportFiles, location="files")
@blp.response(200, InspectionOut)
@_problems(400, 401, 403, 404, 409, 413, 422)
@requires(REVIEW)
def report(form: dict[str, Any], files: dict[str, Any], inspection_id: int) -> Any:
    """The named inspector's findings (multipart): pass / rectify (items, one a line) / fail (notes), with up to
    six photos (JPEG or PNG). The last report completes the inspection; rectification notifies the applicant."""
    inspection, application = joint.visible_inspection(me(), inspection_id)
    joint.report(
        actor=me(),
        inspection=inspection,
        application=application,
        finding=form["finding"],
        items=form["items"],
        notes=form["notes"],
        photos=uploaded_photos(),
    )
    inspection, application = joint.visible_inspection(me(), inspection_id)
    return inspection_view(inspection, application)


def uploaded_photos() -> list[joint.Photo]:
    """The request's `photos` files (those with a name): each read by the service, checked before storing."""
    return [
        joint.Photo(name=f.filename or "", stream=f.stream, content_type=f.mimetype or "application/octet-stream")
        for f in request.files.getlist("photos")
        if f and f.filename
    ]


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
