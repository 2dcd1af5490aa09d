"""`python -m crypto verify-document`: the kind recognised from the file, exit status 0/1/2, text and JSON output.

Documents here are built with the crypto package alone; the platform's own documents (and one changed byte in each)
are checked in tests/evaluation/test_verify_document.py and tests/recordings/test_export.py.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from crypto.__main__ import main
from crypto.document import check_document, kind_of
from crypto.signing import generate_private_key, public_key_to_pem, sign_document
from tests.crypto.test_cli_verify import ENTRIES, make_export
from tests.crypto.test_cli_verify import KEY as LOG_KEY
from tests.crypto.test_report_verify import bundle

ROOT = Path(__file__).resolve().parents[2]
KEY = LOG_KEY  # one key signs everything here, as the platform's does
HEX = "ab" * 32


def opening_payload(**changes: Any) -> dict[str, Any]:
    bid = {
        "bid_id": "B-1",
        "bidder": {"organisation_id": 3, "name": "甲公司", "uscc": "91110000000000001X"},
        "receipt": {"version": 1, "kind": "submission", "commitment": HEX, "log_index": 4, "leaf_index": 0},
        "outcome": "valid",
        "cause": None,
        "envelopes": [{"name": "bid", "sha256": HEX, "size": 10, "outcome": "opened", "plaintext_sha256": HEX}],
        "form": {"price": 100},
    }
    failed = {**copy.deepcopy(bid), "bid_id": "B-2", "outcome": "revoked", "cause": "bid: not age"}
    failed["envelopes"][0] |= {"outcome": "failed", "plaintext_sha256": None}
    payload = {
        "format": "platform-opening-record/v1",
        "tender": {"id": 7, "reference": "T-2026-7", "title": "道路养护"},
        "stage": 1,
        "stages": 1,
        "bids": [bid, failed],
        "valid_bids": 1,
        "min_bids": 1,
        "result": "opened",
        "published_at": "2026-12-07T02:00:00.000000Z",
    }
    return payload | changes


def write(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(["verify-document", *argv])
    return status, out.getvalue()


@pytest.fixture
def key_file(tmp_path: Path) -> str:
    path = tmp_path / "platform.pem"
    path.write_bytes(public_key_to_pem(KEY.public_key()))
    return str(path)


def test_each_kind_is_recognised_and_verifies(tmp_path: Path, key_file: str) -> None:
    checkpoint = make_export(0, 13)["checkpoint"]
    files = [
        write(tmp_path, "record.json", sign_document(opening_payload(), KEY)),
        write(tmp_path, "checkpoint.json", checkpoint),
        write(tmp_path, "log.json", make_export(0, 13)),
        write(tmp_path, "other.json", sign_document({"anything": 1}, KEY)),
    ]
    status, out = run(*files, "--key", key_file)
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("OK") and "opening record" in lines[0] and "stage 1 of 1, 2 bids, 1 valid" in lines[0]
    assert "checkpoint" in lines[1] and "tree size 13" in lines[1]
    assert "evidence-log export" in lines[2] and "13 entries [0, 13)" in lines[2]
    assert "signed document" in lines[3]
    assert lines[-1] == "OK 4 documents, 0 did not verify"
    assert [kind_of(json.loads(Path(f).read_text())) for f in files] == [
        "opening record",
        "checkpoint",
        "evidence-log export",
        "signed document",
    ]


def test_a_report_not_signed_by_every_seat_is_incomplete_and_exits_1(tmp_path: Path, key_file: str) -> None:
    from tests.crypto import test_report_verify

    # the report tests sign with their own key: verify with it
    other_key = tmp_path / "report.pem"
    other_key.write_bytes(public_key_to_pem(test_report_verify.KEY.public_key()))
    final = write(tmp_path, "final.json", bundle())
    partial = write(tmp_path, "partial.json", bundle(seats=(1, 2)))
    assert run(final, "--key", str(other_key))[0] == 0
    status, out = run(partial, "--key", str(other_key))
    assert status == 1 and out.startswith("INCOMPLETE") and "seats [3] have not signed" in out, out


def test_a_signed_record_that_contradicts_itself_fails_naming_the_count(tmp_path: Path, key_file: str) -> None:
    lying = write(tmp_path, "lying.json", sign_document(opening_payload(valid_bids=2), KEY))
    status, out = run(lying, "--key", key_file)
    assert status == 1 and "counts 2 valid bids, its bid list 1" in out, out
    wrong = write(tmp_path, "wrong.json", sign_document(opening_payload(min_bids=2), KEY))  # 1 valid < 2: failed
    status, out = run(wrong, "--key", key_file)
    assert status == 1 and "result 'opened' is not what its counts give ('failed')" in out, out


def test_a_changed_byte_or_another_key_fails_and_says_what(tmp_path: Path, key_file: str) -> None:
    path = Path(write(tmp_path, "record.json", sign_document(opening_payload(), KEY)))
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("T-2026-7", "T-2026-8"), encoding="utf-8")
    status, out = run(str(path), "--key", key_file)
    assert status == 1 and out.startswith("FAIL") and "opening record's signature: signature does not verify" in out
    other = tmp_path / "other.pem"
    other.write_bytes(public_key_to_pem(generate_private_key().public_key()))
    path.write_text(text, encoding="utf-8")
    status, out = run(str(path), "--key", str(other))
    assert status == 1 and "not by the given key" in out, out


def test_unreadable_inputs_exit_2(tmp_path: Path, key_file: str) -> None:
    good = write(tmp_path, "record.json", sign_document(opening_payload(), KEY))
    assert run(str(tmp_path / "missing.json"), "--key", key_file)[0] == 2
    (tmp_path / "broken.json").write_text("{not json")
    status, out = run(str(tmp_path / "broken.json"), good, "--key", key_file)
    assert status == 2 and "not JSON" in out and out.splitlines()[1].startswith("OK"), out
    status, out = run(write(tmp_path, "plain.json", {"hello": "world"}), "--key", key_file)
    assert status == 2 and "not a signed document of the platform" in out
    assert run(good, "--key", "not-a-key")[0] == 2
    # a failure and an unreadable file together: 2 (the inputs could not all be read)
    bad = write(tmp_path, "bad.json", sign_document(opening_payload(), generate_private_key()))
    assert run(bad, str(tmp_path / "missing.json"), "--key", key_file)[0] == 2


def test_json_output(tmp_path: Path, key_file: str) -> None:
    good = write(tmp_path, "record.json", sign_document(opening_payload(), KEY))
    bad = write(tmp_path, "bad.json", sign_document(opening_payload(), generate_private_key()))
    status, out = run(good, bad, "--key", key_file, "--json")
    report = json.loads(out)
    assert status == 1 and report["ok"] is False and report["exit_status"] == 1
    first, second = report["documents"]
    assert first["ok"] and first["kind"] == "opening record" and first["details"]["valid_bids"] == 1
    assert first["details"]["tender"] == "T-2026-7" and first["source"] == good
    assert not second["ok"] and second["status"] == "fail" and "not by the given key" in second["message"]


def test_hostile_shapes_fail_cleanly() -> None:
    public = KEY.public_key()
    for payload in (
        opening_payload(bids="x"),
        opening_payload(bids=[1]),
        opening_payload(stage=0),
        opening_payload(bids=[{"envelopes": [{"sha256": "zz"}]}]),
    ):
        result = check_document(sign_document(payload, KEY), public)
        assert result.status == "fail", result
    broken_log = make_export(0, 13)
    broken_log["entries"][5] = {**ENTRIES[5], "leaf_hash": "00" * 32}
    result = check_document(broken_log, public)
    assert result.status == "fail" and "first bad index 5" in result.message, result
    assert check_document([1, 2], public).status == "unreadable"
    assert check_document({"receipt": 5}, public).status == "fail"
    from tests.crypto import test_report_verify

    report = bundle()
    report["report"]["ranking"][0]["rank"] = 2
    result = check_document(report, test_report_verify.KEY.public_key())
    assert result.status == "fail" and result.message.startswith("the report:"), result


def test_the_command_runs_as_a_module(tmp_path: Path, key_file: str) -> None:
    good = write(tmp_path, "record.json", sign_document(opening_payload(), KEY))
    done = subprocess.run(
        [sys.executable, "-m", "crypto", "verify-document", good, "--key", key_file],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("OK"), done.stdout + done.stderr
