"""Evidence-log services: append in the caller's transaction, sign checkpoints, serve proofs, verify the store.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock plus `FOR UPDATE` on the
head row, on SQLite by the write lock every transaction takes with BEGIN IMMEDIATE. The lock is held
until the caller's transaction ends, so indices are contiguous and a rolled-back append leaves no gap.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, scoped_session

from app.audit.models import AuditEntry, AuditHead, AuditNode, Checkpoint
from app.core.db import db
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.keys import platform_public_keys, platform_signing_key
from app.core.problems import N_
from app.core.time import now_utc
from crypto.canonical import CanonicalError, canonicalize, loads_canonical
from crypto.cli_verify import ENTRY_VERSION, EXPORT_FORMAT, Outcome
from crypto.merkle import (
    CompactTree,
    SubtreeLookup,
    consistency_proof_with,
    inclusion_proof_with,
    leaf_hash,
    range_proof_with,
    subtree_hash,
)
from crypto.signing import SignatureError, load_public_key, sign_document, verify_document

HEAD_ID = 1
DEFAULT_ORIGIN = "service-center-platform/audit"
DEFAULT_EXPORT_MAX = 1000
# Largest index or size the API accepts: keeps parameters inside a signed 64-bit column.
MAX_SIZE = 2**53 - 1
# The Flask-SQLAlchemy scoped session or a plain one.
AnySession = Session | scoped_session[Any]
_APPEND_LOCK = int.from_bytes(hashlib.sha256(b"audit.append").digest()[:8], "big", signed=True)


def format_instant(value: datetime) -> str:
    """UTC, microseconds, 'Z': the one spelling of instants inside hashed and signed bytes."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def actor_ref(actor: object) -> str:
    """'user:12' for objects with `audit_ref`, the string itself for strings, 'anonymous' for None."""
    if actor is None:
        return "anonymous"
    if isinstance(actor, str):
        return actor or "anonymous"
    ref = getattr(actor, "audit_ref", None)
    if isinstance(ref, str) and ref:
        return ref
    if getattr(actor, "is_authenticated", True) is False:
        return "anonymous"
    raise TypeError(f"cannot name the actor {actor!r}: give a string or an object with `audit_ref`")


def entry_content(
    *, index: int, created_at: datetime, action: str, actor: str, subject: str | None, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON value whose canonical bytes are the leaf."""
    return {
        "v": ENTRY_VERSION,
        "index": index,
        "created_at": format_instant(created_at),
        "action": action,
        "actor": actor,
        "subject": subject,
        "data": dict(data),
    }


def recanonicalize(entry: AuditEntry) -> bytes:
    """The canonical bytes rebuilt from the entry's stored fields (must equal `entry.canonical`)."""
    return canonicalize(
        entry_content(
            index=entry.index,
            created_at=entry.created_at,
            action=entry.action,
            actor=entry.actor,
            subject=entry.subject,
            data=entry.data,
        )
    )


def _lock_head(session: AnySession) -> AuditHead:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _APPEND_LOCK})
    stmt = select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update().execution_options(populate_existing=True)
    head = session.execute(stmt).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, tree_size=0, frontier=b"")
        session.add(head)
    return head


def _prepare(
    action: str, *, actor: object, subject: str | None, data: Mapping[str, Any] | None
) -> tuple[str, str, str | None, dict[str, Any]]:
    """Check an entry's parts and freeze its data (canonical JSON round trip): what `append` and `note` share."""
    if not isinstance(action, str) or not action or len(action) > 100:
        raise ValueError("audit action must be a non-empty string of at most 100 characters")
    if subject is not None and (not isinstance(subject, str) or len(subject) > 300):
        raise ValueError("audit subject must be a string of at most 300 characters, or None")
    actor_name = actor_ref(actor)
    if len(actor_name) > 200:
        raise ValueError("audit actor reference is longer than 200 characters")
    if data is not None and not isinstance(data, Mapping):
        raise TypeError("audit data must be a mapping")
    # Canonicalise before taking the lock: bad data fails fast; the copy is immune to later mutation.
    frozen: dict[str, Any] = loads_canonical(canonicalize(dict(data or {})))
    return action, actor_name, subject, frozen


