"""Validation of a tender's structured terms: envelopes, the bid form (a JSON Schema in a safe subset), criteria.

The bid form schema is what bidders fill in (开标一览表). It is a JSON Schema (draft 2020-12) restricted
to a subset that cannot reach the network ($ref, $id), cannot be slow to evaluate (no regular
expressions) and cannot admit floating-point numbers (amounts are integers in minor units, so they
can be signed as canonical JSON and compared exactly).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from app.core.errors import ValidationFailed, field_error
from app.core.problems import N_
from app.tendering.models import EvaluationMethod

ENVELOPE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_ENVELOPES = 4
MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 6
MAX_PROPERTIES = 100
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_ALLOWED_KEYWORDS = frozenset(
    {
        "$schema",
        "type",
        "title",
        "description",
        "properties",
        "required",
        "additionalProperties",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "default",
        "examples",
        "format",
    }
)
MONEY_FORMAT = "money"  # `"format": "money"` on an integer field: an amount in 分, typed and shown in 元
_ALLOWED_TYPES = frozenset({"object", "string", "integer", "boolean", "array"})

DEFAULT_ENVELOPES: list[dict[str, Any]] = [{"name": "bid", "stage": 1, "form": True}]

DEFAULT_BID_FORM: dict[str, Any] = {
    "type": "object",
    "title": "开标一览表",
    "properties": {
        "price": {"type": "integer", "minimum": 0, "title": "投标报价（分）"},
        "currency": {"type": "string", "enum": ["CNY"], "title": "币种"},
        "duration_days": {"type": "integer", "minimum": 1, "maximum": 3650, "title": "工期（日历天）"},
    },
    "required": ["price", "currency", "duration_days"],
    "additionalProperties": False,
}


# Labels of the usual envelope names (an envelope has only its name): a page shows the label, translated, and
# the PDF its Chinese label; any other name is shown as it is.
ENVELOPE_LABELS: dict[str, tuple[str, str]] = {
    "bid": (N_("Bid documents"), "投标文件"),
    "technical": (N_("Technical bid"), "技术标"),
    "tech": (N_("Technical bid"), "技术标"),
    "commercial": (N_("Commercial bid"), "商务标"),
    "price": (N_("Price bid"), "报价标"),
    "qualification": (N_("Qualification documents"), "资格审查文件"),
}
# Currencies a bid form may name (its `currency` field): shown by name, never by code.
CURRENCY_LABELS: dict[str, tuple[str, str]] = {
    "CNY": (N_("Renminbi (yuan)"), "人民币（元）"),
}
# A tender's category is typed by the agency; the procurement law's three kinds, typed as codes, are shown in words.
CATEGORY_LABELS: dict[str, str] = {
    "construction": N_("Works (construction)"),
    "works": N_("Works (construction)"),
    "goods": N_("Goods"),
    "services": N_("Services"),
}


def _fail(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    return field_error(field, message, params)


def validate_envelopes(value: Any) -> list[dict[str, Any]]:
    """A list of {name, stage, form}: unique names, stages 1..m without gaps, exactly one envelope with the form."""
    if value is None:
        return [dict(e) for e in DEFAULT_ENVELOPES]
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_ENVELOPES:
        raise _fail(
            "envelopes",
            N_("envelopes must be a list of 1 to %(limit)s envelopes"),
            params={"limit": MAX_ENVELOPES},
        )
    out: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"name", "stage", "form"}:
            raise _fail("envelopes", N_("each envelope is an object with name, stage and form"))
        name, stage, form = item.get("name"), item.get("stage", 1), item.get("form", False)
        if not isinstance(name, str) or not ENVELOPE_NAME.match(name):
            raise _fail("envelopes", N_("an envelope name is 1-32 of a-z, 0-9, '_' and '-', starting with a letter"))
        if not isinstance(stage, int) or isinstance(stage, bool) or not 1 <= stage <= MAX_ENVELOPES:
            raise _fail(
                "envelopes",
                N_("an envelope stage is a whole number from 1 to %(limit)s"),
                params={"limit": MAX_ENVELOPES},
            )
        if not isinstance(form, bool):
            raise _fail("envelopes", N_("form must be true or false"))
        out.append({"name": name, "stage": stage, "form": form})
    if len({e["name"] for e in out}) != len(out):
        raise _fail("envelopes", N_("envelope names must be unique"))
    stages = sorted({e["stage"] for e in out})
    if stages != list(range(1, len(stages) + 1)):
        raise _fail("envelopes", N_("stages must be numbered 1, 2, … without gaps"))
    if sum(1 for e in out if e["form"]) != 1:
        raise _fail("envelopes", N_("exactly one envelope carries the bid form (form: true)"))
    return out


def _check_subschema(node: Any, path: str, depth: int) -> None:
    if depth > MAX_SCHEMA_DEPTH:
        raise _fail(
            "bid_form_schema",
            N_("%(path)s: nested deeper than %(limit)s levels"),
            params={"path": path, "limit": MAX_SCHEMA_DEPTH},
        )
    if not isinstance(node, dict):
        raise _fail("bid_form_schema", N_("%(path)s: a schema must be an object"), params={"path": path})
    unknown = sorted(set(node) - _ALLOWED_KEYWORDS)
    if unknown:
        raise _fail(
            "bid_form_schema",
            N_("%(path)s: keywords not allowed in a bid form: %(value)s"),
            params={"path": path, "value": ", ".join(unknown)},
        )
    kind = node.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if kind is None or not all(isinstance(k, str) and k in _ALLOWED_TYPES for k in kinds):
        raise _fail(
            "bid_form_schema",
            N_("%(path)s: type must be one of %(value)s (amounts are integers in minor units)"),
            params={"path": path, "value": ", ".join(sorted(_ALLOWED_TYPES))},
        )
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in node and (not isinstance(node[key], int) or isinstance(node[key], bool)):
            raise _fail(
                "bid_form_schema", N_("%(path)s.%(key)s: must be an integer"), params={"path": path, "key": key}
            )
    if "format" in node and (node["format"] != MONEY_FORMAT or kind != "integer"):
        raise _fail(
            "bid_form_schema",
            N_("%(path)s.format: only integer fields may have it, and only as %(value)s"),
            params={"path": path, "value": MONEY_FORMAT},
        )
    props = node.get("properties")
    if props is not None:
        if not isinstance(props, dict) or len(props) > MAX_PROPERTIES:
            raise _fail(
                "bid_form_schema",
                N_("%(path)s.properties: an object of at most %(limit)s fields"),
                params={"path": path, "limit": MAX_PROPERTIES},
            )
        for name, sub in props.items():
            _check_subschema(sub, f"{path}.{name}", depth + 1)
    additional = node.get("additionalProperties")
    if additional is not None and not isinstance(additional, bool):
        raise _fail(
            "bid_form_schema", N_("%(path)s.additionalProperties: must be true or false"), params={"path": path}
        )
    items = node.get("items")
    if items is not None:
        _check_subschema(items, f"{path}[]", depth + 1)


def validate_bid_form_schema(value: Any) -> dict[str, Any]:
    """The bid form schema, checked to be a valid draft 2020-12 schema within the safe subset.

    The top level is an object with a required integer `price` and no fields beyond those declared.
    """
    if value is None:
        return copy.deepcopy(DEFAULT_BID_FORM)
    if not isinstance(value, dict):
        raise _fail("bid_form_schema", N_("the bid form schema must be a JSON object"))
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_SCHEMA_BYTES:
        raise _fail(
            "bid_form_schema",
            N_("the bid form schema may have at most %(limit)s bytes"),
            params={"limit": MAX_SCHEMA_BYTES},
        )
    if value.get("$schema", SCHEMA_DIALECT) != SCHEMA_DIALECT:
        raise _fail(
            "bid_form_schema",
            N_("$schema, when given, must be %(dialect)s"),
            params={"dialect": SCHEMA_DIALECT},
        )
    _check_subschema(value, "$", 0)
    if value.get("type") != "object" or not isinstance(value.get("properties"), dict):
        raise _fail("bid_form_schema", N_("the bid form must be an object schema with properties"))
    price = value["properties"].get("price")
    if not isinstance(price, dict) or price.get("type") != "integer" or "price" not in (value.get("required") or []):
        raise _fail("bid_form_schema", N_("the bid form needs a required integer field 'price' (in minor units)"))
    if value.get("additionalProperties") is not False:
        raise _fail("bid_form_schema", N_("the bid form must set additionalProperties to false"))
    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as exc:
        raise _fail(
            "bid_form_schema", N_("not a valid JSON Schema: %(message)s"), params={"message": exc.message}
        ) from None
    return value


def form_errors(schema: dict[str, Any], form: Any) -> list[str]:
    """Every way `form` breaks `schema`, as short messages (empty when valid)."""
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(form), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '$'}: {e.message}"[:300] for e in errors[:20]]


_CRITERIA_SCHEMAS: dict[EvaluationMethod, dict[str, Any]] = {
    EvaluationMethod.COMPREHENSIVE: {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 50,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "category": {"enum": ["price", "technical", "commercial"]},
                        "weight": {"type": "integer", "minimum": 1, "maximum": 100},
                        "description": {"type": "string", "maxLength": 2000},
                    },
                    "required": ["name", "category", "weight"],
                    "additionalProperties": False,
                },
            },
            "outlier_percent": {"type": "integer", "minimum": 1, "maximum": 100},
            "drop_extremes": {"type": "boolean"},
        },
        "required": ["items"],
        "additionalProperties": False,
    },
    EvaluationMethod.LOWEST_EVALUATED_PRICE: {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 50,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "description": {"type": "string", "maxLength": 2000},
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                },
            },
            # price adjustments (价格折算) each committee member records per bid, within [min, max]:
            # a percentage of the bid price or an amount in minor units; positive adds, negative deducts
            "adjustments": {
                "type": "array",
                "maxItems": 20,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "kind": {"enum": ["percent", "amount"]},
                        "min": {"type": "integer", "minimum": -100_000_000_000, "maximum": 100_000_000_000},
                        "max": {"type": "integer", "minimum": -100_000_000_000, "maximum": 100_000_000_000},
                        "description": {"type": "string", "maxLength": 2000},
                    },
                    "required": ["name", "kind", "min", "max"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["items"],
        "additionalProperties": False,
    },
}


def default_criteria(method: EvaluationMethod) -> dict[str, Any]:
    if method is EvaluationMethod.COMPREHENSIVE:
        return {
            "items": [
                {"name": "投标报价", "category": "price", "weight": 40},
                {"name": "技术方案", "category": "technical", "weight": 45},
                {"name": "商务及信誉", "category": "commercial", "weight": 15},
            ],
            "outlier_percent": 30,
            "drop_extremes": False,
        }
    return {"items": [{"name": "资格审查", "description": "资质、业绩、信誉符合招标文件要求"}]}


def validate_criteria(method: EvaluationMethod, value: Any) -> dict[str, Any]:
    """Criteria for the evaluation method: comprehensive weights sum to 100 and include a price item."""
    if value is None:
        return default_criteria(method)
    errors = form_errors(_CRITERIA_SCHEMAS[method], value)
    if errors:
        raise ValidationFailed(N_("the evaluation criteria are not valid"), errors={"criteria": errors})
    if method is EvaluationMethod.COMPREHENSIVE:
        items = value["items"]
        if sum(i["weight"] for i in items) != 100:
            raise _fail("criteria", N_("the weights of comprehensive scoring must add up to 100"))
        if not any(i["category"] == "price" for i in items):
            raise _fail("criteria", N_("comprehensive scoring needs a price item"))
    if len({i["name"] for i in value["items"]}) != len(value["items"]):
        raise _fail("criteria", N_("criteria item names must be unique"))
    adjustments = value.get("adjustments", [])
    if len({a["name"] for a in adjustments}) != len(adjustments):
        raise _fail("criteria", N_("price adjustment names must be unique"))
    if any(a["min"] > a["max"] or (a["kind"] == "percent" and a["min"] <= -100) for a in adjustments):
        raise _fail("criteria", N_("a price adjustment's min is at most its max (a percentage above -100)"))
    return dict(value)


def is_money_field(key: Any, prop: Any) -> bool:
    """A bid-form field holding an amount in 分: the required `price`, or an integer field of format money."""
    if not isinstance(prop, dict) or prop.get("type") != "integer":
        return False
    return key == "price" or prop.get("format") == MONEY_FORMAT


def money_label(title: str) -> str:
    """A money field's title without a unit in 分 ('投标报价（分）' → '投标报价'): the page shows 元."""
    return _UNIT_SUFFIX.sub("", title) or title


