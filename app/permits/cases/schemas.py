"""Marshmallow schemas of the unified acceptance API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Instant, Integer, QueryInteger
from app.permits.cases.models import ApplicantKind, ApplicationChannel, ApplicationStatus
from app.permits.cases.processing_models import (
    CaseStepKind,
    CaseStepStatus,
    DecisionOutcome,
    TaskAnswer,
    TaskStatus,
)
from app.tendering.schemas import PlainText


class ApplicantIn(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in ApplicantKind]))
    name = PlainText(required=True, validate=validate.Length(min=1, max=200))
    code = ma.fields.String(
        required=True,
        validate=validate.Length(min=15, max=30),
        metadata={"description": "Resident ID number (citizen) or unified social credit code (enterprise)"},
    )
    phone = PlainText(load_default="", validate=validate.Length(max=40))


class ApplicationIn(ma.Schema):
    item_code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    applicant = ma.fields.Nested(ApplicantIn, required=True)
    answers = ma.fields.Dict(required=True, metadata={"description": "The answers to the item's form schema"})
    channel = ma.fields.String(
        load_default=ApplicationChannel.ONLINE.value,
        validate=validate.OneOf([c.value for c in ApplicationChannel]),
        metadata={"description": "online (the applicant) or desk (entered by desk staff)"},
    )


class MaterialQuery(ma.Schema):
    material_id = QueryInteger(required=True, metadata={"description": "The catalogue material (needed[].material_id)"})
    name = PlainText(required=True, validate=validate.Length(min=1, max=200))
    content_type = ma.fields.String(
        required=True,
        validate=validate.Length(max=100),
        metadata={"description": "application/pdf, image/jpeg, image/png or application/ofd"},
    )


class DefectIn(ma.Schema):
    material_id = Integer(required=True)
    reason = PlainText(required=True, validate=validate.Length(min=1, max=500))


class DecisionIn(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(["accept", "refuse", "correct"]))
    reason = PlainText(validate=validate.Length(max=2000), metadata={"description": "refuse: why"})
    remedies = PlainText(validate=validate.Length(max=2000), metadata={"description": "refuse: the remedies"})
    defective = ma.fields.List(
        ma.fields.Nested(DefectIn),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "correct: received materials the desk finds defective, with the reason"},
    )
    note = PlainText(load_default="", validate=validate.Length(max=2000))
    override_reason = PlainText(
        validate=validate.Length(max=2000),
        metadata={"description": "correct, a second notice: the supervisor's reason (permits.supervise)"},
    )
    co_departments = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=32)),
        load_default=None,
        validate=validate.Length(max=10),
        metadata={"description": "accept, a joint case: the co-departments' codes (each gets a task at once)"},
    )
    joint_mode = ma.fields.String(
        load_default=None,
        validate=validate.OneOf(["notify", "meeting"]),
        metadata={
            "description": "accept, a joint case: notify (抄告制, each co-department answers its task) or meeting "
            "(联审制, a joint meeting decides on the spot); the item's default without one"
        },
    )


class ApplicantOut(ma.Schema):
    kind = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    code = ma.fields.String(required=True)


class ReceivedOut(ma.Schema):
    id = Integer(required=True)
    material_id = Integer(required=True)
    material = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    content_type = ma.fields.String(required=True)
    size = Integer(required=True)
    sha256 = ma.fields.String(required=True)
    received_at = Instant(required=True)


class NeededOut(ma.Schema):
    material_id = Integer(required=True)
    name = ma.fields.String(required=True)
    requirement = ma.fields.String(required=True)
    received = ma.fields.Boolean(required=True)


class EntryOut(ma.Schema):
    material_id = Integer(required=True)
    name = ma.fields.String(required=True)
    problem = ma.fields.String(required=True, validate=validate.OneOf(["missing", "defective"]))
    reason = ma.fields.String(required=True)


class NoticeOut(ma.Schema):
    sequence = Integer(required=True)
    issued_at = Instant(required=True)
    entries = ma.fields.List(ma.fields.Nested(EntryOut), required=True)
    note = ma.fields.String(required=True)
    is_override = ma.fields.Boolean(required=True)
    override_reason = ma.fields.String(required=True)
    answered_at = Instant(allow_none=True)


class StepOut(ma.Schema):
    kind = ma.fields.String(required=True)
    at = Instant(required=True)
    actor = ma.fields.String(required=True)
    holder = ma.fields.String(required=True)


class CaseStepOut(ma.Schema):
    """A processing step (受理/审查/决定/制证/送达) with its due instant, computed when it started."""

    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in CaseStepKind]))
    status = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in CaseStepStatus]))
    share_days = Integer(required=True, metadata={"description": "This step's share of the promised limit"})
    department = ma.fields.String(required=True)
    responsible = ma.fields.String(required=True)
    started_at = Instant(allow_none=True)
    due_on = ma.fields.Date(allow_none=True)
    due_at = Instant(allow_none=True, metadata={"description": "The end of the due day (center time)"})
    finished_at = Instant(allow_none=True)


class TaskTrackingOut(ma.Schema):
    """A co-department's task as the applicant sees it."""

    id = Integer(required=True)
    department = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in TaskStatus]))
    opened_at = Instant(required=True)
    due_at = Instant(required=True)
    answered_at = Instant(allow_none=True)
    is_deemed = ma.fields.Boolean(required=True)
    deemed_at = Instant(allow_none=True)


