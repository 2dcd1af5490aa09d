"""Recording services: rooms, schedules, the session life cycle, segment and gap rows, access, integrity, events.

The recorder process (`flask recording run`) calls the session services in its own short transactions;
the web calls the rest. Every state change with evidential weight writes an evidence-log entry in the
same transaction.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_login import current_user
from sqlalchemy import or_, select

from app import audit
from app.accounts.models import User
from app.audit.services import checkpoint_document, issue_checkpoint, latest_checkpoint
from app.core.db import db
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.fields import require_instant
from app.core.problems import N_
from app.core.reference import demo
from app.core.security import caller_has, token_allows
from app.core.time import now_utc
from app.core.ui import status_info
from app.recordings import permissions as perms
from app.recordings.models import (
    RecordingGap,
    RecordingGrant,
    RecordingMediaAccess,
    RecordingRoom,
    RecordingSchedule,
    RecordingSegment,
    RecordingSession,
    RoomKind,
    SessionStatus,
    media_bucket,
)

ROOM_CODE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# "tender:12", "evaluation:7", "tender:12/lot:2": a module name, a colon, an identifier.
SUBJECT = re.compile(r"^[a-z][a-z0-9_-]{0,39}:[A-Za-z0-9._:/-]{1,200}$")
MAX_WINDOW = timedelta(hours=24)
MAX_MARGIN_S = 4 * 3600
ACTIVE = (SessionStatus.PENDING, SessionStatus.RECORDING)
MAX_EVENTS = 2000


def _actor_ref(actor: object) -> str:
    from app.audit.services import actor_ref

    return actor_ref(actor)


def _aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationFailed(
            N_("%(name)s must be an aware datetime"), params={"name": name}, errors={name: ["needs a time zone"]}
        )
    return require_instant(value, name)


def check_subject(subject: str | None) -> str | None:
    if subject is None or subject == "":
        return None
    if not isinstance(subject, str) or not SUBJECT.match(subject):
        raise ValidationFailed(N_("A subject looks like 'tender:12'."), errors={"subject": ["invalid"]})
    return subject


# --- rooms ---------------------------------------------------------------------------------------


def create_room(
    *,
    actor: object,
    code: str,
    name: str,
    source: str = "synthetic",
    kind: RoomKind | str = RoomKind.OPENING,
    subject: str | None = None,
    width: int = 640,
    height: int = 360,
    fps: int = 15,
) -> RecordingRoom:
    """Create a room. Raises ValidationFailed for a bad code/name/size, Conflict when the code exists."""
    if not isinstance(code, str) or not ROOM_CODE.match(code):
        raise ValidationFailed(N_("A room code has 1-40 of a-z, 0-9 and '-'."), errors={"code": ["invalid"]})
    name = (name or "").strip()
    if not name or len(name) > 200 or any(not c.isprintable() for c in name):
        raise ValidationFailed(N_("A room needs a printable name."), errors={"name": ["invalid"]})
    source = (source or "").strip()
    if not source or len(source) > 500 or any(not c.isprintable() for c in source):
        raise ValidationFailed(
            N_("A camera source is 'synthetic', a device index or a URL."), errors={"source": ["invalid"]}
        )
    try:
        kind_value = RoomKind(kind)
    except ValueError as exc:
        raise ValidationFailed(N_("Unknown room kind."), errors={"kind": ["opening, evaluation or window"]}) from exc
    if not (16 <= width <= 3840 and 16 <= height <= 2160 and 1 <= fps <= 60) or width % 2 or height % 2:
        raise ValidationFailed(
            N_("Width and height must be even and sensible, fps 1-60."), errors={"size": ["invalid"]}
        )
    if db.session.scalar(select(RecordingRoom).where(RecordingRoom.code == code)) is not None:
        raise Conflict(N_("A room with code %(code)s exists."), params={"code": repr(code)})
    room = RecordingRoom(
        code=code,
        name=name,
        source=source,
        kind=kind_value,
        subject=check_subject(subject),
        width=width,
        height=height,
        fps=fps,
        created_at=now_utc(),
    )
    db.session.add(room)
    db.session.flush()
    audit.record(
        "recording.room_created",
        actor=actor,
        subject=room.audit_ref,
        data={"code": code, "name": name, "kind": kind_value.value, "source": _redact(source)},
    )
    return room


def _redact(source: str) -> str:
    """A camera URL without its password, for logs and the evidence log."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", source)


