"""The marshmallow fields every schema uses: strict integers and numbers, UTC instants in a sane range.

Every schema in app/ builds its integers, numbers and datetimes from these classes (a test walks every
schema class and fails on a bare `marshmallow.fields.Integer`, `Float` or `DateTime`):
- `Integer` (JSON bodies): only a JSON integer; `"10"`, `1.5` and `true` are refused, never coerced.
- `QueryInteger` (query strings and form fields, which are text by nature): only ASCII digits with an
  optional leading minus; `"1.5"`, `" 10 "`, `"+10"`, `"1e3"` are refused.
- `Float` (JSON bodies): a JSON number, not a string or a boolean, finite.
- `Instant`: an ISO 8601 instant with its offset, converted to UTC; instants outside the platform's
  range (`MIN_INSTANT`..`MAX_INSTANT`) are refused, so no later arithmetic can overflow.
"""

from __future__ import annotations

import numbers
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma

from app.core.errors import ValidationFailed

# Every instant the platform accepts from outside lies in this range; with it, adding any legal
# period (days, years) to one and converting it to another zone cannot overflow.
MIN_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(3000, 1, 1, tzinfo=UTC) - timedelta(microseconds=1)


def N_(message: str) -> str:
    """Mark a message for the catalogue: the API answers in English, pages translate it when they show it."""
    return message


OUT_OF_RANGE = N_("Enter a date and time between the years 2000 and 2999.")
NOT_AN_INSTANT = N_("Enter a date and time with its UTC offset, e.g. 2026-12-01T09:30:00+08:00.")
NOT_AN_INTEGER = N_("Not a valid integer.")
NOT_A_NUMBER = N_("Not a valid number.")

_DIGITS = re.compile(r"-?[0-9]{1,18}")


class InstantOutOfRange(ValueError):
    """An instant outside MIN_INSTANT..MAX_INSTANT, or one that cannot even be converted to UTC."""


def to_utc_instant(value: datetime) -> datetime:
    """`value` (aware) as UTC. Raises InstantOutOfRange for naive values and those outside the range."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantOutOfRange(NOT_AN_INSTANT)
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:  # 9999-12-31T23:59:59-12:00 is past year 9999 in UTC
        raise InstantOutOfRange(OUT_OF_RANGE) from exc
    if not MIN_INSTANT <= utc <= MAX_INSTANT:
        raise InstantOutOfRange(OUT_OF_RANGE)
    return utc


def parse_instant(text: str, *, default_zone: Any = None) -> datetime:
    """An ISO 8601 text (a form's or query string's) as a UTC instant in range.

    Without an offset it is read in `default_zone` (the center's zone for datetime-local inputs);
    without either it is refused. Raises InstantOutOfRange (a ValueError) with a readable message.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InstantOutOfRange(NOT_AN_INSTANT) from exc
    if moment.tzinfo is None:
        if default_zone is None:
            raise InstantOutOfRange(NOT_AN_INSTANT)
        moment = moment.replace(tzinfo=default_zone)
    return to_utc_instant(moment)


def require_instant(value: datetime, field: str) -> datetime:
    """`to_utc_instant` for services and views: ValidationFailed (422) naming `field` instead of ValueError."""
    try:
        return to_utc_instant(value)
    except InstantOutOfRange as exc:
        raise ValidationFailed(str(exc), errors={field: [str(exc)]}) from exc


class Instant(ma.fields.AwareDateTime):
    """An aware ISO 8601 datetime, loaded as UTC; refused outside MIN_INSTANT..MAX_INSTANT."""

    default_error_messages: dict[str, str | list[Any] | dict[Any, Any]] = {"out_of_range": OUT_OF_RANGE}  # noqa: RUF012 (marshmallow merges it)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return to_utc_instant(moment)
        except InstantOutOfRange as exc:
            raise self.make_error("out_of_range") from exc


class Integer(ma.fields.Integer):
    """A JSON integer: strings, floats (even 2.0) and booleans are refused, never coerced."""

    default_error_messages: dict[str, str | list[Any] | dict[Any, Any]] = {"invalid": NOT_AN_INTEGER}  # noqa: RUF012 (marshmallow merges it)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("strict", None)
        super().__init__(strict=True, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class QueryInteger(Integer):
    """An integer from a query string or form: ASCII digits only (optional leading minus), no spaces or dots."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, str):
            if not _DIGITS.fullmatch(value):
                raise self.make_error("invalid", input=value)
            value = int(value)
        return super()._validated(value)


class Float(ma.fields.Float):
    """A JSON number (integer or decimal): strings and booleans are refused; NaN and infinities too."""

    default_error_messages: dict[str, str | list[Any] | dict[Any, Any]] = {"invalid": NOT_A_NUMBER}  # noqa: RUF012 (marshmallow merges it)

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)
