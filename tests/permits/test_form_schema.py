"""The application form's restricted JSON Schema: the demo forms pass, anything outside the subset is refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.core.errors import ValidationFailed
from app.permits.catalogue import form_schema
from app.permits.catalogue.services import DEMO_CATALOGUE


def good() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": "申请表",
        "properties": {
            "name": {"type": "string", "x-datatype": "string", "title": "名称", "maxLength": 100, "x-order": 1},
            "note": {"type": "string", "x-datatype": "text", "title": "说明", "maxLength": 2000, "x-order": 2},
            "area": {"type": "number", "x-datatype": "number", "title": "面积", "minimum": 0, "x-order": 3},
            "start": {"type": "string", "x-datatype": "datetime", "format": "date", "title": "开始日", "x-order": 4},
            "kind": {
                "type": "string",
                "x-datatype": "singlevaluelist",
                "title": "类型",
                "oneOf": [{"const": "a", "title": "甲"}, {"const": "b", "title": "乙"}],
                "x-order": 5,
            },
            "scope": {
                "type": "array",
                "x-datatype": "multivaluelist",
                "title": "范围",
                "uniqueItems": True,
                "items": {"type": "string", "oneOf": [{"const": "x", "title": "X"}, {"const": "y", "title": "Y"}]},
                "x-order": 6,
            },
        },
        "required": ["name", "kind"],
        "additionalProperties": False,
    }


def test_every_demo_form_is_in_the_subset() -> None:
    data = json.loads(DEMO_CATALOGUE.read_text(encoding="utf-8"))
    for item in data["items"]:
        assert form_schema.validate_schema(item["form"]) is item["form"]


def test_attributes_follow_open311_in_order() -> None:
    attrs = form_schema.attributes(good())
    assert [a["code"] for a in attrs] == ["name", "note", "area", "start", "kind", "scope"]
    assert [a["datatype"] for a in attrs] == list(form_schema.DATATYPES)
    assert attrs[0]["required"] and not attrs[1]["required"]
    assert attrs[4]["values"] == [{"key": "a", "name": "甲"}, {"key": "b", "name": "乙"}]
    assert attrs[5]["values"][1] == {"key": "y", "name": "Y"}


def test_answers_are_checked_against_the_form() -> None:
    schema = form_schema.validate_schema(good())
    assert form_schema.answer_errors(schema, {"name": "甲公司", "kind": "a", "scope": ["x"], "area": 12.5}) == {}
    errors = form_schema.answer_errors(schema, {"name": "x" * 101, "kind": "c", "scope": ["x", "x"], "extra": 1})
    assert {"name", "kind", "scope", "_form"} <= set(errors)
    assert "start" in form_schema.answer_errors(schema, {"name": "n", "kind": "a", "start": "not a date"})


def _with(path: list[Any], value: Any, *, delete: bool = False) -> dict[str, Any]:
    schema = copy.deepcopy(good())
    node: Any = schema
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return schema


BAD: list[tuple[str, Any, str]] = [
    ("not an object", [], "JSON object"),
    ("a $ref to the network", _with(["properties", "name", "$ref"], "https://evil.example/x.json"), "$ref"),
    ("$id at the top", _with(["$id"], "https://evil.example/"), "$id"),
    ("a regular expression", _with(["properties", "name", "pattern"], "^(a+)+$"), "pattern"),
    ("another draft", _with(["$schema"], "http://json-schema.org/draft-04/schema#"), "2020-12"),
    ("open to extra answers", _with(["additionalProperties"], True), "additionalProperties"),
    ("no additionalProperties", _with(["additionalProperties"], None, delete=True), "additionalProperties"),
    ("unknown datatype", _with(["properties", "name", "x-datatype"], "file"), "x-datatype"),
    ("no datatype", _with(["properties", "name", "x-datatype"], None, delete=True), "x-datatype"),
    ("datatype and type disagree", _with(["properties", "area", "type"], "string"), "type must be"),
    ("a fractional bound", _with(["properties", "area", "minimum"], 0.5), "whole number"),
    ("a boolean bound", _with(["properties", "area", "maximum"], True), "whole number"),
    ("minimum above maximum", _with(["properties", "area", "maximum"], -1), "minimum is above maximum"),
    ("a text without maxLength", _with(["properties", "name", "maxLength"], None, delete=True), "whole number"),
    ("a huge maxLength", _with(["properties", "note", "maxLength"], 10**9), "whole number"),
    ("a datetime without format", _with(["properties", "start", "format"], "email"), "date-time"),
    ("a value with extra keys", _with(["properties", "kind", "oneOf", 0, "description"], "x"), "const"),
    ("duplicate keys", _with(["properties", "kind", "oneOf", 1, "const"], "a"), "unique"),
    ("an empty list", _with(["properties", "kind", "oneOf"], []), "1 to"),
    ("a list keyword on a string", _with(["properties", "name", "oneOf"], [{"const": "a", "title": "A"}]), "oneOf"),
    ("multi without uniqueItems", _with(["properties", "scope", "uniqueItems"], False), "uniqueItems"),
    ("multi items of objects", _with(["properties", "scope", "items"], {"type": "object"}), "items"),
    ("a nested object", _with(["properties", "sub"], {"type": "object", "properties": {}}), "x-datatype"),
    ("combinators", _with(["allOf"], [{"type": "object"}]), "allOf"),
    ("if/then", _with(["properties", "name", "if"], {"const": "x"}), "if"),
    ("a bad attribute name", _with(["properties", "Bad Name"], good()["properties"]["name"]), "attribute name"),
    ("same order twice", _with(["properties", "note", "x-order"], 1), "x-order"),
    ("missing order", _with(["properties", "note", "x-order"], None, delete=True), "x-order"),
    ("required names nothing", _with(["required"], ["ghost"]), "required"),
    ("required twice", _with(["required"], ["name", "name"]), "required"),
    ("no title", _with(["properties", "name", "title"], None, delete=True), "title"),
    ("a control character", _with(["properties", "name", "title"], "名\x00称"), "control"),
    ("no attributes", _with(["properties"], {}), "attributes"),
    ("a default value", _with(["properties", "name", "default"], "x"), "default"),
]


@pytest.mark.parametrize(("label", "schema", "expected"), BAD, ids=[b[0] for b in BAD])
def test_a_schema_outside_the_subset_is_refused_with_a_readable_message(label: str, schema: Any, expected: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        form_schema.validate_schema(schema)
    exc = caught.value
    assert exc.status == 422
    assert expected in exc.detail, exc.detail
    assert exc.extra["errors"]["form_schema"] == [exc.detail]


def test_too_many_attributes_and_too_large_a_schema_are_refused() -> None:
    many = good()
    base = many["properties"]["name"]
    many["properties"] = {f"a{i}": {**base, "x-order": i + 1} for i in range(form_schema.MAX_ATTRIBUTES + 1)}
    many["required"] = []
    with pytest.raises(ValidationFailed, match="attributes"):
        form_schema.validate_schema(many)
    big = _with(["description"], "说" * 400)
    big["properties"]["kind"]["oneOf"] = [{"const": f"k{i}", "title": "长" * 100} for i in range(100)]
    with pytest.raises(ValidationFailed, match="larger than"):
        form_schema.validate_schema(big)


def test_a_self_referencing_structure_is_refused_not_looped_over() -> None:
    loop: dict[str, Any] = good()
    loop["properties"]["name"]["description"] = loop  # type: ignore[assignment]
    with pytest.raises(ValidationFailed, match="plain JSON"):
        form_schema.validate_schema(loop)


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_a_refused_schema_is_problem_json_in_the_api_and_chinese_on_a_page(app: Any) -> None:
    from tests.accounts.helpers import compile_translations

    compile_translations()
    bad = _with(["properties", "name", "pattern"], "^(a+)+$")
    with pytest.raises(ValidationFailed) as caught:
        form_schema.validate_schema(bad)
    with app.test_request_context("/api/v1/permits/items", headers={"Accept": "application/json"}):
        resp = app.make_response(app.handle_user_exception(caught.value))
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
        body = resp.get_json()
        assert body["errors"]["form_schema"] == [
            "/properties/name: keyword pattern is not allowed for a string attribute"
        ]
    with app.test_request_context("/permits/", headers={"Accept-Language": "zh-CN"}):
        assert caught.value.translated == "/properties/name：string 栏目不允许使用关键字 pattern"
