"""`python -m crypto verify-log`: offline verification of audit-log exports built here without the platform."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crypto.canonical import canonicalize
from crypto.cli_verify import EXPORT_FORMAT, verify_export
from crypto.merkle import consistency_proof, leaf_hash, range_proof, root_hash
from crypto.signing import generate_private_key, public_key_b64, public_key_to_pem, sign_document

ROOT = Path(__file__).resolve().parents[2]
KEY = generate_private_key()


def _entry(index: int) -> dict[str, Any]:
    content = {
        "v": 1,
        "index": index,
        "created_at": f"2026-01-05T01:00:{index:02d}.000000Z",
        "action": "bid.submitted" if index % 2 else "tender.published",
        "actor": f"user:{index}",
        "subject": f"tender:{index // 3}",
        "data": {"n": index, "note": '投标 "quoted"'},
    }
    canonical = canonicalize(content)
    shown = {k: v for k, v in content.items() if k != "v"}
    return {**shown, "canonical": base64.b64encode(canonical).decode(), "leaf_hash": leaf_hash(canonical).hex()}


ENTRIES = [_entry(i) for i in range(13)]
LEAVES = [bytes.fromhex(e["leaf_hash"]) for e in ENTRIES]


def _checkpoint(size: int, key: Any = KEY) -> dict[str, Any]:
    payload = {"origin": "test", "tree_size": size, "root_hash": root_hash(LEAVES[:size]).hex(), "issued_at": "x"}
    return sign_document(payload, key)


def make_export(start: int, end: int, size: int = 13, consistency_from: int | None = None) -> dict[str, Any]:
    consistency = None
    if consistency_from is not None:
        consistency = {
            "first": consistency_from,
            "second": size,
            "proof": [h.hex() for h in consistency_proof(LEAVES, consistency_from, size)],
            "first_checkpoint": _checkpoint(consistency_from),
        }
    return {
        "format": EXPORT_FORMAT,
        "origin": "test",
        "start": start,
        "end": end,
        "tree_size": size,
        "checkpoint": _checkpoint(size),
        "entries": json.loads(json.dumps(ENTRIES[start:end])),
        "range_proof": [h.hex() for h in range_proof(LEAVES, start, end, size)],
        "consistency": consistency,
    }


@pytest.mark.parametrize(("start", "end", "size"), [(0, 13, 13), (0, 1, 13), (5, 9, 13), (12, 13, 13), (3, 7, 8)])
def test_honest_exports_verify(start: int, end: int, size: int) -> None:
    outcome = verify_export(make_export(start, end, size), KEY.public_key())
    assert outcome.ok, outcome.message


def test_tampered_canonical_bytes_name_the_entry() -> None:
    export = make_export(2, 10)
    forged = base64.b64decode(export["entries"][4]["canonical"]).replace(b'"n":6', b'"n":7')
    export["entries"][4]["canonical"] = base64.b64encode(forged).decode()
    export["entries"][4]["data"]["n"] = 7
    outcome = verify_export(export, KEY.public_key())
    assert not outcome.ok
    assert outcome.first_bad_index == 6
    assert "leaf hash" in outcome.message


def test_shown_fields_must_match_the_canonical_bytes() -> None:
    export = make_export(0, 13)
    export["entries"][9]["actor"] = "user:1"
    outcome = verify_export(export, KEY.public_key())
    assert (outcome.ok, outcome.first_bad_index) == (False, 9)


def test_non_canonical_bytes_are_refused_even_with_a_matching_hash() -> None:
    export = make_export(0, 13)
    loose = json.dumps(json.loads(base64.b64decode(export["entries"][3]["canonical"])), indent=1).encode()
    export["entries"][3]["canonical"] = base64.b64encode(loose).decode()
    export["entries"][3]["leaf_hash"] = leaf_hash(loose).hex()
    outcome = verify_export(export, KEY.public_key())
    assert (outcome.ok, outcome.first_bad_index) == (False, 3)
    assert "not canonical" in outcome.message


def test_consistently_rewritten_entry_breaks_the_signed_root() -> None:
    export = make_export(0, 13)
    content = json.loads(base64.b64decode(export["entries"][8]["canonical"]))
    content["data"]["n"] = 99
    forged = canonicalize(content)
    export["entries"][8].update(data=content["data"], canonical=base64.b64encode(forged).decode())
    export["entries"][8]["leaf_hash"] = leaf_hash(forged).hex()
    outcome = verify_export(export, KEY.public_key())
    assert not outcome.ok
    assert "signed root" in outcome.message


def test_missing_or_reordered_entries_fail() -> None:
    export = make_export(0, 13)
    export["entries"][4], export["entries"][5] = export["entries"][5], export["entries"][4]
    assert verify_export(export, KEY.public_key()).first_bad_index == 4
    export = make_export(0, 13)
    del export["entries"][12]
    assert not verify_export(export, KEY.public_key()).ok


def test_wrong_key_and_bad_signature_fail() -> None:
    assert "checkpoint" in verify_export(make_export(0, 13), generate_private_key().public_key()).message
    export = make_export(0, 13)
    export["checkpoint"]["payload"]["tree_size"] = 12
    assert not verify_export(export, KEY.public_key()).ok


def test_range_proof_must_fit() -> None:
    export = make_export(5, 9)
    export["range_proof"] = export["range_proof"][:-1]
    assert not verify_export(export, KEY.public_key()).ok
    export = make_export(5, 9)
    export["range_proof"][0] = "00" * 32
    assert not verify_export(export, KEY.public_key()).ok


def test_consistency_with_an_earlier_checkpoint() -> None:
    export = make_export(0, 13, consistency_from=5)
    outcome = verify_export(export, KEY.public_key(), previous=_checkpoint(5))
    assert outcome.ok, outcome.message
    assert "consistent with tree size 5" in outcome.message
    # A previous checkpoint of another history (a fork) is caught.
    forked = sign_document({"origin": "test", "tree_size": 5, "root_hash": "11" * 32, "issued_at": "x"}, KEY)
    assert "forked" in verify_export(export, KEY.public_key(), previous=forked).message
    # Without the proof the auditor's old checkpoint cannot be linked.
    assert not verify_export(make_export(0, 13), KEY.public_key(), previous=_checkpoint(5)).ok
    # The same size needs the same root.
    assert verify_export(make_export(0, 13), KEY.public_key(), previous=_checkpoint(13)).ok


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crypto", "verify-log", *args],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_command_line_exit_status_and_key_formats(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_export(0, 13)))
    pem = tmp_path / "key.pem"
    pem.write_bytes(public_key_to_pem(KEY.public_key()))
    result = _run(str(good), "--key", str(pem))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK 13 entries")
    result = _run(str(good), "--key", public_key_b64(KEY.public_key()))
    assert result.returncode == 0, result.stdout + result.stderr

    export = make_export(0, 13)
    export["entries"][7]["data"]["n"] = 70
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(export))
    result = _run(str(bad), "--key", str(pem))
    assert result.returncode == 1
    assert "first bad index 7" in result.stdout

    result = _run(str(good), "--key", "not-a-key")
    assert result.returncode == 2