class CaseDecisionTrackingOut(ma.Schema):
    outcome = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in DecisionOutcome]))
    reasons = ma.fields.String(required=True)
    remedies = ma.fields.String(required=True)
    decided_at = Instant(required=True)
    department = ma.fields.String(required=True)
    pdf_sha256 = ma.fields.String(allow_none=True)


class TrackingOut(ma.Schema):
    """What the public tracking page shows (no applicant identity number)."""

    number = ma.fields.String(required=True)
    case_number = ma.fields.String(allow_none=True)
    item_code = ma.fields.String(required=True)
    item_name = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in ApplicationStatus]))
    holder = ma.fields.String(required=True)
    received_at = Instant(required=True)
    accepted_on = ma.fields.Date(allow_none=True)
    statutory_due = ma.fields.Date(allow_none=True)
    promised_due = ma.fields.Date(allow_none=True)
    decision_due = ma.fields.Date(allow_none=True, metadata={"description": "The desk's 5-working-day deadline"})
    is_deemed = ma.fields.Boolean(required=True)
    deemed_rule = ma.fields.String(required=True)
    expected = ma.fields.List(ma.fields.Nested(EntryOut), required=True, metadata={"description": "To send"})
    steps = ma.fields.List(ma.fields.Nested(StepOut), required=True)
    case_steps = ma.fields.List(ma.fields.Nested(CaseStepOut), required=True, metadata={"description": "办理环节"})
    tasks = ma.fields.List(ma.fields.Nested(TaskTrackingOut), required=True, metadata={"description": "会办部门"})
    case_decision = ma.fields.Nested(CaseDecisionTrackingOut, allow_none=True)


class ApplicationOut(TrackingOut):
    id = Integer(required=True)
    applicant = ma.fields.Nested(ApplicantOut, required=True)
    channel = ma.fields.String(required=True)
    first_handler = ma.fields.String(allow_none=True, metadata={"description": "首问负责人"})
    refusal_reason = ma.fields.String(required=True)
    refusal_remedies = ma.fields.String(required=True)
    needed = ma.fields.List(ma.fields.Nested(NeededOut), required=True)
    materials = ma.fields.List(ma.fields.Nested(ReceivedOut), required=True)
    notices = ma.fields.List(ma.fields.Nested(NoticeOut), required=True)
    tracking_url = ma.fields.String(required=True)


# --- case processing ---------------------------------------------------------------------------------------


class DepartmentTaskOut(TaskTrackingOut):
    """A co-department's task with its answer, for the departments' staff."""

    application_id = Integer(required=True)
    case_number = ma.fields.String(required=True)
    item_code = ma.fields.String(required=True)
    item_name = ma.fields.String(required=True)
    lead_department = ma.fields.String(required=True)
    deemed_approval_allowed = ma.fields.Boolean(required=True)
    answer = ma.fields.String(allow_none=True, validate=validate.OneOf([k.value for k in TaskAnswer]))
    reasons = ma.fields.String(required=True)
    answered_by = ma.fields.String(required=True)
    authorisation_id = Integer(allow_none=True)
    deemed_rule = ma.fields.String(required=True)
    accountability_flag = ma.fields.Boolean(required=True, metadata={"description": "超时问责"})
    flag_reason = ma.fields.String(required=True)


