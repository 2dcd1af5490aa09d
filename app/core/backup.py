"""Backup and restore of the whole platform: the database, every object, the keys, and a manifest that verifies.

A backup is a folder (mode 0700) that `flask platform backup --to DIR` creates and nothing else writes:

  manifest.json      format platform-backup/1: when; the database (kind, file, SHA-256, schema revision, rows per
                     table); the objects (count, bytes, the list's SHA-256); every key file (role, SHA-256); and
                     the last signed evidence-log checkpoint in the dump (tree size, root hash, the signed document)
  database.pgdump    PostgreSQL: `pg_dump --format=custom`, run in the exported snapshot of the transaction that
                     read the manifest's figures, so the dump, the row counts and the checkpoint are one instant
  database.sqlite    SQLite: a copy made with SQLite's online backup API (consistent while the platform runs)
  objects.jsonl      one line per object of every bucket: bucket, key, size, sha256, content_type
  objects/ab/ab…     each object's bytes, named by its SHA-256 (stored once however many keys share them)
  keys/…             platform_ed25519.pem, master.key, secret_key, seal/* (mode 0600; see KEY_ROLES)

The database is dumped before the objects are listed: every object a committed row names was written before
that row committed (the platform stores the bytes, then commits), so it is in the backup; an object written
after the dump is copied too and simply has no row. Objects of the write-once buckets are never deleted.

`flask platform restore --from DIR` verifies the whole backup first (every hash), refuses a target that is not
empty (database or object store) unless --force, then writes the keys, the database and the objects, checks
the restored rows and evidence log against the manifest, appends a `platform.restored` entry to the log and
signs a checkpoint whose consistency with the backup's checkpoint it proves and checks.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.core.db import db
from app.core.errors import ValidationFailed
from app.core.storage import BUCKETS, CHUNK_SIZE, WRITE_ONCE, ObjectStorage, get_storage
from app.core.time import now_utc

FORMAT = "platform-backup/1"
MANIFEST = "manifest.json"
OBJECTS_LIST = "objects.jsonl"
OBJECTS_DIR = "objects"
KEYS_DIR = "keys"
PG_DUMP = "database.pgdump"
SQLITE_COPY = "database.sqlite"
RESTORED_ACTION = "platform.restored"

# The instance's secrets, by role: where each lives is read from the configuration of the stack being backed up
# or restored, so a restore may put them in other folders than the original's.
#   platform-key  the Ed25519 key that signs checkpoints, receipts, records and reports (PLATFORM_KEY_PATH);
#                 not a file when APP_PLATFORM_KEY_PEM supplies it: keep that secret in your secret store
#   master-key    the 32 bytes that wrap the custody shares and escrowed secrets (MASTER_KEY_PATH)
#   secret-key    the session and link-signing secret generated into the instance when APP_SECRET_KEY is unset
#   seal          the local seal chain (SEAL_DIR: root, seal and timestamp keys and certificates, the CRL)
KEY_ROLES = ("platform-key", "master-key", "secret-key", "seal")


class BackupError(RuntimeError):
    """A backup or restore cannot go on; the message says why and what to do. Nothing half-done is left behind
    by a backup; a restore refuses before it writes anything, except where the message says otherwise."""


@dataclass
class Timer:
    """Seconds spent per step, for the operator's summary (and the README's recovery-time figures)."""

    steps: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = round(time.monotonic() - started, 3)

    @property
    def total(self) -> float:
        return round(sum(self.steps.values()), 3)


# --- helpers ------------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, mode 0600 (the key loaders refuse anything looser)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.restore.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _blob_path(root: Path, sha256: str) -> Path:
    return root / OBJECTS_DIR / sha256[:2] / sha256


def database_kind() -> str:
    backend = db.engine.url.get_backend_name()
    if backend not in {"postgresql", "sqlite"}:
        raise BackupError(f"the database backend {backend!r} is not supported (PostgreSQL or SQLite)")
    return backend


def _libpq(url: Any) -> tuple[str, dict[str, str]]:
    """(connection URL without the password, environment with PGPASSWORD) for pg_dump and pg_restore."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise BackupError(f"`{argv[0]}` is not installed (apt-get install postgresql-client)")
    done = subprocess.run([tool, *argv[1:]], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{argv[0]} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _facts(conn: Connection) -> dict[str, Any]:
    """Row counts, schema revision and the last signed checkpoint, as this connection's transaction sees them."""
    from app.audit.models import Checkpoint
    from app.audit.services import checkpoint_document

    rows = {
        table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for table in db.metadata.sorted_tables
    }
    revision = None
    if inspect(conn).has_table("alembic_version"):
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    with Session(bind=conn) as session:
        cp = session.scalar(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1))
        checkpoint = (
            None
            if cp is None
            else {
                "tree_size": cp.tree_size,
                "root_hash": cp.root_hash.hex(),
                "key_id": cp.key_id,
                "document": checkpoint_document(cp),
            }
        )
    return {"rows": rows, "revision": revision, "checkpoint": checkpoint}


