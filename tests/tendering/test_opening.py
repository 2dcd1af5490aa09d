"""Slice (c): the opening sweep, custody release, decryption of each stage, the opening record, 流标."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from app.core.keys import platform_public_keys
from crypto.age import X25519Identity, encrypt_bytes, parse_header, unwrap_file_key
from crypto.receipt import verify_receipt
from crypto.signing import load_public_key, verify_document
from tests import stages
from tests.core.conftest import s3_session_url  # noqa: F401 - fixture
from tests.integration.s3 import s3_url  # noqa: F401 - fixture
from tests.services import unavailable
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import (
    World,
    audit_actions,
    build_world,
    create_published,
    database_bytes,
    envelope_plaintext,
    form,
    iso,
    run_task,
    seal,
    storage_bytes,
    submit,
    upload,
)

ROOT = Path(__file__).resolve().parents[2]


def run_sweep(app) -> Any:
    """What the beat does every 15 seconds: the opening sweep, committed."""
    from app.tendering.tasks import open_due

    return run_task(app, open_due)


def soon(world: World, clock, seconds: int = 5, **overrides: Any) -> dict:
    at = clock.now() + timedelta(seconds=seconds)
    return create_published(world, submission_deadline_at=iso(at), opening_at=iso(at), **overrides)


def records(world: World, tender_id: int, party=None) -> Any:
    return (party or world.agency).api.get(f"/api/v1/tenders/{tender_id}/opening-records")


def tar_with_tar_command(tmp_path: Path, form_data: dict, marker: str) -> bytes:
    src = tmp_path / "bid-src"
    (src / "files").mkdir(parents=True)
    (src / "form.json").write_text(json.dumps(form_data, ensure_ascii=False), encoding="utf-8")
    (src / "files" / "技术方案.txt").write_text(f"施工组织设计 {marker}", encoding="utf-8")
    out = subprocess.run(["tar", "-C", str(src), "-cf", "-", "form.json", "files"], capture_output=True, check=True)
    return out.stdout


def seal_with_age_cli(plaintext: bytes, recipient: str) -> bytes:
    age = shutil.which("age") or "/usr/bin/age"
    if not Path(age).exists():
        unavailable("age CLI", "/usr/bin/age is not installed")
    return subprocess.run([age, "-r", recipient], input=plaintext, capture_output=True, check=True).stdout


# ------------------------------------------------------------------ sealed bids, receipts, the opening and its record
# Two stages, each built once per test process and restored for every test that starts there (tests/stages.py):
# four sealed bids submitted (one sealed by the age command line from a tar made by the tar command, one armored,
# one with a price that is not a number), and the same tender opened by the sweep.


@dataclass
class SealedBids:
    world: World
    tid: int
    markers: list[str]  # a marker in each bid's plaintext
    forms: list[dict[str, Any]]
    sealed: list[bytes]  # the sealed files, in bidder order
    receipts: list[dict[str, Any]]


def submit_four_sealed_bids(app: Any, clock: Any) -> SealedBids:
    world = build_world(app)
    tender = soon(world, clock)
    tid, recipient = tender["id"], tender["recipient"]
    markers = [f"PLAINTEXT-MARKER-{i}-{tid}" for i in range(4)]
    forms = [form(1_200_000, 120), form(1_180_000, 100), form(1_250_000, 90), {"price": "一百万", "currency": "CNY"}]
    workdir = Path(tempfile.mkdtemp(prefix="opening-"))
    try:
        sealed = [
            seal_with_age_cli(tar_with_tar_command(workdir, forms[0], markers[0]), recipient),
            seal(envelope_plaintext(forms[1], {"方案.txt": markers[1].encode()}), recipient),
            encrypt_bytes(
                envelope_plaintext(forms[2], {"方案.txt": markers[2].encode()}), [parse(recipient)], armor=True
            ),
            seal(envelope_plaintext(forms[3], {"方案.txt": markers[3].encode()}), recipient),
        ]
    finally:
        shutil.rmtree(workdir)
    receipts = []
    for bidder, data in zip(world.bidders, sealed, strict=True):
        resp = submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data, chunk=1000)})
        assert resp.status_code == 201, resp.json
        receipts.append(resp.json["receipt"])
    return SealedBids(world, tid, markers, forms, sealed, receipts)


def open_at_the_opening_time(s: SealedBids, clock: Any) -> SealedBids:
    clock.advance(timedelta(seconds=5))
    assert run_sweep(s.world.app) == {"started": 1, "records": 1}
    return s


OPENING = stages.chain("opening", {"sealed_bids": submit_four_sealed_bids, "opened": open_at_the_opening_time})


@pytest.fixture
def sealed_bids(app: Any, clock: Any) -> SealedBids:
    return OPENING(app, clock, "sealed_bids")


@pytest.fixture
def opened(app: Any, clock: Any) -> SealedBids:
    return OPENING(app, clock, "opened")


def opening_record(s: SealedBids) -> dict[str, Any]:
    """The opening record's signed payload, verified with the platform's key."""
    docs = records(s.world, s.tid).json
    assert len(docs) == 1
    return dict(verify_document(docs[0], platform_key(s)))


def platform_key(s: SealedBids) -> Any:
    with s.world.app.app_context():
        return load_public_key(platform_public_keys()[0]["public_key"])


def test_each_receipt_verifies_offline_with_the_platform_key_and_the_sealed_file(sealed_bids, tmp_path) -> None:
    with sealed_bids.world.app.app_context():
        (tmp_path / "platform.pem").write_text(platform_public_keys()[0]["public_key_pem"])
    for i, (receipt, data) in enumerate(zip(sealed_bids.receipts, sealed_bids.sealed, strict=True)):
        (tmp_path / f"r{i}.json").write_text(json.dumps(receipt))
        (tmp_path / f"b{i}.age").write_bytes(data)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "crypto",
                "verify-receipt",
                str(tmp_path / f"r{i}.json"),
                "--key",
                str(tmp_path / "platform.pem"),
                "--file",
                str(tmp_path / f"b{i}.age"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr


def test_no_plaintext_of_any_bid_is_anywhere_on_the_platform_before_the_opening(sealed_bids) -> None:
    stored = database_bytes(sealed_bids.world.app) + storage_bytes(sealed_bids.world.app)
    for marker in sealed_bids.markers:
        assert marker.encode() not in stored
    assert b"1180000" not in stored and "一百万".encode() not in stored


def test_an_upload_in_flight_at_the_deadline_is_refused_and_logged(sealed_bids, clock) -> None:
    from tests.tendering.helpers import put_chunk

    late, data = sealed_bids.world.bidders[1].api, sealed_bids.sealed[1]
    late_upload = late.post(f"/api/v1/tenders/{sealed_bids.tid}/uploads", {"envelope": "bid", "size": len(data)})
    clock.advance(timedelta(seconds=5))
    refused = put_chunk(late, late_upload.json["id"], 0, data, len(data))
    assert refused.status_code == 409
    assert [e for e in audit_actions(sealed_bids.world.app) if e[0] == "tendering.bid.refused"]


def test_the_sweep_opens_the_tender_once_its_opening_time_has_come(sealed_bids, clock) -> None:
    world = sealed_bids.world
    clock.advance(timedelta(seconds=5))
    assert run_sweep(world.app) == {"started": 1, "records": 1}
    assert run_sweep(world.app) == {"started": 0, "records": 0}  # idempotent
    assert world.anonymous.get(f"/api/v1/tenders/{sealed_bids.tid}").json["status"] == "opened"


def test_the_signed_record_counts_three_valid_bids_against_a_minimum_of_three(opened) -> None:
    payload = opening_record(opened)
    assert payload["result"] == "opened" and payload["valid_bids"] == 3 and payload["min_bids"] == 3


def test_the_record_links_each_valid_bid_to_its_form_its_receipt_and_its_batch_entry(opened) -> None:
    key, world = platform_key(opened), opened.world
    by_org = {b["bidder"]["organisation_id"]: b for b in opening_record(opened)["bids"]}
    for bidder, expected, receipt in zip(world.bidders[:3], opened.forms[:3], opened.receipts[:3], strict=True):
        row = by_org[bidder.org_id]
        assert row["outcome"] == "valid" and row["form"] == expected
        # the record links each bid to its batch entry and leaf, which its receipt's proof (verified) names too
        mine = bidder.api.get(f"/api/v1/tenders/{opened.tid}/bid").json["versions"][-1]
        assert row["bid_id"] == receipt["payload"]["bid"]["id"] == mine["receipt"]["payload"]["bid"]["id"]
        inclusion = verify_receipt(receipt, key, proof=mine["proof"]).inclusion
        assert inclusion is not None
        assert (row["receipt"]["log_index"], row["receipt"]["leaf_index"]) == (
            inclusion.log_index,
            inclusion.leaf_index,
        )
        assert row["receipt"]["commitment"] == receipt["payload"]["commitment"]
        assert row["envelopes"][0]["sha256"] == receipt["payload"]["envelopes"][0]["sha256"]


def test_a_bid_whose_price_is_not_a_number_is_revoked_with_the_cause(opened) -> None:
    by_org = {b["bidder"]["organisation_id"]: b for b in opening_record(opened)["bids"]}
    invalid = by_org[opened.world.bidders[3].org_id]
    assert invalid["outcome"] == "revoked" and "price" in invalid["cause"] and invalid["form"] is None


def test_the_record_lists_the_files_of_a_bid_packed_by_the_tar_command(opened) -> None:
    by_org = {b["bidder"]["organisation_id"]: b for b in opening_record(opened)["bids"]}
    assert by_org[opened.world.bidders[0].org_id]["envelopes"][0]["files"] == [
        {"name": "技术方案.txt", "size": len(f"施工组织设计 {opened.markers[0]}".encode())}
    ]


def test_after_the_opening_the_plaintext_is_in_the_opened_bids_bucket(opened) -> None:
    stored = storage_bytes(opened.world.app)  # the search of the test before the opening could see it there
    assert all(m.encode() in stored for m in opened.markers)


def test_participants_and_overseers_read_the_record_and_another_agency_is_refused(opened) -> None:
    world, tid = opened.world, opened.tid
    assert records(world, tid, world.bidders[0]).status_code == 200
    assert records(world, tid, world.auditor).status_code == 200
    assert records(world, tid, world.other_agency).status_code == 403


def test_the_agency_lists_every_bid_after_the_opening(opened) -> None:
    listed = opened.world.agency.api.get(f"/api/v1/tenders/{opened.tid}/bids")
    assert listed.status_code == 200 and len(listed.json) == 4


def test_the_opening_and_the_one_release_of_custody_are_logged(opened) -> None:
    actions = [a for a, *_ in audit_actions(opened.world.app)]
    assert actions.count("tendering.custody.released") == 1
    assert "tendering.opening.started" in actions and "tendering.opening.record_published" in actions


def parse(recipient: str) -> Any:
    from crypto.age import X25519Recipient

    return X25519Recipient.parse(recipient)


def pdf_objects(pdf: bytes) -> bytes:
    """The PDF with its compressed streams inflated (font names live in compressed object streams)."""
    import re
    import zlib

    out = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        with contextlib.suppress(zlib.error):
            out.append(zlib.decompress(match.group(1)))
    return b"".join(out)


def test_the_opening_record_pdf_renders_chinese(world, clock) -> None:
    tender = soon(world, clock, min_bids=1)
    bidder = world.bidders[0]
    submit(
        bidder.api,
        tender["id"],
        {"bid": upload(bidder.api, tender["id"], "bid", seal(envelope_plaintext(form(1)), tender["recipient"]))},
    )
    clock.advance(timedelta(seconds=5))
    run_sweep(world.app)
    resp = bidder.api.get(f"/api/v1/tenders/{tender['id']}/opening-records/1.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF")
    assert b"Noto-Sans-CJK-SC" in pdf_objects(resp.data)  # the Chinese text is set in the embedded CJK font
    out = subprocess.run(["pdftotext", "-", "-"], input=resp.data, capture_output=True, check=True).stdout.decode()
    text = "".join(out.split())  # table cells wrap: compare without white space
    # the bid form by its field titles, amounts in 元 with their capital form
    assert "投标报价" in text and "工期（日历天）" in text and "0.01元（壹分）" in text
    assert "price:" not in text and "duration_days" not in text
    # the currency and the envelopes by name, not by code: 人民币（元）, 投标文件 (the envelope named bid)
    assert "币种:人民币（元）" in text and "CNY" not in text
    assert "（投标文件）" in text and "投标文件：" in text and "bid:" not in text
    assert "1,500,000.00元" in text and "壹佰伍拾万元整" in text  # the budget
    # every instant in the center's zone with the zone named, none as the signed document's UTC text
    assert "(Asia/Shanghai,UTC+08:00)" in text and not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text)
    assert bidder.api.get(f"/api/v1/tenders/{tender['id']}/opening-records/2.pdf").status_code == 404


def test_bid_form_rows_use_the_schema_titles() -> None:
    from app.tendering.terms import DEFAULT_BID_FORM, bid_form_rows

    schema = {**DEFAULT_BID_FORM, "properties": {**DEFAULT_BID_FORM["properties"], "note": {"type": "string"}}}
    rows = bid_form_rows(schema, {"extra": 1, "note": "x", "duration_days": 30, "price": 500, "currency": "CNY"})
    assert [(r["key"], r["label"], r["money"]) for r in rows] == [
        ("price", "投标报价", True),  # the unit '（分）' goes: the value is shown in 元
        ("currency", "币种", False),
        ("duration_days", "工期（日历天）", False),
        ("note", None, False),  # no title: the page shows the key
        ("extra", None, False),  # not in the schema
    ]
    assert bid_form_rows(schema, {"price": "一百万"})[0]["money"] is False
    assert bid_form_rows(None, None) == [] and bid_form_rows("x", {"a": 1})[0]["label"] is None


def test_custody_is_time_locked_until_the_opening(world, clock) -> None:
    from app.core.errors import Conflict
    from app.extensions import db
    from app.tendering.custody import release_timed_shares
    from app.tendering.models import Tender

    tender = soon(world, clock)
    assert run_sweep(world.app) == {"started": 0, "records": 0}
    with world.app.app_context():
        row = db.session.get(Tender, tender["id"])
        with pytest.raises(Conflict):
            release_timed_shares(row)
        clock.advance(timedelta(seconds=5))
        assert len(release_timed_shares(row)) == 1
        db.session.rollback()
    assert "tendering.custody.released" not in [a for a, *_ in audit_actions(world.app)]


def test_a_failing_bid_never_blocks_the_others_and_too_few_valid_bids_fail_the_tender(world, clock) -> None:
    tender = soon(world, clock, min_bids=3)
    tid = tender["id"]
    stranger = X25519Identity.generate()
    datas = [
        seal(envelope_plaintext(form(100)), tender["recipient"]),
        seal(envelope_plaintext(form(200)), str(stranger.recipient)),  # not sealed to the tender's key
        seal(b"not a tar archive at all" * 50, tender["recipient"]),
    ]
    for bidder, data in zip(world.bidders, datas, strict=False):
        assert submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data)}).status_code == 201
    clock.advance(timedelta(seconds=5))
    run_sweep(world.app)
    # the bid sealed to someone else waits for a revealed file key until the window closes
    assert world.anonymous.get(f"/api/v1/tenders/{tid}").json["status"] == "opening"
    assert records(world, tid).json == []
    clock.advance(timedelta(minutes=10))
    run_sweep(world.app)
    state = world.anonymous.get(f"/api/v1/tenders/{tid}").json
    assert state["status"] == "failed" and "流标" in state["failure_reason"]
    payload = records(world, tid).json[0]["payload"]
    outcomes = {b["bidder"]["organisation_id"]: (b["outcome"], b["cause"]) for b in payload["bids"]}
    assert outcomes[world.bidders[0].org_id] == ("valid", None)
    assert (
        outcomes[world.bidders[1].org_id][0] == "revoked"
        and "not sealed to the tender" in outcomes[world.bidders[1].org_id][1]
    )
    assert (
        outcomes[world.bidders[2].org_id][0] == "revoked"
        and "not a valid bid archive" in outcomes[world.bidders[2].org_id][1]
    )
    assert payload["result"] == "failed" and "tendering.tender.failed" in [a for a, *_ in audit_actions(world.app)]


def _three_bids(world: World, clock) -> tuple[int, dict[int, bytes]]:
    """A tender with three bids (prices 100, 101, 102) whose opening time has come: (tender id, plaintexts)."""
    tender = soon(world, clock, min_bids=3)
    tid = tender["id"]
    plaintexts = {}
    for i, bidder in enumerate(world.bidders[:3]):
        plaintexts[bidder.org_id] = envelope_plaintext(form(100 + i), {"方案.txt": f"方案 {i}".encode()})
        data = seal(plaintexts[bidder.org_id], tender["recipient"])
        assert submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data)}).status_code == 201
    clock.advance(timedelta(seconds=5))
    return tid, plaintexts


def _envelope_rows(app, tender_id: int) -> dict[int, tuple[str, Any, str | None]]:
    """bid id -> (outcome, opened_at, plaintext_sha256) of each bid's envelope, as committed."""
    from sqlalchemy import select

    from app.extensions import db
    from app.tendering.models import Bid, BidEnvelope, BidVersion

    with app.app_context():
        rows = db.session.execute(
            select(Bid.id, BidEnvelope.outcome, BidEnvelope.opened_at, BidEnvelope.plaintext_sha256)
            .join(BidVersion, BidVersion.bid_id == Bid.id)
            .join(BidEnvelope, BidEnvelope.version_id == BidVersion.id)
            .where(Bid.tender_id == tender_id)
        ).all()
        db.session.rollback()
    return {bid_id: (outcome.value, opened_at, sha) for bid_id, outcome, opened_at, sha in rows}


