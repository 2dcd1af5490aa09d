"""The backup and restore drill (issue 15 §4), and the refusals of the backup commands.

The drill runs the operator's commands in their own processes, as deploy/backup and deploy/restore do: it seeds a
platform with `flask platform init` (the demo: tenders with sealed bids, an opened tender with its signed opening
record, an awarded one with its signed report, a filmed opening, permits and convenience rows), makes a recording
export, backs everything up, restores it into a fresh stack (a new database, a new object-store prefix, a new
instance folder), and then checks offline, with `python -m crypto` only, every receipt, opening record, report,
recording export and the evidence log, whose new checkpoint must be consistent with the backup's. Once on
PostgreSQL + S3 (SeaweedFS), once on the embedded default (SQLite + a folder).

The refusals (a target that is not empty, a corrupted backup, a database that is not empty) run fast on SQLite
through Flask's CLI runner.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select, text

from app import create_app
from app.config import test_config
from tests.integration.s3 import s3_url  # noqa: F401 - fixture
from tests.services import POSTGRES_URL, unavailable

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


# --- the drill ----------------------------------------------------------------------------------------


def _env(instance: Path, database: str | None, storage: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APP_") and k != "PYTHONPATH"}
    env |= {"FLASK_APP": "wsgi:app", "APP_INSTANCE_PATH": str(instance), "PYTHON": PY, "DEMO_OPENING_MINUTES": "60"}
    if database:
        env["APP_DATABASE_URL"] = database
    if storage:
        env["APP_STORAGE_URL"] = storage
    return env


def _run(argv: list[str], env: dict[str, str], timeout: float = 900) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return done, time.monotonic() - started


def _ok(argv: list[str], env: dict[str, str]) -> tuple[str, float]:
    done, seconds = _run(argv, env)
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout, seconds


def _app(instance: Path, database: str | None, storage: str | None) -> Flask:
    """The stack in this process (to make a recording export as the worker does, and to compare the stores)."""
    overrides: dict[str, Any] = {"INSTANCE_PATH": str(instance)}
    if database:
        overrides["SQLALCHEMY_DATABASE_URI"] = database
    if storage:
        overrides["STORAGE_URL"] = storage
    return create_app(overrides)


def _export_recording(app: Flask) -> int:
    """What the replay page and the worker do: export the middle of a closed session to MP4 + EXPORT.json."""
    from app.extensions import db
    from app.recordings import exports
    from app.recordings.models import RecordingSegment, RecordingSession

    with app.app_context():
        session = next(s for s in db.session.scalars(select(RecordingSession)) if s.is_closed)
        rows = db.session.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.session_id == session.id)
            .order_by(RecordingSegment.sequence)
        ).all()
        assert len(rows) >= 2, "the demo's filmed opening has segments"
        start = datetime.fromtimestamp((rows[0].wall_start_us + 100_000) / 1e6, UTC)
        end = datetime.fromtimestamp((rows[-1].wall_end_us - 100_000) / 1e6, UTC)
        export = exports.request_export(session, start, end, actor="system")
        db.session.commit()
        export_id = export.id
        assert exports.run_export(export_id) == "done"
        db.session.commit()
        return int(export_id)


def _snapshot(app: Flask) -> tuple[dict[str, int], set[tuple[str, str, str]]]:
    """Rows per table (the evidence log's own tables aside) and every object's (bucket, key, SHA-256)."""
    from app.core.storage import BUCKETS, get_storage
    from app.extensions import db

    with app.app_context():
        rows = {
            t.name: int(db.session.scalar(select(func.count()).select_from(t)) or 0)
            for t in db.metadata.sorted_tables
            if not t.name.startswith("audit_")
        }
        storage = get_storage()
        objects = {(b, o.key, o.sha256) for b in BUCKETS for o in storage.list(b)}
        db.session.remove()
        db.engine.dispose()
    return rows, objects


def drill(tmp_path: Path, source: tuple[str | None, str | None], target: tuple[str | None, str | None]) -> None:
    src, dst = tmp_path / "src-instance", tmp_path / "dst-instance"
    backup_dir, evidence = tmp_path / "backup", tmp_path / "evidence"
    src_env, dst_env = _env(src, *source), _env(dst, *target)

    _, seed_s = _ok([PY, "-m", "flask", "platform", "init"], src_env)
    app = _app(src, *source)
    _export_recording(app)
    before = _snapshot(app)

    out, backup_s = _ok(["deploy/backup", str(backup_dir)], src_env)
    assert "OK backup of" in out, out
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    checkpoint = manifest["checkpoint"]
    roles = {k["role"] for k in manifest["keys"]}
    assert roles == {"platform-key", "master-key", "secret-key", "seal"}, roles
    assert manifest["objects"]["count"] == len(before[1]) > 0

    out, restore_s = _ok(["deploy/restore", str(backup_dir)], dst_env)
    assert f"is consistent with the backup's {checkpoint['tree_size']}" in out, out
    restore_steps = next(line for line in out.splitlines() if line.startswith("restored from"))
    restored = _app(dst, *target)
    after = _snapshot(restored)
    assert after == before  # every row of every table, every object with its bytes

    # the platform goes on: a new recording export cut from the restored segments, a new checkpoint
    _export_recording(_app(dst, *target))
    out, _ = _ok([PY, "-m", "flask", "audit", "checkpoint"], dst_env)
    assert out.startswith("checkpoint tree_size="), out
    # (the restore ran `flask audit verify`'s check over the whole restored log already)

    # offline: every receipt, opening record, report, recording export and the log, with `python -m crypto`
    export_argv = ["evidence-export", "--to", str(evidence), "--consistency-from", str(checkpoint["tree_size"])]
    _ok([PY, "-m", "flask", "platform", *export_argv], dst_env)
    out, _ = _ok(["deploy/verify-evidence", str(evidence)], dst_env)
    index = json.loads((evidence / "index.json").read_text())
    kinds = [item["kind"] for item in index]
    assert kinds.count("receipt") >= 8 and kinds.count("opening-record") >= 2, kinds
    assert kinds.count("report") >= 1 and kinds.count("recording") == 2 and kinds.count("log") >= 1, kinds
    assert out.splitlines()[-1].startswith("OK") and "(0 failed)" in out, out
    assert f"consistent with tree size {checkpoint['tree_size']}" in out, out
    assert out.count("OK submission receipt") >= 8 and "file matches envelope" in out, out

    # the log now extends the checkpoint kept in the backup's manifest (a copy held outside the restored platform)
    kept = tmp_path / "backup-checkpoint.json"
    kept.write_text(json.dumps(checkpoint["document"]))
    last = sorted((evidence / "log").glob("entries-*.json"))[-1]
    verify_log = [PY, "-m", "crypto", "verify-log", str(last), "--key", str(evidence / "platform.pem")]
    out, _ = _ok([*verify_log, "--checkpoint", str(kept)], dst_env)
    assert out.startswith("OK") and f"consistent with tree size {checkpoint['tree_size']}" in out, out

    # and the verifiers do refuse: a sealed file changed by one byte no longer matches its receipt
    receipt = next(item for item in index if item["kind"] == "receipt" and "--file" in item["argv"])
    sealed = evidence / receipt["argv"][receipt["argv"].index("--file") + 1]
    sealed.write_bytes(sealed.read_bytes()[:-1] + bytes([sealed.read_bytes()[-1] ^ 1]))
    env = {**dst_env, "PYTHONPATH": str(ROOT)}
    argv = [PY, "-m", "crypto", *receipt["argv"]]
    done = subprocess.run(argv, cwd=evidence, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and done.stdout.startswith("FAIL"), done.stdout + done.stderr

    # the restore is itself on the record, after the backup's checkpoint
    entries = [
        e
        for chunk in sorted((evidence / "log").glob("entries-*.json"))
        for e in json.loads(chunk.read_text())["entries"]
    ]
    restored_at = [e["index"] for e in entries if e["action"] == "platform.restored"]
    assert restored_at and restored_at[0] >= checkpoint["tree_size"], restored_at

    print(
        f"\nbackup drill ({manifest['database']['kind']}): seed {seed_s:.1f} s; deploy/backup {backup_s:.1f} s "
        f"(steps {manifest['seconds']}); deploy/restore {restore_s:.1f} s ({restore_steps.split(' in ', 1)[1]}); "
        f"{manifest['objects']['count']} objects, {manifest['objects']['bytes']} bytes, "
        f"{sum(manifest['database']['rows'].values())} rows, log {checkpoint['tree_size']} entries"
    )


@pytest.fixture
def pg_databases() -> Iterator[tuple[str, str]]:
    """Two new, empty PostgreSQL databases: the running platform's and the fresh stack's."""
    base, _ = POSTGRES_URL.rsplit("/", 1)
    names = [f"backup_{kind}_{os.getpid()}_{secrets.token_hex(3)}" for kind in ("src", "dst")]
    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        unavailable("PostgreSQL", str(exc))
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _prefixed(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | {"retention_days": "1"}
    return urlunsplit((parts.scheme, parts.netloc, "/bk" + secrets.token_hex(5), urlencode(query), ""))


@pytest.mark.scenario
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(1800)  # a dozen platform processes; minutes each on a loaded 2-core machine
def test_backup_and_restore_drill_postgresql_and_s3(
    tmp_path: Path,
    pg_databases: tuple[str, str],
    s3_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        unavailable("pg_dump/pg_restore", "install postgresql-client")
    source_db, target_db = (url.replace("postgresql+psycopg://", "postgresql://") for url in pg_databases)
    drill(tmp_path, (source_db, _prefixed(s3_url)), (target_db, _prefixed(s3_url)))


@pytest.mark.scenario
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(1800)  # a dozen platform processes; minutes each on a loaded 2-core machine
def test_backup_and_restore_drill_embedded_default(tmp_path: Path) -> None:
    drill(tmp_path, (None, None), (None, None))


# --- refusals -----------------------------------------------------------------------------------------


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def _seed_small(app: Flask) -> None:
    from app import audit
    from app.core.storage import DOCUMENTS, WINDOW_RECORDINGS, get_storage
    from app.extensions import db

    with app.app_context():
        audit.record("accounts.signed_in", actor="system", subject="user:1")
        audit.issue_checkpoint()
        audit.record("accounts.signed_out", actor="system", subject="user:1")
        db.session.commit()
        get_storage().put(DOCUMENTS, "drill/notice.txt", "公告".encode())
        get_storage().put(WINDOW_RECORDINGS, "window-01-x/seg-000000.m4s", b"window footage")  # not write-once


@pytest.fixture
def small_backup(app: Flask, tmp_path: Path) -> Path:
    _seed_small(app)
    folder = tmp_path / "bk"
    result = _cli(app, "platform", "backup", "--to", str(folder))
    assert result.exit_code == 0, result.output
    return folder


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_backup_refuses_a_folder_that_is_not_empty(app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "used"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    result = _cli(app, "platform", "backup", "--to", str(folder))
    assert result.exit_code == 1 and "is not an empty folder" in result.output
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_backup_signs_the_log_first_and_verifies(app: Flask, small_backup: Path) -> None:
    manifest = json.loads((small_backup / "manifest.json").read_text())
    assert manifest["checkpoint"]["tree_size"] == 2  # the entry after the last checkpoint is covered by a new one
    assert manifest["objects"]["count"] == 2 and manifest["database"]["rows"]["audit_entries"] == 2
    listed = [json.loads(line) for line in (small_backup / "objects.jsonl").read_text().splitlines()]
    assert {(o["bucket"], o["key"]) for o in listed} == {
        ("documents", "drill/notice.txt"),
        ("window-recordings", "window-01-x/seg-000000.m4s"),
    }
    assert oct((small_backup / "keys" / "master.key").stat().st_mode & 0o777) == "0o600"
    result = _cli(app, "platform", "backup-verify", str(small_backup))
    assert result.exit_code == 0 and result.output.startswith("OK backup of"), result.output


@pytest.mark.parametrize("db_backend", ["sqlite"])
@pytest.mark.parametrize("damage", ["object", "database", "key", "manifest"])
def test_a_corrupted_backup_is_refused_and_nothing_restored(
    app: Flask, small_backup: Path, tmp_path: Path, damage: str
) -> None:
    if damage == "object":
        blob = next(p for p in (small_backup / "objects").rglob("*") if p.is_file())
        blob.chmod(0o600)
        blob.write_bytes(b"tampered")
    elif damage == "database":
        with open(small_backup / "database.sqlite", "r+b") as fh:
            fh.seek(200)
            fh.write(b"\xff")
    elif damage == "key":
        (small_backup / "keys" / "master.key").write_bytes(b"c29tZXRoaW5nIGVsc2U=\n")
    else:
        (small_backup / "manifest.json").unlink()
    result = _cli(app, "platform", "backup-verify", str(small_backup))
    assert result.exit_code == 1, result.output
    fresh = create_app(test_config(tmp_path / "fresh"))
    result = _cli(fresh, "platform", "restore", "--from", str(small_backup))
    assert result.exit_code == 1, result.output
    expected = "holds no manifest.json" if damage == "manifest" else "nothing was restored"
    assert expected in result.output, result.output
    assert not (tmp_path / "fresh" / "test.sqlite").exists() or (tmp_path / "fresh" / "test.sqlite").stat().st_size == 0
    for bucket in ("documents", "window-recordings"):
        assert not any((tmp_path / "fresh" / "storage" / bucket).iterdir())


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_restore_refuses_a_database_that_is_not_empty_unless_forced(app: Flask, small_backup: Path) -> None:
    from app.audit.models import AuditEntry
    from app.extensions import db

    result = _cli(app, "platform", "restore", "--from", str(small_backup))
    assert result.exit_code == 1 and "database and object store are not empty" in result.output, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 2
    # --force replaces the database with the backup's (here the same) and continues the log from its checkpoint
    result = _cli(app, "platform", "restore", "--from", str(small_backup), "--force")
    assert result.exit_code == 0, result.output
    assert "consistent with the backup's 2" in result.output, result.output
    with app.app_context():
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.index)))
    assert actions == ["accounts.signed_in", "accounts.signed_out", "platform.restored"]


@pytest.mark.parametrize("db_backend", ["sqlite"])
def test_restore_into_a_fresh_stack_brings_back_keys_rows_and_objects(
    app: Flask, small_backup: Path, tmp_path: Path
) -> None:
    from app.core.keys import platform_key_id
    from app.core.storage import DOCUMENTS, WINDOW_RECORDINGS, get_storage
    from app.extensions import db

    with app.app_context():
        key_id = platform_key_id()
    fresh = create_app(test_config(tmp_path / "fresh"))
    result = _cli(fresh, "platform", "restore", "--from", str(small_backup))
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        assert platform_key_id() == key_id
        assert b"".join(get_storage().get(DOCUMENTS, "drill/notice.txt")) == "公告".encode()
        assert b"".join(get_storage().get(WINDOW_RECORDINGS, "window-01-x/seg-000000.m4s")) == b"window footage"
        assert db.session.execute(text("SELECT count(*) FROM audit_entries")).scalar() == 3
    assert (tmp_path / "fresh" / "master.key").read_bytes() == (small_backup / "keys" / "master.key").read_bytes()
