"""The evidence log's tables: entries (the leaves), stored subtree hashes, the head, signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, SmallInteger, String
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
