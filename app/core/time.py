"""The platform's only clock. Tests swap in a FakeClock; nothing else calls datetime.now()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until moved; for tests and demos."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, value: datetime) -> None:
        if value.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = value.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


_clock: Clock = SystemClock()


def set_clock(clock: Clock) -> Clock:
    """Install `clock`; returns the previous one so callers can restore it."""
    global _clock
    previous, _clock = _clock, clock
    return previous


def now_utc() -> datetime:
    return _clock.now()


def to_center_time(value: datetime, zone: str) -> datetime:
    return value.astimezone(ZoneInfo(zone))


def format_center_time(value: datetime | None, zone: str) -> str:
    """'2026-12-01 09:30 (Asia/Shanghai, UTC+08:00)': always names the zone."""
    if value is None:
        return ""
    local = to_center_time(value, zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} ({zone}, UTC{offset[:3]}:{offset[3:]})"


def format_iso_instant(value: object, zone: str) -> str:
    """A signed document's instant ('2026-01-05T01:00:00.000000Z') in the center's zone, named; anything that is
    not an instant with its offset is shown as it is ('' for nothing)."""
    if not isinstance(value, str) or not value:
        return "" if value is None else str(value)
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return format_center_time(instant, zone) if instant.tzinfo is not None else value
