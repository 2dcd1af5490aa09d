"""Marshmallow schemas of the unified acceptance API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Instant, Integer, QueryInteger
from app.permits.cases.models import ApplicantKind, ApplicationChannel, ApplicationStatus
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
