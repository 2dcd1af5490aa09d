"""Constant-rate batches of hiding commitments: the evidence log's way to record sealed bids without counting them.

A bid receipt (or an interest registration) is not appended to the log on its own: an entry per receipt would
tell anybody reading the log (auditors included) how many bids arrived, and when. Instead its commitment (a
SHA-256 over content that holds 256 random bits, so it looks like random bytes) is written to a pending table
in the submitter's transaction, and a sweep seals a batch once per interval (AUDIT_BATCH_INTERVAL), whether or
not anything arrived:

* the batch tree has exactly AUDIT_BATCH_CAPACITY leaves (RFC 6962 hashing); up to that many pending
  commitments take random positions, every other position holds a dummy leaf HMAC-SHA256(seed, position) under
  a fresh secret seed, indistinguishable from a commitment;
* one log entry `tendering.bids.batch` carries the root and the capacity, with the same actor and subject each
  time: the log grows by one entry per interval and its content does not depend on how many bids there are;
* a checkpoint is signed right after the entry, so every receipt in the batch has its two-level inclusion
  proof (commitment → batch root, batch entry → signed checkpoint) one interval after submission;
* more pending commitments than the capacity wait for the next interval (oldest first).

`proof_for(commitment)` builds the proof the offline verifier (crypto.receipt.verify_inclusion_proof) checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.audit import services
from app.audit.models import AuditEntry, Checkpoint, SealedBatch, SealedLeaf
from app.core.db import db
from app.core.time import now_utc
from crypto.merkle import inclusion_proof, inclusion_proof_with, leaf_hash, root_hash
from crypto.receipt import BATCH_ACTION, MAX_BATCH_CAPACITY, PROOF_FORMAT

BATCH_ACTOR = "system"
# The same subject as every sealed-bid entry before batches: names no tender.
BATCH_SUBJECT = "tendering:sealed-bids"
DEFAULT_INTERVAL = timedelta(seconds=15)
DEFAULT_CAPACITY = 256


def batch_interval() -> timedelta:
    value = current_app.config.get("AUDIT_BATCH_INTERVAL") or DEFAULT_INTERVAL
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def batch_capacity() -> int:
    value = int(current_app.config.get("AUDIT_BATCH_CAPACITY") or DEFAULT_CAPACITY)
    if not 1 <= value <= MAX_BATCH_CAPACITY:
        raise ValueError(f"AUDIT_BATCH_CAPACITY must be between 1 and {MAX_BATCH_CAPACITY}")
    return value


def new_commitment(content: bytes) -> tuple[str, bytes]:
    """A fresh nonce (hex) and the hiding commitment SHA-256(nonce ‖ content) for content with no nonce of its own."""
    nonce = secrets.token_bytes(32)
    return nonce.hex(), hashlib.sha256(nonce + content).digest()


def commit(commitment: bytes) -> SealedLeaf:
    """Queue a 32-byte hiding commitment for the next batch, in the caller's transaction (flushes)."""
    if len(commitment) != 32:
        raise ValueError("a commitment is 32 bytes")
    leaf = SealedLeaf(commitment=commitment, created_at=now_utc())
    db.session.add(leaf)
    db.session.flush()
    return leaf


def _dummy(seed: bytes, position: int) -> bytes:
    return hmac.new(seed, position.to_bytes(4, "big"), hashlib.sha256).digest()


def _leaf_hashes(seed: bytes, capacity: int, real: dict[int, bytes]) -> list[bytes]:
    return [leaf_hash(real.get(p) or _dummy(seed, p)) for p in range(capacity)]


def _current_slot() -> int:
    seconds = max(1, int(batch_interval().total_seconds()))
    return int(now_utc().timestamp()) // seconds