def get_room(code: str) -> RecordingRoom:
    room: RecordingRoom | None = (
        db.session.scalar(select(RecordingRoom).where(RecordingRoom.code == code)) if isinstance(code, str) else None
    )
    if room is None:
        raise NotFound(N_("No recording room %(code)s."), params={"code": repr(code)})
    return room


def list_rooms() -> list[RecordingRoom]:
    return list(db.session.scalars(select(RecordingRoom).order_by(RecordingRoom.code)))


# --- schedules -----------------------------------------------------------------------------------


def schedule_recording(
    room_code: str,
    subject: str | None,
    starts_at: datetime,
    ends_at: datetime,
    *,
    margin_before: timedelta | None = None,
    margin_after: timedelta | None = None,
    actor: object = "system",
) -> RecordingSchedule:
    """Ask for `room_code` to be recorded from `starts_at` to `ends_at` (plus margins, configurable).

    For other modules (an opening, an evaluation session). The room's recorder in `--follow-schedule`
    mode starts and stops the session by itself. Raises NotFound (room), ValidationFailed (times).
    """
    room = get_room(room_code)
    _aware(starts_at, "starts_at")
    _aware(ends_at, "ends_at")
    if ends_at <= starts_at:
        raise ValidationFailed(N_("The window must end after it starts."), errors={"ends_at": ["before starts_at"]})
    if ends_at - starts_at > MAX_WINDOW:
        raise ValidationFailed(N_("A window may last at most 24 hours."), errors={"ends_at": ["too long"]})
    cfg = current_app.config
    before = (
        margin_before if margin_before is not None else timedelta(seconds=cfg.get("RECORDING_MARGIN_BEFORE_S", 300))
    )
    after = margin_after if margin_after is not None else timedelta(seconds=cfg.get("RECORDING_MARGIN_AFTER_S", 300))
    for name, margin in (("margin_before", before), ("margin_after", after)):
        if not timedelta(0) <= margin <= timedelta(seconds=MAX_MARGIN_S):
            raise ValidationFailed(N_("Margins are between 0 and 4 hours."), errors={name: ["out of range"]})
    schedule = RecordingSchedule(
        room_id=room.id,
        subject=check_subject(subject) or room.subject,
        starts_at=starts_at,
        ends_at=ends_at,
        margin_before_s=int(before.total_seconds()),
        margin_after_s=int(after.total_seconds()),
        created_at=now_utc(),
        created_by=_actor_ref(actor),
    )
    db.session.add(schedule)
    db.session.flush()
    audit.record(
        "recording.scheduled",
        actor=actor,
        subject=schedule.subject or room.audit_ref,
        data={
            "schedule": schedule.id,
            "room": room.code,
            "starts_at": _iso(starts_at),
            "ends_at": _iso(ends_at),
            "margin_before_s": schedule.margin_before_s,
            "margin_after_s": schedule.margin_after_s,
        },
    )
    return schedule


def cancel_schedule(schedule_id: int, *, actor: object) -> RecordingSchedule:
    """Cancel a window; a session it already started is asked to stop."""
    schedule = db.session.get(RecordingSchedule, schedule_id) if 0 < schedule_id < 2**31 else None
    if schedule is None:
        raise NotFound(N_("No such recording schedule."))
    if schedule.cancelled_at is None:
        schedule.cancelled_at = now_utc()
        for session in db.session.scalars(
            select(RecordingSession).where(
                RecordingSession.schedule_id == schedule.id, RecordingSession.status.in_(ACTIVE)
            )
        ):
            _stop(session, actor=actor)
        audit.record("recording.schedule_cancelled", actor=actor, subject=schedule.subject, data={"id": schedule.id})
    db.session.flush()
    return schedule


