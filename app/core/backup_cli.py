"""`flask platform backup|backup-verify|restore|evidence-export`: the operator's side of app.core.backup.

`evidence-export` writes, for auditors and for the restore drill, every signed thing the platform holds as files the
offline verifiers of `python -m crypto` read, and an index of the commands that verify them (deploy/verify-evidence
runs them all): the platform's public key, the evidence log in export chunks (with a consistency proof from an
earlier checkpoint when asked), every bid receipt with its inclusion proof and sealed files, every opening record,
every evaluation report bundle and every finished recording export (EXPORT.json and its MP4).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.core import backup as backup_mod
from app.core.db import db
from app.core.errors import DomainError


def _fail(exc: backup_mod.BackupError) -> None:
    click.echo(f"error: {exc}", err=True)
    raise click.exceptions.Exit(1)


def _write(path: Path, document: Any) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return str(path.relative_to(path.parents[1]))


def _safe(value: object) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(value))


def export_evidence(to: Path, consistency_from: int | None = None) -> list[dict[str, Any]]:
    """Write the evidence files into the empty folder `to`; returns the index (also to/index.json)."""
    from app.audit import services as audit
    from app.core.keys import platform_public_keys
    from app.core.storage import EXPORTS, SEALED_BIDS, get_storage
    from app.evaluation.models import EvaluationReport
    from app.evaluation.report.services import bundle
    from app.recordings.models import ExportStatus, RecordingExport
    from app.tendering.models import Bid, BidVersion, OpeningRecord
    from app.tendering.services_bids import receipt_proof

    if to.exists() and any(to.iterdir()):
        raise backup_mod.BackupError(f"{to} is not empty")
    to.mkdir(parents=True, exist_ok=True)
    storage = get_storage()
    key = "platform.pem"
    (to / key).write_text(platform_public_keys()[0]["public_key_pem"], encoding="ascii")
    index: list[dict[str, Any]] = []

    latest = audit.latest_checkpoint()
    if latest is not None:
        name = _write(to / "log" / "checkpoint.json", audit.checkpoint_document(latest))
        index.append({"kind": "checkpoint", "what": f"tree size {latest.tree_size}", "argv": ["verify-document", name]})
        step = audit.export_max()
        for start in range(0, latest.tree_size, step):
            end = min(start + step, latest.tree_size)
            name = _write(to / "log" / f"entries-{start:09d}.json", audit.export_range(start, end, consistency_from))
            index.append({"kind": "log", "what": f"entries [{start}, {end})", "argv": ["verify-log", name]})
    for version in db.session.scalars(select(BidVersion).order_by(BidVersion.id)):
        bid = db.session.get(Bid, version.bid_id)
        stem = f"receipts/tender{bid.tender_id if bid else 0}-bid{version.bid_id}-v{version.number}"
        proof = receipt_proof(version)
        name = _write(to / f"{stem}.json", {"receipt": version.receipt, "proof": proof})
        argv = ["verify-receipt", name, *(["--require-proof"] if proof is not None else [])]
        for envelope in version.envelopes:
            sealed = to / f"{stem}-{_safe(envelope.name)}.age"
            with storage.open(SEALED_BIDS, envelope.object_key) as src, open(sealed, "wb") as out:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
            index.append(
                {
                    "kind": "receipt",
                    "what": f"bid {version.bid_id} version {version.number} envelope {envelope.name}",
                    "argv": [*argv, "--file", f"receipts/{sealed.name}", "--envelope", envelope.name],
                }
            )
        if not version.envelopes:
            index.append({"kind": "receipt", "what": f"bid {version.bid_id} version {version.number}", "argv": argv})
    for record in db.session.scalars(select(OpeningRecord).order_by(OpeningRecord.id)):
        name = _write(to / "openings" / f"tender{record.tender_id}-stage{record.stage}.json", record.document)
        what = f"tender {record.tender_id} stage {record.stage}"
        index.append({"kind": "opening-record", "what": what, "argv": ["verify-document", name]})
    for report in db.session.scalars(select(EvaluationReport).order_by(EvaluationReport.id)):
        name = _write(to / "reports" / f"tender{report.tender_id}.json", bundle(report))
        index.append({"kind": "report", "what": f"tender {report.tender_id}", "argv": ["verify-report", name]})
    done = select(RecordingExport).where(RecordingExport.status == ExportStatus.DONE).order_by(RecordingExport.id)
    for export in db.session.scalars(done):
        if not export.json_key or not export.mp4_key:
            continue
        target = to / "recordings" / f"export{export.id}"
        target.parent.mkdir(parents=True, exist_ok=True)
        for object_key, suffix in ((export.json_key, ".json"), (export.mp4_key, ".mp4")):
            with storage.open(EXPORTS, object_key) as src, open(f"{target}{suffix}", "wb") as out:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
        name = f"recordings/export{export.id}"
        index.append(
            {
                "kind": "recording",
                "what": f"recording export {export.id}",
                "argv": ["verify-recording", f"{name}.json", "--mp4", f"{name}.mp4"],
            }
        )
    db.session.rollback()
    for item in index:
        item.setdefault("argv", [])
        if item["argv"]:
            item["argv"] += ["--key", key]
    _write(to / "index.json", index)
    return index


def register(group: AppGroup) -> None:
    @group.command("backup")
    @click.option("--to", "to", required=True, type=click.Path(path_type=Path), help="a new or empty folder")
    def backup_command(to: Path) -> None:
        """Back up the database, every object and the keys into a new folder (see the README)."""
        try:
            backup_mod.backup(to, echo=click.echo)
        except backup_mod.BackupError as exc:
            _fail(exc)

    @group.command("backup-verify")
    @click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
    def verify_command(folder: Path) -> None:
        """Check a backup: every file and object against its SHA-256, the checkpoint's signature (exit 1 if not)."""
        try:
            manifest, problems = backup_mod.verify(folder)
        except backup_mod.BackupError as exc:
            _fail(exc)
            return
        for problem in problems:
            click.echo(f"FAIL {problem}")
        if problems:
            raise click.exceptions.Exit(1)
        cp = manifest.get("checkpoint") or {}
        click.echo(
            f"OK backup of {manifest['created_at']}: {manifest['database']['kind']} database, "
            f"{manifest['objects']['count']} objects, {len(manifest['keys'])} key files, "
            f"evidence log checkpoint {cp.get('tree_size', 0)} {cp.get('root_hash', '')}"
        )

    @group.command("restore")
    @click.option("--from", "source", required=True, type=click.Path(path_type=Path, exists=True, file_okay=False))
    @click.option("--force", is_flag=True, help="replace a database and objects that are not empty")
    def restore_command(source: Path, force: bool) -> None:
        """Restore a backup into this (fresh) stack, check it, and continue the evidence log from it."""
        try:
            backup_mod.restore(source, force=force, echo=click.echo)
        except backup_mod.BackupError as exc:
            db.session.rollback()
            _fail(exc)

    @group.command("evidence-export")
    @click.option("--to", "to", required=True, type=click.Path(path_type=Path), help="a new or empty folder")
    @click.option("--consistency-from", type=int, help="tree size of an earlier checkpoint to prove consistency from")
    def evidence_command(to: Path, consistency_from: int | None) -> None:
        """Write every receipt, opening record, report, recording export and the log, for `python -m crypto`."""
        try:
            index = export_evidence(to, consistency_from)
        except DomainError as exc:
            _fail(backup_mod.BackupError(exc.detail))
            return
        except backup_mod.BackupError as exc:
            _fail(exc)
            return
        kinds: dict[str, int] = {}
        for item in index:
            kinds[item["kind"]] = kinds.get(item["kind"], 0) + 1
        click.echo(f"evidence written to {to}: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