def seal_batch(*, out_of_turn: bool = False) -> SealedBatch | None:
    """Seal this interval's batch (flushes): one log entry and a checkpoint, even with nothing pending.

    None when this interval already has its batch. `out_of_turn` seals the pending commitments now, outside the
    schedule (None when nothing is pending): the opening uses it so every receipt of the tender is logged.
    """
    slot = None if out_of_turn else _current_slot()
    if slot is not None and db.session.scalar(select(SealedBatch.id).where(SealedBatch.slot == slot)) is not None:
        return None
    capacity = batch_capacity()
    pending = list(
        db.session.scalars(
            select(SealedLeaf)
            .where(SealedLeaf.batch_id.is_(None))
            .order_by(SealedLeaf.id)
            .limit(capacity)
            .with_for_update(skip_locked=True)
        )
    )
    if out_of_turn and not pending:
        return None
    seed = os.urandom(32)
    # Random positions: a receipt's leaf index tells its holder nothing about how many others share its batch.
    positions = secrets.SystemRandom().sample(range(capacity), len(pending))
    real = {p: bytes(leaf.commitment) for p, leaf in zip(positions, pending, strict=True)}
    root = root_hash(_leaf_hashes(seed, capacity, real))
    entry = services.record(
        BATCH_ACTION, actor=BATCH_ACTOR, subject=BATCH_SUBJECT, data={"root": root.hex(), "capacity": capacity}
    )
    batch = SealedBatch(
        slot=slot, log_index=entry.index, capacity=capacity, root=root, seed=seed, created_at=entry.created_at
    )
    db.session.add(batch)
    db.session.flush()
    for p, leaf in zip(positions, pending, strict=True):
        leaf.batch_id, leaf.position = batch.id, p
    services.issue_checkpoint()  # the proofs of this batch are complete at once
    db.session.flush()
    return batch


def seal_pending() -> int:
    """Seal every pending commitment now, in as many out-of-turn batches as needed; returns how many batches."""
    count = 0
    while seal_batch(out_of_turn=True) is not None:
        count += 1
    return count


def location(commitment: bytes) -> tuple[int, int] | None:
    """(log index of its batch entry, leaf index in the batch) of a commitment, or None while it is pending."""
    row = db.session.execute(
        select(SealedBatch.log_index, SealedLeaf.position)
        .join(SealedBatch, SealedBatch.id == SealedLeaf.batch_id)
        .where(SealedLeaf.commitment == commitment)
    ).first()
    return (int(row[0]), int(row[1] or 0)) if row is not None else None


def proof_for(commitment: bytes) -> dict[str, Any] | None:
    """The two-level inclusion proof of a commitment (crypto.receipt PROOF_FORMAT), or None until it is logged
    under a checkpoint."""
    leaf = db.session.scalar(select(SealedLeaf).where(SealedLeaf.commitment == commitment))
    if leaf is None or leaf.batch_id is None or leaf.position is None:
        return None
    batch = db.session.get(SealedBatch, leaf.batch_id)
    assert batch is not None
    # The checkpoint signed right after the batch (or the first later one): a proof that never changes.
    cp = db.session.scalar(
        select(Checkpoint).where(Checkpoint.tree_size > batch.log_index).order_by(Checkpoint.tree_size).limit(1)
    )
    if cp is None:
        return None
    real = {
        int(pos or 0): bytes(c)
        for pos, c in db.session.execute(
            select(SealedLeaf.position, SealedLeaf.commitment).where(SealedLeaf.batch_id == batch.id)
        )
    }
    hashes = _leaf_hashes(bytes(batch.seed), batch.capacity, real)
    if root_hash(hashes) != bytes(batch.root):
        raise RuntimeError(f"sealed batch {batch.id} does not rebuild to its root")
    entry = db.session.get(AuditEntry, batch.log_index)
    assert entry is not None
    log_path = inclusion_proof_with(batch.log_index, cp.tree_size, services._lookup(db.session))
    return {
        "format": PROOF_FORMAT,
        "commitment": commitment.hex(),
        "batch": {
            "leaf_index": leaf.position,
            "capacity": batch.capacity,
            "root": bytes(batch.root).hex(),
            "path": [h.hex() for h in inclusion_proof(hashes, leaf.position)],
        },
        "entry": {"index": entry.index, "canonical": base64.b64encode(entry.canonical).decode("ascii")},
        "log": {
            "tree_size": cp.tree_size,
            "path": [h.hex() for h in log_path],
            "checkpoint": services.checkpoint_document(cp),
        },
    }