def _assert_opened_exactly_as_sealed(world: World, tid: int, plaintexts: dict[int, bytes]) -> None:
    payload = records(world, tid).json[0]["payload"]
    assert payload["result"] == "opened"
    for row in payload["bids"]:
        plaintext = plaintexts[row["bidder"]["organisation_id"]]
        assert row["outcome"] == "valid"
        assert row["envelopes"][0]["plaintext_sha256"] == hashlib.sha256(plaintext).hexdigest()
    assert sorted(b["form"]["price"] for b in payload["bids"]) == [100, 101, 102]


def test_a_worker_killed_between_two_bids_reuses_what_it_committed(world, clock, monkeypatch) -> None:
    from app.tendering import opening

    tid, plaintexts = _three_bids(world, clock)
    real = opening._read_contents
    calls = {"n": 0}

    def dies_on_the_second(job) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed")
        return real(job)

    monkeypatch.setattr(opening, "_read_contents", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(world.app)
    # Killed while reading the second bid: the opening's start and the first bid's outcome were committed, each
    # in its own transaction; the second bid's plaintext is in the quarantine, its outcome is not recorded.
    assert world.anonymous.get(f"/api/v1/tenders/{tid}").json["status"] == "opening"
    before = _envelope_rows(world.app, tid)
    first = [bid for bid, (outcome, _at, _sha) in before.items() if outcome == "opened"]
    assert len(first) == 1 and sorted(o for o, _a, _s in before.values()) == ["opened", "sealed", "sealed"]
    assert records(world, tid).json == []

    decrypted: list[str] = []
    real_decrypt = opening.decrypt_into_storage

    def counting(run, src, bucket, key) -> Any:
        decrypted.append(key)
        return real_decrypt(run, src, bucket, key)

    monkeypatch.setattr(opening, "_read_contents", real)
    monkeypatch.setattr(opening, "decrypt_into_storage", counting)
    clock.advance(timedelta(seconds=15))
    assert run_sweep(world.app) == {"started": 0, "records": 1}
    # Only the third bid was decrypted again: the first bid's committed outcome stands as it was, the second
    # bid's stored plaintext was reused (never decrypted twice into two results).
    assert len(decrypted) == 1
    after = _envelope_rows(world.app, tid)
    assert after[first[0]] == before[first[0]]
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)
    assert run_sweep(world.app) == {"started": 0, "records": 0}


