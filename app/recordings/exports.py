"""Exports: a time range of a closed session as one faststart MP4 plus a signed, offline-verifiable statement.

EXPORT.json (stored beside the MP4 in the "exports" bucket):
    {"format": "recording-export/1",
     "statement": <crypto.signing signed document: session, range, sequences, manifest and MP4 hashes>,
     "manifest":  <the session's signed manifest, as stored>,
     "excerpt":   <recording.export's excerpt: the chosen segments' entries, gaps, the MP4's hash>}
`python -m crypto verify-recording EXPORT.json --key KEY [--mp4 FILE]` checks it without the platform.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app

from app import audit
from app.core.db import db
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.fields import require_instant
from app.core.keys import platform_signing_key
from app.core.problems import N_
from app.core.storage import EXPORTS, get_storage
from app.core.tasks import enqueue_after_commit, task
from app.core.time import now_utc
from app.recordings import replay, services
from app.recordings.models import ExportStatus, RecordingExport, RecordingSession

EXPORT_FORMAT = "recording-export/1"
STATEMENT_FORMAT = "recording-export-statement/1"


def _max_export() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("RECORDING_EXPORT_MAX_S", 4 * 3600)))


def request_export(session: RecordingSession, start: datetime, end: datetime, *, actor: object) -> RecordingExport:
    """Queue an export of [start, end) of a closed session (the worker makes it; tests call `run_export`).

    Raises Conflict (session not closed), ValidationFailed (range empty, too long, or outside the recording).
    """
    if not session.is_closed:
        raise Conflict(N_("A session can be exported once it is closed and its manifest signed."))
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationFailed(
                N_("%(name)s must be an aware instant."), params={"name": name}, errors={name: ["needs a time zone"]}
            )
        require_instant(value, name)
    if end <= start:
        raise ValidationFailed(N_("The range must end after it starts."), errors={"end": ["before start"]})
    if end - start > _max_export():
        raise ValidationFailed(N_("The range is too long for one export."), errors={"end": ["too long"]})
    spans = replay.media_spans(session)
    from recording.clock import to_epoch_us

    if not spans or to_epoch_us(end) <= spans[0].wall_start_us or to_epoch_us(start) >= spans[-1].wall_end_us:
        raise ValidationFailed(N_("The range holds no recorded media."), errors={"start": ["outside the recording"]})
    export = RecordingExport(
        session_id=session.id,
        requested_by=services._actor_ref(actor),
        requested_at=now_utc(),
        start_at=start,
        end_at=end,
        status=ExportStatus.PENDING,
    )
    db.session.add(export)
    db.session.flush()
    audit.record(
        "recording.export_requested",
        actor=actor,
        subject=session.audit_ref,
        data={"export": export.id, "start": services._iso(start), "end": services._iso(end)},
    )
    enqueue_after_commit("recordings.export", export.id)
    return export


def get_export(export_id: int) -> RecordingExport:
    export = db.session.get(RecordingExport, export_id) if 0 < export_id < 2**31 else None
    if export is None:
        raise NotFound(N_("No such export."))
    return export


def _fetcher(session: RecordingSession) -> Callable[[str], bytes | None]:
    """The export's reader of the session's stored objects (from the session's bucket); None for a missing one."""
    storage, bucket = get_storage(), session.bucket

    def fetch(key: str) -> bytes | None:
        try:
            with storage.open(bucket, key) as fh:
                return fh.read()
        except NotFound:
            return None

    return fetch


def export_task_failed(reason: str, export_id: int, *args: object, **kwargs: object) -> None:
    """The worker's failure hook: the export stops being `pending`, with the reason, in the evidence log."""
    export = db.session.get(RecordingExport, export_id) if isinstance(export_id, int) else None
    if export is not None and export.status == ExportStatus.PENDING:
        _fail(export, reason)


@task("recordings.export", on_failure=export_task_failed)
def run_export(export_id: int) -> str:
    """Make the MP4 and EXPORT.json of a pending export (idempotent); returns its status."""
    from crypto.signing import sign_document
    from recording.errors import ExportError, ManifestError
    from recording.export import export_range
    from recording.manifest import canonical_json

    export = get_export(export_id)
    if export.status != ExportStatus.PENDING:
        return export.status.value
    session = export.session
    manifest = replay.load_manifest(session)
    if manifest is None:
        return _fail(export, N_("the session's signed manifest is missing or altered"))
    records = replay.segment_records(session)
    gaps = replay.gap_records(session)
    storage = get_storage()
    prefix = f"recordings/{session.key}/export-{export.id:06d}"
    tmp_dir = Path(current_app.instance_path) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="export-") as work:
        out = Path(work) / "export.mp4"
        try:
            result = export_range(
                records, _fetcher(session), export.start_at, export.end_at, out, gaps=gaps, manifest=manifest
            )
        except (ExportError, ManifestError) as exc:
            return _fail(export, str(exc))
        filename = f"{session.key}-{result.sequences[0]:06d}-{result.sequences[-1]:06d}.mp4"
        try:
            # Handed over with its SHA-256: moved into place in a folder, uploaded straight to its key on S3, and
            # stored only if it still hashes to what was written.
            storage.put_file(EXPORTS, prefix + ".mp4", out, content_type="video/mp4", sha256=result.sha256)
        except ValidationFailed:
            return _fail(export, N_("the stored MP4 does not hash to what was written"))
    chosen = [r for r in records if r.sequence in set(result.sequences)]
    payload = {
        "format": STATEMENT_FORMAT,
        "export": export.id,
        "session": session.key,
        "room": session.room.code,
        "subject": session.subject,
        "requested": {"start": services._iso(export.start_at), "end": services._iso(export.end_at)},
        "covered": {"start_us": result.start_us, "end_us": result.end_us},
        "sequences": {"first": result.sequences[0], "last": result.sequences[-1]},
        "last_chain_hash": chosen[-1].chain_hash,
        "manifest_key": session.manifest_key,
        "manifest_sha256": hashlib.sha256(canonical_json(manifest)).hexdigest(),
        "mp4": {"sha256": result.sha256, "size": result.size, "filename": filename},
        "exported_at": services._iso(now_utc()),
        "exported_by": export.requested_by,
    }
    document = {
        "format": EXPORT_FORMAT,
        "statement": sign_document(payload, platform_signing_key()),
        "manifest": manifest,
        "excerpt": result.excerpt,
    }
    body = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    storage.put(EXPORTS, prefix + ".json", body, length=len(body), content_type="application/json")
    export.status = ExportStatus.DONE
    export.mp4_key = prefix + ".mp4"
    export.json_key = prefix + ".json"
    export.sha256 = result.sha256
    export.size = result.size
    export.first_sequence = result.sequences[0]
    export.last_sequence = result.sequences[-1]
    export.finished_at = now_utc()
    audit.record(
        "recording.exported",
        actor=export.requested_by,
        subject=session.audit_ref,
        data={
            "export": export.id,
            "sha256": result.sha256,
            "size": result.size,
            "first_sequence": export.first_sequence,
            "last_sequence": export.last_sequence,
        },
    )
    db.session.flush()
    return export.status.value


def _fail(export: RecordingExport, why: str) -> str:
    export.status = ExportStatus.FAILED
    export.error = why[:1000]
    export.finished_at = now_utc()
    audit.record(
        "recording.export_failed",
        actor=export.requested_by,
        subject=export.session.audit_ref,
        data={"export": export.id, "error": export.error},
    )
    db.session.flush()
    return export.status.value


def export_filename(export: RecordingExport, kind: str) -> str:
    base = f"{export.session.key}-export-{export.id}"
    return f"{base}.mp4" if kind == "mp4" else f"{base}.json"


def list_exports(session: RecordingSession) -> list[RecordingExport]:
    from sqlalchemy import select

    return list(
        db.session.scalars(
            select(RecordingExport).where(RecordingExport.session_id == session.id).order_by(RecordingExport.id)
        )
    )


def record_download(export: RecordingExport, kind: str, *, actor: object) -> None:
    audit.record(
        "recording.export_downloaded",
        actor=actor,
        subject=export.session.audit_ref,
        data={"export": export.id, "file": kind},
    )