class CaseDecisionOut(CaseDecisionTrackingOut):
    decided_by = ma.fields.String(required=True)
    authorisation_id = Integer(required=True)
    sealed_by = ma.fields.String(required=True)
    review_by = ma.fields.String(required=True, metadata={"description": "行政复议: the last day"})
    litigation_by = ma.fields.String(required=True, metadata={"description": "行政诉讼: the last day"})


class CasePauseOut(ma.Schema):
    id = Integer(required=True)
    reason = ma.fields.String(
        required=True,
        metadata={
            "description": "hearing, tender_auction, testing, appraisal, expert_review, public_notice (by hand); "
            "inspection, rectification (the joint site inspection's own)"
        },
    )
    note = ma.fields.String(required=True)
    automatic = ma.fields.Boolean(required=True, metadata={"description": "Opened and closed by the inspection"})
    started_at = Instant(required=True)
    started_by = ma.fields.String(required=True)
    ended_at = Instant(allow_none=True)
    ended_by = ma.fields.String(required=True)


class CaseOut(ma.Schema):
    application_id = Integer(required=True)
    case_number = ma.fields.String(required=True)
    item_code = ma.fields.String(required=True)
    item_name = ma.fields.String(required=True)
    lead_department = ma.fields.String(required=True)
    applicant_name = ma.fields.String(required=True)
    accepted_on = ma.fields.Date(required=True)
    promised_due = ma.fields.Date(allow_none=True)
    statutory_due = ma.fields.Date(allow_none=True)
    clock_paused_since = Instant(
        allow_none=True, metadata={"description": "Set while the clock is stopped: the due dates then wait"}
    )
    paused_workdays = Integer(required=True, metadata={"description": "Working days not counted so far"})
    pauses = ma.fields.List(ma.fields.Nested(CasePauseOut), required=True)
    current_step = ma.fields.String(allow_none=True)
    joint_mode = ma.fields.String(
        required=True, metadata={"description": "notify (抄告制) or meeting (联审制): how the co-departments decide"}
    )
    meeting_ids = ma.fields.List(Integer(), required=True, metadata={"description": "Its joint review meetings"})
    inspection_ids = ma.fields.List(Integer(), required=True, metadata={"description": "Its joint site inspections"})
    steps = ma.fields.List(ma.fields.Nested(CaseStepOut), required=True)
    tasks = ma.fields.List(ma.fields.Nested(DepartmentTaskOut), required=True)
    decision = ma.fields.Nested(CaseDecisionOut, allow_none=True)


class PauseIn(ma.Schema):
    reason = ma.fields.String(
        required=True,
        validate=validate.OneOf(
            ["hearing", "tender_auction", "testing", "appraisal", "expert_review", "public_notice"]
        ),
    )
    note = PlainText(required=True, validate=validate.Length(min=1, max=2000))


class FinishStepIn(ma.Schema):
    note = PlainText(load_default="", validate=validate.Length(max=2000))


class AnswerIn(ma.Schema):
    answer = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in TaskAnswer]))
    reasons = PlainText(
        load_default="",
        validate=validate.Length(max=2000),
        metadata={"description": "Required to disagree or to agree subject to higher approval"},
    )


class CaseDecisionIn(ma.Schema):
    outcome = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in DecisionOutcome]))
    reasons = PlainText(required=True, validate=validate.Length(max=2000))


class AuthorisationIn(ma.Schema):
    department = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))
    items = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=40)), required=True)
    valid_from = Instant(required=True)
    valid_to = Instant(required=True)
    approved_by = PlainText(required=True, validate=validate.Length(max=200))
    reference = PlainText(load_default="", validate=validate.Length(max=100))


class AuthorisationOut(ma.Schema):
    id = Integer(required=True)
    department = ma.fields.String(required=True)
    representative_id = Integer(required=True)
    items = ma.fields.List(ma.fields.String(), required=True)
    valid_from = Instant(required=True)
    valid_to = Instant(required=True)
    approved_by = ma.fields.String(required=True)
    reference = ma.fields.String(required=True)
    revoked_at = Instant(allow_none=True)
    revoke_reason = ma.fields.String(required=True)


class RevokeIn(ma.Schema):
    reason = PlainText(required=True, validate=validate.Length(max=2000))


class StaffIn(ma.Schema):
    department = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    username = ma.fields.String(required=True, validate=validate.Length(min=1, max=80))


class StaffOut(ma.Schema):
    department = ma.fields.String(required=True)
    user_id = Integer(required=True)
