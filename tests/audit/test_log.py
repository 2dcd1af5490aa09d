"""The evidence log in the database: appends in the caller's transaction, checkpoints, verification, tampering."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import JSON, bindparam, select, text

from app import audit
from app.audit import services
from app.audit.models import AuditEntry, AuditHead, AuditNode, Checkpoint
from app.core.db import db
from app.core.keys import platform_public_keys
from app.core.tasks import declared
from crypto.canonical import CanonicalError
from crypto.merkle import leaf_hash, root_hash
from crypto.signing import load_public_key, verify_document

ROOT = Path(__file__).resolve().parents[2]


class Person:
    audit_ref = "user:12"


def _indices() -> list[int]:
    return list(db.session.execute(select(AuditEntry.index).order_by(AuditEntry.index)).scalars())


def test_record_flushes_in_the_callers_transaction(app_ctx: Flask, clock: Any) -> None:
    entry = audit.record("tender.published", actor=Person(), subject="tender:1", data={"title": "Road"})
    assert entry.index == 0
    assert db.session.get(AuditEntry, 0) is entry  # visible in this transaction, already flushed
    assert entry.actor == "user:12"
    assert entry.created_at == clock.now()
    db.session.rollback()
    assert _indices() == []
    assert services.tree_size() == 0

    # The rolled-back index is reused: no gap.
    first = audit.record("a", actor="system:opening-sweep", subject=None)
    second = audit.record("b", actor=None, subject="x", data={"n": 1})
    db.session.commit()
    assert (first.index, second.index) == (0, 1)
    assert (first.actor, second.actor) == ("system:opening-sweep", "anonymous")
    assert _indices() == [0, 1]
    assert services.tree_size() == 2
    assert services.verify_log().ok


def test_stored_entry_is_its_canonical_bytes(app_ctx: Flask, clock: Any) -> None:
    data: dict[str, Any] = {"price_fen": 123456789, "names": ["甲", "乙"], "ok": True, "none": None}
    entry = audit.record("bid.opened", actor="user:3", subject="bid:9", data=data)
    data["price_fen"] = 1  # a caller changing its dict afterwards changes nothing logged
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(AuditEntry, entry.index)
    assert stored is not None
    content = json.loads(stored.canonical)
    assert content == {
        "v": 1,
        "index": 0,
        "created_at": "2026-01-05T01:00:00.000000Z",
        "action": "bid.opened",
        "actor": "user:3",
        "subject": "bid:9",
        "data": {"price_fen": 123456789, "names": ["甲", "乙"], "ok": True, "none": None},
    }
    assert stored.data["price_fen"] == 123456789
    assert stored.leaf_hash == leaf_hash(stored.canonical)
    assert services.recanonicalize(stored) == stored.canonical


def test_record_refuses_bad_input(app_ctx: Flask) -> None:
    with pytest.raises(CanonicalError):
        audit.record("x", actor="system:t", subject=None, data={"price": 1.5})
    with pytest.raises(ValueError):
        audit.record("", actor="system:t", subject=None)
    with pytest.raises(TypeError):
        audit.record("x", actor=object(), subject=None)
    db.session.rollback()
    assert _indices() == []


def test_head_keeps_a_compact_frontier_and_stored_nodes(app_ctx: Flask) -> None:
    for i in range(11):
        audit.record("step", actor="system:t", subject=None, data={"i": i})
    db.session.commit()
    head = db.session.get(AuditHead, services.HEAD_ID)
    assert head is not None
    assert head.tree_size == 11
    assert len(head.frontier) == 32 * 3  # 11 = 8 + 2 + 1
    leaves = [e.leaf_hash for e in db.session.execute(select(AuditEntry).order_by(AuditEntry.index)).scalars()]
    assert services.root_at(11) == root_hash(leaves)
    assert services.root_at(6) == root_hash(leaves[:6])
    levels = sorted(db.session.execute(select(AuditNode.level, AuditNode.index)).all())
    assert len(levels) == 5 + 2 + 1  # pairs, quads, one octet


def test_checkpoints_are_signed_and_only_issued_when_the_log_grew(app_ctx: Flask, clock: Any) -> None:
    assert services.issue_checkpoint() is None  # nothing to sign
    for i in range(3):
        audit.record("step", actor="system:t", subject=None, data={"i": i})
    cp = services.issue_checkpoint()
    db.session.commit()
    assert cp is not None and cp.tree_size == 3
    keys = {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}
    payload = verify_document(services.checkpoint_document(cp), keys)
    assert payload == {
        "origin": services.DEFAULT_ORIGIN,
        "tree_size": 3,
        "root_hash": services.root_at(3).hex(),
        "issued_at": "2026-01-05T01:00:00.000000Z",
    }
    assert services.issue_checkpoint() is None
    audit.record("step", actor="system:t", subject=None)
    db.session.commit()
    # The periodic sweep (run as Celery beat would, under its lock) signs the grown head.
    assert declared()["audit.checkpoint"].fn() == 4
    db.session.commit()
    assert [c.tree_size for c in db.session.execute(select(Checkpoint).order_by(Checkpoint.tree_size)).scalars()] == [
        3,
        4,
    ]


def test_cli_checkpoint_and_verify(app: Flask) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        for i in range(5):
            audit.record("step", actor="system:t", subject=f"s:{i}", data={"i": i})
        db.session.commit()
    result = runner.invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert "tree_size=5" in result.output
    result = runner.invoke(args=["audit", "checkpoint"])
    assert "unchanged" in result.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "OK 5 entries, 1 checkpoints"


def _tamper(app: Flask, what: str, k: int) -> None:
    with app.app_context():
        if what == "data":
            stmt = text('UPDATE audit_entries SET data = :d WHERE "index" = :k').bindparams(bindparam("d", type_=JSON))
            db.session.execute(stmt, {"d": {"i": 1000 + k}, "k": k})
        elif what == "canonical":
            row = db.session.get(AuditEntry, k)
            assert row is not None
            forged = row.canonical.replace(f'"i":{k}'.encode(), f'"i":{1000 + k}'.encode())
            assert forged != row.canonical
            db.session.expunge(row)
            db.session.execute(
                text('UPDATE audit_entries SET canonical = :c WHERE "index" = :k'), {"c": forged, "k": k}
            )
        else:  # the checkpoint: a forged root
            db.session.execute(text("UPDATE audit_checkpoints SET root_hash = :r"), {"r": b"\x11" * 32})
        db.session.commit()


@pytest.mark.parametrize("what", ["data", "canonical"])
def test_tampered_entry_is_named_by_both_verifiers(app: Flask, what: str, sign_in: Any, tmp_path: Path) -> None:
    k = 4
    with app.app_context():
        for i in range(9):
            audit.record("step", actor="system:t", subject=None, data={"i": i})
        services.issue_checkpoint()
        db.session.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0

    _tamper(app, what, k)

    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"first bad index {k}:" in result.output

    sign_in(7, "audit.read")
    client = app.test_client()
    resp = client.get("/api/v1/audit/export?start=0&end=9")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    export = tmp_path / "export.json"
    export.write_bytes(resp.data)
    key = tmp_path / "platform.pub"
    key.write_text(client.get("/api/v1/keys").get_json()["keys"][0]["public_key_pem"])
    done = subprocess.run(
        [sys.executable, "-m", "crypto", "verify-log", str(export), "--key", str(key)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"first bad index {k}:" in done.stdout


def test_forged_checkpoint_root_fails_verification(app: Flask) -> None:
    with app.app_context():
        for i in range(3):
            audit.record("step", actor="system:t", subject=None, data={"i": i})
        services.issue_checkpoint()
        db.session.commit()
    _tamper(app, "checkpoint", 0)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "checkpoint of tree size 3" in result.output


def test_deleted_entry_is_a_gap(app: Flask) -> None:
    with app.app_context():
        for i in range(4):
            audit.record("step", actor="system:t", subject=None, data={"i": i})
        db.session.commit()
        db.session.execute(text('DELETE FROM audit_entries WHERE "index" = 2'))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "first bad index 2:" in result.output


def test_concurrent_appends_are_serialised(app: Flask) -> None:
    threads_n, per_thread = 6, 8
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def worker(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for i in range(per_thread):
                    audit.record("step", actor=f"system:worker-{n}", subject=None, data={"i": i})
                    if i % 3 == 2:  # some appends roll back: they must leave no gap
                        db.session.rollback()
                    else:
                        db.session.commit()
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    committed = threads_n * sum(1 for i in range(per_thread) if i % 3 != 2)
    with app.app_context():
        assert _indices() == list(range(committed))
        services.issue_checkpoint()
        db.session.commit()
        outcome = services.verify_log()
        assert outcome.ok, outcome.message
        per_actor = db.session.execute(select(AuditEntry.actor, AuditEntry.data).order_by(AuditEntry.index)).all()
        for n in range(threads_n):
            mine = [d["i"] for a, d in per_actor if a == f"system:worker-{n}"]
            assert mine == [i for i in range(per_thread) if i % 3 != 2]


def test_entry_bytes_are_base64_in_exports(app_ctx: Flask) -> None:
    entry = audit.record("x", actor="system:t", subject=None, data={"k": "v"})
    assert base64.b64decode(services.entry_view(entry)["canonical"]) == entry.canonical
