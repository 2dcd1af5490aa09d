"""The shared schema fields: strict integers and numbers, digit-only query integers, UTC instants in range;
the LIKE escape helper; and sweeps over every schema and every API endpoint so a new one cannot forget them."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from sqlalchemy import literal, select

import app as app_package
from app.core import fields
from app.core.db import LIKE_ESCAPE, db, like_pattern


def _load(field: ma.fields.Field, value: Any) -> Any:
    class S(ma.Schema):
        x = field

    return S().load({"x": value})["x"]


@pytest.mark.parametrize("value", ["10", 1.5, 10.0, True, False, "1e3", [1], {"a": 1}, " 10 "])
def test_json_integers_refuse_anything_but_integers(value: Any) -> None:
    with pytest.raises(ma.ValidationError) as exc:
        _load(fields.Integer(), value)
    assert exc.value.messages == {"x": ["Not a valid integer."]}


def test_json_integers_load_integers() -> None:
    assert _load(fields.Integer(), 10) == 10
    assert _load(fields.Integer(), -3) == -3


@pytest.mark.parametrize("value", ["1.5", " 10", "10 ", "+10", "1e3", "0x10", "１０", "", "-", "1" * 19, True, 1.5])
def test_query_integers_are_ascii_digits_only(value: Any) -> None:
    with pytest.raises(ma.ValidationError):
        _load(fields.QueryInteger(), value)


def test_query_integers_load_digit_strings() -> None:
    assert _load(fields.QueryInteger(), "10") == 10
    assert _load(fields.QueryInteger(), "-2") == -2
    assert _load(fields.QueryInteger(), 7) == 7


@pytest.mark.parametrize("value", ["1.5", True, "nan", float("nan"), float("inf"), None])
def test_json_numbers_refuse_strings_booleans_and_specials(value: Any) -> None:
    with pytest.raises(ma.ValidationError):
        _load(fields.Float(), value)


def test_json_numbers_load_numbers() -> None:
    assert _load(fields.Float(), 1.5) == 1.5
    assert _load(fields.Float(), 2) == 2.0


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59-12:00",  # year 10000 in UTC: OverflowError before
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC
        "9999-12-31T23:59:59+00:00",
        "1999-12-31T23:59:59.999999+00:00",
        "3000-01-01T00:00:00+00:00",
        "2999-12-31T23:00:00-12:00",  # 3000-01-01 in UTC
    ],
)
def test_instants_outside_the_range_are_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(ma.ValidationError) as exc:
        _load(fields.Instant(), text)
    assert exc.value.messages == {"x": [fields.OUT_OF_RANGE]}
    with pytest.raises(fields.InstantOutOfRange):
        fields.parse_instant(text)


def test_instants_are_loaded_in_utc_and_naive_ones_refused() -> None:
    moment = _load(fields.Instant(), "2026-12-01T09:30:00+08:00")
    assert moment == datetime(2026, 12, 1, 1, 30, tzinfo=UTC) and moment.utcoffset() == timedelta(0)
    assert _load(fields.Instant(), "2000-01-01T08:00:00+08:00") == fields.MIN_INSTANT
    assert _load(fields.Instant(), "2999-12-31T23:59:59.999999Z") == fields.MAX_INSTANT
    with pytest.raises(ma.ValidationError):
        _load(fields.Instant(), "2026-12-01T09:30:00")
    with pytest.raises(ma.ValidationError):
        _load(fields.Instant(), 20261201)


def test_parse_instant_reads_local_times_in_the_given_zone() -> None:
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    assert fields.parse_instant("2026-12-01T09:30", default_zone=shanghai) == datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    for text in ("0001-01-01T00:00", "9999-12-31T23:59", "not a time"):
        with pytest.raises(fields.InstantOutOfRange):
            fields.parse_instant(text, default_zone=shanghai)
    with pytest.raises(fields.InstantOutOfRange):
        fields.parse_instant("2026-12-01T09:30")  # no zone given: refused, not guessed
    with pytest.raises(fields.InstantOutOfRange):
        fields.to_utc_instant(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))))


def test_recorder_until_refuses_extreme_values() -> None:
    from app.recordings.recorder import parse_until

    for text in ("9999-12-31T23:59:59-12:00", "0001-01-01T00:00", "99999999999999h"):
        with pytest.raises(ValueError, match="2000-2999"):
            parse_until(text, zone="Asia/Shanghai")


# --- sweeps ------------------------------------------------------------------------------------------


def _import_all_app_modules() -> None:
    for info in pkgutil.walk_packages(app_package.__path__, "app."):
        importlib.import_module(info.name)


def _all_schema_classes() -> list[type[ma.Schema]]:
    _import_all_app_modules()
    seen: list[type[ma.Schema]] = []
    todo = list(ma.Schema.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("app.") and cls not in seen:
            seen.append(cls)
    return seen


def _leaf_fields(field: ma.fields.Field) -> list[ma.fields.Field]:
    """The field and the fields inside it (list items, tuple members, dict keys and values)."""
    out = [field]
    if isinstance(field, ma.fields.List):
        out += _leaf_fields(field.inner)
    if isinstance(field, ma.fields.Tuple):
        for f in field.tuple_fields:
            out += _leaf_fields(f)
    if isinstance(field, ma.fields.Dict):
        for f in (field.key_field, field.value_field):
            if f is not None:
                out += _leaf_fields(f)
    return out


def _bare_fields(cls: type[ma.Schema]) -> list[str]:
    bad = []
    for name, declared in cls._declared_fields.items():
        for f in _leaf_fields(declared):
            if isinstance(f, ma.fields.Integer) and not isinstance(f, fields.Integer):
                bad.append(f"{cls.__module__}.{cls.__name__}.{name}: marshmallow Integer (use app.core.fields)")
            if isinstance(f, ma.fields.Integer) and not f.strict:
                bad.append(f"{cls.__module__}.{cls.__name__}.{name}: Integer not strict")
            if isinstance(f, ma.fields.Float) and not isinstance(f, fields.Float):
                bad.append(f"{cls.__module__}.{cls.__name__}.{name}: marshmallow Float (use app.core.fields)")
            if isinstance(f, ma.fields.Decimal):
                bad.append(f"{cls.__module__}.{cls.__name__}.{name}: Decimal accepts strings (use Integer in fen)")
            if isinstance(f, ma.fields.DateTime) and not isinstance(f, fields.Instant):
                bad.append(f"{cls.__module__}.{cls.__name__}.{name}: DateTime (use app.core.fields.Instant)")
    return bad


def test_every_schema_in_the_app_uses_the_strict_fields() -> None:
    classes = _all_schema_classes()
    assert len(classes) > 50  # the sweep sees the app's schemas
    bad = [problem for cls in classes for problem in _bare_fields(cls)]
    assert not bad, "\n".join(bad)


def test_the_schema_sweep_can_fail() -> None:
    class Forgetful(ma.Schema):
        size = ma.fields.Integer()
        sizes = ma.fields.List(ma.fields.Integer(strict=True))
        price = ma.fields.Float()
        at = ma.fields.AwareDateTime()

    assert len(_bare_fields(Forgetful)) == 5


def _has(schema: Any, kind: type[ma.fields.Field]) -> list[str]:
    cls = schema if isinstance(schema, type) else type(schema)
    found = []
    for name, declared in cls._declared_fields.items():
        found += [name for f in _leaf_fields(declared) if type(f) is kind]
    return found


def test_query_and_form_arguments_use_query_integers_and_json_bodies_strict_ones(app: Flask) -> None:
    """Text locations parse digit strings; a JSON body never accepts "10" for an integer."""
    seen = {"text": 0, "json": 0}
    bad = []
    for endpoint, view in app.view_functions.items():
        for param in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            location, schema = param.get("in"), param.get("schema")
            if location in ("query", "form", "path", "headers", "cookies"):
                seen["text"] += 1
                bad += [f"{endpoint} ({location}): {n} is a JSON Integer" for n in _has(schema, fields.Integer)]
            elif location == "json":
                seen["json"] += 1
                bad += [f"{endpoint} (json): {n} accepts strings" for n in _has(schema, fields.QueryInteger)]
    assert seen["text"] >= 5 and seen["json"] >= 20, seen
    assert not bad, "\n".join(bad)


# --- LIKE --------------------------------------------------------------------------------------------


def test_like_pattern_escapes_wildcards_and_the_escape() -> None:
    assert like_pattern("a%b_c\\d") == "%a\\%b\\_c\\\\d%"
    assert like_pattern("tender:1/", prefix=True) == "tender:1/%"


@pytest.mark.parametrize(
    ("text", "needle", "found"),
    [
        ("100% done", "%", True),
        ("100 done", "%", False),
        ("a_b", "_", True),
        ("ab", "_", False),
        ("axb", "a_b", False),
        ("C:\\dir", "\\", True),
        ("C:dir", "\\", False),
        ("C:\\dir", "C:\\d", True),
        ("x%%y", "%%", True),
        ("x%y", "%%", False),
    ],
)
def test_like_pattern_matches_literally_on_the_database(app_ctx: Flask, text: str, needle: str, found: bool) -> None:
    """Run on SQLite and PostgreSQL (whose default LIKE escape is already a backslash)."""
    query = select(literal(text).like(like_pattern(needle), escape=LIKE_ESCAPE))
    assert bool(db.session.scalar(query)) is found
