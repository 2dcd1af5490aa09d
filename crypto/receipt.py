"""Bid receipts: the signed proof that the platform received exact sealed bytes at an exact time.

A receipt is a signed document (crypto.signing). Version 2 (issued now) has the payload::

    {"format": "platform-bid-receipt/v2", "kind": "submission" | "withdrawal",
     "tender": {"id", "reference", "recipient"}, "bid": {"id": <random public id>, "version"},
     "bidder": {"organisation_id", "name", "uscc"},
     "envelopes": [{"name", "sha256", "size"}, …],          # empty for a withdrawal
     "received_at": "YYYY-MM-DDTHH:MM:SS.ffffffZ",
     "nonce": "<64 hex: 32 random bytes>",                   # makes the commitment hiding
     "commitment": "<hex SHA-256 of the canonical core>"}

The core (everything but the commitment, nonce included) is hashed into the commitment: with 256 random bits
inside, the commitment is indistinguishable from random bytes to anyone who does not hold the receipt. It is not
appended to the evidence log alone: it becomes one leaf of a fixed-size batch tree whose root is logged at a
constant rate (see app/audit/batches.py). The inclusion proof arrives after the next batch, as a separate
unsigned document that is checked against a signed checkpoint (`verify_inclusion_proof`)::

    {"format": "platform-bid-receipt-proof/v1", "commitment": hex,
     "batch": {"leaf_index": j, "capacity": C, "root": hex, "path": [hex, …]},  # RFC 6962 path in the batch tree
     "entry": {"index": i, "canonical": base64},      # the evidence-log entry that carries the batch root
     "log": {"tree_size": n, "path": [hex, …], "checkpoint": <signed checkpoint of size n>}}

Version 1 receipts (still verified) had no nonce and carried the log index of an entry of their own::

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

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.canonical import CanonicalError, canonicalize, loads_canonical
from crypto.merkle import leaf_hash, root_from_inclusion
from crypto.signing import SignatureError, sign_document, verify_document

RECEIPT_FORMAT = "platform-bid-receipt/v2"
RECEIPT_FORMAT_V1 = "platform-bid-receipt/v1"
PROOF_FORMAT = "platform-bid-receipt-proof/v1"
# The evidence-log action whose data carries a batch root, and the entry's fields the proof relies on.
BATCH_ACTION = "tendering.bids.batch"
KINDS = ("submission", "withdrawal")
CORE_FIELDS_V1 = ("format", "kind", "tender", "bid", "bidder", "envelopes", "received_at")
CORE_FIELDS = (*CORE_FIELDS_V1, "nonce")
MAX_BATCH_CAPACITY = 1 << 16
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
    nonce: str,
) -> dict[str, Any]:
    """The fields the commitment covers; `nonce` is 64 hex digits of fresh randomness (secrets.token_hex(32))."""
    if kind not in KINDS:
        raise ReceiptError(f"unknown receipt kind {kind!r}")
    if not _HEX64.match(nonce):
        raise ReceiptError("the nonce must be 64 lowercase hex digits")
    return {
        "format": RECEIPT_FORMAT,
        "kind": kind,
        "tender": dict(tender),
        "bid": dict(bid),
        "bidder": dict(bidder),
        "envelopes": [dict(e) for e in envelopes],
        "received_at": received_at,
        "nonce": nonce,
    }


def commitment(core: Mapping[str, Any]) -> str:
    """Hex SHA-256 over the canonical JSON of the receipt's core."""
    return hashlib.sha256(canonicalize(dict(core))).hexdigest()


