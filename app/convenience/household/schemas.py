"""Marshmallow schemas of the 8188890 platform's API (in the OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.convenience.household.models import DispatchMode, DispatchOutcome, OrderChannel, OrderStatus, ProviderStatus
from app.convenience.rating.models import LEVELS
from app.core.fields import Float, Instant, Integer


class CategoryOut(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)


class DistrictOut(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Administrative division code"})
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)


class OrderArgs(ma.Schema):
    category = ma.fields.String(required=True, validate=validate.Length(min=1, max=10), metadata={"example": "HS02"})
    district = ma.fields.String(required=True, validate=validate.Length(min=1, max=6), metadata={"example": "130403"})
    address = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    preferred_time = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"description": "As the citizen says it"}
    )
    description = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
    contact_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    contact_phone = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=20), metadata={"description": "Mobile or landline"}
    )


class DispatchOut(ma.Schema):
    provider = Integer(required=True)
    provider_name = ma.fields.String(required=True)
    mode = ma.fields.String(required=True, validate=validate.OneOf([m.value for m in DispatchMode]))
    slot = Integer(allow_none=True, metadata={"description": "The rotation's slot (rotation mode)"})
    dispatched_at = Instant(required=True)
    ack_due_at = Instant(required=True)
    outcome = ma.fields.String(required=True, validate=validate.OneOf([o.value for o in DispatchOutcome]))
    outcome_at = Instant(allow_none=True)
    reason = ma.fields.String(required=True)


class OrderOut(ma.Schema):
    reference = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in OrderStatus]))
    channel = ma.fields.String(required=True, validate=validate.OneOf([c.value for c in OrderChannel]))
    category = ma.fields.String(required=True)
    district = ma.fields.String(required=True)
    address = ma.fields.String(required=True)
    preferred_time = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    provider = Integer(allow_none=True, metadata={"description": "The provider dispatched to or working on it"})
    provider_name = ma.fields.String(allow_none=True)
    ack_due_at = Instant(allow_none=True)
    created_at = Instant(required=True)
    accepted_at = Instant(allow_none=True)
    completed_at = Instant(allow_none=True)
    work_done = ma.fields.String(required=True)
    price_fen = Integer(allow_none=True, metadata={"description": "The price in 分"})
    rating = ma.fields.String(allow_none=True, metadata={"description": "The citizen's rating level, once rated"})


class TrackedOrderOut(OrderOut):
    token = ma.fields.String(required=True, metadata={"description": "The tracking token (keep it: it is the key)"})
    tracking_url = ma.fields.String(required=True)


class StaffOrderOut(OrderOut):
    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    failures = Integer(required=True, metadata={"description": "Declines and timeouts so far"})
    dispatches = ma.fields.List(ma.fields.Nested(DispatchOut), required=True)


class TrackQuery(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))


class HouseholdDeclineArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class CompleteArgs(ma.Schema):
    work_done = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))
    price = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "The price in 元 (at most two decimals), stored in 分", "example": "180.50"},
    )


class RateArgs(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    level = ma.fields.String(required=True, validate=validate.OneOf([lv.value for lv in LEVELS]))
    comment = ma.fields.String(load_default="", validate=validate.Length(max=500))


class CitizenComplaintArgs(ma.Schema):
    token = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ComplaintArgs(ma.Schema):
    provider = Integer(required=True)
    text = ma.fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ComplaintOut(ma.Schema):
    id = Integer(required=True)
    provider = Integer(required=True)
    reference = ma.fields.String(allow_none=True)
    text = ma.fields.String(required=True)
    filed_at = Instant(required=True)


class ProviderArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    uscc = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    contact_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    contact_phone = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    categories = ma.fields.List(ma.fields.String(validate=validate.Length(max=10)), required=True)
    districts = ma.fields.List(ma.fields.String(validate=validate.Length(max=6)), required=True)


class ProviderAmendArgs(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    contact_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    contact_phone = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    categories = ma.fields.List(ma.fields.String(validate=validate.Length(max=10)), required=True)
    districts = ma.fields.List(ma.fields.String(validate=validate.Length(max=6)), required=True)


class ReasonArgs(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=500))


class AssignArgs(ma.Schema):
    provider = Integer(required=True)


class ProviderOut(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    uscc = ma.fields.String(required=True)
    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in ProviderStatus]))
    status_reason = ma.fields.String(required=True)
    categories = ma.fields.List(ma.fields.String(), required=True)
    districts = ma.fields.List(ma.fields.String(), required=True)
    rating = Float(
        allow_none=True, metadata={"description": "Average of the citizens' ratings, 5 (very satisfied) … 1"}
    )
    rating_count = Integer(required=True)


class ProviderOrderOut(OrderOut):
    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)


class OrdersQuery(ma.Schema):
    status = ma.fields.String(load_default=None, validate=validate.OneOf([s.value for s in OrderStatus]))