def _sealed_objects(app, tender_id: int) -> dict[int, str]:
    """organisation id -> the storage key of its bid's sealed envelope."""
    from sqlalchemy import select

    from app.extensions import db
    from app.tendering.models import Bid, BidEnvelope, BidVersion

    with app.app_context():
        rows = db.session.execute(
            select(Bid.organisation_id, BidEnvelope.object_key)
            .join(BidVersion, BidVersion.bid_id == Bid.id)
            .join(BidEnvelope, BidEnvelope.version_id == BidVersion.id)
            .where(Bid.tender_id == tender_id)
        ).all()
        db.session.rollback()
    return {int(org): str(key) for org, key in rows}


@pytest.mark.parametrize("change", ["garbled", "swapped"])
def test_a_sealed_file_changed_in_storage_after_its_receipt_is_not_opened(world, clock, change) -> None:
    """Garbled (it no longer decrypts) or swapped for another valid file sealed to the same key (it decrypts):
    either way the file is not the receipted one, which is no fault of the bidder, and nothing is opened."""
    from app.core.storage import OPENED_BIDS, SEALED_BIDS, get_storage

    tid, _plaintexts = _three_bids(world, clock)
    keys = _sealed_objects(world.app, tid)
    victim, other = world.bidders[2].org_id, world.bidders[1].org_id
    with world.app.app_context():
        storage = get_storage()
        with storage.open(SEALED_BIDS, keys[victim if change == "garbled" else other]) as fh:
            data = fh.read()
        if change == "garbled":
            data = data[:-20] + bytes(b ^ 0xFF for b in data[-20:])  # same length, last chunk broken
        path = storage.data_path(SEALED_BIDS, keys[victim])  # changed behind the platform's back
        path.chmod(0o600)
        path.write_bytes(data)
    run_sweep(world.app)
    payload = records(world, tid).json[0]["payload"]
    rows = {b["bidder"]["organisation_id"]: b for b in payload["bids"]}
    assert rows[victim]["outcome"] == "withdrawn"  # not the bidder's fault: not revoked
    assert "the stored file differs from the receipted one" in rows[victim]["cause"]
    assert rows[victim]["envelopes"][0]["plaintext_sha256"] is None
    assert [rows[b.org_id]["outcome"] for b in world.bidders[:2]] == ["valid", "valid"]
    with world.app.app_context():  # no plaintext of it is left in the quarantine (keyed by the internal bid id)
        from sqlalchemy import select

        from app.extensions import db
        from app.tendering.models import Bid

        internal = dict(db.session.execute(select(Bid.organisation_id, Bid.id).where(Bid.tender_id == tid)).all())
        assert not get_storage().exists(OPENED_BIDS, f"{tid}/{internal[victim]}/1/bid.tar")
        assert get_storage().exists(OPENED_BIDS, f"{tid}/{internal[other]}/1/bid.tar")


