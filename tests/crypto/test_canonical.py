"""Canonical JSON: RFC 8785 ordering and escaping, integers only, strict re-parsing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto.canonical import MAX_SAFE_INTEGER, CanonicalError, canonicalize, loads_canonical


def test_sorted_keys_no_whitespace_utf8() -> None:
    assert (
        canonicalize({"b": [1, True, None], "a": {"z": "é", "y": -3}})
        == '{"a":{"y":-3,"z":"é"},"b":[1,true,null]}'.encode()
    )


def test_keys_sort_by_utf16_code_units() -> None:
    # U+1F600 is encoded as surrogates D83D DE00, which sort before U+E000 in UTF-16 (RFC 8785 §3.2.3).
    value = {"\ue000": 1, "\U0001f600": 2, "a": 3}
    assert canonicalize(value) == '{"a":3,"\U0001f600":2,"\ue000":1}'.encode()


def test_string_escapes_follow_jcs() -> None:
    text = 'q"b\\\b\f\n\r\t\x00\x1f\x7f/\u2028€'
    assert canonicalize(text) == b'"q\\"b\\\\\\b\\f\\n\\r\\t\\u0000\\u001f\x7f/\xe2\x80\xa8\xe2\x82\xac"'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "floating-point"),
        ({"x": float("nan")}, "$.x"),
        ([float("inf")], "$[0]"),
        ({1: "a"}, "keys must be strings"),
        (2**53, "outside"),
        (-(2**53), "outside"),
        ("\ud800", "lone surrogate"),
        (b"bytes", "not a JSON value"),
        ({"s": {1, 2}}, "not a JSON value"),
    ],
)
def test_refuses_what_cannot_round_trip(value: object, message: str) -> None:
    with pytest.raises(CanonicalError, match=message.replace("$", r"\$").replace("[", r"\[")):
        canonicalize(value)


def test_integer_limits_are_inclusive() -> None:
    assert canonicalize([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize(
    "data",
    [b'{"b":1,"a":2}', b'{"a": 1}', b'{"a":1.0}', b'{"a":1,"a":1}', b"NaN", b'"\\u00e9"', b"\xff", b"[1,]"],
)
def test_loads_canonical_refuses_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(CanonicalError):
        loads_canonical(data)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_round_trip_is_exact_and_agrees_with_json_module(value: object) -> None:
    data = canonicalize(value)
    assert loads_canonical(data) == value
    assert json.loads(data) == value
    assert canonicalize(json.loads(data)) == data