def _window(schedule: RecordingSchedule) -> tuple[datetime, datetime]:
    return (
        schedule.starts_at - timedelta(seconds=schedule.margin_before_s),
        schedule.ends_at + timedelta(seconds=schedule.margin_after_s),
    )


def apply_schedules(room: RecordingRoom | None = None, *, continuous: bool = False) -> list[str]:
    """Make sessions follow the schedule (idempotent): ask for a session when a window opens, ask it to stop
    when the window closes. With `continuous` (the demo room), ask for a session whenever none is due.

    Returns a line per change, for logs.
    """
    now = now_utc()
    rooms = [room] if room is not None else list_rooms()
    changes: list[str] = []
    for r in rooms:
        sessions = list(
            db.session.scalars(
                select(RecordingSession)
                .where(RecordingSession.room_id == r.id, RecordingSession.status.in_(ACTIVE))
                .order_by(RecordingSession.id)
                .with_for_update()
            )
        )
        # Stop scheduled sessions whose window is over (or whose schedule was cancelled).
        for s in sessions:
            if s.schedule is not None and s.stop_requested_at is None and now >= _window(s.schedule)[1]:
                _stop(s, actor=f"schedule:{s.schedule_id}")
                changes.append(f"stop {s.key}: window over")
        live = [s for s in sessions if s.stop_requested_at is None]
        due = list(
            db.session.scalars(
                select(RecordingSchedule).where(
                    RecordingSchedule.room_id == r.id,
                    RecordingSchedule.cancelled_at.is_(None),
                    RecordingSchedule.ends_at > now - timedelta(seconds=MAX_MARGIN_S),
                    RecordingSchedule.starts_at < now + timedelta(seconds=MAX_MARGIN_S),
                )
            )
        )
        for schedule in sorted(due, key=lambda s: s.starts_at):
            opens, closes = _window(schedule)
            if not opens <= now < closes:
                continue
            # A window is recorded by one session at a time; a session the recorder closed on its own (shut
            # down, restarted) is followed by a new one, but one that was stopped or cancelled is not.
            taken = db.session.scalar(
                select(RecordingSession.id)
                .where(
                    RecordingSession.schedule_id == schedule.id,
                    or_(RecordingSession.status.in_(ACTIVE), RecordingSession.stop_requested_at.is_not(None)),
                )
                .limit(1)
            )
            if taken is not None:
                continue
            for s in live:
                if s.schedule_id is None and s.requested_by == CONTINUOUS:
                    _stop(s, actor=f"schedule:{schedule.id}")  # the scheduled session takes over the room
                    changes.append(f"stop {s.key}: schedule {schedule.id} takes over")
            if any(
                s.schedule_id is not None or s.requested_by != CONTINUOUS for s in live if s.stop_requested_at is None
            ):
                continue  # a hand-started session is running: it keeps the room until staff stop it
            session = _new_session(r, subject=schedule.subject, actor=f"schedule:{schedule.id}", schedule=schedule)
            live.append(session)
            changes.append(f"start {session.key}: schedule {schedule.id}")
        if continuous and not [s for s in live if s.stop_requested_at is None]:
            session = _new_session(r, subject=r.subject, actor=CONTINUOUS, schedule=None)
            changes.append(f"start {session.key}: continuous")
    db.session.flush()
    return changes


CONTINUOUS = "recorder:continuous"


# --- sessions ------------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    from app.audit.services import format_instant

    return format_instant(value)


def _new_session(
    room: RecordingRoom, *, subject: str | None, actor: object, schedule: RecordingSchedule | None
) -> RecordingSession:
    now = now_utc()
    key = f"{room.code}-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    session = RecordingSession(
        key=key,
        room_id=room.id,
        subject=subject,
        schedule_id=schedule.id if schedule is not None else None,
        status=SessionStatus.PENDING,
        requested_at=now,
        requested_by=_actor_ref(actor),
        bucket=media_bucket(room),
    )
    db.session.add(session)
    db.session.flush()
    audit.record(
        "recording.session_requested",
        actor=actor,
        subject=session.audit_ref,
        data={
            "room": room.code,
            "key": key,
            "subject": subject,
            "schedule": session.schedule_id,
            "bucket": session.bucket,
        },
    )
    return session