# --- backup -------------------------------------------------------------------------------------------


def _dump_postgresql(target: Path) -> dict[str, Any]:
    plain, env = _libpq(db.engine.url)
    with db.engine.connect() as plain_conn:
        conn = plain_conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            facts = _facts(conn)
            # pg_dump reads exactly what this transaction sees: it stays open until the dump is done.
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target / PG_DUMP}",
                    f"--dbname={plain}",
                ],
                env,
            )
    return {"kind": "postgresql", "file": PG_DUMP, **facts}


def _dump_sqlite(target: Path) -> dict[str, Any]:
    source = db.engine.url.database
    if not source or source == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    copy = target / SQLITE_COPY
    src = sqlite3.connect(source)
    try:
        dst = sqlite3.connect(copy)
        try:
            src.backup(dst)  # the online backup API: a consistent copy while others write
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(copy, 0o600)
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn, conn.begin():
            facts = _facts(conn)
    finally:
        engine.dispose()
    return {"kind": "sqlite", "file": SQLITE_COPY, **facts}


def _copy_objects(storage: ObjectStorage, target: Path, echo: Callable[[str], None]) -> dict[str, Any]:
    count = total = 0
    problems: list[str] = []
    tmp_dir = target / OBJECTS_DIR / ".tmp"
    tmp_dir.mkdir(parents=True)
    with open(target / OBJECTS_LIST, "w", encoding="utf-8") as listing:
        for bucket in BUCKETS:
            for info in storage.list(bucket):
                fd, tmp_name = tempfile.mkstemp(dir=tmp_dir)
                digest, size = hashlib.sha256(), 0
                with os.fdopen(fd, "wb") as out, storage.open(bucket, info.key) as src:
                    while chunk := src.read(CHUNK_SIZE):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                sha = digest.hexdigest()
                if sha != info.sha256 or size != info.size:
                    problems.append(f"{bucket}/{info.key}: the stored bytes do not match the SHA-256 recorded for them")
                blob = _blob_path(target, sha)
                blob.parent.mkdir(exist_ok=True)
                if blob.exists():
                    os.unlink(tmp_name)
                else:
                    os.replace(tmp_name, blob)
                line = {"bucket": bucket, "key": info.key, "size": size, "sha256": sha}
                line["content_type"] = info.content_type
                listing.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
                total += size
    tmp_dir.rmdir()
    for problem in problems:
        echo(f"warning: {problem}")
    return {"file": OBJECTS_LIST, "count": count, "bytes": total, "problems": problems}


def _key_sources() -> list[tuple[str, str, Path]]:
    """(role, name in the backup, path) of every secret file of this instance that exists."""
    cfg = current_app.config
    found: list[tuple[str, str, Path]] = []
    if not cfg.get("PLATFORM_KEY_PEM"):
        found.append(("platform-key", "platform_ed25519.pem", Path(cfg["PLATFORM_KEY_PATH"])))
    found.append(("master-key", "master.key", Path(cfg["MASTER_KEY_PATH"])))
    found.append(("secret-key", "secret_key", Path(cfg["INSTANCE_PATH"]) / "secret_key"))
    seal_dir = Path(cfg.get("SEAL_DIR") or Path(cfg["INSTANCE_PATH"]) / "seal")
    if seal_dir.is_dir():
        found += [("seal", f"seal/{p.name}", p) for p in sorted(seal_dir.iterdir()) if p.is_file()]
    return [item for item in found if item[2].is_file()]


