"""Clocks: a monotonic clock for ordering and durations, a wall clock for humans, and a manual fake."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    """What the library needs from time: both clocks, read separately."""

    def monotonic_ns(self) -> int: ...

    def wall(self) -> datetime: ...


class SystemClock:
    """The machine's CLOCK_MONOTONIC (shared by all processes of one boot) and UTC wall clock."""

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def wall(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; both readings move together."""

    def __init__(self, wall: datetime | None = None, monotonic_ns: int = 1_000_000_000) -> None:
        self._wall = wall or datetime(2025, 1, 6, 1, 30, tzinfo=UTC)
        self._mono = monotonic_ns
        self._lock = threading.Lock()

    def monotonic_ns(self) -> int:
        with self._lock:
            return self._mono

    def wall(self) -> datetime:
        with self._lock:
            return self._wall

    def advance(self, seconds: float) -> None:
        with self._lock:
            delta_ns = round(seconds * 1e9)
            self._mono += delta_ns
            self._wall += timedelta(microseconds=delta_ns // 1000)


def to_epoch_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (integers keep canonical JSON exact)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the recording library only handles aware UTC instants")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_epoch_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def iso_utc(us: int) -> str:
    """ISO 8601 UTC with milliseconds and a Z, as HLS EXT-X-PROGRAM-DATE-TIME wants it."""
    moment = from_epoch_us(us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class StreamClock:
    """Places a live stream's own timestamps on the local monotonic clock, as close to their arrival as possible.

    mono = origin + media time, where origin follows the lower envelope of (arrival − media time): the least
    delayed packets. So the backlog a client reads in one burst when it connects does not push every later
    stamp into the future (an origin taken from the first packet would), and a reader that stalled for a while
    still stamps the frames it then catches up on when they were sent, not all "now". The origin may rise by
    `slew` of the elapsed media time, so a camera clock slower than ours does not drift away. Arrivals later
    than the envelope by more than `reset_ns` for longer than `reset_ns` of real time are no stall but a jump
    back in the stream's time (a reset): the clock starts over from the packet at hand.
    """

    def __init__(self, *, slew: float = 0.0005, reset_ns: int = 1_000_000_000) -> None:
        self.slew = slew
        self.reset_ns = reset_ns
        self._origin: int | None = None
        self._last_media = 0
        self._late_since: int | None = None

    def place(self, arrival_ns: int, media_ns: int) -> int:
        candidate = arrival_ns - media_ns
        if self._origin is not None and candidate - self._origin > self.reset_ns:
            if self._late_since is None:
                self._late_since = arrival_ns
            elif arrival_ns - self._late_since > self.reset_ns:
                self.reset()  # late for too long: the stream's time went back
        else:
            self._late_since = None
        if self._origin is None:
            self._origin = candidate
        else:
            allowed = self._origin + round(max(0, media_ns - self._last_media) * self.slew)
            self._origin = min(allowed, candidate)
        self._last_media = media_ns
        return self._origin + media_ns

    def reset(self) -> None:
        self._origin = None
        self._last_media = 0
        self._late_since = None