def active_sessions(room: RecordingRoom) -> list[RecordingSession]:
    return list(
        db.session.scalars(
            select(RecordingSession)
            .where(RecordingSession.room_id == room.id, RecordingSession.status.in_(ACTIVE))
            .order_by(RecordingSession.id)
        )
    )


def request_start(room_code: str, *, actor: object, subject: str | None = None) -> RecordingSession:
    """Staff start a room's recording by hand; the room's recorder picks it up within seconds.

    Raises NotFound (room), Conflict when the room already has a session that is not stopping.
    """
    room = get_room(room_code)
    subject = check_subject(subject) or room.subject
    running = [s for s in active_sessions(room) if s.stop_requested_at is None and s.requested_by != CONTINUOUS]
    if running:
        raise Conflict(
            N_("Room %(code)s is already recording (session %(key)s)."),
            params={"code": room.code, "key": running[0].key},
        )
    for s in active_sessions(room):
        if s.requested_by == CONTINUOUS and s.stop_requested_at is None:
            _stop(s, actor=actor)
    return _new_session(room, subject=subject, actor=actor, schedule=None)


def _stop(session: RecordingSession, *, actor: object) -> None:
    if session.status == SessionStatus.PENDING:
        session.status = SessionStatus.CANCELLED
        session.ended_at = now_utc()
        session.stop_requested_at = session.ended_at
        session.stop_requested_by = _actor_ref(actor)
        audit.record("recording.session_cancelled", actor=actor, subject=session.audit_ref, data={"key": session.key})
        return
    if session.status == SessionStatus.RECORDING and session.stop_requested_at is None:
        session.stop_requested_at = now_utc()
        session.stop_requested_by = _actor_ref(actor)
        audit.record("recording.stop_requested", actor=actor, subject=session.audit_ref, data={"key": session.key})


def request_stop(room_code: str, *, actor: object) -> list[RecordingSession]:
    """Staff stop a room's recording by hand: pending sessions are cancelled, running ones asked to close.

    Raises NotFound (room), Conflict when nothing is recording.
    """
    room = get_room(room_code)
    sessions = [s for s in active_sessions(room) if s.stop_requested_at is None]
    if not sessions:
        raise Conflict(N_("Room %(code)s is not recording."), params={"code": room.code})
    for s in sessions:
        _stop(s, actor=actor)
    db.session.flush()
    return sessions


def get_session(session_id: int) -> RecordingSession:
    session = db.session.get(RecordingSession, session_id) if 0 < session_id < 2**31 else None
    if session is None:
        raise NotFound(N_("No such recording session."))
    return session


def next_session_for(room: RecordingRoom) -> RecordingSession | None:
    """What the room's recorder should record now: a session it already began (resume), else the oldest pending."""
    sessions = active_sessions(room)
    recording = [s for s in sessions if s.status == SessionStatus.RECORDING]
    if recording:
        return recording[0]
    pending = [s for s in sessions if s.status == SessionStatus.PENDING]
    return pending[0] if pending else None


def _checkpoint_now() -> dict[str, Any] | None:
    issue_checkpoint()
    cp = latest_checkpoint()
    return checkpoint_document(cp) if cp is not None else None


