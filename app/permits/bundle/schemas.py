"""Marshmallow schemas of the bundle API (一照三证联办), in the OpenAPI document."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Instant, Integer
from app.permits.bundle.models import BundleStatus
from app.permits.cases.models import ApplicationChannel
from app.permits.cases.schemas import ApplicantIn
from app.permits.catalogue.schemas import PermitAttributeOut
from app.tendering.schemas import PlainText


class BundleDefinitionIn(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = PlainText(required=True, validate=validate.Length(min=1, max=200))
    name_en = PlainText(load_default="", validate=validate.Length(max=300))
    items = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=40)), required=True, validate=validate.Length(max=10)
    )
    licence_item = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))


class BundleItemOut(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    department_code = ma.fields.String(required=True)


class BundleMaterialOut(ma.Schema):
    key = ma.fields.String(required=True, metadata={"description": "Send the file under this key"})
    name = ma.fields.String(required=True)
    always = ma.fields.Boolean(required=True, metadata={"description": "False: only when a condition holds"})
    items = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "The items that ask for it"})


class BundleDefinitionOut(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    licence_item = ma.fields.String(required=True)
    items = ma.fields.List(ma.fields.Nested(BundleItemOut), required=True)
    attributes = ma.fields.List(ma.fields.Nested(PermitAttributeOut), required=True)
    form_schema = ma.fields.Dict(required=True, metadata={"description": "The union of the items' forms"})
    materials = ma.fields.List(ma.fields.Nested(BundleMaterialOut), required=True)


class BundleApplicationIn(ma.Schema):
    applicant = ma.fields.Nested(ApplicantIn, required=True)
    answers = ma.fields.Dict(required=True, metadata={"description": "The answers to the union form"})
    channel = ma.fields.String(
        load_default=ApplicationChannel.ONLINE.value, validate=validate.OneOf([c.value for c in ApplicationChannel])
    )


class BundleMaterialQuery(ma.Schema):
    key = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = PlainText(required=True, validate=validate.Length(min=1, max=200))
    content_type = ma.fields.String(required=True, validate=validate.Length(max=100))


class BundleOutputIn(ma.Schema):
    uscc = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata={"description": "The unified social credit code the licence carries (18 characters)"},
    )


class BundlePartOut(ma.Schema):
    application_number = ma.fields.String(required=True)
    case_number = ma.fields.String(allow_none=True)
    item_code = ma.fields.String(required=True)
    item_name = ma.fields.String(required=True)
    department = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    current_step = ma.fields.String(allow_none=True)
    promised_due = ma.fields.Date(allow_none=True)
    decision = ma.fields.String(allow_none=True)


class BundleCaseOut(ma.Schema):
    id = Integer(required=True)
    number = ma.fields.String(required=True)
    bundle = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in BundleStatus]))
    applicant_name = ma.fields.String(required=True)
    received_at = Instant(required=True)
    parts = ma.fields.List(ma.fields.Nested(BundlePartOut), required=True)
    materials = ma.fields.List(ma.fields.Nested(BundleMaterialOut), required=True)
    received = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Material keys received"})
    uscc = ma.fields.String(allow_none=True)
    organisation_code = ma.fields.String(allow_none=True)
    tax_number = ma.fields.String(allow_none=True)
    certificate_number = ma.fields.String(allow_none=True)
    tracking_url = ma.fields.String(required=True)


class BundleCaseTrackingOut(ma.Schema):
    number = ma.fields.String(required=True)
    bundle = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    received_at = Instant(required=True)
    parts = ma.fields.List(ma.fields.Nested(BundlePartOut), required=True)
    certificate_number = ma.fields.String(allow_none=True)
