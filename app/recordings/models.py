"""Recording rooms, schedules, sessions, their segments and gaps, replay grants and exports."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.storage import RECORDINGS, WINDOW_RECORDINGS, WRITE_ONCE
from app.core.time import now_utc


class RoomKind(enum.StrEnum):
    OPENING = "opening"  # bid-opening hall (开标室)
    EVALUATION = "evaluation"  # evaluation session room (评标室)
    WINDOW = "window"  # a convenience window (便民窗口): recorded continuously, deleted after the retention period


class SessionStatus(enum.StrEnum):
    PENDING = "pending"  # asked for (schedule or staff), waiting for the room's recorder to pick it up
    RECORDING = "recording"  # the recorder has begun; segments arrive
    CLOSED = "closed"  # manifest signed and stored
    CANCELLED = "cancelled"  # stopped before the recorder began: never any media


class ExportStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class RecordingRoom(db.Model):  # type: ignore[name-defined,misc]
    """A room with a camera. `source` is 'synthetic', a device index ('0') or a URL (rtsp://…, a file)."""

    __tablename__ = "recording_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500), default="synthetic")
    kind: Mapped[RoomKind] = mapped_column(_enum(RoomKind), default=RoomKind.OPENING)
    subject: Mapped[str | None] = mapped_column(String(300))  # default subject, e.g. "tender:12"
    # Capture settings the recorder uses unless its command line overrides them.
    width: Mapped[int] = mapped_column(Integer, default=640)
    height: Mapped[int] = mapped_column(Integer, default=360)
    fps: Mapped[int] = mapped_column(Integer, default=15)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    @property
    def audit_ref(self) -> str:
        return f"recording-room:{self.code}"


def media_bucket(room: RecordingRoom) -> str:
    """The bucket a new recording of `room` stores its media and manifest in: a window's own bucket, which is not
    write-once (its recordings are deleted after the retention period), or, for the tendering rooms (opening and
    evaluation), the write-once bucket whose objects nobody can delete or replace. A session keeps the bucket it was
    created with (`RecordingSession.bucket`): every read and write of its media goes there."""
    return WINDOW_RECORDINGS if room.kind == RoomKind.WINDOW else RECORDINGS


def window_retention_days() -> int:
    """How long a window camera's recording is kept after it ends (SUPERVISION_WINDOW_RETENTION_DAYS, at least 1):
    what the retention sweep deletes by and what the replay page tells its viewer."""
    return max(1, int(current_app.config.get("SUPERVISION_WINDOW_RETENTION_DAYS", 30)))


class RecordingSchedule(db.Model):  # type: ignore[name-defined,misc]
    """A window in which a room must be recorded, asked for by another module (an opening, an evaluation)."""

    __tablename__ = "recording_schedules"
    __table_args__ = (Index("ix_recording_schedules_room_window", "room_id", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("recording_rooms.id"))
    subject: Mapped[str | None] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    margin_before_s: Mapped[int] = mapped_column(Integer, default=300)
    margin_after_s: Mapped[int] = mapped_column(Integer, default=300)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    created_by: Mapped[str] = mapped_column(String(200))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    room: Mapped[RecordingRoom] = relationship()


class RecordingSession(db.Model):  # type: ignore[name-defined,misc]
    """One continuous recording of a room; `key` names it in object storage and in the signed manifest."""

    __tablename__ = "recording_sessions"
    __table_args__ = (Index("ix_recording_sessions_room_status", "room_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("recording_rooms.id"))
    subject: Mapped[str | None] = mapped_column(String(300), index=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("recording_schedules.id"), index=True)
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus), default=SessionStatus.PENDING)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    requested_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_requested_by: Mapped[str | None] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorder: Mapped[str | None] = mapped_column(String(200))  # host:pid of the process recording it
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checkpoint_start: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    checkpoint_end: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    manifest_key: Mapped[str | None] = mapped_column(String(400))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    final_chain_hash: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(32))
    # Where its segments, init sections and manifest are stored, chosen by media_bucket() when it is requested;
    # rows older than the column were all recorded into the write-once bucket, hence the server default.
    bucket: Mapped[str] = mapped_column(String(40), server_default=RECORDINGS)

    room: Mapped[RecordingRoom] = relationship()
    schedule: Mapped[RecordingSchedule | None] = relationship()
    segments: Mapped[list[RecordingSegment]] = relationship(
        back_populates="session", order_by="RecordingSegment.sequence"
    )
    gaps: Mapped[list[RecordingGap]] = relationship(back_populates="session", order_by="RecordingGap.wall_start_us")

    @property
    def audit_ref(self) -> str:
        return f"recording:{self.id}"

    @property
    def is_closed(self) -> bool:
        return self.status == SessionStatus.CLOSED

    @property
    def is_write_once(self) -> bool:
        """True when its media can never be deleted or replaced (a tendering recording, or one from before windows
        had their own bucket)."""
        return self.bucket in WRITE_ONCE


class RecordingSegment(db.Model):  # type: ignore[name-defined,misc]
    """A stored fMP4 media segment: where it is, what it hashes to, its chain link and when it was captured.

    Times are kept as the integer microseconds/nanoseconds the chain hashes (exact on every backend) and,
    for queries, as UTC datetimes.
    """

    __tablename__ = "recording_segments"
    __table_args__ = (
        UniqueConstraint("session_id", "sequence", name="uq_recording_segments_session_sequence"),
        Index("ix_recording_segments_session_wall", "session_id", "wall_start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    period: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(400))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    init_key: Mapped[str] = mapped_column(String(400))
    init_sha256: Mapped[str] = mapped_column(String(64))
    prev_chain_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    wall_start_us: Mapped[int] = mapped_column(BigInteger)
    wall_end_us: Mapped[int] = mapped_column(BigInteger)
    wall_start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wall_end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mono_start_ns: Mapped[int] = mapped_column(BigInteger)
    mono_end_ns: Mapped[int] = mapped_column(BigInteger)
    video_duration_us: Mapped[int] = mapped_column(BigInteger)
    audio_duration_us: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: still in the recorder's spool

    session: Mapped[RecordingSession] = relationship(back_populates="segments")


class RecordingGap(db.Model):  # type: ignore[name-defined,misc]
    """A stretch without media (camera lost, recorder restarted, audio lost) and its cause."""

    __tablename__ = "recording_gaps"
    __table_args__ = (
        UniqueConstraint(
            "session_id", "after_sequence", "kind", "wall_start_us", name="uq_recording_gaps_session_after"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"), index=True)
    after_sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(1000))
    wall_start_us: Mapped[int] = mapped_column(BigInteger)
    wall_end_us: Mapped[int] = mapped_column(BigInteger)
    wall_start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wall_end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mono_start_ns: Mapped[int | None] = mapped_column(BigInteger)
    mono_end_ns: Mapped[int | None] = mapped_column(BigInteger)

    session: Mapped[RecordingSession] = relationship(back_populates="gaps")


class RecordingGrant(db.Model):  # type: ignore[name-defined,misc]
    """An auditor lets one more user replay one session (a judge, an inspector), until it expires or is revoked."""

    __tablename__ = "recording_grants"
    __table_args__ = (Index("ix_recording_grants_user_session", "user_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    allow_export: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(500), default="")
    granted_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(200))

    session: Mapped[RecordingSession] = relationship()

    def is_active(self, at: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


class RecordingMediaAccess(db.Model):  # type: ignore[name-defined,misc]
    """The first media request of a viewer on a session within a time window (the evidence log gets one entry).

    `viewer` is an actor reference ("user:12") or, for refused anonymous requests, "anonymous:<address>";
    `outcome` is "accessed" or "refused". The unique key makes the entry once-only, also under concurrency
    (a player fetches its playlist, init sections and segments in parallel).
    """

    __tablename__ = "recording_media_accesses"
    __table_args__ = (
        UniqueConstraint(
            "session_id", "viewer", "outcome", "window_start", name="uq_recording_media_accesses_viewer_window"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"))
    viewer: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class RecordingExport(db.Model):  # type: ignore[name-defined,misc]
    """A time range of a session remuxed into one MP4, with its signed statement and manifest excerpt."""

    __tablename__ = "recording_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("recording_sessions.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ExportStatus] = mapped_column(_enum(ExportStatus), default=ExportStatus.PENDING)
    error: Mapped[str | None] = mapped_column(String(1000))
    mp4_key: Mapped[str | None] = mapped_column(String(400))
    json_key: Mapped[str | None] = mapped_column(String(400))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    first_sequence: Mapped[int | None] = mapped_column(Integer)
    last_sequence: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[RecordingSession] = relationship()

    @property
    def audit_ref(self) -> str:
        return f"recording-export:{self.id}"
