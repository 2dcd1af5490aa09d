"""The materials' condition language: parsed by hand into a tree, checked against the form, evaluated safely."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.errors import ValidationFailed
from app.permits.catalogue import conditions

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "applicant_type": {
            "type": "string",
            "x-datatype": "singlevaluelist",
            "title": "申请人类型",
            "x-order": 1,
            "oneOf": [{"const": "enterprise", "title": "企业"}, {"const": "individual", "title": "个人"}],
        },
        "area": {"type": "number", "x-datatype": "number", "title": "面积", "x-order": 2},
        "scope": {
            "type": "array",
            "x-datatype": "multivaluelist",
            "title": "经营项目",
            "x-order": 3,
            "uniqueItems": True,
            "items": {
                "type": "string",
                "oneOf": [{"const": "food", "title": "食品"}, {"const": "drink", "title": "饮品"}],
            },
        },
        "name": {"type": "string", "x-datatype": "string", "title": "名称", "maxLength": 50, "x-order": 4},
        "start": {"type": "string", "x-datatype": "datetime", "format": "date", "title": "开始日", "x-order": 5},
    },
}


def holds(source: str, answers: dict[str, Any]) -> bool:
    return conditions.evaluate(conditions.compile_condition(source, SCHEMA), answers)


def test_parse_builds_a_small_json_tree() -> None:
    tree = conditions.parse('applicant_type = "enterprise" and (area >= 500 or scope contains "food")')
    assert tree == {
        "all": [
            {"field": "applicant_type", "op": "=", "value": "enterprise"},
            {
                "any": [
                    {"field": "area", "op": ">=", "value": 500},
                    {"field": "scope", "op": "contains", "value": "food"},
                ]
            },
        ]
    }
    assert conditions.parse('name = "say \\"hi\\" \\\\"') == {"field": "name", "op": "=", "value": 'say "hi" \\'}
    assert conditions.parse("area > -5") == {"field": "area", "op": ">", "value": -5}


@pytest.mark.parametrize(
    ("source", "answers", "expected"),
    [
        ('applicant_type = "enterprise"', {"applicant_type": "enterprise"}, True),
        ('applicant_type = "enterprise"', {"applicant_type": "individual"}, False),
        ('applicant_type != "enterprise"', {"applicant_type": "individual"}, True),
        ('applicant_type != "enterprise"', {}, False),  # unanswered: every test but `is answered` is false
        ('not applicant_type = "enterprise"', {}, True),
        ('applicant_type in ["enterprise", "individual"]', {"applicant_type": "individual"}, True),
        ("area >= 1000", {"area": 1000}, True),
        ("area >= 1000", {"area": 999.5}, False),
        ("area < 1000", {"area": "999"}, False),  # a text is not a number
        ("area = 12", {"area": 12.0}, True),
        ('scope contains "food"', {"scope": ["drink", "food"]}, True),
        ('scope contains "food"', {"scope": []}, False),
        ("name is answered", {"name": "甲"}, True),
        ("name is answered", {"name": ""}, False),
        ('start >= "2026-02-01"', {"start": "2026-02-17"}, True),
        ('applicant_type = "enterprise" or area > 10 and scope contains "food"', {"area": 11, "scope": ["food"]}, True),
        ('(applicant_type = "enterprise" or area > 10) and scope contains "food"', {"area": 11}, False),
    ],
)
def test_evaluation(source: str, answers: dict[str, Any], expected: bool) -> None:
    assert holds(source, answers) is expected


@pytest.mark.parametrize(
    "answers",
    [
        {"area": float("nan")},
        {"area": float("inf")},
        {"area": True},
        {"area": {"$gt": 1}},
        {"applicant_type": ["enterprise"]},
        {"scope": "food"},
        {"scope": {"food": 1}},
        {"name": None},
        {"start": 20260101},
    ],
)
def test_strange_answers_never_raise(answers: dict[str, Any]) -> None:
    for source in (
        "area >= 1",
        "area = 1",
        'applicant_type = "enterprise"',
        'scope contains "food"',
        "name is answered",
        'start < "2027-01-01"',
    ):
        assert holds(source, answers) in (True, False)


HOSTILE = [
    ("", "non-empty"),
    ("   ", "non-empty"),
    ('__import__("os").system("id")', "Unexpected"),
    ("area = 1; drop table permit_items", "Unexpected character"),
    ("area == 1", "Unexpected"),
    ("area = 1.5", "whole numbers"),
    ("area = 12345678901234567", "whole numbers"),
    ('name = "unterminated', "Unterminated"),
    ('name = "a\x00b"', "Control characters"),
    ("area = ", "ends too early"),
    ("area", "ends too early"),
    ("(area = 1", "ends too early"),
    ("area = 1)", "Unexpected"),
    ("area in []", "Unexpected"),
    ("area is nothing", "Unexpected"),
    ("and or not", "Unexpected"),
    ("名称 = 1", "Unexpected character"),
    ("area = 1 area = 2", "Unexpected"),
    ("(" * 20 + "area = 1" + ")" * 20, "nests at most"),
    ("not " * 30 + "area = 1", "nests at most"),
    ("a=1 and " * 40 + "a=1", "words and signs"),
    ("x" * 501, "at most 500 characters"),
    ("area in [" + ", ".join(["1"] * 51) + "]", "at most 50 values"),
]


@pytest.mark.parametrize(("source", "expected"), HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_conditions_fail_fast_with_a_readable_message(source: str, expected: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        conditions.parse(source)
    assert caught.value.status == 422
    assert expected in caught.value.detail, caught.value.detail
    assert caught.value.extra["errors"]["condition"] == [caught.value.detail]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ghost = 1", "not an attribute of the form"),
        ('applicant_type = "company"', "has no value company"),
        ('scope contains "wine"', "has no value wine"),
        ('name contains "x"', "multiple-choice"),
        ('applicant_type > "a"', "order comparison"),
        ('area = "big"', "whole number"),
        ("area = true", "whole number"),
        ("name = 5", "quoted text"),
        ("start = 20260101", "quoted text"),
    ],
)
def test_a_condition_must_fit_the_form(source: str, expected: str) -> None:
    with pytest.raises(ValidationFailed, match=expected):
        conditions.compile_condition(source, SCHEMA)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_cleanly(source: str) -> None:
    try:
        tree = conditions.parse(source)
    except ValidationFailed as exc:
        assert exc.status == 422
        return
    conditions.evaluate(tree, {})


ALPHABET = st.sampled_from(["area", "name", "=", "!=", ">=", "(", ")", "not", "and", "or", "1", '"a"', "in", "[", "]"])


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, max_size=40))
def test_token_soup_parses_or_is_refused_cleanly(words: list[str]) -> None:
    try:
        tree = conditions.compile_condition(" ".join(words), SCHEMA)
    except ValidationFailed:
        return
    assert conditions.evaluate(tree, {"area": 1, "name": "a"}) in (True, False)


def test_describe_in_words(app_ctx: Any) -> None:
    from flask_babel import force_locale

    tree = conditions.compile_condition('applicant_type = "enterprise" and not scope contains "food"', SCHEMA)
    with force_locale("en"):
        assert conditions.describe(tree, SCHEMA) == "“申请人类型” is “企业” and not “经营项目” includes “食品”"
    tree = conditions.compile_condition("area >= 500 or name is answered", SCHEMA)
    with force_locale("en"):
        assert conditions.describe(tree, SCHEMA) == "“面积” ≥ 500 or “名称” is filled in"