def _copy_keys(target: Path) -> list[dict[str, Any]]:
    out = []
    for role, name, path in _key_sources():
        data = path.read_bytes()
        _private_file(target / KEYS_DIR / name, data)
        out.append({"role": role, "name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
    return out


def backup(to: Path, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Write a complete backup into the new or empty folder `to`; returns the manifest (also in to/manifest.json)."""
    from app.audit import services as audit

    to = Path(to)
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise BackupError(f"{to} is not an empty folder: a backup goes into a new or empty folder")
    kind = database_kind()
    created = not to.exists()
    to.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(to, 0o700)
    timer = Timer()
    try:
        with timer.step("checkpoint"):
            audit.issue_checkpoint()  # the last checkpoint then covers the whole log as it is now
            db.session.commit()
        started_at = now_utc()
        with timer.step("database"):
            database = _dump_postgresql(to) if kind == "postgresql" else _dump_sqlite(to)
            db.session.remove()
        database["sha256"], database["size"] = _sha256_file(to / database["file"])
        echo(f"database: {kind}, {sum(database['rows'].values())} rows in {len(database['rows'])} tables")
        with timer.step("objects"):
            objects = _copy_objects(get_storage(), to, echo)
        objects["sha256"], _ = _sha256_file(to / OBJECTS_LIST)
        echo(f"objects: {objects['count']} ({objects['bytes']} bytes)")
        with timer.step("keys"):
            keys = _copy_keys(to)
        echo("keys: " + ", ".join(k["name"] for k in keys))
        checkpoint = database.pop("checkpoint")
        manifest = {
            "format": FORMAT,
            "created_at": started_at.isoformat().replace("+00:00", "Z"),
            "database": database,
            "objects": objects,
            "keys": keys,
            "platform_key_in_backup": any(k["role"] == "platform-key" for k in keys),
            "checkpoint": checkpoint,
            "seconds": timer.steps,
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        _private_file(to / MANIFEST, body)
    except BaseException:
        if created:
            shutil.rmtree(to, ignore_errors=True)
        else:
            for child in to.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    if checkpoint:
        echo(f"evidence log: checkpoint tree_size={checkpoint['tree_size']} root={checkpoint['root_hash']}")
    echo(f"backup written to {to} in {timer.total:.1f} s; manifest SHA-256 {hashlib.sha256(body).hexdigest()}")
    return manifest


# --- verify -------------------------------------------------------------------------------------------


def load_manifest(root: Path) -> dict[str, Any]:
    path = Path(root) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{root} holds no {MANIFEST}: not a backup, or one that did not finish") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a {FORMAT} manifest")
    return manifest


def _iter_objects(root: Path) -> Iterator[dict[str, Any]]:
    with open(root / OBJECTS_LIST, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                item = json.loads(line)
            except ValueError:
                raise BackupError(f"{OBJECTS_LIST} line {number} is not JSON") from None
            yield item


def verify(root: Path) -> tuple[dict[str, Any], list[str]]:
    """(manifest, problems): every file's hash, every object's bytes, the checkpoint's signature; [] when sound."""
    from crypto.signing import SignatureError, SigningKeyError, load_private_key, verify_document

    root = Path(root)
    manifest = load_manifest(root)
    problems: list[str] = []

    def check(name: str, sha256: str, size: int | None = None) -> None:
        path = root / name
        if not path.is_file():
            problems.append(f"{name} is missing")
            return
        got, got_size = _sha256_file(path)
        if got != sha256 or (size is not None and got_size != size):
            problems.append(f"{name} does not match its SHA-256 in the manifest (corrupted or changed)")

    database, objects = manifest["database"], manifest["objects"]
    check(database["file"], database["sha256"], database["size"])
    for key in manifest["keys"]:
        check(f"{KEYS_DIR}/{key['name']}", key["sha256"], key["size"])
    check(OBJECTS_LIST, objects["sha256"])
    if not problems or all(not p.startswith(OBJECTS_LIST) for p in problems):
        count = total = 0
        seen: dict[str, bool] = {}
        for item in _iter_objects(root):
            count += 1
            total += int(item["size"])
            sha = item["sha256"]
            if sha not in seen:
                blob = _blob_path(root, sha)
                seen[sha] = blob.is_file() and _sha256_file(blob) == (sha, int(item["size"]))
            if not seen[sha]:
                problems.append(f"object {item['bucket']}/{item['key']}: its bytes are missing or corrupted")
        if (count, total) != (objects["count"], objects["bytes"]):
            problems.append(f"{OBJECTS_LIST} lists {count} objects ({total} bytes), the manifest says otherwise")
    checkpoint = manifest.get("checkpoint")
    key_file = next((k for k in manifest["keys"] if k["role"] == "platform-key"), None)
    if checkpoint and key_file and not any(p.startswith(KEYS_DIR) for p in problems):
        try:
            public = load_private_key((root / KEYS_DIR / key_file["name"]).read_bytes()).public_key()
            payload = verify_document(checkpoint["document"], public)
            if (payload.get("tree_size"), payload.get("root_hash")) != (
                checkpoint["tree_size"],
                checkpoint["root_hash"],
            ):
                problems.append("the checkpoint's signed tree head differs from the manifest's")
        except (SignatureError, SigningKeyError, ValueError, KeyError) as exc:
            problems.append(f"the evidence-log checkpoint does not verify with the backed-up platform key: {exc}")
    return manifest, problems


# --- restore ------------------------------------------------------------------------------------------


def _database_is_empty(kind: str) -> bool:
    with db.engine.connect() as conn:
        if kind == "postgresql":
            query = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
        else:
            query = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        return int(conn.execute(text(query)).scalar_one()) == 0


def _storage_is_empty(storage: ObjectStorage) -> bool:
    return not any(next(iter(storage.list(bucket)), None) for bucket in BUCKETS)


def _restore_postgresql(root: Path, manifest: dict[str, Any], *, clean: bool) -> None:
    plain, env = _libpq(db.engine.url)
    db.session.remove()
    db.engine.dispose()
    argv = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if clean:
        argv += ["--clean", "--if-exists"]
    _run([*argv, f"--dbname={plain}", str(root / manifest["database"]["file"])], env)


def _restore_sqlite(root: Path, manifest: dict[str, Any]) -> None:
    target = db.engine.url.database
    if not target or target == ":memory:":
        raise BackupError("cannot restore into an in-memory SQLite database")
    db.session.remove()
    db.engine.dispose()
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.restore.tmp")
    shutil.copyfile(root / manifest["database"]["file"], tmp)
    os.chmod(tmp, 0o600)
    for stale in (Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        stale.unlink(missing_ok=True)  # a journal of the database being replaced would corrupt the copy
    os.replace(tmp, path)


def _restore_keys(root: Path, manifest: dict[str, Any]) -> list[str]:
    cfg = current_app.config
    seal_dir = Path(cfg.get("SEAL_DIR") or Path(cfg["INSTANCE_PATH"]) / "seal")
    where = {
        "platform-key": Path(cfg["PLATFORM_KEY_PATH"]),
        "master-key": Path(cfg["MASTER_KEY_PATH"]),
        "secret-key": Path(cfg["INSTANCE_PATH"]) / "secret_key",
    }
    written = []
    for key in manifest["keys"]:
        if key["role"] == "platform-key" and cfg.get("PLATFORM_KEY_PEM"):
            continue  # this stack signs with the key its environment supplies; checked against the checkpoint below
        dest = seal_dir / Path(key["name"]).name if key["role"] == "seal" else where[key["role"]]
        _private_file(dest, (root / KEYS_DIR / key["name"]).read_bytes())
        written.append(str(dest))
    if seal_dir.is_dir():
        os.chmod(seal_dir, 0o700)
    from app.core import keys

    keys.init_app(current_app)  # the process signs with the restored key from now on
    current_app.extensions.pop("sealing", None)
    return written


def _restore_objects(root: Path, storage: ObjectStorage, *, force: bool) -> int:
    storage.ensure_buckets()
    count = 0
    for item in _iter_objects(root):
        bucket, key, sha = item["bucket"], item["key"], item["sha256"]
        if force and storage.exists(bucket, key):
            if storage.stat(bucket, key).sha256 == sha:
                continue
            if bucket in WRITE_ONCE:
                raise BackupError(f"{bucket}/{key} exists in the target with other bytes and is write-once")
        try:
            with open(_blob_path(root, sha), "rb") as fh:
                # The hash given: nothing but the backed-up bytes can land in a write-once bucket, and S3 uploads
                # them straight to the key.
                size, content_type = int(item["size"]), item["content_type"]
                info = storage.put(bucket, key, fh, length=size, content_type=content_type, sha256=sha)
        except ValidationFailed as exc:
            raise BackupError(f"{bucket}/{key}: the backup's bytes do not match its list ({exc.detail})") from exc
        if info.sha256 != sha:
            raise BackupError(f"{bucket}/{key}: the object store kept other bytes than the backup's")
        count += 1
    return count


def restore(root: Path, *, force: bool = False, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Restore the backup in `root` into this stack (see the module's docstring); returns what it did and timed."""
    from app.audit import services as audit
    from app.core.keys import platform_key_id
    from crypto.merkle import verify_consistency

    root = Path(root)
    timer = Timer()
    with timer.step("verify"):
        manifest, problems = verify(root)
    if problems:
        raise BackupError("the backup does not verify, nothing was restored:\n  " + "\n  ".join(problems))
    kind = database_kind()
    if manifest["database"]["kind"] != kind:
        raise BackupError(f"the backup holds a {manifest['database']['kind']} database; this stack runs {kind}")
    checkpoint = manifest.get("checkpoint")
    if current_app.config.get("PLATFORM_KEY_PEM") and checkpoint and platform_key_id() != checkpoint["key_id"]:
        raise BackupError(
            "APP_PLATFORM_KEY_PEM is not the key that signed the backup's evidence log: "
            f"key {platform_key_id()}, the log's {checkpoint['key_id']}"
        )
    storage = get_storage()
    empty_db, empty_store = _database_is_empty(kind), _storage_is_empty(storage)
    if not force and not (empty_db and empty_store):
        full = [name for name, empty in (("database", empty_db), ("object store", empty_store)) if not empty]
        raise BackupError(
            f"this stack's {' and '.join(full)} {'are' if len(full) > 1 else 'is'} not empty: "
            "restore into a fresh stack, or add --force to replace what is there"
        )
    with timer.step("keys"):
        written = _restore_keys(root, manifest)
    echo("keys: " + ", ".join(written))
    with timer.step("database"):
        if kind == "postgresql":
            _restore_postgresql(root, manifest, clean=not empty_db)
        else:
            _restore_sqlite(root, manifest)
    with timer.step("objects"):
        restored = _restore_objects(root, storage, force=force)
    echo(f"objects: {restored} restored")
    with timer.step("check"):
        with db.engine.connect() as conn, conn.begin():
            facts = _facts(conn)
        if facts["rows"] != manifest["database"]["rows"]:
            differ = sorted(
                name
                for name in set(facts["rows"]) | set(manifest["database"]["rows"])
                if facts["rows"].get(name) != manifest["database"]["rows"].get(name)
            )
            raise BackupError(f"the restored database does not have the backup's rows (tables {differ})")
        if (facts["checkpoint"] or {}).get("document") != (checkpoint or {}).get("document"):
            raise BackupError("the restored evidence log's last checkpoint is not the backup's")
        outcome = audit.verify_log()
        db.session.rollback()
        if not outcome.ok:
            raise BackupError(f"the restored evidence log does not verify: {outcome.render()}")
    echo(f"database: {sum(facts['rows'].values())} rows, schema {facts['revision']}; evidence log {outcome.render()}")
    with timer.step("continue"):
        manifest_sha = hashlib.sha256((root / MANIFEST).read_bytes()).hexdigest()
        audit.record(
            "platform.restored",  # RESTORED_ACTION, spelled out for tests/audit/test_action_labels.py
            actor="system",
            subject="platform",
            data={
                "backup_created_at": manifest["created_at"],
                "manifest_sha256": manifest_sha,
                "from_tree_size": checkpoint["tree_size"] if checkpoint else 0,
                "objects": manifest["objects"]["count"],
            },
        )
        new = audit.issue_checkpoint()
        db.session.commit()
    result: dict[str, Any] = {"manifest": manifest, "seconds": timer.steps, "total_seconds": timer.total}
    if checkpoint and new is not None:
        proof = audit.get_consistency(checkpoint["tree_size"], new.tree_size)
        ok = verify_consistency(
            checkpoint["tree_size"],
            new.tree_size,
            bytes.fromhex(checkpoint["root_hash"]),
            new.root_hash,
            [bytes.fromhex(h) for h in proof["proof"]],
        )
        db.session.rollback()
        if not ok:
            raise BackupError("the log after the restore is not consistent with the backup's checkpoint")
        result["consistency"] = {"first": checkpoint["tree_size"], "second": new.tree_size}
        echo(
            f"evidence log continues: checkpoint {new.tree_size} is consistent with the backup's "
            f"{checkpoint['tree_size']} (proof of {len(proof['proof'])} hashes verified)"
        )
    echo(f"restored from {root} in {timer.total:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in timer.steps.items())})")
    return result
