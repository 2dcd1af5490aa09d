"""Helpers for the tendering tests: organisations, users with API tokens, drafting, sealing and uploading bids.
The objects themselves are built by tests/factories.py; these names and signatures stay for the tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Flask

from tests import factories
from tests.factories import Api, Party, World

__all__ = ["Api", "Party", "World"]  # re-exported: they live in tests/factories.py


def make_org(app: Flask, name: str, kind: str, n: int) -> int:
    return factories.organisation(app, name=name, kind=kind, n=n)


def make_party(app: Flask, client: Any, username: str, role: str, org_id: int | None) -> Party:
    return factories.party(app, client, username, role=role, org_id=org_id)


def build_world(app: Flask, bidders: int = 4) -> World:
    return factories.world(app, bidders=bidders)


def iso(value: datetime) -> str:
    return value.isoformat()


def draft_body(world: World, **overrides: Any) -> dict[str, Any]:
    return factories.tender_body(world, **overrides)


def create_published(
    world: World, *, document: bytes = b"%PDF-1.4 tender documents", **overrides: Any
) -> dict[str, Any]:
    return factories.published_tender(world, document=document, **overrides)


def envelope_plaintext(form: dict[str, Any] | None, files: dict[str, bytes] | None = None) -> bytes:
    return factories.envelope(form, files)


seal = factories.seal


def upload(api: Api, tender_id: int, envelope: str, data: bytes, chunk: int = 64 * 1024) -> str:
    """Upload in chunks (at least the server's `chunk_min`: 5 MiB on S3) and complete; returns the upload id."""
    return factories.upload(api, tender_id, envelope, data, chunk)


def put_chunk(api: Api, upload_id: str, start: int, part: bytes, total: int) -> Any:
    headers = {
        "Content-Range": f"bytes {start}-{start + len(part) - 1}/{total}",
        "Content-Type": "application/octet-stream",
    }
    return api.put(f"/api/v1/uploads/{upload_id}", part, headers)


def submit(api: Api, tender_id: int, uploads: dict[str, str]) -> Any:
    return api.post(f"/api/v1/tenders/{tender_id}/bid", {"uploads": uploads})


def form(price: int, days: int = 90) -> dict[str, Any]:
    return factories.bid_form(price, days)


def audit_actions(app: Flask) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    from sqlalchemy import select

    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.index))
        return [(r.action, r.actor, r.subject, json.loads(json.dumps(r.data))) for r in rows]


def database_bytes(app: Flask) -> bytes:
    """Everything the database holds, as bytes to search: the SQLite file and its WAL, or every PostgreSQL row."""
    from pathlib import Path

    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            path = Path(db.engine.url.database or "")
            return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        out = []
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(text(f'SELECT t::text FROM "{table.name}" t')).scalars()
            out.extend(r.encode() for r in rows)
        db.session.rollback()
        return b"\n".join(out)


def storage_bytes(app: Flask) -> bytes:
    from pathlib import Path

    root = Path(app.config["STORAGE_URL"].removeprefix("file://"))
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


def run_task(app: Flask, task: Any) -> Any:
    """Run one task function as the worker does: in an app context, committed at the end (rolled back on error)."""
    from app.extensions import db

    with app.app_context():
        try:
            result = task()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()
    return result


def run_batch(app: Flask, clock: Any | None = None) -> int | None:
    """What the beat does every AUDIT_BATCH_INTERVAL: seal the interval's batch of commitments (one log entry and a
    checkpoint). With the fake `clock`, first move to the next interval. Returns the batch entry's log index."""
    from app.audit.tasks import batch_sweep

    if clock is not None:
        clock.advance(app.config["AUDIT_BATCH_INTERVAL"])
    return run_task(app, batch_sweep)  # type: ignore[no-any-return]
