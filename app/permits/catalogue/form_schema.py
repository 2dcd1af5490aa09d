"""An item's application form: Open311 service-definition attributes, stored as a restricted JSON Schema.

The schema (draft 2020-12) is an object whose properties are the attributes. Each property names its Open311
datatype in `x-datatype` and its display order in `x-order`; only these shapes are accepted:

  string            {"type": "string", "maxLength": 1..500, "minLength"?}
  text              {"type": "string", "maxLength": 1..5000, "minLength"?}
  number            {"type": "number" | "integer", "minimum"?, "maximum"?}   (bounds are whole numbers)
  datetime          {"type": "string", "format": "date" | "date-time"}
  singlevaluelist   {"type": "string", "oneOf": [{"const": key, "title": name}, …]}
  multivaluelist    {"type": "array", "items": {"type": "string", "oneOf": [...]}, "uniqueItems": true,
                     "minItems"?, "maxItems"?}

plus "title" (required), "description" and the two x- keys on every property; at the top "type": "object",
"properties", "required", "additionalProperties": false, and optionally "$schema", "title", "description".
Nothing else: no $ref/$id (no network, no recursion), no pattern (no slow regular expressions), no
combinators beyond the lists' oneOf of constants. Limits on size, count and lengths keep it cheap to check.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from app.core.errors import ValidationFailed
from app.core.problems import N_

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DATATYPES = ("string", "text", "number", "datetime", "singlevaluelist", "multivaluelist")
MAX_SCHEMA_BYTES = 32 * 1024
MAX_ATTRIBUTES = 60
MAX_VALUES = 100
MAX_TITLE = 100
MAX_DESCRIPTION = 500
MAX_BOUND = 10**12
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")

_TOP_KEYS = frozenset({"$schema", "type", "title", "description", "properties", "required", "additionalProperties"})
_COMMON = frozenset({"type", "title", "description", "x-datatype", "x-order"})
_BY_DATATYPE: dict[str, frozenset[str]] = {
    "string": _COMMON | {"maxLength", "minLength"},
    "text": _COMMON | {"maxLength", "minLength"},
    "number": _COMMON | {"minimum", "maximum"},
    "datetime": _COMMON | {"format"},
    "singlevaluelist": _COMMON | {"oneOf"},
    "multivaluelist": _COMMON | {"items", "uniqueItems", "minItems", "maxItems"},
}
_TEXT_LIMIT = {"string": 500, "text": 5000}


class SchemaRefused(ValidationFailed):
    """A form schema outside the subset: 422 with errors.form_schema."""


def _refuse(message: str, where: str = "", **params: Any) -> SchemaRefused:
    exc = SchemaRefused(message, params={"where": where or "/", **params})
    exc.extra["errors"] = {"form_schema": [exc.detail]}
    return exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, limit: int, where: str, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _refuse(N_("%(where)s: expected a text of 1 to %(limit)s characters"), where, limit=limit)
    if any(not c.isprintable() and c not in "\n\t" for c in value):
        raise _refuse(N_("%(where)s: control characters are not allowed"), where)


def _count(value: Any, where: str, low: int, high: int) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise _refuse(N_("%(where)s: expected a whole number from %(low)s to %(high)s"), where, low=low, high=high)


def _values(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
        raise _refuse(N_("%(where)s: a list offers 1 to %(limit)s values"), where, limit=MAX_VALUES)
    keys: list[str] = []
    for i, option in enumerate(value):
        at = f"{where}/{i}"
        if not isinstance(option, dict) or set(option) != {"const", "title"}:
            raise _refuse(N_('%(where)s: each value is {"const": key, "title": name}'), at)
        if not isinstance(option["const"], str) or not KEY.match(option["const"]):
            raise _refuse(N_("%(where)s: a value key is 1-40 letters, digits, '_', '.' or '-'"), at)
        _text(option["title"], MAX_TITLE, at + "/title", required=True)
        keys.append(option["const"])
    if len(set(keys)) != len(keys):
        raise _refuse(N_("%(where)s: value keys must be unique"), where)
    return keys


def _attribute(name: str, prop: Any) -> None:
    where = f"/properties/{name}"
    if not isinstance(prop, dict):
        raise _refuse(N_("%(where)s: an attribute is an object"), where)
    datatype = prop.get("x-datatype")
    if datatype not in _BY_DATATYPE:
        raise _refuse(
            N_("%(where)s: x-datatype must be one of %(allowed)s"), where + "/x-datatype", allowed=", ".join(DATATYPES)
        )
    extra = sorted(set(prop) - _BY_DATATYPE[datatype])
    if extra:
        raise _refuse(
            N_("%(where)s: keyword %(keyword)s is not allowed for a %(datatype)s attribute"),
            where,
            keyword=extra[0],
            datatype=datatype,
        )
    _text(prop.get("title"), MAX_TITLE, where + "/title", required=True)
    _text(prop.get("description"), MAX_DESCRIPTION, where + "/description")
    _count(prop.get("x-order"), where + "/x-order", 1, 1000)
    kind = prop.get("type")
    if datatype in ("string", "text"):
        if kind != "string":
            raise _refuse(N_("%(where)s: type must be %(type)s"), where + "/type", type="string")
        _count(prop.get("maxLength"), where + "/maxLength", 1, _TEXT_LIMIT[datatype])
        if "minLength" in prop:
            _count(prop["minLength"], where + "/minLength", 0, prop["maxLength"])
    elif datatype == "number":
        if kind not in ("number", "integer"):
            raise _refuse(N_("%(where)s: type must be %(type)s"), where + "/type", type="number / integer")
        for bound in ("minimum", "maximum"):
            if bound in prop:
                _count(prop[bound], f"{where}/{bound}", -MAX_BOUND, MAX_BOUND)
        if "minimum" in prop and "maximum" in prop and prop["minimum"] > prop["maximum"]:
            raise _refuse(N_("%(where)s: minimum is above maximum"), where)
    elif datatype == "datetime":
        if kind != "string" or prop.get("format") not in ("date", "date-time"):
            raise _refuse(N_("%(where)s: a datetime is a string with format date or date-time"), where)
    elif datatype == "singlevaluelist":
        if kind != "string":
            raise _refuse(N_("%(where)s: type must be %(type)s"), where + "/type", type="string")
        _values(prop.get("oneOf"), where + "/oneOf")
    else:  # multivaluelist
        if kind != "array":
            raise _refuse(N_("%(where)s: type must be %(type)s"), where + "/type", type="array")
        items = prop.get("items")
        if not isinstance(items, dict) or set(items) != {"type", "oneOf"} or items["type"] != "string":
            raise _refuse(N_('%(where)s: items is {"type": "string", "oneOf": [...]}'), where + "/items")
        keys = _values(items["oneOf"], where + "/items/oneOf")
        if prop.get("uniqueItems") is not True:
            raise _refuse(N_("%(where)s: uniqueItems must be true"), where + "/uniqueItems")
        for bound in ("minItems", "maxItems"):
            if bound in prop:
                _count(prop[bound], f"{where}/{bound}", 0, len(keys))


def validate_schema(schema: Any) -> dict[str, Any]:
    """The schema if it is in the allowed subset, else SchemaRefused (422) naming the first offending place."""
    if not isinstance(schema, dict):
        raise _refuse(N_("%(where)s: the form is a JSON object"))
    try:
        size = len(json.dumps(schema, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError):
        raise _refuse(N_("%(where)s: the form is not plain JSON")) from None
    if size > MAX_SCHEMA_BYTES:
        raise _refuse(N_("%(where)s: the form is larger than %(limit)s bytes"), limit=MAX_SCHEMA_BYTES)
    extra = sorted(set(schema) - _TOP_KEYS)
    if extra:
        raise _refuse(N_("%(where)s: keyword %(keyword)s is not allowed"), "/", keyword=extra[0])
    if schema.get("$schema", DIALECT) != DIALECT:
        raise _refuse(N_("%(where)s: only JSON Schema draft 2020-12 is accepted"), "/$schema")
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        raise _refuse(N_("%(where)s: the form is an object with additionalProperties false"))
    _text(schema.get("title"), MAX_TITLE, "/title")
    _text(schema.get("description"), MAX_DESCRIPTION, "/description")
    props = schema.get("properties")
    if not isinstance(props, dict) or not 1 <= len(props) <= MAX_ATTRIBUTES:
        raise _refuse(N_("%(where)s: a form has 1 to %(limit)s attributes"), "/properties", limit=MAX_ATTRIBUTES)
    for name, prop in props.items():
        if not isinstance(name, str) or not NAME.match(name):
            raise _refuse(
                N_("%(where)s: an attribute name is 1-40 of a-z, 0-9 and '_', starting with a letter"), "/properties"
            )
        _attribute(name, prop)
    orders = [p["x-order"] for p in props.values()]
    if len(set(orders)) != len(orders):
        raise _refuse(N_("%(where)s: two attributes have the same x-order"), "/properties")
    required = schema.get("required", [])
    if not isinstance(required, list) or any(r not in props for r in required) or len(set(required)) != len(required):
        raise _refuse(N_("%(where)s: required lists attributes of the form, each once"), "/required")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:  # pragma: no cover - the subset above is stricter
        raise _refuse(N_("%(where)s: not a valid JSON Schema"), "/" + "/".join(map(str, exc.path))) from None
    return schema


def attributes(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The form's attributes in order, in Open311's service-definition shape (a validated schema)."""
    required = set(schema.get("required") or [])
    out = []
    for name, prop in sorted(schema["properties"].items(), key=lambda kv: kv[1]["x-order"]):
        datatype = prop["x-datatype"]
        options = prop.get("oneOf") or (prop.get("items") or {}).get("oneOf") or []
        out.append(
            {
                "variable": True,
                "code": name,
                "datatype": datatype,
                "required": name in required,
                "order": prop["x-order"],
                "description": prop["title"],
                "datatype_description": prop.get("description") or None,
                "values": [{"key": o["const"], "name": o["title"]} for o in options],
            }
        )
    return out


def answer_errors(schema: dict[str, Any], answers: Any) -> dict[str, list[str]]:
    """What is wrong with a filled-in form ({attribute or "_form": [messages]}); {} when it is valid."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors: dict[str, list[str]] = {}
    for error in validator.iter_errors(answers):
        field = str(error.path[0]) if error.path else "_form"
        errors.setdefault(field, []).append(error.message)
    return errors
