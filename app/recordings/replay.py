"""Replay: segment rows as the library's records, the HLS playlist, the player's timeline with the evidence-log
events placed on it, and the integrity check that re-hashes every stored object against rows and manifest."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import or_, select

from app.audit.models import AuditEntry
from app.core.db import LIKE_ESCAPE, db, like_pattern
from app.core.errors import NotFound
from app.core.keys import platform_public_keys
from app.core.storage import get_storage
from app.core.time import now_utc
from app.recordings.models import RecordingSegment, RecordingSession
from app.recordings.services import MAX_EVENTS, _iso

# --- playlists and timelines ---------------------------------------------------------------------


def segment_records(session: RecordingSession, *, uploaded_only: bool = False) -> list[Any]:
    from recording.archive import SegmentRecord

    rows = session.segments
    if uploaded_only and not session.is_closed:
        rows = [r for r in rows if r.uploaded_at is not None]
    return [
        SegmentRecord(
            session=session.key,
            sequence=r.sequence,
            period=r.period,
            key=r.object_key,
            size=r.size,
            sha256=r.sha256,
            init_key=r.init_key,
            init_sha256=r.init_sha256,
            prev_chain_hash=r.prev_chain_hash,
            chain_hash=r.chain_hash,
            wall_start_us=r.wall_start_us,
            wall_end_us=r.wall_end_us,
            mono_start_ns=r.mono_start_ns,
            mono_end_ns=r.mono_end_ns,
            video_duration_us=r.video_duration_us,
            audio_duration_us=r.audio_duration_us,
        )
        for r in rows
    ]


def gap_records(session: RecordingSession) -> list[Any]:
    from recording.archive import Gap

    return [
        Gap(
            session=session.key,
            after_sequence=g_.after_sequence,
            cause=g_.cause,
            kind=g_.kind,
            wall_start_us=g_.wall_start_us,
            wall_end_us=g_.wall_end_us,
            mono_start_ns=g_.mono_start_ns,
            mono_end_ns=g_.mono_end_ns,
        )
        for g_ in session.gaps
    ]


def playlist(session: RecordingSession, uri: Any) -> str:
    """The HLS playlist of the session's stored segments (EVENT while recording, VOD once closed)."""
    from recording.playlist import build_playlist

    records = segment_records(session, uploaded_only=True)
    return build_playlist(records, uri=uri, gaps=gap_records(session), closed=session.is_closed)


@dataclass(frozen=True)
class Span:
    """A stretch of the player's timeline: media seconds [media_start, media_start + duration) ↔ wall clock."""

    sequence: int
    wall_start_us: int
    wall_end_us: int
    media_start: float
    duration: float


def media_spans(session: RecordingSession) -> list[Span]:
    """Where each playlist segment sits on the player's timeline (the sum of the EXTINF before it)."""
    spans: list[Span] = []
    at = 0.0
    for r in segment_records(session, uploaded_only=True):
        duration = round(r.video_duration_us / 1e6, 3)  # as written in EXTINF
        spans.append(Span(r.sequence, r.wall_start_us, r.wall_end_us, at, duration))
        at += duration
    return spans


def media_time(spans: list[Span], at_us: int) -> tuple[float | None, bool]:
    """(seconds on the player's timeline, in_gap) for a wall-clock instant; None outside the recording.

    Without gaps this is `at - first program date-time`; an instant inside a gap maps to where media resumes.
    """
    if not spans or at_us < spans[0].wall_start_us or at_us > spans[-1].wall_end_us:
        return None, False
    for span in spans:
        if at_us < span.wall_start_us:
            return span.media_start, True
        if at_us <= span.wall_end_us:
            offset = min(span.duration, (at_us - span.wall_start_us) / 1e6)
            return round(span.media_start + offset, 3), False
    return None, False