def begin_session(session_id: int, *, recorder: str) -> RecordingSession:
    """The recorder claims a session: PENDING → RECORDING, the evidence log's start checkpoint, an audit entry.

    A session already RECORDING (the recorder restarted) is claimed again without a new entry.
    Raises Conflict when it is closed or cancelled, or held by another live recorder.
    """
    session = db.session.execute(
        select(RecordingSession).where(RecordingSession.id == session_id).with_for_update()
    ).scalar_one()
    now = now_utc()
    if session.status not in ACTIVE:
        raise Conflict(
            N_("Session %(key)s is %(status)s."),
            params={"key": session.key, "status": status_info("recording", session.status).label},
        )
    if session.status == SessionStatus.RECORDING:
        alive = session.heartbeat_at is not None and now - session.heartbeat_at < timedelta(seconds=30)
        if session.recorder not in {None, recorder} and alive:
            raise Conflict(
                N_("Session %(key)s is being recorded by %(recorder)s."),
                params={"key": session.key, "recorder": session.recorder},
            )
        session.recorder = recorder
        session.heartbeat_at = now
        db.session.flush()
        return session
    session.status = SessionStatus.RECORDING
    session.started_at = now
    session.recorder = recorder
    session.heartbeat_at = now
    audit.record(
        "recording.session_started",
        actor=f"recorder:{session.room.code}",
        subject=session.subject or session.audit_ref,
        data={"session": session.id, "key": session.key, "room": session.room.code, "recorder": recorder},
    )
    session.checkpoint_start = _checkpoint_now()
    db.session.flush()
    return session


def heartbeat(session_id: int) -> RecordingSession:
    session = get_session(session_id)
    session.heartbeat_at = now_utc()
    db.session.flush()
    return session


def record_segment(session_id: int, record: Any) -> bool:
    """Store a closed segment (the library's SegmentRecord) as a row; False when it is already stored."""
    exists = db.session.scalar(
        select(RecordingSegment.id).where(
            RecordingSegment.session_id == session_id, RecordingSegment.sequence == record.sequence
        )
    )
    if exists is not None:
        return False
    from recording.clock import from_epoch_us

    db.session.add(
        RecordingSegment(
            session_id=session_id,
            sequence=record.sequence,
            period=record.period,
            object_key=record.key,
            size=record.size,
            sha256=record.sha256,
            init_key=record.init_key,
            init_sha256=record.init_sha256,
            prev_chain_hash=record.prev_chain_hash,
            chain_hash=record.chain_hash,
            wall_start_us=record.wall_start_us,
            wall_end_us=record.wall_end_us,
            wall_start_at=from_epoch_us(record.wall_start_us),
            wall_end_at=from_epoch_us(record.wall_end_us),
            mono_start_ns=record.mono_start_ns,
            mono_end_ns=record.mono_end_ns,
            video_duration_us=record.video_duration_us,
            audio_duration_us=record.audio_duration_us,
            recorded_at=now_utc(),
        )
    )
    db.session.flush()
    return True


def record_gap(session_id: int, gap: Any) -> bool:
    """Store a gap (the library's Gap) and log it; False when it is already stored."""
    exists = db.session.scalar(
        select(RecordingGap.id).where(
            RecordingGap.session_id == session_id,
            RecordingGap.after_sequence == gap.after_sequence,
            RecordingGap.kind == gap.kind,
            RecordingGap.wall_start_us == gap.wall_start_us,
        )
    )
    if exists is not None:
        return False
    from recording.clock import from_epoch_us

    session = get_session(session_id)
    row = RecordingGap(
        session_id=session_id,
        after_sequence=gap.after_sequence,
        kind=gap.kind[:20],
        cause=gap.cause[:1000],
        wall_start_us=gap.wall_start_us,
        wall_end_us=gap.wall_end_us,
        wall_start_at=from_epoch_us(gap.wall_start_us),
        wall_end_at=from_epoch_us(gap.wall_end_us),
        mono_start_ns=gap.mono_start_ns,
        mono_end_ns=gap.mono_end_ns,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "recording.segment_gap",
        actor=f"recorder:{session.room.code}",
        subject=session.subject or session.audit_ref,
        data={
            "session": session.id,
            "after_sequence": gap.after_sequence,
            "kind": row.kind,
            "cause": row.cause,
            "from": _iso(row.wall_start_at),
            "to": _iso(row.wall_end_at),
        },
    )
    return True


