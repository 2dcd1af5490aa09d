"""Marshmallow schemas of the convenience API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.convenience.home_visit_models import DayPeriod, HomeVisitStatus, VisitReason
from app.convenience.models import TicketChannel, TicketStatus
from app.core.fields import Instant, Integer


class ConvenienceServiceOut(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    department_en = ma.fields.String(required=True)
    group = ma.fields.String(required=True, metadata={"description": "The window group's name"})
    prefix = ma.fields.String(required=True, metadata={"description": "The letter its tickets start with"})
    average_service_seconds = Integer(required=True)
    is_bookable = ma.fields.Boolean(required=True)
    is_at_home = ma.fields.Boolean(required=True)
    is_after_hours = ma.fields.Boolean(required=True)


class TicketArgs(ma.Schema):
    service = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    channel = ma.fields.String(load_default=TicketChannel.PHONE.value, validate=validate.Length(max=10))
    surname = ma.fields.String(
        load_default="", validate=validate.Length(max=20), metadata={"description": "Shown masked: 张*女士"}
    )
    honorific = ma.fields.String(load_default="", validate=validate.Length(max=5), metadata={"description": "mr, ms"})


class TicketOut(ma.Schema):
    number = ma.fields.String(required=True)
    tracking_id = ma.fields.String(required=True, metadata={"description": "The secret of the tracking page"})
    tracking_url = ma.fields.String(required=True)
    service = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in TicketStatus]))
    issued_at = Instant(required=True)
    ahead = Integer(required=True, metadata={"description": "Tickets to be called before this one"})
    eta = Instant(allow_none=True, metadata={"description": "When it should be called"})
    window = ma.fields.String(allow_none=True, metadata={"description": "The window that called it"})
    call_count = Integer(required=True)
    is_requeued = ma.fields.Boolean(required=True)


class WindowOut(ma.Schema):
    id = Integer(required=True)
    number = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    group = ma.fields.String(required=True)
    is_open = ma.fields.Boolean(required=True, metadata={"description": "Within today's plan now"})
    signed_on = ma.fields.Boolean(required=True, metadata={"description": "The caller is signed on here"})
    current = ma.fields.Nested(TicketOut, allow_none=True)
    waiting = Integer(required=True)


class TransferArgs(ma.Schema):
    to_window = Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


class HallCallOut(ma.Schema):
    number = ma.fields.String(required=True)
    window = ma.fields.String(required=True)
    name = ma.fields.String(required=True, metadata={"description": "Masked: 张*女士, or empty"})
    call = Integer(required=True)
    ticket = Integer(required=True)


class HallWaitingOut(ma.Schema):
    group = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True)
    count = Integer(required=True)


class HallOut(ma.Schema):
    version = Integer(required=True)
    day = ma.fields.String(required=True)
    calls = ma.fields.List(ma.fields.Nested(HallCallOut), required=True)
    waiting = ma.fields.List(ma.fields.Nested(HallWaitingOut), required=True)


# --- appointments -------------------------------------------------------------------------------------


class SlotQuery(ma.Schema):
    service = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    day = ma.fields.Date(required=True, metadata={"description": "The center's day, YYYY-MM-DD"})


class SlotOut(ma.Schema):
    slot = ma.fields.String(required=True, metadata={"description": "The key to book: window id and local start"})
    window = ma.fields.String(required=True)
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    places = Integer(required=True, metadata={"description": "Places still free for this service (0: full)"})


class BookArgs(ma.Schema):
    service = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    slot = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    phone = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "For the reminder and the kiosk check-in"},
    )
    email = ma.fields.String(load_default="", validate=validate.Length(max=200))


class RescheduleArgs(ma.Schema):
    slot = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))


class KioskCheckInArgs(ma.Schema):
    reference = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    phone = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))


class AppointmentTicketOut(ma.Schema):
    number = ma.fields.String(required=True)
    tracking_url = ma.fields.String(required=True)


class AppointmentOut(ma.Schema):
    reference = ma.fields.String(required=True, metadata={"description": "Keyed in at the kiosk to check in"})
    service = ma.fields.String(required=True)
    service_name = ma.fields.String(required=True)
    window = ma.fields.String(required=True)
    location = ma.fields.String(required=True)
    starts_at = Instant(required=True)
    ends_at = Instant(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(["booked", "checked_in", "cancelled", "no_show"]))
    reschedule_count = Integer(required=True)
    check_in_opens_at = Instant(required=True)
    check_in_closes_at = Instant(required=True)
    ics_url = ma.fields.String(required=True)
    ticket = ma.fields.Nested(AppointmentTicketOut, allow_none=True)


# --- home visits (上门服务) -------------------------------------------------------------------------------


class HomeVisitArgs(ma.Schema):
    service = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = ma.fields.String(required=True, validate=validate.Length(max=200))
    phone = ma.fields.String(required=True, validate=validate.Length(max=30))
    address = ma.fields.String(required=True, validate=validate.Length(max=400))
    reason = ma.fields.String(
        required=True, validate=validate.OneOf([r.value for r in VisitReason]), metadata={"description": "why at home"}
    )
    details = ma.fields.String(load_default="", validate=validate.Length(max=2000))
    preferred_day = ma.fields.Date(required=True)
    preferred_period = ma.fields.String(load_default="any", validate=validate.OneOf([p.value for p in DayPeriod]))


class VisitStepOut(ma.Schema):
    what = ma.fields.String(required=True)
    at = Instant(allow_none=True)
    details = ma.fields.String(required=True)


class HomeVisitOut(ma.Schema):
    reference = ma.fields.String(required=True, metadata={"description": "What the citizen quotes: SM20261207001"})
    tracking_id = ma.fields.String(required=True, metadata={"description": "The secret of the tracking page"})
    tracking_url = ma.fields.String(required=True)
    service = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in HomeVisitStatus]))
    preferred_day = ma.fields.Date(required=True)
    preferred_period = ma.fields.String(required=True)
    scheduled_day = ma.fields.Date(allow_none=True)
    scheduled_period = ma.fields.String(allow_none=True)
    steps = ma.fields.List(ma.fields.Nested(VisitStepOut), required=True)
