"""Window cameras and the presence timeline they give: where the seat is in each window's picture, and the stretches
of time the seat was occupied or empty."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.time import now_utc


class WindowCamera(db.Model):  # type: ignore[name-defined,misc]
    """The camera of one convenience window: its source (as recording/sources.py reads it: 'synthetic', a device
    index, rtsp://…, a file), the seat region as fractions of the frame, and the recording room that records it."""

    __tablename__ = "presence_cameras"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("convenience_windows.id"), unique=True)
    source: Mapped[str] = mapped_column(String(500), default="synthetic")
    seat_x: Mapped[float] = mapped_column(Float, default=0.3)
    seat_y: Mapped[float] = mapped_column(Float, default=0.1)
    seat_w: Mapped[float] = mapped_column(Float, default=0.4)
    seat_h: Mapped[float] = mapped_column(Float, default=0.7)
    room_code: Mapped[str | None] = mapped_column(String(40))  # the recording room of the window, if recorded
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last analysed frame
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    window: Mapped[Any] = relationship("Window")


class PresenceInterval(db.Model):  # type: ignore[name-defined,misc]
    """A stretch during which a window's seat was occupied (present) or empty, from the detector's smoothed state.

    The last interval of a window is open (`ended_at` empty) while the detector keeps watching; `seen_until` is the
    last frame that confirmed it, so a camera that went dark is told apart from a seat that stayed empty."""

    __tablename__ = "presence_intervals"
    __table_args__ = (Index("ix_presence_intervals_window_start", "window_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("convenience_windows.id"))
    present: Mapped[bool] = mapped_column(Boolean)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_until: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    faces: Mapped[int] = mapped_column(Integer, default=0)  # frames of the interval in which a face was found
