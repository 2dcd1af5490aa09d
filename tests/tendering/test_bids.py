"""Slice (b): resumable chunked upload of sealed envelopes, refusals, signed receipts, replace and withdraw,
and the rule that nobody reads, lists or counts another party's bid before the opening."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from app.core.keys import platform_public_keys
from app.tendering.models import new_public_id
from crypto.canonical import canonicalize
from crypto.receipt import ReceiptError, verify_receipt
from crypto.signing import load_public_key
from tests.core.conftest import s3_session_url  # noqa: F401 - fixture
from tests.integration.s3 import s3_url  # noqa: F401 - fixture
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import (
    audit_actions,
    create_published,
    envelope_plaintext,
    form,
    put_chunk,
    run_batch,
    seal,
    submit,
    upload,
)

ROOT = Path(__file__).resolve().parents[2]


def _sealed(tender: dict, price: int = 1_000_000, size: int = 0) -> bytes:
    files = {"技术方案.pdf": os.urandom(size)} if size else None
    return seal(envelope_plaintext(form(price), files), tender["recipient"])


def _public_key(app) -> object:
    with app.app_context():
        return load_public_key(platform_public_keys()[0]["public_key"])


def test_chunked_upload_resumes_after_a_broken_connection_and_gets_a_signed_receipt(world, clock) -> None:
    tender = create_published(world)
    tid, bidder = tender["id"], world.bidders[0]
    data = _sealed(tender, size=200_000)
    api = bidder.api
    created = api.post(f"/api/v1/tenders/{tid}/uploads", {"envelope": "bid", "size": len(data)})
    assert created.status_code == 201 and created.json["offset"] == 0
    uid = created.json["id"]
    chunk = 64 * 1024
    assert put_chunk(api, uid, 0, data[:chunk], len(data)).json["offset"] == chunk
    # the same chunk again (a retry whose answer was lost): harmless, offset unchanged
    assert put_chunk(api, uid, 0, data[:chunk], len(data)).json["offset"] == chunk
    # a different body at a stored offset, or a gap: 409 naming where to resume
    tampered = put_chunk(api, uid, 0, b"x" * chunk, len(data))
    assert tampered.status_code == 409 and tampered.json["offset"] == chunk
    gap = put_chunk(api, uid, 3 * chunk, data[3 * chunk : 4 * chunk], len(data))
    assert gap.status_code == 409 and gap.json["offset"] == chunk
    # a broken connection: fewer bytes arrive than Content-Length announced; nothing is stored
    broken = api.client.put(
        f"/api/v1/uploads/{uid}",
        input_stream=__import__("io").BytesIO(data[chunk : chunk + 1000]),
        headers={
            "Authorization": f"Bearer {bidder.token}",
            "Content-Range": f"bytes {chunk}-{2 * chunk - 1}/{len(data)}",
            "Content-Length": str(chunk),
        },
    )
    assert broken.status_code in (400, 422)
    status = api.get(f"/api/v1/uploads/{uid}").json
    assert status["offset"] == chunk and status["status"] == "open"
    for start in range(status["offset"], len(data), chunk):
        assert put_chunk(api, uid, start, data[start : start + chunk], len(data)).status_code == 200
    done = api.post(f"/api/v1/uploads/{uid}/complete")
    assert done.status_code == 200 and done.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert api.post(f"/api/v1/uploads/{uid}/complete").json == done.json  # idempotent

    resp = submit(api, tid, {"bid": uid})
    assert resp.status_code == 201, resp.json
    receipt = resp.json["receipt"]
    payload = receipt["payload"]
    assert payload["tender"]["id"] == tid and payload["bidder"]["organisation_id"] == bidder.org_id
    assert payload["envelopes"] == [{"name": "bid", "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}]
    assert payload["received_at"] == "2026-01-05T01:00:00.000000Z"
    check = verify_receipt(receipt, _public_key(world.app), sealed=__import__("io").BytesIO(data))
    assert check.matched_envelope == "bid"
    with pytest.raises(ReceiptError):
        verify_receipt(receipt, _public_key(world.app), sealed=__import__("io").BytesIO(data + b"x"))
    # no evidence-log entry of its own (their number would count bids): the commitment waits for the next batch
    assert "log_index" not in payload and resp.json["proof"] is None and resp.json["audit_index"] is None
    assert not [e for e in audit_actions(world.app) if payload["commitment"] in json.dumps(e)]
    # a retried submission returns the same receipt
    again = submit(api, tid, {"bid": uid})
    assert again.status_code == 201 and again.json["receipt"] == receipt
    # one batch sweep later (driven by the fake clock) the proof is there, with a checkpoint made for it
    batch_index = run_batch(world.app, clock)
    own = api.get(f"/api/v1/tenders/{tid}/bids/{payload['bid']['id']}").json["versions"][0]
    assert own["receipt"] == receipt and own["audit_index"] == batch_index and own["proof"] is not None
    check = verify_receipt(receipt, _public_key(world.app), proof=own["proof"])
    assert check.inclusion is not None and check.inclusion.log_index == batch_index
    assert check.inclusion.tree_size == batch_index + 1  # the checkpoint right after the batch entry


def test_verify_receipt_command_line(world, clock, tmp_path) -> None:
    tender = create_published(world)
    data = _sealed(tender)
    uid = upload(world.bidders[0].api, tender["id"], "bid", data)
    receipt = submit(world.bidders[0].api, tender["id"], {"bid": uid}).json["receipt"]
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    (tmp_path / "bid.age").write_bytes(data)
    with world.app.app_context():
        (tmp_path / "platform.pem").write_text(platform_public_keys()[0]["public_key_pem"])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crypto", "verify-receipt", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    ok = run(
        str(tmp_path / "receipt.json"), "--key", str(tmp_path / "platform.pem"), "--file", str(tmp_path / "bid.age")
    )
    assert ok.returncode == 0 and ok.stdout.startswith("OK ") and "matches envelope 'bid'" in ok.stdout
    (tmp_path / "other.age").write_bytes(_sealed(tender))
    wrong = run(
        str(tmp_path / "receipt.json"), "--key", str(tmp_path / "platform.pem"), "--file", str(tmp_path / "other.age")
    )
    assert wrong.returncode == 1 and "not an envelope" in wrong.stdout
    receipt["payload"]["received_at"] = "2026-01-04T01:00:00.000000Z"  # backdated
    (tmp_path / "forged.json").write_text(json.dumps(receipt))
    forged = run(str(tmp_path / "forged.json"), "--key", str(tmp_path / "platform.pem"))
    assert forged.returncode == 1 and "signature" in forged.stdout


def test_the_receipt_and_its_two_level_proof_verify_offline_and_a_tampered_proof_fails(world, clock, tmp_path) -> None:
    tender = create_published(world)
    data = _sealed(tender)
    api = world.bidders[0].api
    receipt = submit(api, tender["id"], {"bid": upload(api, tender["id"], "bid", data)}).json["receipt"]
    bid_id = receipt["payload"]["bid"]["id"]
    with world.app.app_context():
        (tmp_path / "platform.pem").write_text(platform_public_keys()[0]["public_key_pem"])
    (tmp_path / "bid.age").write_bytes(data)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "crypto", "verify-receipt", *args, "--key", str(tmp_path / "platform.pem")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )

    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    waiting = run(str(tmp_path / "receipt.json"), "--require-proof")
    assert waiting.returncode == 1 and "no inclusion proof" in waiting.stdout
    run_batch(world.app, clock)
    version = api.get(f"/api/v1/tenders/{tender['id']}/bids/{bid_id}").json["versions"][0]
    # the platform's answer as it comes ({"receipt", "proof", …}) verifies as one file, with the sealed file
    (tmp_path / "answer.json").write_text(json.dumps(version))
    ok = run(str(tmp_path / "answer.json"), "--require-proof", "--file", str(tmp_path / "bid.age"))
    assert ok.returncode == 0, ok.stdout
    assert f"evidence-log entry {version['audit_index']}" in ok.stdout and "matches envelope 'bid'" in ok.stdout
    (tmp_path / "proof.json").write_text(json.dumps(version["proof"]))
    assert run(str(tmp_path / "receipt.json"), "--proof", str(tmp_path / "proof.json")).returncode == 0

    proof = version["proof"]

    def tampered(change) -> str:
        doc = json.loads(json.dumps(proof))
        change(doc)
        (tmp_path / "bad.json").write_text(json.dumps(doc))
        out = run(str(tmp_path / "receipt.json"), "--proof", str(tmp_path / "bad.json"))
        assert out.returncode == 1, out.stdout
        return out.stdout

    def flip(h: str) -> str:
        return ("0" if h[0] != "0" else "1") + h[1:]

    assert "batch path" in tampered(lambda d: d["batch"]["path"].__setitem__(0, flip(d["batch"]["path"][0])))
    assert "batch path" in tampered(
        lambda d: d["batch"].__setitem__("leaf_index", (d["batch"]["leaf_index"] + 1) % 256)
    )
    assert "not in the batch" in tampered(lambda d: d["batch"].__setitem__("root", flip(d["batch"]["root"])))
    assert "batch entry" in tampered(lambda d: d["entry"].__setitem__("index", d["entry"]["index"] + 1))

    def other_entry(d) -> None:  # the entry rewritten to carry another root: no longer the logged bytes
        entry = json.loads(base64.b64decode(d["entry"]["canonical"]))
        entry["data"]["root"] = d["batch"]["root"] = flip(d["batch"]["root"])
        d["entry"]["canonical"] = base64.b64encode(canonicalize(entry)).decode()

    assert "not in the batch" in tampered(other_entry)

    def forged_entry(d) -> None:  # a consistent batch of one's own, in an entry that is not in the signed log
        from crypto.merkle import inclusion_proof, leaf_hash, root_hash

        leaves = [leaf_hash(bytes.fromhex(d["commitment"]))] + [leaf_hash(os.urandom(32)) for _ in range(255)]
        d["batch"].update(
            leaf_index=0, root=root_hash(leaves).hex(), path=[h.hex() for h in inclusion_proof(leaves, 0)]
        )
        entry = json.loads(base64.b64decode(d["entry"]["canonical"]))
        entry["data"]["root"] = d["batch"]["root"]
        d["entry"]["canonical"] = base64.b64encode(canonicalize(entry)).decode()

    assert "log path" in tampered(forged_entry)
    assert "signature" in tampered(lambda d: d["log"]["checkpoint"]["payload"].__setitem__("root_hash", "00" * 32))
    assert "another commitment" in tampered(lambda d: d.__setitem__("commitment", flip(d["commitment"])))
    # another bid's (valid) proof does not prove this receipt
    other = world.bidders[1].api
    submit(other, tender["id"], {"bid": upload(other, tender["id"], "bid", _sealed(tender))})
    run_batch(world.app, clock)
    theirs = other.get(f"/api/v1/tenders/{tender['id']}/bid").json["versions"][0]["proof"]
    (tmp_path / "theirs.json").write_text(json.dumps(theirs))
    assert run(str(tmp_path / "receipt.json"), "--proof", str(tmp_path / "theirs.json")).returncode == 1


def _scrypt_file() -> bytes:
    salt = base64.b64encode(os.urandom(16)).rstrip(b"=")
    body = base64.b64encode(os.urandom(32)).rstrip(b"=")
    head = b"age-encryption.org/v1\n-> scrypt " + salt + b" 10\n" + body + b"\n---"
    mac = base64.b64encode(hmac.new(b"k", head, hashlib.sha256).digest()).rstrip(b"=")
    return head + b" " + mac + b"\n" + os.urandom(16) + os.urandom(40)


@pytest.mark.parametrize(
    ("kind", "code"),
    [("plain", "not-age"), ("scrypt", "scrypt"), ("truncated", "not-age")],
)
def test_anything_but_an_age_file_sealed_to_x25519_is_refused(world, clock, kind, code) -> None:
    tender = create_published(world)
    if kind == "plain":
        data = envelope_plaintext(form(1_000_000))
    elif kind == "scrypt":
        data = _scrypt_file()
    else:
        data = _sealed(tender)[:60]
    api = world.bidders[0].api
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    # refused with the first chunk, before anything is stored
    resp = put_chunk(api, uid, 0, data, len(data))
    assert resp.status_code == 422 and resp.json["errors"]["file"] == [code]
    state = api.get(f"/api/v1/uploads/{uid}").json
    assert (state["status"], state["offset"]) == ("open", 0)
    assert api.post(f"/api/v1/uploads/{uid}/complete").status_code == 422  # nothing to complete


def test_an_armored_file_whose_first_chunk_ends_inside_the_armor(world, clock) -> None:
    """The header check reads whole armor lines: a chunk boundary mid-line past the header is fine, while a
    first chunk too short for the header is refused with the advice to send a larger one."""
    from crypto.age import X25519Recipient, encrypt_bytes

    tender = create_published(world)
    data = encrypt_bytes(
        envelope_plaintext(form(1_000_000), {"a.bin": os.urandom(20_000)}),
        [X25519Recipient.parse(tender["recipient"])],
        armor=True,
    )
    api = world.bidders[0].api
    assert data.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----")
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    resp = put_chunk(api, uid, 0, data[:120], len(data))  # BEGIN line and barely a line of the header
    assert resp.status_code == 422 and resp.json["errors"]["file"] == ["not-age"]
    assert "larger first chunk" in resp.json["detail"]
    assert api.get(f"/api/v1/uploads/{uid}").json["offset"] == 0
    upload(api, tender["id"], "bid", data, chunk=1001)  # boundaries fall mid-line; the bid is received whole
    # garbage in armor clothing is still refused
    fake = b"-----BEGIN AGE ENCRYPTED FILE-----\n" + base64.b64encode(os.urandom(4800)) + b"\n"
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(fake)}).json["id"]
    assert put_chunk(api, uid, 0, fake[:1000], len(fake)).status_code == 422


def test_size_limit_and_unknown_envelope(world, clock) -> None:
    tender = create_published(world, max_bid_size=4096)
    api = world.bidders[0].api
    assert api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": 4097}).status_code == 422
    assert api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "price", "size": 10}).status_code == 422
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": 4096}).json["id"]
    assert put_chunk(api, uid, 0, b"x" * 4097, 4097).status_code == 422  # past the announced size
    assert (
        world.agency.api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": 10}).status_code
        == 403
    )


def test_nothing_is_received_at_or_after_the_deadline_and_refusals_are_logged(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    data = _sealed(tender, size=100_000)
    api = world.bidders[0].api
    uid = api.post(f"/api/v1/tenders/{tid}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    assert put_chunk(api, uid, 0, data[:65536], len(data)).status_code == 200
    clock.advance(timedelta(hours=1))  # exactly the deadline: too late
    late = put_chunk(api, uid, 65536, data[65536:], len(data))
    assert late.status_code == 409 and late.json["type"].endswith("/deadline-passed")
    assert api.post(f"/api/v1/uploads/{uid}/complete").status_code == 409
    assert api.post(f"/api/v1/tenders/{tid}/uploads", {"envelope": "bid", "size": 10}).status_code == 409
    assert submit(api, tid, {"bid": uid}).status_code == 409
    refusals = [e for e in audit_actions(world.app) if e[0] == "tendering.bid.refused"]
    assert [r[3]["step"] for r in refusals] == ["chunk", "complete", "start-upload", "submit"]
    assert all(r[1] == f"user:{world.bidders[0].user_id}" for r in refusals)


def test_a_completed_upload_submitted_after_the_deadline_is_not_a_bid(world, clock) -> None:
    tender = create_published(world)
    uid = upload(world.bidders[0].api, tender["id"], "bid", _sealed(tender))
    clock.advance(timedelta(minutes=60, microseconds=1))
    assert submit(world.bidders[0].api, tender["id"], {"bid": uid}).status_code == 409
    assert world.bidders[0].api.get(f"/api/v1/tenders/{tender['id']}/bid").status_code == 404


def test_replace_and_withdraw_keep_every_version(world, clock) -> None:
    tender = create_published(world)
    tid, api = tender["id"], world.bidders[0].api
    first = _sealed(tender, 1_000_000)
    second = _sealed(tender, 990_000)
    v1 = submit(api, tid, {"bid": upload(api, tid, "bid", first)}).json
    clock.advance(timedelta(minutes=5))
    v2 = submit(api, tid, {"bid": upload(api, tid, "bid", second)}).json
    assert (v1["number"], v2["number"]) == (1, 2)
    clock.advance(timedelta(minutes=5))
    withdrawal = api.delete(f"/api/v1/tenders/{tid}/bid")
    assert withdrawal.status_code == 200 and withdrawal.json["kind"] == "withdrawal"
    assert withdrawal.json["receipt"]["payload"]["envelopes"] == []
    verify_receipt(withdrawal.json["receipt"], _public_key(world.app))
    assert api.delete(f"/api/v1/tenders/{tid}/bid").json["number"] == 3  # idempotent
    bid = api.get(f"/api/v1/tenders/{tid}/bid").json
    assert bid["withdrawn"] is True
    assert [v["kind"] for v in bid["versions"]] == ["submission", "submission", "withdrawal"]
    assert [v["envelopes"][0]["sha256"] for v in bid["versions"][:2]] == [
        hashlib.sha256(first).hexdigest(),
        hashlib.sha256(second).hexdigest(),
    ]
    # and a new submission after a withdrawal counts again
    v4 = submit(api, tid, {"bid": upload(api, tid, "bid", first)})
    assert v4.status_code == 201 and v4.json["number"] == 4
    assert api.get(f"/api/v1/tenders/{tid}/bid").json["withdrawn"] is False


def test_an_upload_is_used_once_and_belongs_to_its_organisation(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    a, b = world.bidders[0].api, world.bidders[1].api
    uid = upload(a, tid, "bid", _sealed(tender))
    stolen = submit(b, tid, {"bid": uid})
    assert stolen.status_code == 403
    assert b.get(f"/api/v1/uploads/{uid}").status_code == 403
    assert b.get("/api/v1/uploads/" + "0" * 32).status_code == 404
    assert submit(a, tid, {"bid": uid}).status_code == 201
    other = upload(a, tid, "bid", _sealed(tender))
    assert submit(a, tid, {"bid": other}).status_code == 201
    assert submit(a, tid, {"bid": uid}).status_code == 422  # already used by version 1


def test_before_the_opening_nobody_lists_counts_reads_or_downloads_another_partys_bid(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    owner = world.bidders[0]
    uid = upload(owner.api, tid, "bid", _sealed(tender))
    bid_id = submit(owner.api, tid, {"bid": uid}).json["receipt"]["payload"]["bid"]["id"]
    assert owner.api.get(f"/api/v1/tenders/{tid}/bids/{bid_id}").status_code == 200
    assert owner.api.get(f"/api/v1/tenders/{tid}/bids/{bid_id}/envelopes/bid/sealed").status_code == 200

    outsiders = {
        "agency": world.agency,
        "admin": world.admin,
        "auditor": world.auditor,
        "supervisor": world.supervisor,
        "other bidder": world.bidders[1],
    }
    before = len([e for e in audit_actions(world.app) if e[0] == "access.denied"])
    attempts = 0
    for who, party in outsiders.items():
        for url in (
            f"/api/v1/tenders/{tid}/bids",
            f"/api/v1/tenders/{tid}/bids/{bid_id}",
            f"/api/v1/tenders/{tid}/bids/{new_public_id()}",
            f"/api/v1/tenders/{tid}/bids/1",
            f"/api/v1/tenders/{tid}/bids/{bid_id}/envelopes/bid/sealed",
            f"/api/v1/uploads/{uid}",
        ):
            resp = party.api.get(url)
            attempts += 1
            assert resp.status_code == 403, (who, url, resp.status_code)
            assert "sha256" not in resp.get_data(as_text=True)
    denied = [e for e in audit_actions(world.app) if e[0] == "access.denied"]
    assert len(denied) - before == attempts
    actors = {e[1] for e in denied}
    assert {f"user:{p.user_id}" for p in outsiders.values()} <= actors
    # anonymous callers are turned away at the door
    assert world.anonymous.get(f"/api/v1/tenders/{tid}/bids").status_code == 401
    # and the public tender says nothing about how many bids there are
    public = world.anonymous.get(f"/api/v1/tenders/{tid}").get_data(as_text=True)
    assert "bid_count" not in public and uid not in public


def test_one_writer_at_a_time_per_upload(world, clock) -> None:
    from app.tendering.services_bids import upload_writer

    tender = create_published(world)
    data = _sealed(tender)
    api = world.bidders[0].api
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    held, release = threading.Event(), threading.Event()

    def first_attempt_still_sending() -> None:  # its own thread and app context, as in another request
        with world.app.app_context(), upload_writer(uid):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=first_attempt_still_sending)
    holder.start()
    try:
        assert held.wait(30)
        busy = put_chunk(api, uid, 0, data, len(data))
        # retryable: 409 with the committed offset to resume from, after Retry-After
        assert busy.status_code == 409 and busy.json["type"].endswith("/upload-busy"), busy.json
        assert busy.json["offset"] == 0 and busy.headers["Retry-After"] == "1"
        completing = api.post(f"/api/v1/uploads/{uid}/complete")
        assert completing.status_code == 409 and completing.headers["Retry-After"] == "1"
        # another organisation learns nothing of the upload's state
        other = put_chunk(world.bidders[1].api, uid, 0, data, len(data))
        assert other.status_code == 409 and other.json.get("offset") is None, other.json
    finally:
        release.set()
        holder.join(30)
    assert put_chunk(api, uid, 0, data, len(data)).status_code == 200  # the retry after it ended
    assert api.post(f"/api/v1/uploads/{uid}/complete").json["sha256"] == hashlib.sha256(data).hexdigest()


def test_writers_of_other_uploads_never_make_an_upload_busy(world, clock) -> None:
    """A deadline rush writes many uploads at once: each waits only for its own writer. (The writers once shared
    64 stripes of thread locks on SQLite, and a chunk was answered "busy" when another upload held its stripe.)"""
    from app.core.db import db
    from app.tendering.services_bids import upload_writer

    tender = create_published(world)
    data = _sealed(tender)
    api = world.bidders[0].api
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    with world.app.app_context(), contextlib.ExitStack() as held:
        others = 400 if db.engine.dialect.name == "sqlite" else 4  # PostgreSQL: a connection each
        for n in range(others):
            held.enter_context(upload_writer(f"other-upload-{n:04d}"))
        assert put_chunk(api, uid, 0, data, len(data)).status_code == 200
        assert api.post(f"/api/v1/uploads/{uid}/complete").status_code == 200


def test_every_chunk_but_the_last_has_the_storage_minimum(world, clock) -> None:
    from app.core.storage import get_storage

    tender = create_published(world)
    data = _sealed(tender, size=300_000)
    with world.app.app_context():
        get_storage().min_chunk_size = 100_000  # type: ignore[misc]  # the filesystem allows any; S3 needs 5 MiB
    api = world.bidders[0].api
    created = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json
    assert (created["chunk_min"], created["chunk_max"]) == (100_000, 32 * 1024 * 1024)
    small = put_chunk(api, created["id"], 0, data[:99_999], len(data))
    assert small.status_code == 422 and small.json["errors"]["content_range"] == ["chunk-too-small"]
    steps = [0, 100_000, 250_000, len(data)]  # the last chunk may be short
    for start, end in itertools.pairwise(steps):
        assert put_chunk(api, created["id"], start, data[start:end], len(data)).status_code == 200
    done = api.post(f"/api/v1/uploads/{created['id']}/complete").json
    assert done["sha256"] == hashlib.sha256(data).hexdigest()


def _expiry_aborts_the_assembly(world, clock) -> None:
    """An upload left unfinished expires, and the sweep aborts its storage assembly (after the commit)."""
    from app.core.storage import UPLOADS, StorageUnavailable, get_storage
    from app.extensions import db
    from app.tendering import services_bids
    from app.tendering.models import UploadSession

    tender = create_published(world)
    data = _sealed(tender)
    api = world.bidders[0].api
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    assert put_chunk(api, uid, 0, data, len(data)).status_code == 200  # every byte, but never completed
    with world.app.app_context():
        row = db.session.get(UploadSession, uid)
        assert row is not None and row.assembly and row.hash_state
        handle, state, parts = row.assembly, row.hash_state, [p.part or "" for p in row.parts]
        db.session.rollback()
        clock.advance(timedelta(days=3))  # past TENDER_UPLOAD_TTL
        assert services_bids.expire_uploads() == 1
        db.session.commit()
        assert services_bids.expire_uploads() == 0
        # the assembly is gone: it can no longer become an object
        with pytest.raises(StorageUnavailable):
            get_storage().complete_assembly(
                handle, UPLOADS, f"expired/{uid}", size=len(data), hash_state=state, parts=parts
            )
        assert not get_storage().exists(UPLOADS, f"expired/{uid}")
    assert api.get(f"/api/v1/uploads/{uid}").json["status"] == "expired"


def test_an_expired_upload_aborts_its_storage_assembly(world, clock) -> None:
    _expiry_aborts_the_assembly(world, clock)


def test_an_upload_started_before_assemblies_must_be_started_again(world, clock) -> None:
    from app.extensions import db
    from app.tendering.models import UploadSession

    tender = create_published(world)
    data = _sealed(tender)
    api = world.bidders[0].api
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    with world.app.app_context():
        db.session.get(UploadSession, uid).assembly = None  # as the migration left open uploads
        db.session.commit()
    refused = put_chunk(api, uid, 0, data, len(data))
    assert refused.status_code == 409 and "start a new one" in refused.json["detail"]
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    assert put_chunk(api, uid, 0, data, len(data)).status_code == 200
    with world.app.app_context():
        db.session.get(UploadSession, uid).hash_state = None  # every byte sent, but no running hash to finish
        db.session.commit()
    refused = api.post(f"/api/v1/uploads/{uid}/complete")
    assert refused.status_code == 409 and "start a new one" in refused.json["detail"]


class TestOnS3:
    """The same upload API on a real S3 server: each chunk is one part of a multipart upload."""

    @pytest.fixture
    def app_config(self, s3_session_url: str) -> dict:  # noqa: F811 - the fixture imported above
        return {**TENDERING_CONFIG, "STORAGE_URL": s3_session_url}

    def test_parts_of_5_mib_assembled_without_a_second_transfer(self, world, clock) -> None:
        from app.core.storage import SEALED_BIDS, STAGING, get_storage

        tender = create_published(world)
        data = _sealed(tender, size=6 * 1024 * 1024)
        api = world.bidders[0].api
        created = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json
        uid, mib5 = created["id"], 5 * 1024 * 1024
        assert created["chunk_min"] == mib5
        small = put_chunk(api, uid, 0, data[: 1024 * 1024], len(data))
        assert small.status_code == 422 and small.json["errors"]["content_range"] == ["chunk-too-small"]
        assert put_chunk(api, uid, 0, data[:mib5], len(data)).json["offset"] == mib5
        assert put_chunk(api, uid, 0, data[:mib5], len(data)).json["offset"] == mib5  # a retry: harmless
        assert put_chunk(api, uid, mib5, data[mib5:], len(data)).status_code == 200
        done = api.post(f"/api/v1/uploads/{uid}/complete")
        assert done.status_code == 200 and done.json["sha256"] == hashlib.sha256(data).hexdigest()
        assert api.post(f"/api/v1/uploads/{uid}/complete").json == done.json  # idempotent
        resp = submit(api, tender["id"], {"bid": uid})
        assert resp.status_code == 201
        verify_receipt(resp.json["receipt"], _public_key(world.app), sealed=__import__("io").BytesIO(data))
        with world.app.app_context():
            storage = get_storage()
            key = f"{tender['id']}/{uid}.age"
            assert b"".join(storage.get(SEALED_BIDS, key)) == data
            assert storage.stat(SEALED_BIDS, key).sha256 == hashlib.sha256(data).hexdigest()
            staging = storage.bucket_name(STAGING)  # type: ignore[attr-defined]
            client = storage._client  # type: ignore[attr-defined]
            assert not [o.object_name for o in client.list_objects(staging, prefix="assembly-")]

    def test_an_expired_upload_aborts_its_multipart_upload(self, world, clock) -> None:
        _expiry_aborts_the_assembly(world, clock)


def test_a_first_chunk_arriving_a_few_bytes_at_a_time_is_checked_and_stored_whole(world, clock) -> None:
    from app.accounts.models import User
    from app.extensions import db
    from app.tendering import services_bids

    class Trickle:  # a slow line: every read returns at most 7 bytes
        def __init__(self, data: bytes) -> None:
            self.data, self.pos = data, 0

        def read(self, n: int = -1) -> bytes:
            out = self.data[self.pos : self.pos + min(7, len(self.data) if n < 0 else n)]
            self.pos += len(out)
            return out

    tender = create_published(world)
    data = _sealed(tender)
    api = world.bidders[0].api
    uid = api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)}).json["id"]
    with world.app.app_context():
        user = db.session.get(User, world.bidders[0].user_id)
        with services_bids.upload_writer(uid):
            stored = services_bids.receive_chunk(
                actor=user, upload_id=uid, start=0, end=len(data) - 1, total=len(data), stream=Trickle(data)
            )
            db.session.commit()
        assert stored.received == len(data)
    assert api.post(f"/api/v1/uploads/{uid}/complete").json["sha256"] == hashlib.sha256(data).hexdigest()