def mark_uploaded(session_id: int, key: str) -> None:
    now = now_utc()
    for seg in db.session.scalars(
        select(RecordingSegment).where(RecordingSegment.session_id == session_id, RecordingSegment.object_key == key)
    ):
        if seg.uploaded_at is None:
            seg.uploaded_at = now
    db.session.flush()


def end_checkpoint() -> dict[str, Any] | None:
    """Sign the log's head now (flush): the manifest's end checkpoint covers every event of the session."""
    return _checkpoint_now()


def close_session(
    session_id: int, *, manifest: dict[str, Any], manifest_key: str, manifest_sha256: str
) -> RecordingSession:
    """RECORDING → CLOSED with the stored manifest's key and hash; logs `recording.session_closed`."""
    session = db.session.execute(
        select(RecordingSession).where(RecordingSession.id == session_id).with_for_update()
    ).scalar_one()
    if session.status == SessionStatus.CLOSED:
        return session
    body = manifest["manifest"]
    now = now_utc()
    session.status = SessionStatus.CLOSED
    session.ended_at = now
    session.manifest_key = manifest_key
    session.manifest_sha256 = manifest_sha256
    session.final_chain_hash = body["final_chain_hash"]
    session.checkpoint_end = body.get("checkpoint_end")
    session.key_id = manifest["signature"]["key_id"]
    # Segments whose upload completed before this process started have no on_uploaded callback: the
    # manifest is stored only after every segment, so by now they all are.
    for seg in session.segments:
        if seg.uploaded_at is None:
            seg.uploaded_at = now

    def cp_ref(doc: Any) -> dict[str, Any] | None:
        if not isinstance(doc, dict):
            return None
        payload = doc.get("payload", {})
        return {"tree_size": payload.get("tree_size"), "root_hash": payload.get("root_hash")}

    audit.record(
        "recording.session_closed",
        actor=f"recorder:{session.room.code}",
        subject=session.subject or session.audit_ref,
        data={
            "session": session.id,
            "key": session.key,
            "manifest_key": manifest_key,
            "manifest_sha256": manifest_sha256,
            "final_chain_hash": session.final_chain_hash,
            "segments": len(body["segments"]),
            "gaps": len(body["gaps"]),
            "checkpoint_start": cp_ref(body.get("checkpoint_start")),
            "checkpoint_end": cp_ref(body.get("checkpoint_end")),
        },
    )
    db.session.flush()
    return session


# --- access --------------------------------------------------------------------------------------


def _active_grant(user_id: int, session_id: int) -> RecordingGrant | None:
    now = now_utc()
    grants = db.session.scalars(
        select(RecordingGrant).where(RecordingGrant.user_id == user_id, RecordingGrant.session_id == session_id)
    )
    for grant in grants:
        if grant.is_active(now):
            return grant
    return None


def _token_reaches_grants() -> bool:
    """A grant is used by a session caller, or by a token scoped to granted sessions (or to replay)."""
    return token_allows(current_user, perms.GRANTED) or token_allows(current_user, perms.REPLAY)


def may_replay(session: RecordingSession) -> bool:
    if caller_has(perms.REPLAY):
        return True
    if not current_user.is_authenticated or not _token_reaches_grants():
        return False
    return _active_grant(current_user.id, session.id) is not None


def may_export(session: RecordingSession) -> bool:
    if caller_has(perms.REPLAY):
        return True
    if not current_user.is_authenticated or not _token_reaches_grants():
        return False
    grant = _active_grant(current_user.id, session.id)
    return grant is not None and grant.allow_export


def _refuse(session: RecordingSession, what: str) -> None:
    """Record the refused attempt (committed on its own, so the error's rollback keeps it) and refuse."""
    db.session.rollback()
    audit.record(
        "recording.access_denied",
        actor=current_user._get_current_object() if current_user.is_authenticated else None,
        subject=session.audit_ref,
        data={"what": what},
    )
    db.session.commit()
    raise PermissionDenied(N_("You may not replay this recording."))


