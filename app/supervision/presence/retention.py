"""Retention of the windows' recordings: a closed recording of a window room older than
SUPERVISION_WINDOW_RETENTION_DAYS (30 by default) is deleted — its media objects, its manifest and its rows — and
each deletion is an evidence-log entry naming what was deleted (key, room, span, segments, bytes, manifest hash).

Tendering recordings (opening and evaluation rooms) are sealed evidence and never deleted: the sweep selects window
rooms only, and checks each session's room kind once more before touching it (and their bucket is write-once in
object storage besides). The rows go in the sweep's transaction; the objects are deleted after it commits.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select

from app import audit
from app.core.db import after_commit, db
from app.core.time import now_utc
from app.recordings.models import (
    RecordingExport,
    RecordingGap,
    RecordingGrant,
    RecordingMediaAccess,
    RecordingRoom,
    RecordingSegment,
    RecordingSession,
    RoomKind,
    SessionStatus,
)

log = logging.getLogger(__name__)
SEALED_KINDS = frozenset({RoomKind.OPENING, RoomKind.EVALUATION})
BATCH = 200


class SealedRecording(RuntimeError):
    """A tendering recording reached the deletion path: refused, always."""


def retention_days() -> int:
    return max(1, int(current_app.config.get("SUPERVISION_WINDOW_RETENTION_DAYS", 30)))


def media_bucket(room: RecordingRoom) -> str:
    """Where a room's media lives: window rooms in their own bucket (not write-once), tendering rooms write-once."""
    from app.core.storage import RECORDINGS, WINDOW_RECORDINGS

    return WINDOW_RECORDINGS if room.kind == RoomKind.WINDOW else RECORDINGS


class NotDeletable(RuntimeError):
    """A window recording's objects sit in the write-once bucket: nothing is deleted, the sweep reports it."""


def delete_recording(session: RecordingSession, *, reason: str) -> dict[str, Any]:
    """Delete one window recording (flushes; objects after commit). Raises SealedRecording for a tendering room."""
    from app.core.storage import EXPORTS, get_storage

    room = session.room
    if RoomKind(room.kind) in SEALED_KINDS or room.kind != RoomKind.WINDOW:
        raise SealedRecording(f"recording {session.key} of room {room.code} ({room.kind}) is never deleted")
    segments = list(db.session.scalars(select(RecordingSegment).where(RecordingSegment.session_id == session.id)))
    exports = list(db.session.scalars(select(RecordingExport).where(RecordingExport.session_id == session.id)))
    bucket = media_bucket(room)
    keys = sorted({s.object_key for s in segments} | {s.init_key for s in segments})
    if session.manifest_key:
        keys.append(session.manifest_key)
    export_keys = [k for e in exports for k in (e.mp4_key, e.json_key) if k]
    storage = get_storage()
    from app.core.storage import RECORDINGS

    if any(storage.exists(RECORDINGS, k) for k in keys[:3]):
        raise NotDeletable(f"recording {session.key} lies in the write-once bucket: it cannot be deleted")
    facts = {
        "key": session.key,
        "room": room.code,
        "subject": session.subject,
        "started_at": session.started_at.isoformat() if session.started_at else None,
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
        "segments": len(segments),
        "bytes": sum(s.size for s in segments),
        "manifest_sha256": session.manifest_sha256,
        "final_chain_hash": session.final_chain_hash,
        "objects": len(keys) + len(export_keys),
        "reason": reason,
    }
    for model in (RecordingSegment, RecordingGap, RecordingGrant, RecordingMediaAccess, RecordingExport):
        db.session.execute(delete(model).where(model.session_id == session.id))
    audit.record(
        "supervision.presence.recording_deleted",
        actor="system:supervision.retention",
        subject=session.audit_ref,
        data=facts,
    )
    db.session.delete(session)
    db.session.flush()

    def remove() -> None:
        for b, found in ((bucket, keys), (EXPORTS, export_keys)):
            for key in found:
                try:
                    storage.delete(b, key)
                except Exception:  # the rows are gone and logged; an object left behind is only reported
                    log.exception("retention: could not delete %s/%s of %s", b, key, session.key)

    after_commit(remove)
    return facts


def sweep_retention(now: Any = None) -> dict[str, int]:
    """Every closed window recording that ended before the retention period, deleted and logged (idempotent)."""
    cutoff = (now or now_utc()) - timedelta(days=retention_days())
    stmt = (
        select(RecordingSession)
        .join(RecordingRoom, RecordingRoom.id == RecordingSession.room_id)
        .where(
            RecordingRoom.kind == RoomKind.WINDOW,
            RecordingSession.status == SessionStatus.CLOSED,
            RecordingSession.ended_at < cutoff,
        )
        .order_by(RecordingSession.id)
        .limit(BATCH)
    )
    deleted = refused = 0
    for session in list(db.session.scalars(stmt)):
        try:
            delete_recording(session, reason=f"older than {retention_days()} days")
        except NotDeletable as exc:
            log.warning("retention: %s", exc)
            refused += 1
            continue
        deleted += 1
    return {"deleted": deleted, "refused": refused}
