"""Marshmallow schemas of the supervision API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Float, Instant, Integer, QueryInteger
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


# --- read-only views of the supervision pages (app/supervision/api_reads.py) ---------------------------------------


class DayQuery(ma.Schema):
    day = ma.fields.Date(metadata={"description": "A day in the center's time zone (default today)"})


class IntervalOut(ma.Schema):
    state = ma.fields.String(required=True, metadata={"description": "present or absent (gaps: no picture)"})
    start = Instant(required=True)
    end = Instant(required=True)


class StintOut(ma.Schema):
    window = ma.fields.String(required=True, metadata={"description": "The window's number"})
    signed_on_at = Instant(required=True)
    signed_off_at = Instant(allow_none=True)
    has_camera = ma.fields.Boolean(required=True)
    present_seconds = Integer(required=True)
    observed_seconds = Integer(required=True)
    intervals = ma.fields.List(ma.fields.Nested(IntervalOut), required=True)


class PersonSignalOut(ma.Schema):
    id = Integer(required=True)
    colour = ma.fields.String(required=True)
    rule = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    reference = ma.fields.String(required=True)
    fired_at = Instant(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in SignalStatus]))
    answers = Integer(required=True, metadata={"description": "Explanations and decisions recorded"})


class PersonOut(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    day = ma.fields.Date(required=True)
    departments = ma.fields.List(ma.fields.String(), required=True)
    windows = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Windows assigned"})
    stints = ma.fields.List(ma.fields.Nested(StintOut), required=True)
    signals = ma.fields.List(ma.fields.Nested(PersonSignalOut), required=True, metadata={"description": "Newest 50"})
    signals_total = Integer(required=True)
    ratings = ma.fields.Dict(keys=ma.fields.String(), values=Integer(), required=True)


class PresenceWindowOut(ma.Schema):
    window = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    present_seconds = Integer(required=True)
    observed_seconds = Integer(required=True)
    intervals = ma.fields.List(ma.fields.Nested(IntervalOut), required=True)
    staff = ma.fields.List(ma.fields.Dict(), required=True, metadata={"description": "{id, name} signed on that day"})
    signals = ma.fields.List(Integer(), required=True)


class PresenceOut(ma.Schema):
    day = ma.fields.Date(required=True)
    windows = ma.fields.List(ma.fields.Nested(PresenceWindowOut), required=True)


class StatsQuery(ma.Schema):
    unit = ma.fields.String(load_default="month", validate=validate.OneOf(["day", "week", "month", "quarter", "year"]))
    floor = ma.fields.String(validate=validate.OneOf([f.value for f in Floor]))
    department = ma.fields.String(validate=validate.Length(min=1, max=200))


class StatsPeriodOut(ma.Schema):
    label = ma.fields.String(required=True)
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(required=True, metadata={"description": "The first day after the period"})
    live = ma.fields.Boolean(required=True, metadata={"description": "Includes today's live figures"})
    counts = ma.fields.Dict(keys=ma.fields.String(), values=Integer(), required=True)
    by_floor = ma.fields.Dict(keys=ma.fields.String(), values=Integer(), required=True)
    year_on_year = Float(allow_none=True, metadata={"description": "同比 in percent; null without a base"})
    period_on_period = Float(allow_none=True, metadata={"description": "环比 in percent; null without a base"})
    on_time_rate = Float(allow_none=True)
    handling_hours = Float(allow_none=True)
    promised_hours = Float(allow_none=True)


class StatsOut(ma.Schema):
    unit = ma.fields.String(required=True)
    today = ma.fields.Date(required=True)
    history_from = ma.fields.Date(allow_none=True, metadata={"description": "The first day aggregated nightly"})
    periods = ma.fields.List(ma.fields.Nested(StatsPeriodOut), required=True)


class LetterOut(ma.Schema):
    id = Integer(required=True)
    number = ma.fields.String(required=True, metadata={"description": "监建〔2026〕1号"})
    department = ma.fields.String(required=True)
    signal_id = Integer(allow_none=True)
    facts = ma.fields.String(required=True)
    rules_broken = ma.fields.String(required=True)
    recommendation = ma.fields.String(required=True)
    reply_due = ma.fields.Date(required=True)
    issued_at = Instant(required=True)
    state = ma.fields.String(required=True)
    reply = ma.fields.String(required=True)
    replied_at = Instant(allow_none=True)
    pdf_sha256 = ma.fields.String(required=True)


class LetterList(ma.Schema):
    letters = ma.fields.List(ma.fields.Nested(LetterOut), required=True, metadata={"description": "Newest 200"})


class QuarterQuery(ma.Schema):
    year = QueryInteger(validate=validate.Range(min=2000, max=2100))
    quarter = QueryInteger(validate=validate.Range(min=1, max=4))


class GradeOut(ma.Schema):
    department = ma.fields.String(required=True)
    score = ma.fields.String(required=True, metadata={"description": "A decimal, exact"})
    grade = ma.fields.String(required=True)
    terms = ma.fields.Dict(required=True, metadata={"description": "Counts, weights, points and thresholds used"})
    computed_at = Instant(required=True)
    frozen_at = Instant(allow_none=True)


class GradingOut(ma.Schema):
    year = Integer(required=True)
    quarter = Integer(required=True)
    grades = ma.fields.List(ma.fields.Nested(GradeOut), required=True)


class InstructionReportOut(ma.Schema):
    author = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    created_at = Instant(required=True)


class InstructionOut(ma.Schema):
    id = Integer(required=True)
    leader = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    signal_id = Integer(allow_none=True)
    text = ma.fields.String(required=True)
    issued_at = Instant(required=True)
    due_on = ma.fields.Date(required=True)
    state = ma.fields.String(required=True)
    overdue = ma.fields.Boolean(required=True)
    closed_at = Instant(allow_none=True)
    closing_note = ma.fields.String(required=True)
    reports = ma.fields.List(ma.fields.Nested(InstructionReportOut), required=True)


class InstructionList(ma.Schema):
    instructions = ma.fields.List(ma.fields.Nested(InstructionOut), required=True)


class DutyDayOut(ma.Schema):
    day = ma.fields.Date(required=True)
    leader = ma.fields.String(required=True)
    title = ma.fields.String(required=True)


class AuthorisationGapOut(ma.Schema):
    department = ma.fields.String(required=True)
    items = ma.fields.List(ma.fields.String(), required=True)
    representatives = Integer(required=True)


class DutyOut(ma.Schema):
    today = ma.fields.Date(required=True)
    rota = ma.fields.List(ma.fields.Nested(DutyDayOut), required=True, metadata={"description": "From 7 days ago, 35"})
    unresolved_reds = ma.fields.List(Integer(), required=True, metadata={"description": "Signal ids"})
    authorisation_gaps = ma.fields.List(ma.fields.Nested(AuthorisationGapOut), required=True)
    open_instructions = ma.fields.List(ma.fields.Nested(InstructionOut), required=True)