@pytest.mark.parametrize("kill_in", ["start_opening", "plan_stage", "record_outcome", "finish_stage"])
def test_a_worker_killed_at_any_step_finishes_with_the_same_result(world, clock, monkeypatch, kill_in) -> None:
    from app.tendering import opening

    tid, plaintexts = _three_bids(world, clock)
    real = getattr(opening, kill_in)
    calls = {"n": 0}

    def dies(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == (2 if kill_in == "record_outcome" else 1):
            raise KeyboardInterrupt("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(opening, kill_in, dies)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(world.app)
    monkeypatch.setattr(opening, kill_in, real)
    result = run_sweep(world.app)
    assert result["records"] == 1
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)
    actions = [a for a, *_ in audit_actions(world.app)]
    assert actions.count("tendering.opening.started") == 1 and actions.count("tendering.custody.released") == 1
    assert actions.count("tendering.opening.record_published") == 1


def test_the_spool_keeps_no_plaintext_and_loses_what_a_killed_process_left(world, clock) -> None:
    """Each plaintext is decrypted into a file under instance/tmp and handed over to the store (moved into the
    folder here); a spool file a killed process left behind goes an hour later, a live one stays."""
    import os
    import time

    from app.tendering.decryption import SPOOL_PREFIX, STALE_SPOOL_SECONDS, spool_dir

    tid, plaintexts = _three_bids(world, clock)
    with world.app.app_context():
        folder = spool_dir()
    folder.mkdir(parents=True, exist_ok=True)
    left, live = folder / f"{SPOOL_PREFIX}left", folder / f"{SPOOL_PREFIX}live"
    left.write_bytes(b"a plaintext a killed worker left")
    live.write_bytes(b"another process is decrypting this one")
    old = time.time() - STALE_SPOOL_SECONDS - 60
    os.utime(left, (old, old))
    assert run_sweep(world.app) == {"started": 1, "records": 1}
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)
    assert sorted(p.name for p in folder.iterdir()) == [live.name]