def timeline_events(session: RecordingSession) -> list[dict[str, Any]]:
    """Evidence-log entries about the session's subject (and the session itself) during the recording."""
    from recording.clock import to_epoch_us

    spans = media_spans(session)
    if spans:
        from recording.clock import from_epoch_us

        start, end = from_epoch_us(spans[0].wall_start_us), from_epoch_us(spans[-1].wall_end_us)
    else:
        start = session.started_at or session.requested_at
        end = session.ended_at or now_utc()
    subjects = [session.audit_ref]
    conditions = [AuditEntry.subject == session.audit_ref]
    if session.subject:
        subjects.append(session.subject)
        conditions += [
            AuditEntry.subject == session.subject,
            AuditEntry.subject.like(like_pattern(session.subject + "/", prefix=True), escape=LIKE_ESCAPE),
        ]
    rows = db.session.scalars(
        select(AuditEntry)
        .where(or_(*conditions), AuditEntry.created_at >= start, AuditEntry.created_at <= end)
        .order_by(AuditEntry.index)
        .limit(MAX_EVENTS)
    )
    events = []
    for e in rows:
        at_us = to_epoch_us(e.created_at)
        position, in_gap = media_time(spans, at_us)
        events.append(
            {
                "index": e.index,
                "at": _iso(e.created_at),
                "at_us": at_us,
                "created_at": e.created_at,
                "action": e.action,
                "actor": e.actor,
                "subject": e.subject,
                "data": e.data,
                "media_time": position,
                "in_gap": in_gap,
            }
        )
    return events


# --- integrity -----------------------------------------------------------------------------------


@dataclass
class Finding:
    kind: str
    sequence: int | None
    key: str | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sequence": self.sequence, "key": self.key, "detail": self.detail}


@dataclass
class IntegrityReport:
    """What replay found: every segment's bytes against its row, the chain, the signed manifest."""

    checked_segments: int = 0
    pending_upload: int = 0
    manifest: str = "not-closed"  # verified | invalid | missing | not-closed
    problems: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems and self.manifest in {"verified", "not-closed"}

    @property
    def bad_sequences(self) -> list[int]:
        return sorted({p.sequence for p in self.problems if p.sequence is not None})

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "checked_segments": self.checked_segments,
            "pending_upload": self.pending_upload,
            "manifest": self.manifest,
            "bad_sequences": self.bad_sequences,
            "problems": [p.as_dict() for p in self.problems],
        }


def _hash_object(bucket: str, key: str) -> tuple[str, int] | None:
    """SHA-256 and size of a stored object, read in chunks (constant memory); None when it is missing."""
    storage = get_storage()
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in storage.get(bucket, key):
            digest.update(chunk)
            size += len(chunk)
    except NotFound:
        return None
    return digest.hexdigest(), size


def _public_keys() -> dict[str, Ed25519PublicKey]:
    from crypto.signing import load_public_key

    return {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}