def append(
    session: AnySession, action: str, *, actor: object, subject: str | None, data: Mapping[str, Any] | None
) -> AuditEntry:
    """Append one entry using `session` (flushes, never commits)."""
    return _append_prepared(session, _prepare(action, actor=actor, subject=subject, data=data))


def _append_prepared(session: AnySession, prepared: tuple[str, str, str | None, dict[str, Any]]) -> AuditEntry:
    action, actor_name, subject, frozen = prepared
    head = _lock_head(session)
    tree = CompactTree.from_bytes(head.tree_size, head.frontier)
    index = tree.size
    created_at = now_utc()
    canonical = canonicalize(
        entry_content(index=index, created_at=created_at, action=action, actor=actor_name, subject=subject, data=frozen)
    )
    lh = leaf_hash(canonical)
    completed = tree.append(lh)
    entry = AuditEntry(
        index=index,
        created_at=created_at,
        action=action,
        actor=actor_name,
        subject=subject,
        data=frozen,
        canonical=canonical,
        leaf_hash=lh,
    )
    session.add(entry)
    session.add_all(AuditNode(level=level, index=i, hash=h) for level, i, h in completed)
    head.tree_size = tree.size
    head.frontier = tree.to_bytes()
    session.flush()
    return entry


# Entries noted in a transaction, appended when it commits: session.info[_NOTED] = [(savepoint or None, prepared)].
_NOTED = "audit.noted"


def note(
    action: str, *, actor: str | object | None, subject: str | None, data: Mapping[str, Any] | None = None
) -> None:
    """Append an entry when the caller's transaction commits (checked now; appended by the commit, in it).

    For the busy paths that do not need the entry itself (a ticket issued, a ticket called): `record` takes the
    log's append lock at once and holds it until the transaction ends, which in a request is after the answer
    has been built; here the lock is taken in the commit and held only for the append and the commit itself.
    The entry is in the same transaction as the change it records: a rollback drops both, a savepoint rolled
    back drops the entries noted inside it. Raises what `record` raises for bad parts, at once.
    """
    prepared = _prepare(action, actor=actor, subject=subject, data=data)
    session = db.session()
    if session.get_transaction() is None:
        session.begin()  # what the first statement would do: the note belongs to this transaction, whatever ends it
    session.info.setdefault(_NOTED, []).append((session.get_nested_transaction(), prepared))


@event.listens_for(Session, "before_commit")
def append_noted(session: Session) -> None:
    """Append the entries noted in the session's transaction (the commit does; another before_commit step that
    must follow them, such as a row every writer updates, calls it first)."""
    noted = session.info.pop(_NOTED, None)
    for _savepoint, prepared in noted or ():
        _append_prepared(session, prepared)