def test_no_transaction_is_open_while_an_envelope_decrypts(world, clock, monkeypatch) -> None:
    """On SQLite an open transaction holds the single write lock: another writer must get it during decryption."""
    import sqlite3

    from app.extensions import db
    from app.tendering import opening

    tid, plaintexts = _three_bids(world, clock)
    real_decrypt = opening.decrypt_into_storage
    seen: list[bool] = []

    def checking(run, src, bucket, key) -> Any:
        seen.append(db.session().in_transaction())
        if db.engine.dialect.name == "sqlite":
            other = sqlite3.connect(db.engine.url.database or "", timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # raises 'database is locked' if the sweep held the lock
                other.execute("ROLLBACK")
            finally:
                other.close()
        return real_decrypt(run, src, bucket, key)

    monkeypatch.setattr(opening, "decrypt_into_storage", checking)
    assert run_sweep(world.app) == {"started": 1, "records": 1}
    assert seen == [False, False, False]
    _assert_opened_exactly_as_sealed(world, tid, plaintexts)


def test_committee_custody_opens_only_with_k_shares(world, clock) -> None:
    ids = [p.user_id for p in world.custodians]
    tender = soon(
        world,
        clock,
        min_bids=1,
        custody_mode="committee",
        custodian_ids=ids,
        custody_threshold=2,
        platform_holds_share=False,
    )
    tid = tender["id"]
    shares = [c.api.post(f"/api/v1/tenders/{tid}/custody/share").json["share"] for c in world.custodians]
    bidder = world.bidders[0]
    submit(
        bidder.api,
        tid,
        {"bid": upload(bidder.api, tid, "bid", seal(envelope_plaintext(form(777)), tender["recipient"]))},
    )
    # before the opening no share is accepted
    assert (
        world.custodians[0].api.post(f"/api/v1/tenders/{tid}/custody/shares", {"share": shares[0]}).status_code == 409
    )
    clock.advance(timedelta(seconds=5))
    run_sweep(world.app)
    assert world.anonymous.get(f"/api/v1/tenders/{tid}").json["status"] == "opening"
    assert records(world, tid).json == []  # no shares: nothing opened
    first = world.custodians[0].api.post(f"/api/v1/tenders/{tid}/custody/shares", {"share": shares[0]})
    assert first.status_code == 200 and first.json == {"present": 1, "threshold": 2}
    # a custodian presenting someone else's share, or a mistyped one, gets a clear error and changes nothing
    wrong = world.custodians[1].api.post(f"/api/v1/tenders/{tid}/custody/shares", {"share": shares[2]})
    assert wrong.status_code == 422 and "not the share issued to you" in wrong.json["detail"]
    typo = shares[1][:-12] + ("A" if shares[1][-12] != "A" else "B") + shares[1][-11:]
    mistyped = world.custodians[1].api.post(f"/api/v1/tenders/{tid}/custody/shares", {"share": typo})
    assert mistyped.status_code == 422 and "checksum" in mistyped.json["detail"]
    run_sweep(world.app)
    assert records(world, tid).json == []  # one share of two: still nothing opened
    second = world.custodians[1].api.post(f"/api/v1/tenders/{tid}/custody/shares", {"share": shares[1]})
    assert second.json == {"present": 2, "threshold": 2}
    run_sweep(world.app)
    payload = records(world, tid).json[0]["payload"]
    assert payload["bids"][0]["form"]["price"] == 777 and payload["result"] == "opened"
    assert world.bidders[1].api.post(f"/api/v1/tenders/{tid}/custody/shares", {"share": shares[2]}).status_code == 403


def test_bidder_self_decryption_with_a_revealed_file_key(world, clock) -> None:
    tender = soon(world, clock, min_bids=1)
    tid = tender["id"]
    own = X25519Identity.generate()
    data = seal(envelope_plaintext(form(4242)), str(own.recipient))  # sealed to the bidder alone
    bidder = world.bidders[0]
    submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data)})
    file_key = unwrap_file_key(parse_header(io.BytesIO(data)), [own])
    too_early = bidder.api.post(f"/api/v1/tenders/{tid}/bid/file-keys", {"envelope": "bid", "file_key": file_key.hex()})
    assert too_early.status_code == 409
    clock.advance(timedelta(seconds=5))
    run_sweep(world.app)
    assert records(world, tid).json == []
    wrong = bidder.api.post(f"/api/v1/tenders/{tid}/bid/file-keys", {"envelope": "bid", "file_key": "00" * 16})
    assert wrong.status_code == 422
    ok = bidder.api.post(f"/api/v1/tenders/{tid}/bid/file-keys", {"envelope": "bid", "file_key": file_key.hex()})
    assert ok.status_code == 200, ok.json
    assert (
        world.bidders[1]
        .api.post(f"/api/v1/tenders/{tid}/bid/file-keys", {"envelope": "bid", "file_key": file_key.hex()})
        .status_code
        == 404
    )
    run_sweep(world.app)
    payload = records(world, tid).json[0]["payload"]
    assert payload["bids"][0]["form"]["price"] == 4242
    assert payload["bids"][0]["envelopes"][0]["opened_with"] == "file-key"


