"""The evidence-log API: who may read what, proofs that verify with crypto/, bad parameters as problem JSON."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import audit
from app.audit import services
from app.audit.models import AuditEntry
from app.core.db import db
from crypto.cli_verify import verify_export
from crypto.merkle import leaf_hash, verify_consistency, verify_inclusion
from crypto.signing import load_public_key, verify_document


def _fill(app: Flask, n: int, checkpoint: bool = True) -> None:
    with app.app_context():
        for i in range(n):
            audit.record("step", actor="system:t", subject=f"s:{i}", data={"i": i})
        if checkpoint:
            services.issue_checkpoint()
        db.session.commit()


def _key(client: Any) -> Any:
    body = client.get("/api/v1/keys").get_json()
    return load_public_key(body["keys"][0]["public_key"])


def test_keys_are_public_at_two_stable_urls(client: Any) -> None:
    body = client.get("/api/v1/keys")
    assert body.status_code == 200
    keys = body.get_json()["keys"]
    assert keys[0]["alg"] == "Ed25519" and len(keys[0]["key_id"]) == 16
    assert load_public_key(keys[0]["public_key_pem"]) is not None
    assert client.get("/.well-known/platform-keys.json").get_json() == body.get_json()


def test_latest_checkpoint_is_public_and_verifies(app: Flask, client: Any) -> None:
    resp = client.get("/api/v1/audit/checkpoints/latest")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    _fill(app, 6)
    doc = client.get("/api/v1/audit/checkpoints/latest").get_json()
    payload = verify_document(doc, _key(client))
    assert payload["tree_size"] == 6
    assert client.get("/api/v1/audit/checkpoints/6").get_json() == doc
    assert client.get("/api/v1/audit/checkpoints/5").status_code == 404
    assert client.get("/api/v1/audit/checkpoints/99999999999999999999999").status_code == 404


def test_entries_need_audit_read(app: Flask, client: Any, sign_in: Any) -> None:
    _fill(app, 3)
    assert client.get("/api/v1/audit/entries/0").status_code == 401
    assert client.get("/api/v1/audit/export?start=0&end=3").status_code == 401
    sign_in(12)  # signed in, without audit.read
    resp = client.get("/api/v1/audit/entries/1")
    assert resp.status_code == 403
    # The refused attempt is itself in the log, committed despite the request's rollback.
    with app.app_context():
        denied = db.session.execute(select(AuditEntry).where(AuditEntry.action == "access.denied")).scalar_one()
        assert denied.index == 3
        assert denied.actor == "user:12"
        assert denied.subject == "audit.entry"
        assert denied.data == {"permission": "audit.read", "method": "GET", "path": "/api/v1/audit/entries/1"}
        assert services.verify_log().ok


def test_entry_inclusion_proofs_verify(app: Flask, client: Any, sign_in: Any) -> None:
    _fill(app, 7)
    _fill(app, 3, checkpoint=False)  # 3 more entries, not yet covered by a checkpoint
    sign_in(1, "audit.read")
    key = _key(client)
    for index in range(7):
        body = client.get(f"/api/v1/audit/entries/{index}").get_json()
        entry, inc = body["entry"], body["inclusion"]
        canonical = base64.b64decode(entry["canonical"])
        assert entry["leaf_hash"] == leaf_hash(canonical).hex()
        payload = verify_document(inc["checkpoint"], key)
        assert payload["tree_size"] == inc["tree_size"] == 7
        proof = [bytes.fromhex(p) for p in inc["proof"]]
        assert verify_inclusion(leaf_hash(canonical), index, 7, proof, bytes.fromhex(payload["root_hash"]))
        assert not verify_inclusion(leaf_hash(canonical + b" "), index, 7, proof, bytes.fromhex(payload["root_hash"]))
    late = client.get("/api/v1/audit/entries/8").get_json()
    assert late["entry"]["index"] == 8 and late["inclusion"] is None
    # To an explicit (unsigned) tree size.
    body = client.get("/api/v1/audit/entries/8?tree_size=10").get_json()
    inc = body["inclusion"]
    assert inc["checkpoint"] is None
    leaf = bytes.fromhex(body["entry"]["leaf_hash"])
    assert verify_inclusion(leaf, 8, 10, [bytes.fromhex(p) for p in inc["proof"]], bytes.fromhex(inc["root_hash"]))
    assert client.get("/api/v1/audit/entries/8?tree_size=8").status_code == 422
    assert client.get("/api/v1/audit/entries/8?tree_size=11").status_code == 404
    assert client.get("/api/v1/audit/entries/10").status_code == 404
    assert client.get("/api/v1/audit/entries/99999999999999999999999").status_code == 404


def test_consistency_between_checkpoints(app: Flask, client: Any) -> None:
    _fill(app, 5)
    _fill(app, 8)
    key = _key(client)
    body = client.get("/api/v1/audit/consistency?first=5&second=13").get_json()
    old = verify_document(body["first_checkpoint"], key)
    new = verify_document(body["second_checkpoint"], key)
    proof = [bytes.fromhex(p) for p in body["proof"]]
    assert verify_consistency(5, 13, bytes.fromhex(old["root_hash"]), bytes.fromhex(new["root_hash"]), proof)
    assert not verify_consistency(5, 13, bytes.fromhex(new["root_hash"]), bytes.fromhex(new["root_hash"]), proof)
    assert client.get("/api/v1/audit/consistency?first=6&second=5").status_code == 422
    assert client.get("/api/v1/audit/consistency?first=1&second=14").status_code == 404


def test_export_verifies_offline(app: Flask, client: Any, sign_in: Any) -> None:
    _fill(app, 4)
    _fill(app, 9)
    sign_in(1, "audit.read")
    key = _key(client)
    whole = client.get("/api/v1/audit/export?start=0&end=13").get_json()
    assert verify_export(whole, key).ok
    part = client.get("/api/v1/audit/export?start=2&end=6&consistency_from=4").get_json()
    assert len(part["entries"]) == 4 and part["tree_size"] == 13
    old_cp = client.get("/api/v1/audit/checkpoints/4").get_json()
    outcome = verify_export(part, key, previous=old_cp)
    assert outcome.ok, outcome.message
    assert "consistent with tree size 4" in outcome.message


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("start=3&end=3", 422),
        ("start=5&end=2", 422),
        ("start=0", 422),
        ("start=-1&end=2", 422),
        ("start=a&end=2", 422),
        ("start=0&end=99999999999999999999999", 422),
        ("start=0&end=2&consistency_from=3", 422),
        ("start=0&end=6", 409),  # beyond the latest checkpoint
    ],
)
def test_export_bad_parameters_are_problems(app: Flask, client: Any, sign_in: Any, query: str, status: int) -> None:
    _fill(app, 5)
    sign_in(1, "audit.read")
    resp = client.get(f"/api/v1/audit/export?{query}")
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"


def test_export_size_is_limited(app: Flask, client: Any, sign_in: Any) -> None:
    app.config["AUDIT_EXPORT_MAX_ENTRIES"] = 3
    _fill(app, 5)
    sign_in(1, "audit.read")
    assert client.get("/api/v1/audit/export?start=0&end=4").status_code == 422
    assert client.get("/api/v1/audit/export?start=1&end=4").status_code == 200


def test_openapi_documents_the_audit_endpoints(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert "/api/v1/audit/export" in paths
    assert "/api/v1/keys" in paths
    export_get = paths["/api/v1/audit/export"]["get"]
    assert {"200", "401", "403", "409", "422"} <= set(export_get["responses"])
