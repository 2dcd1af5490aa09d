"""Bid receipts: the signed proof that the platform received exact sealed bytes at an exact time.

A receipt is a signed document (crypto.signing) whose payload is::

    {"format": "platform-bid-receipt/v1", "kind": "submission" | "withdrawal",
     "tender": {"id", "reference", "recipient"}, "bid": {"id", "version"},
     "bidder": {"organisation_id", "name", "uscc"},
     "envelopes": [{"name", "sha256", "size"}, …],          # empty for a withdrawal
     "received_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",          # the server clock when the submission committed
     "commitment": "<hex SHA-256 of the canonical core>",   # what the evidence-log entry carries
     "log_index": n,                                        # that entry's index in the evidence log
     "checkpoint": <the latest signed checkpoint at that moment, or null>}

The core is the payload without commitment, log_index and checkpoint: the log entry commits to it
without naming the bidder, so the log reveals nothing about who bid before the opening. Pure: no I/O
beyond the streams handed in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.canonical import CanonicalError, canonicalize
from crypto.signing import SignatureError, sign_document, verify_document

RECEIPT_FORMAT = "platform-bid-receipt/v1"
KINDS = ("submission", "withdrawal")
CORE_FIELDS = ("format", "kind", "tender", "bid", "bidder", "envelopes", "received_at")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_CHUNK = 1 << 16


class ReceiptError(ValueError):
    """The receipt is malformed, not signed by the key, or does not match the sealed file."""


def receipt_core(
    *,
    kind: str,
    tender: Mapping[str, Any],
    bid: Mapping[str, Any],
    bidder: Mapping[str, Any],
    envelopes: Sequence[Mapping[str, Any]],
    received_at: str,
) -> dict[str, Any]:
    """The fields the evidence-log commitment covers."""
    if kind not in KINDS:
        raise ReceiptError(f"unknown receipt kind {kind!r}")
    return {
        "format": RECEIPT_FORMAT,
        "kind": kind,
        "tender": dict(tender),
        "bid": dict(bid),
        "bidder": dict(bidder),
        "envelopes": [dict(e) for e in envelopes],
        "received_at": received_at,
    }


def commitment(core: Mapping[str, Any]) -> str:
    """Hex SHA-256 over the canonical JSON of the receipt's core."""
    return hashlib.sha256(canonicalize(dict(core))).hexdigest()


def sign_receipt(
    core: Mapping[str, Any], *, log_index: int, checkpoint: Mapping[str, Any] | None, key: Ed25519PrivateKey
) -> dict[str, Any]:
    payload = {
        **core,
        "commitment": commitment(core),
        "log_index": log_index,
        "checkpoint": dict(checkpoint) if checkpoint is not None else None,
    }
    return sign_document(payload, key)


@dataclass(frozen=True)
class ReceiptCheck:
    payload: dict[str, Any]
    matched_envelope: str | None = None

    def summary(self) -> str:
        p = self.payload
        text = (
            f"{p['kind']} receipt: tender {p['tender'].get('reference')} (id {p['tender'].get('id')}), "
            f"bid {p['bid'].get('id')} version {p['bid'].get('version')}, "
            f"received {p['received_at']}, evidence-log index {p['log_index']}"
        )
        if self.matched_envelope is not None:
            text += f"; file matches envelope {self.matched_envelope!r}"
        return text


def _check_shape(payload: Mapping[str, Any]) -> None:
    if payload.get("format") != RECEIPT_FORMAT:
        raise ReceiptError(f"not a bid receipt (format {payload.get('format')!r})")
    if payload.get("kind") not in KINDS:
        raise ReceiptError("unknown receipt kind")
    for name in ("tender", "bid", "bidder"):
        if not isinstance(payload.get(name), Mapping):
            raise ReceiptError(f"receipt lacks the {name} object")
    received = payload.get("received_at")
    if not isinstance(received, str) or not _INSTANT.match(received):
        raise ReceiptError("receipt time is missing or malformed")
    index = payload.get("log_index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ReceiptError("receipt lacks a valid evidence-log index")
    envelopes = payload.get("envelopes")
    if not isinstance(envelopes, list):
        raise ReceiptError("receipt lacks the envelope list")
    for env in envelopes:
        if not isinstance(env, Mapping) or not isinstance(env.get("name"), str):
            raise ReceiptError("an envelope entry is malformed")
        if not isinstance(env.get("sha256"), str) or not _HEX64.match(env["sha256"]):
            raise ReceiptError(f"envelope {env.get('name')!r}: SHA-256 is malformed")
        size = env.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ReceiptError(f"envelope {env.get('name')!r}: size is malformed")
    if payload.get("kind") == "submission" and not envelopes:
        raise ReceiptError("a submission receipt lists no envelopes")


def hash_stream(src: BinaryIO) -> tuple[str, int]:
    """(hex SHA-256, size) of everything readable from `src`, in constant memory."""
    digest, size = hashlib.sha256(), 0
    while chunk := src.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def verify_receipt(
    document: Any,
    key: Ed25519PublicKey | Mapping[str, Ed25519PublicKey],
    *,
    sealed: BinaryIO | None = None,
    envelope: str | None = None,
) -> ReceiptCheck:
    """Check the signature, the shape, the commitment and the embedded checkpoint; with `sealed`, that the file
    is one of the receipted envelopes (the one named `envelope`, when given). Raises ReceiptError."""
    try:
        payload = verify_document(document, key)
    except SignatureError as exc:
        raise ReceiptError(f"signature: {exc}") from exc
    _check_shape(payload)
    core = {name: payload.get(name) for name in CORE_FIELDS}
    try:
        expected = commitment(core)
    except CanonicalError as exc:
        raise ReceiptError(f"receipt is not canonical JSON: {exc}") from exc
    if payload.get("commitment") != expected:
        raise ReceiptError("the commitment does not match the receipt's contents")
    checkpoint = payload.get("checkpoint")
    if checkpoint is not None:
        try:
            verify_document(checkpoint, key)
        except SignatureError as exc:
            raise ReceiptError(f"embedded checkpoint: {exc}") from exc
    matched: str | None = None
    if sealed is not None:
        sha, size = hash_stream(sealed)
        candidates = [e for e in payload["envelopes"] if envelope is None or e["name"] == envelope]
        if envelope is not None and not candidates:
            raise ReceiptError(f"the receipt has no envelope named {envelope!r}")
        hit = next((e for e in candidates if e["sha256"] == sha and e["size"] == size), None)
        if hit is None:
            raise ReceiptError(f"the file (SHA-256 {sha}, {size} bytes) is not an envelope of this receipt")
        matched = str(hit["name"])
    return ReceiptCheck(payload=payload, matched_envelope=matched)