def test_two_stage_opening_keeps_price_envelopes_sealed_until_their_stage(world, clock) -> None:
    envelopes = [{"name": "technical", "stage": 1}, {"name": "price", "stage": 2, "form": True}]
    tender = soon(world, clock, min_bids=2, envelopes=envelopes)
    tid, recipient = tender["id"], tender["recipient"]
    bid_ids = {}
    for i, bidder in enumerate(world.bidders[:3]):
        tech = seal(envelope_plaintext(None, {"技术标.txt": f"TECH-{i}".encode()}), recipient)
        price = seal(envelope_plaintext(form(500 + i)), recipient)
        resp = submit(
            bidder.api,
            tid,
            {"technical": upload(bidder.api, tid, "technical", tech), "price": upload(bidder.api, tid, "price", price)},
        )
        assert resp.status_code == 201, resp.json
        bid_ids[i] = resp.json["receipt"]["payload"]["bid"]["id"]
    clock.advance(timedelta(seconds=5))
    run_sweep(world.app)
    stage1 = records(world, tid).json[0]["payload"]
    assert stage1["stage"] == 1 and stage1["result"] == "next-stage"
    assert all(b["form"] is None and [e["name"] for e in b["envelopes"]] == ["technical"] for b in stage1["bids"])
    opened = storage_bytes(world.app)
    assert b"TECH-0" in opened and b'"price": 500' not in opened and b'"price":500' not in opened
    assert (
        world.bidders[0].api.get(f"/api/v1/tenders/{tid}/bid").json["versions"][0]["envelopes"][1]["outcome"]
        == "sealed"
    )

    resp = world.agency.api.post(
        f"/api/v1/tenders/{tid}/stages/advance", {"eliminated": [bid_ids[2]], "reason": "技术标不满足要求"}
    )
    assert resp.status_code == 200 and resp.json["current_stage"] == 2
    run_sweep(world.app)
    docs = records(world, tid).json
    stage2 = docs[1]["payload"]
    prices = {b["bid_id"]: (b["outcome"], b["form"]["price"] if b["form"] else None) for b in stage2["bids"]}
    assert prices[bid_ids[0]] == ("valid", 500) and prices[bid_ids[1]] == ("valid", 501)
    assert prices[bid_ids[2]] == ("eliminated", None)
    assert stage2["result"] == "opened"
    eliminated = world.bidders[2].api.get(f"/api/v1/tenders/{tid}/bid").json["versions"][0]["envelopes"]
    assert [e["outcome"] for e in eliminated] == ["opened", "sealed"]  # its price was never opened
    assert b'"price": 502' not in storage_bytes(world.app)
    assert world.agency.api.post(f"/api/v1/tenders/{tid}/stages/advance", {}).status_code == 409


