"""The presence timeline: the detector's observations stored as intervals per window, and read back for a day.

`observe` is called by the watcher (app.supervision.presence.cli) for each analysed frame; it extends the window's
open interval or closes it and opens the other state's. Idempotent for a frame already recorded (an observation
older than what is stored changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select

from app import audit
from app.core.db import db
from app.core.time import now_utc
from app.supervision.presence.models import PresenceInterval, WindowCamera
from recording.presence import PresenceConfigError, SeatRegion


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def seat_region(camera: WindowCamera) -> SeatRegion:
    return SeatRegion(camera.seat_x, camera.seat_y, camera.seat_w, camera.seat_h)


def set_camera(
    *, window_id: int, source: str, seat: tuple[float, float, float, float], room_code: str | None = None, actor: Any
) -> WindowCamera:
    """Give a window its camera (or change it). Raises PresenceConfigError for a seat region outside the frame."""
    from app.convenience.services import get_window

    window = get_window(window_id)
    SeatRegion(*seat)  # validates
    camera = db.session.scalar(select(WindowCamera).where(WindowCamera.window_id == window.id))
    if camera is None:
        camera = WindowCamera(window_id=window.id)
        db.session.add(camera)
    camera.source = source[:500]
    camera.seat_x, camera.seat_y, camera.seat_w, camera.seat_h = seat
    camera.room_code = room_code
    camera.is_active = True
    db.session.flush()
    audit.record(
        "supervision.presence.camera_set",
        actor=actor,
        subject=f"convenience.window:{window.id}",
        data={"window": window.number, "seat": [f"{v:g}" for v in seat], "room": room_code},
    )
    return camera


def cameras() -> list[WindowCamera]:
    return list(db.session.scalars(select(WindowCamera).where(WindowCamera.is_active.is_(True))))


def current(window_id: int) -> PresenceInterval | None:
    found: PresenceInterval | None = db.session.scalar(
        select(PresenceInterval)
        .where(PresenceInterval.window_id == window_id, PresenceInterval.ended_at.is_(None))
        .order_by(PresenceInterval.id.desc())
        .limit(1)
    )
    return found


def observe(window_id: int, at: datetime, present: bool, *, face: bool = False) -> PresenceInterval:
    """One analysed frame's smoothed state (flushes). A frame older than the open interval's last changes nothing."""
    if at.tzinfo is None:
        raise PresenceConfigError("observation instants must be timezone-aware")
    open_ = current(window_id)
    if open_ is not None and at <= open_.seen_until:
        return open_
    if open_ is not None and open_.present == present:
        open_.seen_until = at
        open_.frames += 1
        open_.faces += int(face)
    else:
        if open_ is not None:
            open_.ended_at = at
        open_ = PresenceInterval(
            window_id=window_id, present=present, started_at=at, seen_until=at, frames=1, faces=int(face)
        )
        db.session.add(open_)
    camera = db.session.scalar(select(WindowCamera).where(WindowCamera.window_id == window_id))
    if camera is not None:
        camera.last_seen_at = at
    db.session.flush()
    return open_


@dataclass(frozen=True)
class Bar:
    """A piece of a day's timeline, as the page draws it: a state, its span and its share of the day's hours."""

    state: str  # present, absent, unknown
    start: datetime
    end: datetime
    left: float  # percent of the shown span
    width: float


def day_span(day: date) -> tuple[datetime, datetime]:
    """What a day's timeline shows: 08:00 to 19:00 local (the floor's hours with their margins)."""
    z = zone()
    return datetime.combine(day, time(8), tzinfo=z), datetime.combine(day, time(19), tzinfo=z)


def timeline(window_id: int, day: date, *, now: datetime | None = None) -> list[Bar]:
    """The window's intervals on the center's `day`, clipped to the shown span; gaps (no camera) are 'unknown'."""
    start, end = day_span(day)
    now = now or now_utc()
    rows = db.session.scalars(
        select(PresenceInterval)
        .where(
            PresenceInterval.window_id == window_id,
            PresenceInterval.started_at < end,
            or_(PresenceInterval.ended_at.is_(None), PresenceInterval.ended_at > start),
        )
        .order_by(PresenceInterval.started_at)
    )
    total = (end - start).total_seconds()
    bars: list[Bar] = []
    for row in rows:
        # An open interval lasts as far as a frame confirmed it (a camera gone dark is not a seat left empty).
        stop = row.ended_at or min(row.seen_until + timedelta(seconds=30), now)
        a, b = max(row.started_at, start), min(stop, end)
        if b <= a:
            continue
        state = "present" if row.present else "absent"
        bars.append(Bar(state, a, b, (a - start).total_seconds() * 100 / total, (b - a).total_seconds() * 100 / total))
    return bars


def share_present(bars: list[Bar]) -> tuple[int, int]:
    """Seconds present and seconds observed."""
    seen = sum((b.end - b.start).total_seconds() for b in bars)
    present = sum((b.end - b.start).total_seconds() for b in bars if b.state == "present")
    return int(present), int(seen)