def load_manifest(session: RecordingSession) -> dict[str, Any] | None:
    """The stored manifest, when its bytes still hash to what the session row recorded; else None."""
    if not session.manifest_key:
        return None
    storage = get_storage()
    try:
        with storage.open(session.bucket, session.manifest_key) as fh:
            data = fh.read(16 * 1024 * 1024 + 1)
    except NotFound:
        return None
    if hashlib.sha256(data).hexdigest() != session.manifest_sha256:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def verify_session(session: RecordingSession) -> IntegrityReport:
    """Check every stored segment and init section against the rows, the hash chain, and the signed manifest.

    Bytes are re-read and hashed (a stored checksum alone would miss an object altered in place); the
    storage's own checksum is compared too. Each finding names its segment.
    """
    from recording.manifest import verify_chain, verify_manifest

    storage = get_storage()
    report = IntegrityReport()
    rows = list(session.segments)
    inits: dict[str, tuple[int, str]] = {}
    for row in rows:
        inits.setdefault(row.init_key, (row.period, row.init_sha256))
        if row.uploaded_at is None and not session.is_closed:
            report.pending_upload += 1
            continue
        report.checked_segments += 1
        try:
            info = storage.stat(session.bucket, row.object_key)
        except NotFound:
            report.problems.append(Finding("missing", row.sequence, row.object_key, "the stored object is missing"))
            continue
        if info.sha256 != row.sha256:
            report.problems.append(
                Finding("hash_mismatch", row.sequence, row.object_key, "the store's checksum differs from the row")
            )
            continue
        found = _hash_object(session.bucket, row.object_key)
        if found is None:
            report.problems.append(Finding("missing", row.sequence, row.object_key, "the stored object is missing"))
        elif found[1] != row.size:
            report.problems.append(
                Finding("size_mismatch", row.sequence, row.object_key, f"{found[1]} bytes stored, {row.size} recorded")
            )
        elif found[0] != row.sha256:
            report.problems.append(
                Finding("hash_mismatch", row.sequence, row.object_key, "the SHA-256 of the stored bytes differs")
            )
    for key, (period, sha) in inits.items():
        found = _hash_object(session.bucket, key)
        if found is None and session.is_closed:
            report.problems.append(Finding("missing", None, key, f"init section of period {period} is missing"))
        elif found is not None and found[0] != sha:
            bad = [r.sequence for r in rows if r.init_key == key]
            report.problems.append(
                Finding("init_mismatch", bad[0] if bad else None, key, f"init section of period {period} differs")
            )
    chain = verify_chain([_row_entry(session, r) for r in rows], None)
    for p in chain.problems:
        report.problems.append(Finding(str(p.kind), p.sequence, p.key, p.detail))
    if not session.is_closed:
        return report
    manifest = load_manifest(session)
    if manifest is None:
        report.manifest = "missing"
        report.problems.append(
            Finding("manifest_missing", None, session.manifest_key, "the signed manifest is missing or altered")
        )
        return report
    keys = _public_keys()
    public = keys.get(str(manifest.get("signature", {}).get("key_id")))
    if public is None:
        report.manifest = "invalid"
        report.problems.append(Finding("signature_invalid", None, session.manifest_key, "signed by an unknown key"))
        return report
    try:
        checked = verify_manifest(manifest, None, public)
    except Exception as exc:  # noqa: BLE001 - a malformed manifest is a finding, not a crash
        report.manifest = "invalid"
        report.problems.append(Finding("manifest_invalid", None, session.manifest_key, str(exc)))
        return report
    for p in checked.problems:
        report.problems.append(Finding(str(p.kind), p.sequence, p.key or session.manifest_key, f"manifest: {p.detail}"))
    listed = {int(s["sequence"]): s for s in manifest["manifest"]["segments"]}
    for row in rows:
        entry = listed.pop(row.sequence, None)
        if entry is None:
            report.problems.append(
                Finding("not_in_manifest", row.sequence, row.object_key, "not in the signed manifest")
            )
        elif {k: entry[k] for k in entry} != _row_entry(session, row):
            report.problems.append(
                Finding("row_mismatch", row.sequence, row.object_key, "the row differs from the signed manifest")
            )
    for seq, entry in sorted(listed.items()):
        report.problems.append(Finding("missing_row", seq, str(entry.get("key")), "in the signed manifest but no row"))
    report.manifest = "invalid" if any(p.kind == "signature_invalid" for p in checked.problems) else "verified"
    return report


def _row_entry(session: RecordingSession, r: RecordingSegment) -> dict[str, Any]:
    return {
        "session": session.key,
        "sequence": r.sequence,
        "period": r.period,
        "key": r.object_key,
        "size": r.size,
        "init_sha256": r.init_sha256,
        "wall_start_us": r.wall_start_us,
        "wall_end_us": r.wall_end_us,
        "mono_start_ns": r.mono_start_ns,
        "mono_end_ns": r.mono_end_ns,
        "video_duration_us": r.video_duration_us,
        "audio_duration_us": r.audio_duration_us,
        "sha256": r.sha256,
        "chain_hash": r.chain_hash,
    }


def session_object_key(session: RecordingSession, key: str) -> RecordingSegment | None:
    """The segment row that names `key` (as its media or init section) in this session; else None."""
    if not isinstance(key, str) or len(key) > 400:
        return None
    return db.session.scalar(
        select(RecordingSegment)
        .where(
            RecordingSegment.session_id == session.id,
            or_(RecordingSegment.object_key == key, RecordingSegment.init_key == key),
        )
        .limit(1)
    )