def test_release_happens_once_and_the_rebuilt_key_is_checked(world, clock) -> None:
    from app.extensions import db
    from app.tendering.custody import rebuild_identity
    from app.tendering.models import Tender

    tender = soon(world, clock)
    clock.advance(timedelta(seconds=5))
    with world.app.app_context():
        row = db.session.get(Tender, tender["id"])
        identity = rebuild_identity(row)
        assert str(identity.recipient) == tender["recipient"]
        rebuild_identity(row)
        db.session.commit()
    assert [a for a, *_ in audit_actions(world.app)].count("tendering.custody.released") == 1


class TestOnS3:
    """The opening against a real S3 server: each plaintext is decrypted into a local spool file and uploaded once,
    straight to its key in the quarantine with its SHA-256, never through the staging bucket and a copy."""

    @pytest.fixture
    def app_config(self, s3_session_url: str) -> dict:  # noqa: F811 - the fixture imported above
        # Buckets of their own: plaintext keys repeat from test to test (tender 1, bid 1), and a plaintext found
        # under its key is reused by the opening rather than decrypted again.
        parts = urlsplit(s3_session_url)
        url = urlunsplit(parts._replace(path="/o" + secrets.token_hex(5)))
        return {**TENDERING_CONFIG, "STORAGE_URL": url}

    @staticmethod
    def _no_staging_from_now_on(monkeypatch) -> None:
        from app.core.storage import MinioStorage

        def refuse(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("a plaintext went through the staging bucket")

        monkeypatch.setattr(MinioStorage, "_put_staged", refuse)
        monkeypatch.setattr(MinioStorage, "_copy_from_staging", refuse)

    def test_plaintexts_go_straight_to_the_quarantine(self, world, clock, monkeypatch) -> None:
        from app.core.storage import OPENED_BIDS, STAGING, get_storage
        from app.tendering.decryption import SPOOL_PREFIX, spool_dir

        tender = soon(world, clock, min_bids=2)
        tid = tender["id"]
        plaintexts = {}
        sizes = {world.bidders[0].org_id: 1000, world.bidders[1].org_id: 6 * 1024 * 1024}  # one PUT; multipart
        for i, bidder in enumerate(world.bidders[:2]):
            files = {"方案.bin": os.urandom(sizes[bidder.org_id])}
            plaintexts[bidder.org_id] = envelope_plaintext(form(100 + i), files)
            data = seal(plaintexts[bidder.org_id], tender["recipient"])
            uid = upload(bidder.api, tid, "bid", data, chunk=5 * 1024 * 1024)
            assert submit(bidder.api, tid, {"bid": uid}).status_code == 201
        clock.advance(timedelta(seconds=5))
        self._no_staging_from_now_on(monkeypatch)
        assert run_sweep(world.app) == {"started": 1, "records": 1}
        payload = records(world, tid).json[0]["payload"]
        assert payload["result"] == "opened"
        with world.app.app_context():
            storage: Any = get_storage()
            stored = {o.key: o for o in storage.list(OPENED_BIDS, prefix=f"{tid}/")}
            for row in payload["bids"]:
                plaintext = plaintexts[row["bidder"]["organisation_id"]]
                sha = hashlib.sha256(plaintext).hexdigest()
                assert row["outcome"] == "valid" and row["envelopes"][0]["plaintext_sha256"] == sha
                (key,) = [k for k, o in stored.items() if o.sha256 == sha]
                raw = storage._client.stat_object(storage.bucket_name(OPENED_BIDS), key)
                assert raw.metadata["x-amz-meta-sha256"] == sha and raw.size == len(plaintext)
                assert b"".join(storage.get(OPENED_BIDS, key)) == plaintext
            assert len(stored) == 2
            staging = storage.bucket_name(STAGING)
            assert [o.object_name for o in storage._client.list_objects(staging, recursive=True)] == []
            assert list(spool_dir().glob(f"{SPOOL_PREFIX}*")) == []  # the spool files went with their uploads

    def test_an_envelope_that_does_not_decrypt_sends_nothing(self, world, clock, monkeypatch) -> None:
        from app.core.storage import OPENED_BIDS, MinioStorage, get_storage

        tender = soon(world, clock, min_bids=1)
        tid = tender["id"]
        good = seal(envelope_plaintext(form(100)), tender["recipient"])
        damaged = bytearray(seal(envelope_plaintext(form(200), {"a.bin": b"x" * 200_000}), tender["recipient"]))
        damaged[-100] ^= 1  # the last chunk no longer authenticates
        for bidder, data in zip(world.bidders, (good, bytes(damaged)), strict=False):
            assert submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data)}).status_code == 201
        clock.advance(timedelta(seconds=5))
        self._no_staging_from_now_on(monkeypatch)
        puts: list[str] = []
        real_put = MinioStorage.put
        monkeypatch.setattr(
            MinioStorage, "put", lambda self, b, k, *a, **kw: puts.append(k) or real_put(self, b, k, *a, **kw)
        )
        assert run_sweep(world.app) == {"started": 1, "records": 1}
        outcomes = {b["bidder"]["organisation_id"]: b for b in records(world, tid).json[0]["payload"]["bids"]}
        assert outcomes[world.bidders[0].org_id]["outcome"] == "valid"
        assert outcomes[world.bidders[1].org_id]["outcome"] == "revoked"
        assert "does not decrypt" in outcomes[world.bidders[1].org_id]["cause"]
        assert len(puts) == 1  # only the good plaintext was sent
        with world.app.app_context():
            assert [o.key for o in get_storage().list(OPENED_BIDS, prefix=f"{tid}/")] == puts
