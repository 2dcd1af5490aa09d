"""Marshmallow schemas of the convenience API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

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
