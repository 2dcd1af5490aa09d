"""Marshmallow schemas of the supervision API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Instant, Integer, QueryInteger
from app.supervision.models import Floor, Light
from app.supervision.services import MAX_TEXT, SignalStatus


class SignalListQuery(ma.Schema):
    colour = ma.fields.String(validate=validate.OneOf([Light.YELLOW.value, Light.RED.value]))
    floor = ma.fields.String(validate=validate.OneOf([f.value for f in Floor]))
    page = QueryInteger(load_default=1, validate=validate.Range(min=1, max=10_000))


class SignalAnswerOut(ma.Schema):
    id = Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "explanation, accepted or rejected"})
    author = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    created_at = Instant(required=True)


class EscalationOut(ma.Schema):
    level = Integer(required=True)
    addressee = ma.fields.String(
        required=True, metadata={"description": "department_head, discipline_office or duty_leader"}
    )
    workdays_unresolved = Integer(required=True)
    escalated_at = Instant(required=True)


class SignalOut(ma.Schema):
    id = Integer(required=True)
    colour = ma.fields.String(required=True, validate=validate.OneOf([c.value for c in Light]))
    rule = ma.fields.String(required=True, metadata={"description": "The code of the rule that fired"})
    rule_name = ma.fields.String(required=True)
    floor = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "The step watched: desk_decision, ticket_wait…"})
    reference = ma.fields.String(required=True)
    subject = ma.fields.String(required=True, metadata={"description": "The evidence-log subject of the step"})
    department = ma.fields.String(required=True)
    person_id = Integer(allow_none=True)
    person = ma.fields.String(allow_none=True)
    fired_at = Instant(required=True)
    log_index = Integer(allow_none=True, metadata={"description": "The entry an event rule fired on"})
    detail = ma.fields.Dict(required=True, metadata={"description": "minutes_late, percent or workdays_left"})
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in SignalStatus]))
    answers = ma.fields.List(ma.fields.Nested(SignalAnswerOut), required=True)
    escalations = ma.fields.List(
        ma.fields.Nested(EscalationOut),
        required=True,
        metadata={"description": "Unresolved: one level up every few working days (SUPERVISION_ESCALATION_WORKDAYS)"},
    )


class SignalPage(ma.Schema):
    signals = ma.fields.List(ma.fields.Nested(SignalOut), required=True)
    next_page = Integer(allow_none=True)


class SignalAnswerArgs(ma.Schema):
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


class SignalReviewArgs(ma.Schema):
    decision = ma.fields.String(required=True, validate=validate.OneOf(["accept", "reject"]))
    text = ma.fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))


class SupervisionTileOut(ma.Schema):
    department = ma.fields.String(required=True)
    light = ma.fields.String(required=True)
    green = Integer(required=True)
    yellow = Integer(required=True)
    red = Integer(required=True)
    waiting_tickets = Integer(required=True)
    intake_today = Integer(required=True)
    signals_today = Integer(required=True)
    escalated = Integer(required=True, metadata={"description": "Signals escalated and not settled"})
    completed_today = Integer(required=True, metadata={"description": "Watched steps closed today"})
    on_time_rate = Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Today's on-time rate in whole percent; null when nothing with a promised time closed"
        },
    )


class SupervisionWallOut(ma.Schema):
    tiles = ma.fields.List(ma.fields.Nested(SupervisionTileOut), required=True)
    totals = ma.fields.Dict(keys=ma.fields.String(), values=Integer(), required=True)