def authorize_replay(session: RecordingSession, what: str = "replay") -> None:
    if not may_replay(session):
        _refuse(session, what)


def authorize_export(session: RecordingSession) -> None:
    if not may_export(session):
        _refuse(session, "export")


def visible_sessions(limit: int = 200) -> list[RecordingSession]:
    """Sessions the caller may replay, newest first."""
    stmt = select(RecordingSession).order_by(RecordingSession.id.desc()).limit(limit)
    if not caller_has(perms.REPLAY):
        if not current_user.is_authenticated or not _token_reaches_grants():
            return []
        now = now_utc()
        stmt = stmt.join(RecordingGrant, RecordingGrant.session_id == RecordingSession.id).where(
            RecordingGrant.user_id == current_user.id,
            RecordingGrant.revoked_at.is_(None),
            or_(RecordingGrant.expires_at.is_(None), RecordingGrant.expires_at > now),
        )
    return list(db.session.scalars(stmt).unique())


def grant_replay(
    session: RecordingSession,
    *,
    actor: object,
    username: str,
    expires_at: datetime | None = None,
    allow_export: bool = False,
    reason: str = "",
) -> RecordingGrant:
    """An auditor lets `username` replay `session`. Raises NotFound (user), ValidationFailed (expiry)."""
    user = db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None:
        raise NotFound(N_("No such user."))
    if expires_at is not None and _aware(expires_at, "expires_at") <= now_utc():
        raise ValidationFailed(N_("The grant must expire in the future."), errors={"expires_at": ["in the past"]})
    reason = (reason or "").strip()
    if len(reason) > 500 or any(not c.isprintable() for c in reason):
        raise ValidationFailed(
            N_("The reason is too long or holds control characters."), errors={"reason": ["invalid"]}
        )
    grant = RecordingGrant(
        session_id=session.id,
        user_id=user.id,
        allow_export=bool(allow_export),
        reason=reason,
        granted_by=_actor_ref(actor),
        created_at=now_utc(),
        expires_at=expires_at,
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "recording.replay_granted",
        actor=actor,
        subject=session.audit_ref,
        data={
            "grant": grant.id,
            "user": user.audit_ref,
            "allow_export": grant.allow_export,
            "expires_at": _iso(expires_at) if expires_at else None,
            "reason": reason,
        },
    )
    return grant


def revoke_grant(grant_id: int, *, actor: object) -> RecordingGrant:
    grant = db.session.get(RecordingGrant, grant_id) if 0 < grant_id < 2**31 else None
    if grant is None:
        raise NotFound(N_("No such grant."))
    if grant.revoked_at is None:
        grant.revoked_at = now_utc()
        grant.revoked_by = _actor_ref(actor)
        audit.record("recording.replay_revoked", actor=actor, subject=grant.session.audit_ref, data={"grant": grant.id})
    db.session.flush()
    return grant


def list_grants(session: RecordingSession) -> list[RecordingGrant]:
    return list(
        db.session.scalars(
            select(RecordingGrant).where(RecordingGrant.session_id == session.id).order_by(RecordingGrant.id)
        )
    )


def record_replay(session: RecordingSession, *, actor: object, intact: bool) -> None:
    """A replay is evidence too: who watched which recording, and whether it checked out."""
    audit.record(
        "recording.replayed",
        actor=actor,
        subject=session.audit_ref,
        data={"key": session.key, "subject": session.subject, "intact": intact},
    )


# --- media access: one evidence-log entry per viewer, recording and window, not one per segment ---------


def media_window_s() -> int:
    return max(1, int(current_app.config.get("RECORDING_MEDIA_WINDOW_S", 3600)))


