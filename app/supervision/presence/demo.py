"""The demo's monitored window: window 01 gets a camera on the composited footage of its desk (photographs of people
coming and going, recording.presence_footage), recorded by the window's recording room; `make run`'s presence
watcher analyses it live, so its timeline fills in as the detector sees the seat taken and left."""

from __future__ import annotations

from sqlalchemy import select

from app.core.db import db
from app.supervision.presence import services
from app.supervision.presence.models import WindowCamera

DEMO_WINDOW = "01"
DEMO_ROOM = "window-01"  # the recording room app.recordings seeds for it (recordings.demo_window_room)


def seed_demo_window_camera() -> list[str]:
    """Give the demo floor's window 01 its camera (flushes; idempotent). Nothing without the convenience floor."""
    from app.convenience.models import Window
    from recording.presence_footage import SEAT

    window = db.session.scalar(select(Window).where(Window.number == DEMO_WINDOW))
    if window is None:
        return []
    if db.session.scalar(select(WindowCamera).where(WindowCamera.window_id == window.id)) is None:
        services.set_camera(
            window_id=window.id,
            source="footage",
            seat=(SEAT.x, SEAT.y, SEAT.w, SEAT.h),
            room_code=DEMO_ROOM,
            actor="system",
        )
    return [f"presence: window {DEMO_WINDOW} watched by its camera (composited footage) — /supervision/presence"]
