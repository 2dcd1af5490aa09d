"""Helpers for the tendering tests: organisations, users with API tokens, drafting, sealing and uploading bids."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from app.accounts.uscc import make_uscc
from app.core import time as clock_mod
from crypto.age import X25519Recipient, encrypt_bytes
from crypto.envelope import write_envelope
from tests.accounts.helpers import make_user


class Api:
    """A JSON API client authenticated with a bearer token (None: anonymous)."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json_body: Any = None, **kw: Any) -> Any:
        if json_body is not None:
            kw["json"] = json_body
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, json_body: Any, **kw: Any) -> Any:
        return self.client.patch(url, json=json_body, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        return self.client.put(url, data=data, headers=self._headers(headers))

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


@dataclass
class Party:
    user_id: int
    org_id: int | None
    token: str
    api: Api


@dataclass
class World:
    app: Flask
    client: Any
    buyer_id: int
    agency: Party
    other_agency: Party
    bidders: list[Party] = field(default_factory=list)
    admin: Party | None = None
    auditor: Party | None = None
    supervisor: Party | None = None
    custodians: list[Party] = field(default_factory=list)
    anonymous: Api | None = None


def make_org(app: Flask, name: str, kind: str, n: int) -> int:
    from app.accounts import services_organisations
    from app.extensions import db

    with app.app_context():
        uscc = make_uscc("9", "1", "130400", f"MA{n:06d}") if kind in {"bidder", "agency"} else None
        org = services_organisations.create_organisation(actor="test", name=name, kind=kind, uscc=uscc)
        db.session.commit()
        return org.id


def make_party(app: Flask, client: Any, username: str, role: str, org_id: int | None) -> Party:
    from app.accounts import services_tokens
    from app.accounts.models import User
    from app.extensions import db

    totp = role in {"agency", "admin", "auditor", "supervisor"}
    user_id, _secret = make_user(app, username, [role], totp=totp, organisation_id=org_id)
    with app.app_context():
        user = db.session.get(User, user_id)
        _row, text = services_tokens.create_token(user=user, name="tests", scopes=["*"], expires_in_days=30)
        db.session.commit()
    return Party(user_id, org_id, text, Api(client, text))


def build_world(app: Flask, bidders: int = 4) -> World:
    client = app.test_client()
    buyer = make_org(app, "邯郸市第一中学", "buyer", 1)
    agency_org = make_org(app, "邯郸招标代理有限公司", "agency", 2)
    other_agency_org = make_org(app, "另一家代理公司", "agency", 3)
    world = World(
        app=app,
        client=client,
        buyer_id=buyer,
        agency=make_party(app, client, "agent", "agency", agency_org),
        other_agency=make_party(app, client, "agent2", "agency", other_agency_org),
        anonymous=Api(client, None),
    )
    for i in range(bidders):
        org = make_org(app, f"投标人{i + 1}建设有限公司", "bidder", 10 + i)
        world.bidders.append(make_party(app, client, f"bidder{i + 1}", "bidder", org))
    world.admin = make_party(app, client, "root", "admin", None)
    world.auditor = make_party(app, client, "auditor", "auditor", None)
    world.supervisor = make_party(app, client, "supervisor", "supervisor", None)
    for i in range(3):
        world.custodians.append(make_party(app, client, f"custodian{i + 1}", "supervisor", None))
    return world


def iso(value: datetime) -> str:
    return value.isoformat()


def draft_body(world: World, **overrides: Any) -> dict[str, Any]:
    now = clock_mod.now_utc()
    body: dict[str, Any] = {
        "title": "邯郸市第一中学教学楼改造工程",
        "buyer_id": world.buyer_id,
        "category": "construction",
        "description": "教学楼外墙及屋面改造",
        "budget_amount": 150_000_000,
        "submission_deadline_at": iso(now + timedelta(hours=1)),
        "opening_at": iso(now + timedelta(hours=1)),
        "min_bids": 3,
    }
    body.update(overrides)
    return body


def create_published(
    world: World, *, document: bytes = b"%PDF-1.4 tender documents", **overrides: Any
) -> dict[str, Any]:
    api = world.agency.api
    resp = api.post("/api/v1/tenders", draft_body(world, **overrides))
    assert resp.status_code == 201, resp.json
    tender_id = resp.json["id"]
    resp = api.post(
        f"/api/v1/tenders/{tender_id}/documents?name=招标文件.pdf&content_type=application/pdf",
        data=document,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 201, resp.json
    resp = api.post(f"/api/v1/tenders/{tender_id}/publish")
    assert resp.status_code == 200, resp.json
    return dict(resp.json)


def envelope_plaintext(form: dict[str, Any] | None, files: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    write_envelope(buf, form, [(name, io.BytesIO(data), len(data)) for name, data in (files or {}).items()])
    return buf.getvalue()


def seal(plaintext: bytes, *recipients: str) -> bytes:
    return encrypt_bytes(plaintext, [X25519Recipient.parse(r) for r in recipients])


def upload(api: Api, tender_id: int, envelope: str, data: bytes, chunk: int = 64 * 1024) -> str:
    """Upload in chunks (at least the server's `chunk_min`: 5 MiB on S3) and complete; returns the upload id."""
    resp = api.post(f"/api/v1/tenders/{tender_id}/uploads", {"envelope": envelope, "size": len(data)})
    assert resp.status_code == 201, resp.json
    upload_id = resp.json["id"]
    chunk = max(chunk, resp.json["chunk_min"])
    for start in range(0, len(data), chunk):
        part = data[start : start + chunk]
        resp = put_chunk(api, upload_id, start, part, len(data))
        assert resp.status_code == 200, resp.json
    resp = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert resp.status_code == 200, resp.json
    return str(upload_id)


def put_chunk(api: Api, upload_id: str, start: int, part: bytes, total: int) -> Any:
    headers = {
        "Content-Range": f"bytes {start}-{start + len(part) - 1}/{total}",
        "Content-Type": "application/octet-stream",
    }
    return api.put(f"/api/v1/uploads/{upload_id}", part, headers)


def submit(api: Api, tender_id: int, uploads: dict[str, str]) -> Any:
    return api.post(f"/api/v1/tenders/{tender_id}/bid", {"uploads": uploads})


def form(price: int, days: int = 90) -> dict[str, Any]:
    return {"price": price, "currency": "CNY", "duration_days": days}


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
