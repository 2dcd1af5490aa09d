"""The evidence log's tables: entries (the leaves), stored subtree hashes, the head, signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, db


class AuditEntry(db.Model):  # type: ignore[name-defined,misc]
    """One leaf of the log. `canonical` holds exactly the bytes that were hashed into `leaf_hash`."""

    __tablename__ = "audit_entries"

    # 0-based, contiguous, equal to the leaf index in the Merkle tree.
    index: Mapped[int] = mapped_column("index", BigInteger, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    subject: Mapped[str | None] = mapped_column(String(300), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    canonical: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditNode(db.Model):  # type: ignore[name-defined,misc]
    """Hash of a complete subtree of 2**level leaves (level >= 1), written when its last leaf is appended.

    Leaves (level 0) are read from audit_entries. With these rows any proof needs O(log n) reads.
    """

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column("index", BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)


class AuditHead(db.Model):  # type: ignore[name-defined,misc]
    """The single row that appends lock: the tree size and its right-edge frontier (crypto.merkle.CompactTree)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    frontier: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, default=b"")


class Checkpoint(db.Model):  # type: ignore[name-defined,misc]
    """A signed tree head. The signature covers canonical JSON of {origin, tree_size, root_hash (hex), issued_at}."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    origin: Mapped[str] = mapped_column(String(200), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    key_id: Mapped[str] = mapped_column(String(32), nullable=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary(64), nullable=False)


class SealedBatch(db.Model):  # type: ignore[name-defined,misc]
    """One fixed-size batch of hiding commitments, whose tree root one evidence-log entry carries (app.audit.batches).

    `seed` derives the dummy leaves (HMAC-SHA256(seed, position)) that fill the positions no commitment took; it
    never leaves the database, so nobody outside can tell a dummy from a commitment.
    """

    __tablename__ = "audit_sealed_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The interval the batch belongs to (seconds since the epoch // interval): one batch per slot. Null for a batch
    # sealed out of turn (the pending commitments flushed at an opening).
    slot: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    log_index: Mapped[int] = mapped_column(BigInteger, nullable=False, unique=True)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    seed: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SealedLeaf(db.Model):  # type: ignore[name-defined,misc]
    """A hiding commitment waiting for (or placed in) a batch. Written in the submitter's transaction."""

    __tablename__ = "audit_sealed_leaves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("audit_sealed_batches.id"), index=True)
    position: Mapped[int | None] = mapped_column(Integer)