def _claim_window(session: RecordingSession, viewer: str, outcome: str) -> datetime | None:
    """Claim (session, viewer, outcome, current window); its start when this call claimed it, else None.

    A read first (the common case, every further segment, writes nothing); then an insert that a concurrent
    request's identical insert turns into nothing (ON CONFLICT DO NOTHING on the unique key).
    """
    seconds = media_window_s()
    epoch = int(now_utc().timestamp())
    window = datetime.fromtimestamp(epoch - epoch % seconds, UTC)
    key = (
        RecordingMediaAccess.session_id == session.id,
        RecordingMediaAccess.viewer == viewer,
        RecordingMediaAccess.outcome == outcome,
        RecordingMediaAccess.window_start == window,
    )
    if db.session.scalar(select(RecordingMediaAccess.id).where(*key).limit(1)) is not None:
        return None
    from sqlalchemy.dialects import postgresql, sqlite

    table = RecordingMediaAccess.__table__
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(session_id=session.id, viewer=viewer, outcome=outcome, window_start=window, created_at=now_utc())
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    claimed = db.session.execute(stmt).first()
    return window if claimed is not None else None


def record_media_access(session: RecordingSession, *, actor: object, what: str) -> bool:
    """Log the viewer's first request for this recording's media (playlist, init section, segment) in the
    window as `recording.media.accessed`; True when this request wrote the entry."""
    window = _claim_window(session, _actor_ref(actor), "accessed")
    if window is None:
        return False
    audit.record(
        "recording.media.accessed",
        actor=actor,
        subject=session.audit_ref,
        data={"key": session.key, "first": what, "window_start": _iso(window), "window_s": media_window_s()},
    )
    return True


def record_anonymous_refusal(session: RecordingSession, *, what: str, address: str | None) -> bool:
    """Log a request without credentials on this recording as `recording.access_denied` (once per address,
    recording and window: an anonymous flood cannot grow the evidence log without bound)."""
    address = (address or "unknown")[:100]
    window = _claim_window(session, f"anonymous:{address}", "refused")
    if window is None:
        return False
    audit.record(
        "recording.access_denied",
        actor=None,
        subject=session.audit_ref,
        data={
            "what": what,
            "anonymous": True,
            "address": address,
            "window_start": _iso(window),
            "window_s": media_window_s(),
        },
    )
    return True


def sessions_for_subject(subject: str) -> Iterable[RecordingSession]:
    """Recordings about `subject` (for other modules' pages: 'the opening of tender 12 was recorded')."""
    return db.session.scalars(
        select(RecordingSession).where(RecordingSession.subject == subject).order_by(RecordingSession.id)
    )


# --- demo ----------------------------------------------------------------------------------------

DEMO_ROOM = "demo"


def _ensure_demo_room(code: str, name: str, source: str, kind: RoomKind, size: tuple[int, int, int]) -> None:
    """A demo room by its code, made once (a later seed leaves it, and whatever was changed on it, alone)."""
    if db.session.scalar(select(RecordingRoom).where(RecordingRoom.code == code)) is None:
        width, height, fps = size
        create_room(actor="system", code=code, name=name, source=source, kind=kind, width=width, height=height, fps=fps)


@demo("recordings.demo_room")
def seed_demo_room() -> list[str]:
    """The demo room `make run` records from the synthetic camera (640x360 at 15 fps keeps the CPU low)."""
    _ensure_demo_room(DEMO_ROOM, "开标室一 Opening room 1 (demo)", "synthetic", RoomKind.OPENING, (640, 360, 15))
    return [f"recording room {DEMO_ROOM!r}: synthetic camera; replay at /recordings (auditor, supervisor)"]


DEMO_WINDOW_ROOM = "window-01"


@demo("recordings.demo_window_room")
def seed_demo_window_room() -> list[str]:
    """The demo window's camera room: composited footage of the desk of window 01 (photographs of people coming and
    going, recording.presence_footage), recorded continuously into the windows' bucket and deleted after the
    retention period. 320x240 at 8 fps: what the presence watcher analyses, at a few per cent of a core."""
    _ensure_demo_room(DEMO_WINDOW_ROOM, "01号窗口 Window 01 (demo)", "footage", RoomKind.WINDOW, (320, 240, 8))
    return [f"recording room {DEMO_WINDOW_ROOM!r}: window 01's desk (composited footage), kept for the retention days"]