@event.listens_for(Session, "after_soft_rollback")
def _drop_noted_in_savepoint(session: Session, previous_transaction: Any) -> None:
    noted = session.info.get(_NOTED)
    if noted and previous_transaction.nested:  # only what was noted inside it (or inside one of its own)
        session.info[_NOTED] = [n for n in noted if not _inside(n[0], previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _drop_noted(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the transaction is over without a commit (rolled back, closed)
        session.info.pop(_NOTED, None)


def _inside(transaction: Any, savepoint: Any) -> bool:
    while transaction is not None:
        if transaction is savepoint:
            return True
        transaction = transaction.parent
    return False


def record(
    action: str, *, actor: str | object | None, subject: str | None, data: dict[str, Any] | None = None
) -> AuditEntry:
    """Append an entry to the evidence log in the caller's transaction (flush, no commit).

    Holds the log's append lock until that transaction ends; if it rolls back, the entry and its
    index vanish together. Raises CanonicalError for data that is not integer-only JSON.
    """
    return append(db.session, action, actor=actor, subject=subject, data=data)


# --- reading the tree -------------------------------------------------------------------------------


def tree_size() -> int:
    size = db.session.execute(select(AuditHead.tree_size).where(AuditHead.id == HEAD_ID)).scalar_one_or_none()
    return int(size or 0)


def _lookup(session: AnySession) -> SubtreeLookup:
    def lookup(level: int, index: int) -> bytes:
        if level == 0:
            found = session.execute(select(AuditEntry.leaf_hash).where(AuditEntry.index == index)).scalar_one_or_none()
        else:
            found = session.execute(
                select(AuditNode.hash).where(AuditNode.level == level, AuditNode.index == index)
            ).scalar_one_or_none()
        if found is None:
            raise RuntimeError(f"audit log store lacks subtree ({level}, {index})")
        return bytes(found)

    return lookup


def root_at(size: int) -> bytes:
    return subtree_hash(0, size, _lookup(db.session))


def origin() -> str:
    return str(current_app.config.get("AUDIT_ORIGIN") or DEFAULT_ORIGIN)


def checkpoint_payload(cp: Checkpoint) -> dict[str, Any]:
    return {
        "origin": cp.origin,
        "tree_size": cp.tree_size,
        "root_hash": cp.root_hash.hex(),
        "issued_at": format_instant(cp.issued_at),
    }


def checkpoint_document(cp: Checkpoint) -> dict[str, Any]:
    """The signed-document form of a checkpoint, as published."""
    return {
        "payload": checkpoint_payload(cp),
        "signature": {"alg": "Ed25519", "key_id": cp.key_id, "sig": base64.b64encode(cp.signature).decode("ascii")},
    }


def latest_checkpoint() -> Checkpoint | None:
    return db.session.execute(select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)).scalar_one_or_none()


def get_checkpoint(size: int) -> Checkpoint:
    """Raises NotFound when no checkpoint was issued for exactly this tree size."""
    if not 0 <= size <= MAX_SIZE:
        raise NotFound(N_("no checkpoint for tree size %(size)s"), params={"size": size})
    cp = db.session.execute(select(Checkpoint).where(Checkpoint.tree_size == size)).scalar_one_or_none()
    if cp is None:
        raise NotFound(N_("no checkpoint for tree size %(size)s"), params={"size": size})
    return cp


def issue_checkpoint() -> Checkpoint | None:
    """Sign the current head (flushes). Returns None when the log is empty or the head is already signed."""
    head = _lock_head(db.session)  # a stable head while we read and sign it
    if head.tree_size == 0:
        return None
    latest = latest_checkpoint()
    if latest is not None and latest.tree_size == head.tree_size:
        return None
    root = CompactTree.from_bytes(head.tree_size, head.frontier).root()
    key = platform_signing_key()
    cp = Checkpoint(
        tree_size=head.tree_size, root_hash=root, origin=origin(), issued_at=now_utc(), key_id="", signature=b""
    )
    document = sign_document(checkpoint_payload(cp), key)
    cp.key_id = document["signature"]["key_id"]
    cp.signature = base64.b64decode(document["signature"]["sig"])
    db.session.add(cp)
    db.session.flush()
    return cp


# --- API reads --------------------------------------------------------------------------------------


def entry_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "index": entry.index,
        "created_at": format_instant(entry.created_at),
        "action": entry.action,
        "actor": entry.actor,
        "subject": entry.subject,
        "data": entry.data,
        "canonical": base64.b64encode(entry.canonical).decode("ascii"),
        "leaf_hash": entry.leaf_hash.hex(),
    }


def _checked_size(value: int | None, name: str, upper: int) -> None:
    # A size beyond the log names a tree that does not exist (yet): not found, rather than invalid input.
    if value is not None and not 0 <= value <= upper:
        raise NotFound(
            N_("%(name)s: the log has no tree of size %(value)s (it holds %(upper)s entries)"),
            params={"name": name, "value": value, "upper": upper},
        )


def get_entry(index: int, tree_size_: int | None = None) -> dict[str, Any]:
    """An entry and its inclusion proof: to `tree_size_`, else to the latest checkpoint (None if not yet covered).

    Raises NotFound for an index or tree size not in the log, ValidationFailed for a tree size not containing it.
    """
    size_now = tree_size()
    entry = db.session.get(AuditEntry, index) if 0 <= index < min(size_now, MAX_SIZE + 1) else None
    if entry is None:
        raise NotFound(N_("no log entry %(index)s"), params={"index": index})
    inclusion: dict[str, Any] | None = None
    cp: Checkpoint | None
    if tree_size_ is None:
        cp = latest_checkpoint()
        size = cp.tree_size if cp is not None and cp.tree_size > index else None
    else:
        _checked_size(tree_size_, "tree_size", size_now)
        if tree_size_ <= index:
            raise ValidationFailed(
                N_("tree size %(tree_size)s does not contain entry %(index)s"),
                params={"tree_size": tree_size_, "index": index},
            )
        size = tree_size_
        cp = db.session.execute(select(Checkpoint).where(Checkpoint.tree_size == size)).scalar_one_or_none()
    if size is not None:
        lookup = _lookup(db.session)
        inclusion = {
            "tree_size": size,
            "root_hash": subtree_hash(0, size, lookup).hex(),
            "proof": [h.hex() for h in inclusion_proof_with(index, size, lookup)],
            "checkpoint": checkpoint_document(cp) if cp is not None else None,
        }
    return {"entry": entry_view(entry), "inclusion": inclusion}


def _maybe_checkpoint(size: int) -> dict[str, Any] | None:
    cp = db.session.execute(select(Checkpoint).where(Checkpoint.tree_size == size)).scalar_one_or_none()
    return checkpoint_document(cp) if cp is not None else None


def get_consistency(first: int, second: int) -> dict[str, Any]:
    """Consistency proof between two tree sizes of the log, with the roots and any checkpoints at those sizes."""
    size_now = tree_size()
    _checked_size(second, "second", size_now)
    if not 0 <= first <= second:
        raise ValidationFailed(N_("first must be between 0 and second"), errors={"first": ["must not exceed second"]})
    lookup = _lookup(db.session)
    return {
        "first": first,
        "second": second,
        "first_root": subtree_hash(0, first, lookup).hex(),
        "second_root": subtree_hash(0, second, lookup).hex(),
        "proof": [h.hex() for h in consistency_proof_with(first, second, lookup)],
        "first_checkpoint": _maybe_checkpoint(first),
        "second_checkpoint": _maybe_checkpoint(second),
    }


def export_max() -> int:
    return int(current_app.config.get("AUDIT_EXPORT_MAX_ENTRIES") or DEFAULT_EXPORT_MAX)


def export_range(start: int, end: int, consistency_from: int | None = None) -> dict[str, Any]:
    """Entries [start, end) with their canonical bytes, the latest checkpoint and a range proof to its root.

    With `consistency_from`, also a consistency proof from the checkpoint of that size. Raises
    ValidationFailed for a bad range, Conflict when no checkpoint covers `end` yet.
    """
    limit = export_max()
    if not 0 <= start < end:
        raise ValidationFailed(N_("need 0 <= start < end"), errors={"end": ["must be greater than start"]})
    if end - start > limit:
        raise ValidationFailed(
            N_("at most %(limit)s entries per export"),
            params={"limit": limit},
            errors={"end": [f"end - start <= {limit}"]},
        )
    cp = latest_checkpoint()
    if cp is None or cp.tree_size < end:
        covered = cp.tree_size if cp is not None else 0
        raise Conflict(
            N_("entries up to %(end)s are not covered by a checkpoint yet (latest covers %(covered)s)"),
            params={"end": end, "covered": covered},
        )
    lookup = _lookup(db.session)
    rows = db.session.execute(
        select(AuditEntry).where(AuditEntry.index >= start, AuditEntry.index < end).order_by(AuditEntry.index)
    ).scalars()
    consistency: dict[str, Any] | None = None
    if consistency_from is not None:
        first_cp = db.session.execute(
            select(Checkpoint).where(Checkpoint.tree_size == consistency_from)
        ).scalar_one_or_none()
        if first_cp is None or consistency_from > cp.tree_size:
            raise ValidationFailed(
                N_("no checkpoint of size %(consistency_from)s at or below %(tree_size)s"),
                params={"consistency_from": consistency_from, "tree_size": cp.tree_size},
                errors={"consistency_from": ["must be the size of an earlier checkpoint"]},
            )
        consistency = {
            "first": consistency_from,
            "second": cp.tree_size,
            "proof": [h.hex() for h in consistency_proof_with(consistency_from, cp.tree_size, lookup)],
            "first_checkpoint": checkpoint_document(first_cp),
        }
    return {
        "format": EXPORT_FORMAT,
        "origin": cp.origin,
        "start": start,
        "end": end,
        "tree_size": cp.tree_size,
        "checkpoint": checkpoint_document(cp),
        "entries": [entry_view(e) for e in rows],
        "range_proof": [h.hex() for h in range_proof_with(start, end, cp.tree_size, lookup)],
        "consistency": consistency,
    }


# --- verifying the store ----------------------------------------------------------------------------


def _entry_problem(entry: AuditEntry) -> str | None:
    if leaf_hash(entry.canonical) != entry.leaf_hash:
        return "stored canonical bytes do not hash to the stored leaf hash"
    try:
        rebuilt = recanonicalize(entry)
    except (CanonicalError, TypeError, ValueError) as exc:
        return f"stored fields cannot be canonicalised ({exc})"
    if rebuilt != entry.canonical:
        return "stored fields differ from the stored canonical bytes"
    return None


def verify_log(batch: int = 1000) -> Outcome:
    """Recheck the whole store: every leaf from its bytes and its fields, every stored node, the head,
    and every checkpoint's root and signature. Reports the first bad index when one entry is to blame."""
    session = db.session
    keys = {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}
    checkpoints = {cp.tree_size: cp for cp in session.execute(select(Checkpoint)).scalars()}
    nodes = {(n.level, n.index): bytes(n.hash) for n in session.execute(select(AuditNode)).scalars()}
    tree = CompactTree()
    tree_problem: str | None = None
    seen_nodes = 0

    def check_checkpoint(size: int) -> str | None:
        cp = checkpoints.get(size)
        if cp is None:
            return None
        if tree.root() != cp.root_hash:
            return f"checkpoint of tree size {size} does not match the entries before it"
        try:
            verify_document(checkpoint_document(cp), keys)
        except SignatureError as exc:
            return f"checkpoint of tree size {size}: {exc}"
        return None

    tree_problem = check_checkpoint(0)
    stmt = select(AuditEntry).order_by(AuditEntry.index).execution_options(yield_per=batch)
    for entry in session.execute(stmt).scalars():
        expected = tree.size
        if entry.index != expected:
            return Outcome(False, f"entry {expected} is missing (next stored index is {entry.index})", expected)
        problem = _entry_problem(entry)
        if problem is not None:
            return Outcome(False, problem, entry.index)
        for level, i, h in tree.append(bytes(entry.leaf_hash)):
            seen_nodes += 1
            if tree_problem is None and nodes.get((level, i)) != h:
                first = i << level
                tree_problem = f"stored subtree over entries [{first}, {first + (1 << level)}) does not match them"
        if tree_problem is None:
            tree_problem = check_checkpoint(tree.size)
        session.expunge(entry)
    if tree_problem is not None:
        return Outcome(False, tree_problem)
    head = session.get(AuditHead, HEAD_ID)
    head_size = head.tree_size if head is not None else 0
    if head_size != tree.size or (head is not None and bytes(head.frontier) != tree.to_bytes()):
        return Outcome(False, f"log head says {head_size} entries, the store holds {tree.size}")
    if seen_nodes != len(nodes):
        return Outcome(False, f"{len(nodes) - seen_nodes} stored subtree hashes belong to no entries")
    beyond = [s for s in checkpoints if s > tree.size]
    if beyond:
        return Outcome(False, f"a checkpoint claims tree size {min(beyond)} but the store holds {tree.size} entries")
    return Outcome(True, f"{tree.size} entries, {len(checkpoints)} checkpoints")


def count_entries() -> int:
    return int(db.session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())