_UNIT_SUFFIX = re.compile(r"\s*[（(]\s*(?:分|fen)\s*[)）]\s*$", re.IGNORECASE)


def bid_form_rows(schema: Any, form: Any) -> list[dict[str, Any]]:
    """A bid's form as rows for a person: {key, label, value, money, currency}, in the schema's order, then any
    other keys. `currency` is true for a `currency` field naming a currency of CURRENCY_LABELS (shown by name).

    `label` is the field's `title` in the tender's bid-form schema (None when it has none: the page shows the
    key). `price` (the integer amount in 分 every bid form carries) is `money`: shown in 元 with its capital
    form, so a unit in its title such as '（分）' is dropped from the label.
    """
    if not isinstance(form, dict):
        return []
    properties = schema.get("properties") if isinstance(schema, dict) else None
    properties = properties if isinstance(properties, dict) else {}
    keys = [k for k in properties if k in form] + [k for k in form if k not in properties]
    rows = []
    for key in keys:
        prop = properties.get(key)
        title = prop.get("title") if isinstance(prop, dict) else None
        value = form[key]
        money = (key == "price" or is_money_field(key, prop)) and isinstance(value, int) and not isinstance(value, bool)
        label = str(title).strip() if isinstance(title, str) and title.strip() else None
        if label and money:
            label = money_label(label)
        currency = key == "currency" and isinstance(value, str) and value in CURRENCY_LABELS
        rows.append({"key": str(key), "label": label, "value": value, "money": money, "currency": currency})
    return rows
