"""Retention of the windows' recordings: a closed recording of a window room older than
SUPERVISION_WINDOW_RETENTION_DAYS (30 by default) is deleted — its media objects, its manifest and its rows — and
each deletion is an evidence-log entry naming what was deleted (key, room, span, segments, bytes, manifest hash).

Tendering recordings (opening and evaluation rooms) are sealed evidence and never deleted: their media lies in the
write-once `recordings` bucket (object lock on S3, deletes refused by every backend), a window's in its own
`window-recordings` bucket (app.recordings.models.media_bucket chooses it when the session is requested). The sweep
selects window rooms' sessions stored in that bucket only, and checks the room kind and the session's bucket once
more before touching anything; it never names the write-once bucket in a delete. A window recording made before
windows had their own bucket sits in the write-once one: it is kept, and the sweep counts it as refused. The rows go
in the sweep's transaction; the objects are deleted after it commits.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select

from app import audit
from app.core.db import after_commit, db
from app.core.storage import WINDOW_RECORDINGS
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
    window_retention_days,
)

log = logging.getLogger(__name__)
SEALED_KINDS = frozenset({RoomKind.OPENING, RoomKind.EVALUATION})
BATCH = 200


class SealedRecording(RuntimeError):
    """A tendering recording reached the deletion path: refused, always."""


class NotDeletable(RuntimeError):
    """A window recording's objects sit in the write-once bucket: nothing is deleted, the sweep reports it."""


def delete_recording(session: RecordingSession, *, reason: str) -> dict[str, Any]:
    """Delete one window recording (flushes; objects after commit). Raises SealedRecording for a tendering room,
    NotDeletable for a window recording whose media lies anywhere but the windows' own bucket."""
    from app.core.storage import EXPORTS, get_storage

    room = session.room
    if RoomKind(room.kind) in SEALED_KINDS or room.kind != RoomKind.WINDOW:
        raise SealedRecording(f"recording {session.key} of room {room.code} ({room.kind}) is never deleted")
    bucket = session.bucket
    if bucket != WINDOW_RECORDINGS or session.is_write_once:
        raise NotDeletable(f"recording {session.key} lies in the {bucket} bucket, not the windows' own: it is kept")
    segments = list(db.session.scalars(select(RecordingSegment).where(RecordingSegment.session_id == session.id)))
    exports = list(db.session.scalars(select(RecordingExport).where(RecordingExport.session_id == session.id)))
    keys = sorted({s.object_key for s in segments} | {s.init_key for s in segments})
    if session.manifest_key:
        keys.append(session.manifest_key)
    export_keys = [k for e in exports for k in (e.mp4_key, e.json_key) if k]
    storage, name = get_storage(), session.key
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
        "bucket": bucket,
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
                    log.exception("retention: could not delete %s/%s of %s", b, key, name)

    after_commit(remove)
    return facts


def sweep_retention(now: Any = None) -> dict[str, int]:
    """Every closed window recording in the windows' bucket that ended before the retention period, deleted and
    logged (idempotent; BATCH a run). `refused`: expired window recordings kept because they lie in the write-once
    bucket (made before windows had their own); they are counted, never selected for deletion."""
    cutoff = (now or now_utc()) - timedelta(days=window_retention_days())
    expired = (
        RecordingRoom.kind == RoomKind.WINDOW,
        RecordingSession.status == SessionStatus.CLOSED,
        RecordingSession.ended_at < cutoff,
    )
    stmt = (
        select(RecordingSession)
        .join(RecordingRoom, RecordingRoom.id == RecordingSession.room_id)
        .where(*expired, RecordingSession.bucket == WINDOW_RECORDINGS)
        .order_by(RecordingSession.id)
        .limit(BATCH)
    )
    deleted = 0
    for session in list(db.session.scalars(stmt)):
        delete_recording(session, reason=f"older than {window_retention_days()} days")
        deleted += 1
    refused = (
        db.session.scalar(
            select(func.count(RecordingSession.id))
            .join(RecordingRoom, RecordingRoom.id == RecordingSession.room_id)
            .where(*expired, RecordingSession.bucket != WINDOW_RECORDINGS)
        )
        or 0
    )
    if refused:
        log.warning("retention: %d expired window recordings lie in a write-once bucket and are kept", refused)
    return {"deleted": deleted, "refused": int(refused)}
