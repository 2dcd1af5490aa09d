"""Marshmallow schemas of the fees API (in the OpenAPI document). Amounts are integers of 分."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Instant, Integer
from app.permits.catalogue.models import FeeKind
from app.permits.fees.models import BillStatus
from app.tendering.schemas import PlainText


class FeeBillIn(ma.Schema):
    items = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=40)),
        load_default=None,
        validate=validate.Length(max=10),
        metadata={"description": "A joint case: the co-departments' item codes whose fees join the combined bill"},
    )


class FeeChargeIn(ma.Schema):
    amount_fen = Integer(required=True, validate=validate.Range(min=0, max=10**12))
    reason = PlainText(required=True, validate=validate.Length(min=1, max=2000))


class FeePaymentIn(ma.Schema):
    amount_fen = Integer(required=True, validate=validate.Range(min=1, max=10**12))
    receipt_number = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=64), metadata={"description": "The receipt (票据号)"}
    )
    payer = PlainText(load_default="", validate=validate.Length(max=200))


class FeeLineOut(ma.Schema):
    id = Integer(required=True)
    item_code = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in FeeKind]))
    unit = ma.fields.String(required=True)
    unit_fen = Integer(required=True)
    quantity = ma.fields.String(required=True, metadata={"description": "A decimal, as text"})
    standard_fen = Integer(required=True)
    amount_fen = Integer(required=True)
    outside_standard = ma.fields.Boolean(required=True)
    override_reason = ma.fields.String(required=True)
    legal_basis = ma.fields.String(required=True)


class FeePaymentOut(ma.Schema):
    channel = ma.fields.String(required=True)
    receipt_number = ma.fields.String(required=True)
    amount_fen = Integer(required=True)
    paid_at = Instant(required=True)
    recorded_by = ma.fields.String(required=True)


class FeeBillOut(ma.Schema):
    number = ma.fields.String(required=True)
    case_number = ma.fields.String(required=True)
    application_id = Integer(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in BillStatus]))
    total_fen = Integer(required=True)
    paid_fen = Integer(required=True)
    outstanding_fen = Integer(required=True)
    issued_at = Instant(required=True)
    paid_at = Instant(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(FeeLineOut), required=True)
    payments = ma.fields.List(ma.fields.Nested(FeePaymentOut), required=True)


class FeePaymentResultOut(ma.Schema):
    created = ma.fields.Boolean(required=True, metadata={"description": "False: this receipt was recorded before"})
    payment = ma.fields.Nested(FeePaymentOut, required=True)
    bill = ma.fields.Nested(FeeBillOut, required=True)
