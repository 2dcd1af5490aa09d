"""Releases written in the same transaction as the tender events they describe.

No floor imports this module: a session listener notes, at each flush, the evidence-log entries whose actions
publish a release (build.TAGS), and just before the transaction commits builds one release per tender from the
state the transaction leaves behind, so a release commits (or rolls back) with its event, and never describes a
state that did not commit. The sequence number is allocated under a transaction-scoped lock (PostgreSQL: an
advisory lock; SQLite: the single writer's lock every transaction takes), so releases become visible in `seq` order
and a reader's `since` cursor never skips one that commits later.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.publication.ocds.build import TAGS, Event, build_release
from app.publication.ocds.models import OcdsRelease

_PENDING = "ocds_pending_events"
_SUBJECT = re.compile(r"tender:(\d+)(?:/|$)")
_SEQ_LOCK = int.from_bytes(hashlib.sha256(b"ocds.release.seq").digest()[:8], "big", signed=True)
_installed: dict[str, bool] = {}


def _note_events(session: Session, flush_context: Any) -> None:
    for obj in session.new:
        if isinstance(obj, AuditEntry) and obj.action in TAGS and obj.subject:
            match = _SUBJECT.match(obj.subject)
            if match is None:
                continue
            session.info.setdefault(_PENDING, []).append(
                Event(obj.index, obj.action, int(match.group(1)), obj.created_at, dict(obj.data))
            )


def allocate_seq(session: Session) -> int:
    """The next release number; the lock taken here is held until the transaction ends (commit order = seq order)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SEQ_LOCK})
    current = session.scalar(select(func.max(OcdsRelease.seq)))
    return int(current or 0) + 1


def write_releases(session: Session, events: list[Event]) -> list[OcdsRelease]:
    """One release per tender for the events of one transaction (flushes)."""
    from app.tendering.models import Tender

    by_tender: dict[int, list[Event]] = {}
    for ev in sorted(events, key=lambda e: e.log_index):
        by_tender.setdefault(ev.tender_id, []).append(ev)
    written = []
    for tender_id, evs in by_tender.items():
        tender = session.get(Tender, tender_id)
        if tender is None:
            continue
        data = build_release(tender, evs)
        if data is None:
            continue
        canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        row = OcdsRelease(
            seq=allocate_seq(session),
            release_id=data["id"],
            ocid=data["ocid"],
            tender_id=tender_id,
            audit_index=evs[-1].log_index,
            date=evs[-1].created_at,
            month=evs[-1].created_at.strftime("%Y-%m"),
            tags=list(data["tag"]),
            sha256=hashlib.sha256(canonical).hexdigest(),
            data=data,
        )
        session.add(row)
        session.flush()
        written.append(row)
    return written


def _publish_pending(session: Session) -> None:
    events = session.info.pop(_PENDING, None)
    if events:
        # An entry flushed inside a savepoint that was rolled back is gone: it publishes nothing.
        kept = [e for e in events if session.get(AuditEntry, e.log_index) is not None]
        write_releases(session, kept)


def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)


def install() -> None:
    """Listen on every session (once per process); the listeners do nothing until an event is logged."""
    if _installed.get("ocds"):
        return
    event.listen(Session, "after_flush", _note_events)
    event.listen(Session, "before_commit", _publish_pending)
    event.listen(Session, "after_soft_rollback", _drop_pending)
    _installed["ocds"] = True