def sign_receipt(core: Mapping[str, Any], *, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed receipt: the core and its commitment. Its inclusion proof comes later (verify_inclusion_proof)."""
    if core.get("format") != RECEIPT_FORMAT:
        raise ReceiptError("only version 2 receipts are issued")
    return sign_document({**core, "commitment": commitment(core)}, key)


@dataclass(frozen=True)
class ReceiptCheck:
    payload: dict[str, Any]
    matched_envelope: str | None = None
    inclusion: InclusionCheck | None = None

    def summary(self) -> str:
        p = self.payload
        text = (
            f"{p['kind']} receipt: tender {p['tender'].get('reference')} (id {p['tender'].get('id')}), "
            f"bid {p['bid'].get('id')} version {p['bid'].get('version')}, received {p['received_at']}"
        )
        if "log_index" in p:
            text += f", evidence-log index {p['log_index']}"
        if self.inclusion is not None:
            text += f"; {self.inclusion.summary()}"
        elif p.get("format") == RECEIPT_FORMAT:
            text += "; no inclusion proof given (fetch it from the platform after the next batch)"
        if self.matched_envelope is not None:
            text += f"; file matches envelope {self.matched_envelope!r}"
        return text


@dataclass(frozen=True)
class InclusionCheck:
    """A verified two-level proof: the commitment is leaf `leaf_index` of the batch logged at `log_index`, which
    the signed checkpoint of `tree_size` entries includes."""

    log_index: int
    leaf_index: int
    tree_size: int
    logged_at: str

    def summary(self) -> str:
        return (
            f"included as leaf {self.leaf_index} of the batch in evidence-log entry {self.log_index} "
            f"(logged {self.logged_at}), under the signed checkpoint of {self.tree_size} entries"
        )


def _check_shape(payload: Mapping[str, Any]) -> None:
    version = payload.get("format")
    if version not in (RECEIPT_FORMAT, RECEIPT_FORMAT_V1):
        raise ReceiptError(f"not a bid receipt (format {version!r})")
    if version == RECEIPT_FORMAT:
        nonce = payload.get("nonce")
        if not isinstance(nonce, str) or not _HEX64.match(nonce):
            raise ReceiptError("receipt lacks its nonce")
    if payload.get("kind") not in KINDS:
        raise ReceiptError("unknown receipt kind")
    for name in ("tender", "bid", "bidder"):
        if not isinstance(payload.get(name), Mapping):
            raise ReceiptError(f"receipt lacks the {name} object")
    received = payload.get("received_at")
    if not isinstance(received, str) or not _INSTANT.match(received):
        raise ReceiptError("receipt time is missing or malformed")
    index = payload.get("log_index")
    if version == RECEIPT_FORMAT_V1 and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
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
    proof: Any | None = None,
) -> ReceiptCheck:
    """Check the signature, the shape, the commitment (and a v1 receipt's embedded checkpoint); with `proof`, the
    two-level inclusion proof (verify_inclusion_proof); with `sealed`, that the file is one of the receipted
    envelopes (the one named `envelope`, when given). Raises ReceiptError."""
    try:
        payload = verify_document(document, key)
    except SignatureError as exc:
        raise ReceiptError(f"signature: {exc}") from exc
    _check_shape(payload)
    fields = CORE_FIELDS if payload["format"] == RECEIPT_FORMAT else CORE_FIELDS_V1
    core = {name: payload.get(name) for name in fields}
    try:
        expected = commitment(core)
    except CanonicalError as exc:
        raise ReceiptError(f"receipt is not canonical JSON: {exc}") from exc
    if payload.get("commitment") != expected:
        raise ReceiptError("the commitment does not match the receipt's contents")
    checkpoint = payload.get("checkpoint")
    if payload["format"] == RECEIPT_FORMAT_V1 and checkpoint is not None:
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
    inclusion = verify_inclusion_proof(payload, proof, key) if proof is not None else None
    return ReceiptCheck(payload=payload, matched_envelope=matched, inclusion=inclusion)


def _hex32(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise ReceiptError(f"proof: {what} is not 64 lowercase hex digits")
    return bytes.fromhex(value)


def _path(value: Any, what: str, limit: int = 64) -> list[bytes]:
    if not isinstance(value, list) or len(value) > limit:
        raise ReceiptError(f"proof: {what} is not a list of hashes")
    return [_hex32(h, what) for h in value]


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ReceiptError(f"proof: {what} is not a non-negative integer")
    return value


def verify_inclusion_proof(
    payload: Mapping[str, Any], proof: Any, key: Ed25519PublicKey | Mapping[str, Ed25519PublicKey]
) -> InclusionCheck:
    """Check that the receipt's commitment is in a batch whose root an evidence-log entry carries, and that a
    checkpoint signed by `key` includes that entry. `payload` is a verified receipt payload. Raises ReceiptError."""
    if payload.get("format") != RECEIPT_FORMAT:
        raise ReceiptError("only a version 2 receipt has a batch inclusion proof")
    if not isinstance(proof, Mapping) or proof.get("format") != PROOF_FORMAT:
        raise ReceiptError("not a receipt inclusion proof")
    if proof.get("commitment") != payload.get("commitment"):
        raise ReceiptError("the proof is for another commitment")
    batch, entry, log = proof.get("batch"), proof.get("entry"), proof.get("log")
    if not (isinstance(batch, Mapping) and isinstance(entry, Mapping) and isinstance(log, Mapping)):
        raise ReceiptError("proof lacks its batch, entry or log part")
    # Level 1: commitment → batch root, in the fixed-size batch tree.
    capacity = _count(batch.get("capacity"), "batch capacity")
    leaf_index = _count(batch.get("leaf_index"), "leaf index")
    if not 0 < capacity <= MAX_BATCH_CAPACITY or leaf_index >= capacity:
        raise ReceiptError("proof: the leaf index lies outside the batch")
    root = _hex32(batch.get("root"), "batch root")
    leaf = leaf_hash(_hex32(payload["commitment"], "commitment"))
    if root_from_inclusion(leaf, leaf_index, capacity, _path(batch.get("path"), "batch path")) != root:
        raise ReceiptError("the commitment is not in the batch (the batch path does not lead to its root)")
    # The log entry that carries the batch root.
    index = _count(entry.get("index"), "entry index")
    try:
        canonical = base64.b64decode(str(entry.get("canonical")), validate=True)
        content = loads_canonical(canonical)
    except (ValueError, binascii.Error, CanonicalError) as exc:
        raise ReceiptError(f"proof: the log entry is not canonical JSON ({exc})") from exc
    data = content.get("data") if isinstance(content, Mapping) else None
    if (
        not isinstance(data, Mapping)
        or content.get("index") != index
        or content.get("action") != BATCH_ACTION
        or data.get("root") != root.hex()
        or data.get("capacity") != capacity
    ):
        raise ReceiptError("the log entry is not the batch entry that carries this root")
    # Level 2: log entry → signed checkpoint (RFC 6962 inclusion).
    checkpoint = log.get("checkpoint")
    if not isinstance(checkpoint, Mapping):
        raise ReceiptError("proof lacks its signed checkpoint")
    try:
        signed = verify_document(checkpoint, key)
    except SignatureError as exc:
        raise ReceiptError(f"proof checkpoint: {exc}") from exc
    size = _count(signed.get("tree_size"), "checkpoint tree size")
    if log.get("tree_size") != size or index >= size:
        raise ReceiptError("the checkpoint does not cover the batch entry")
    log_root = _hex32(signed.get("root_hash"), "checkpoint root")
    if root_from_inclusion(leaf_hash(canonical), index, size, _path(log.get("path"), "log path")) != log_root:
        raise ReceiptError("the batch entry is not in the signed log (the log path does not lead to the checkpoint)")
    return InclusionCheck(
        log_index=index, leaf_index=leaf_index, tree_size=size, logged_at=str(content.get("created_at"))
    )
