"""Receipts offline: version 2 (hiding commitment, two-level inclusion proof) and version 1 still verified."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest

from crypto.canonical import canonicalize
from crypto.merkle import inclusion_proof, leaf_hash, root_hash
from crypto.receipt import (
    BATCH_ACTION,
    PROOF_FORMAT,
    ReceiptError,
    commitment,
    receipt_core,
    sign_receipt,
    verify_inclusion_proof,
    verify_receipt,
)
from crypto.signing import generate_private_key, sign_document

KEY = generate_private_key()


def _core(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "kind": "withdrawal",
        "tender": {"id": 1, "reference": "T-1", "recipient": "age1x"},
        "bid": {"id": "a" * 26, "version": 2},
        "bidder": {"organisation_id": 3, "name": "甲", "uscc": "9"},
        "envelopes": [],
        "received_at": "2026-01-05T01:00:00.000000Z",
        "nonce": secrets.token_hex(32),
    }
    args.update(changes)
    return receipt_core(**args)


def test_the_commitment_hides_a_guessable_receipt() -> None:
    """A withdrawal's content is guessable (tender, a known bidder, a time); the nonce makes its commitment fresh."""
    a, b = _core(nonce="00" * 32), _core(nonce="01" * 32)
    assert commitment(a) != commitment(b)
    assert commitment({k: v for k, v in a.items() if k != "nonce"}) != commitment(a)
    with pytest.raises(ReceiptError):
        _core(nonce="short")


def _logged(receipt: dict[str, Any], capacity: int = 8, position: int = 5, log_size: int = 11, index: int = 9):
    """A batch holding the receipt's commitment among dummies, logged at `index` of a log of `log_size` entries."""
    leaves = [secrets.token_bytes(32) for _ in range(capacity)]
    leaves[position] = bytes.fromhex(receipt["payload"]["commitment"])
    hashes = [leaf_hash(x) for x in leaves]
    root = root_hash(hashes)
    entry = canonicalize(
        {
            "v": 1,
            "index": index,
            "created_at": "2026-01-05T01:00:15.000000Z",
            "action": BATCH_ACTION,
            "actor": "system",
            "subject": "tendering:sealed-bids",
            "data": {"root": root.hex(), "capacity": capacity},
        }
    )
    log = [leaf_hash(secrets.token_bytes(8)) for _ in range(log_size)]
    log[index] = leaf_hash(entry)
    checkpoint = sign_document(
        {"origin": "test", "tree_size": log_size, "root_hash": root_hash(log).hex(), "issued_at": "x"}, KEY
    )
    return {
        "format": PROOF_FORMAT,
        "commitment": receipt["payload"]["commitment"],
        "batch": {
            "leaf_index": position,
            "capacity": capacity,
            "root": root.hex(),
            "path": [h.hex() for h in inclusion_proof(hashes, position)],
        },
        "entry": {"index": index, "canonical": base64.b64encode(entry).decode()},
        "log": {
            "tree_size": log_size,
            "path": [h.hex() for h in inclusion_proof(log, index)],
            "checkpoint": checkpoint,
        },
    }


def test_a_two_level_proof_verifies_and_each_level_is_checked() -> None:
    receipt = sign_receipt(_core(), key=KEY)
    proof = _logged(receipt)
    check = verify_receipt(receipt, KEY.public_key(), proof=proof)
    assert check.inclusion is not None and (check.inclusion.log_index, check.inclusion.leaf_index) == (9, 5)
    assert "leaf 5 of the batch in evidence-log entry 9" in check.summary()
    for part, field, value in [
        ("batch", "leaf_index", 4),
        ("batch", "capacity", 9),
        ("batch", "root", "00" * 32),
        ("entry", "index", 8),
        ("log", "tree_size", 12),
        ("log", "path", []),
    ]:
        bad = {**proof, part: {**proof[part], field: value}}
        with pytest.raises(ReceiptError):
            verify_inclusion_proof(receipt["payload"], bad, KEY.public_key())
    with pytest.raises(ReceiptError, match="proof checkpoint"):
        verify_inclusion_proof(receipt["payload"], proof, generate_private_key().public_key())
    other = sign_receipt(_core(), key=KEY)
    with pytest.raises(ReceiptError, match="another commitment"):
        verify_inclusion_proof(other["payload"], proof, KEY.public_key())
    for junk in (None, [], {"format": PROOF_FORMAT}, {**proof, "batch": {**proof["batch"], "path": ["zz"]}}):
        with pytest.raises(ReceiptError):
            verify_inclusion_proof(receipt["payload"], junk, KEY.public_key())


def test_a_version_1_receipt_still_verifies() -> None:
    core = {k: v for k, v in _core().items() if k != "nonce"} | {"format": "platform-bid-receipt/v1"}
    payload = {**core, "commitment": commitment(core), "log_index": 7, "checkpoint": None}
    check = verify_receipt(sign_document(payload, KEY), KEY.public_key())
    assert "evidence-log index 7" in check.summary()
    with pytest.raises(ReceiptError, match="log index"):
        verify_receipt(sign_document({**payload, "log_index": None}, KEY), KEY.public_key())
