"""Marshmallow schemas of the 好差评 API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.convenience.rating.models import LEVELS, AppealStatus, CallOutcome, SubjectKind, TaskStatus
from app.convenience.rating.services import COMMENT_MAX, TEXT_MAX
from app.core.fields import Float, Instant, Integer

LEVEL_VALUES = [lv.value for lv in LEVELS]


class RatingArgs(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in SubjectKind]))
    reference = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "ticket: its tracking id; application: its number (申请编号)"},
    )
    token = ma.fields.String(
        load_default="",
        validate=validate.Length(max=64),
        metadata={"description": "application: its tracking token (not needed when signed in as the applicant)"},
    )
    level = ma.fields.String(
        required=True,
        validate=validate.OneOf(LEVEL_VALUES),
        metadata={"description": "非常满意 very_satisfied … 非常不满意 very_dissatisfied"},
    )
    comment = ma.fields.String(load_default="", validate=validate.Length(max=COMMENT_MAX))


class RatingOut(ma.Schema):
    id = Integer(required=True)
    kind = ma.fields.String(required=True)
    reference = ma.fields.String(required=True)
    level = ma.fields.String(required=True, validate=validate.OneOf(LEVEL_VALUES))
    comment = ma.fields.String(required=True)
    rated_at = Instant(required=True)
    window = ma.fields.String(allow_none=True)
    department = ma.fields.String(required=True)
    is_excluded = ma.fields.Boolean(required=True, metadata={"description": "Left out of results by an appeal"})
    rectification = Integer(allow_none=True, metadata={"description": "The rectification task a bad rating opened"})


class CallBackArgs(ma.Schema):
    called_at = Instant(required=True)
    outcome = ma.fields.String(required=True, validate=validate.OneOf([o.value for o in CallOutcome]))
    note = ma.fields.String(load_default="", validate=validate.Length(max=TEXT_MAX))


class CallBackOut(ma.Schema):
    id = Integer(required=True)
    called_by = ma.fields.String(required=True)
    called_at = Instant(required=True)
    outcome = ma.fields.String(required=True)
    note = ma.fields.String(required=True)


class CloseArgs(ma.Schema):
    action_taken = ma.fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))


class RectificationTaskOut(ma.Schema):
    id = Integer(required=True)
    rating = ma.fields.Nested(RatingOut, required=True)
    responsible = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in TaskStatus]))
    opened_at = Instant(required=True)
    due_on = ma.fields.Date(allow_none=True, metadata={"description": "N working days after opening"})
    closed_at = Instant(allow_none=True)
    action_taken = ma.fields.String(required=True)
    callbacks = ma.fields.List(ma.fields.Nested(CallBackOut), required=True)


class AppealArgs(ma.Schema):
    reasons = ma.fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))


class DecisionArgs(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(["uphold", "reject"]))
    note = ma.fields.String(required=True, validate=validate.Length(min=1, max=TEXT_MAX))


class AppealOut(ma.Schema):
    id = Integer(required=True)
    rating = Integer(required=True)
    reasons = ma.fields.String(required=True)
    filed_by = ma.fields.String(required=True)
    filed_at = Instant(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in AppealStatus]))
    decided_by = ma.fields.String(allow_none=True)
    decided_at = Instant(allow_none=True)
    decision_note = ma.fields.String(required=True)


class ResultsQuery(ma.Schema):
    start = ma.fields.Date(required=True, metadata={"description": "First day (the center's), included"})
    end = ma.fields.Date(required=True, metadata={"description": "Last day, included"})


class TallyOut(ma.Schema):
    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    counts = ma.fields.Dict(keys=ma.fields.String(), values=Integer(), required=True)
    total = Integer(required=True)
    satisfied = Integer(required=True, metadata={"description": "非常满意 + 满意 + 基本满意"})
    rate = Float(allow_none=True, metadata={"description": "satisfied / total (null without ratings)"})


class ResultsOut(ma.Schema):
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(required=True)
    windows = ma.fields.List(ma.fields.Nested(TallyOut), required=True)
    staff = ma.fields.List(ma.fields.Nested(TallyOut), required=True)
    departments = ma.fields.List(ma.fields.Nested(TallyOut), required=True)
    overall = ma.fields.Nested(TallyOut, required=True)
    excluded = Integer(required=True, metadata={"description": "Ratings left out by upheld appeals"})
