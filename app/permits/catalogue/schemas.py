"""Marshmallow schemas of the catalogue API (in the OpenAPI document): Open311-like service list and definition."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Integer, QueryInteger
from app.permits.catalogue.form_schema import DATATYPES
from app.permits.catalogue.models import Channel, DayCount, FeeKind, ItemKind, MaterialRequirement
from app.tendering.schemas import PlainText


class PermitDepartmentRefOut(ma.Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    window = ma.fields.String(required=True)
    phone = ma.fields.String(required=True)


class PermitDepartmentOut(PermitDepartmentRefOut):
    item_count = Integer(required=True)


class PermitItemListArgs(ma.Schema):
    q = PlainText(validate=validate.Length(max=100), metadata={"description": "Part of the name, code or department"})
    kind = ma.fields.String(validate=validate.OneOf([k.value for k in ItemKind]))
    department = ma.fields.String(validate=validate.Length(max=32), metadata={"description": "A department code"})
    page = QueryInteger(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = QueryInteger(load_default=20, validate=validate.Range(min=1, max=100))


class PermitLimitOut(ma.Schema):
    days = Integer(required=True)
    day_count = ma.fields.String(required=True, validate=validate.OneOf([d.value for d in DayCount]))


class PermitItemSummaryOut(ma.Schema):
    """An entry of Open311's service list (service_code, service_name, group, metadata) with the limits."""

    service_code = ma.fields.String(required=True)
    service_name = ma.fields.String(required=True)
    service_name_en = ma.fields.String(required=True)
    group = ma.fields.String(required=True, metadata={"description": "The department's name"})
    department_code = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in ItemKind]))
    metadata = ma.fields.Boolean(required=True, metadata={"description": "Always true: every item has a form"})
    type = ma.fields.String(required=True, metadata={"description": "Open311: always 'batch'"})
    statutory_limit = ma.fields.Nested(PermitLimitOut, required=True)
    promised_limit = ma.fields.Nested(PermitLimitOut, required=True)
    deemed_approval = ma.fields.Boolean(required=True)
    channel = ma.fields.String(required=True, validate=validate.OneOf([c.value for c in Channel]))


class PermitItemPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PermitItemSummaryOut), required=True)
    total = Integer(required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)


class PermitValueOut(ma.Schema):
    key = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class PermitAttributeOut(ma.Schema):
    """An Open311 service-definition attribute."""

    variable = ma.fields.Boolean(required=True)
    code = ma.fields.String(required=True)
    datatype = ma.fields.String(required=True, validate=validate.OneOf(DATATYPES))
    required = ma.fields.Boolean(required=True)
    order = Integer(required=True)
    description = ma.fields.String(required=True)
    datatype_description = ma.fields.String(allow_none=True)
    values = ma.fields.List(ma.fields.Nested(PermitValueOut), required=True)


class PermitFileOut(ma.Schema):
    name = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True)
    size = Integer(required=True)
    content_type = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class PermitMaterialOut(ma.Schema):
    name = ma.fields.String(required=True)
    requirement = ma.fields.String(required=True, validate=validate.OneOf([r.value for r in MaterialRequirement]))
    condition = ma.fields.String(allow_none=True, metadata={"description": "In the catalogue's condition language"})
    condition_tree = ma.fields.Dict(allow_none=True)
    originals = Integer(required=True)
    copies = Integer(required=True)
    note = ma.fields.String(required=True)
    template = ma.fields.Nested(PermitFileOut, allow_none=True)
    sample = ma.fields.Nested(PermitFileOut, allow_none=True)


class PermitFeeOut(ma.Schema):
    name = ma.fields.String(required=True)
    amount_fen = Integer(required=True, metadata={"description": "In 分 (1/100 元); per unit for a per_unit fee"})
    unit = ma.fields.String(required=True)
    legal_basis = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf([k.value for k in FeeKind]))
    per = ma.fields.String(allow_none=True, metadata={"description": "per_unit: the form's number attribute"})


class PermitOutputOut(ma.Schema):
    name = ma.fields.String(required=True)
    validity_months = Integer(allow_none=True, metadata={"description": "None: without a time limit"})


class PermitItemOut(PermitItemSummaryOut):
    """The Open311 service definition (attributes) with every fact of the guide."""

    description = ma.fields.String(required=True)
    legal_basis = ma.fields.String(required=True)
    acceptance_day_counts = ma.fields.Boolean(required=True)
    fees = ma.fields.List(ma.fields.Nested(PermitFeeOut), required=True)
    output = ma.fields.Nested(PermitOutputOut, required=True)
    attributes = ma.fields.List(ma.fields.Nested(PermitAttributeOut), required=True)
    form_schema = ma.fields.Dict(required=True, metadata={"description": "JSON Schema 2020-12 (restricted subset)"})
    materials = ma.fields.List(ma.fields.Nested(PermitMaterialOut), required=True)
    department = ma.fields.Nested(PermitDepartmentRefOut, required=True)
