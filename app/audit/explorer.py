"""Reads behind the evidence-log explorer pages: filtered keyset pages, the actions present, export of a range,
and the server's own verification of an entry's inclusion proof against the signed checkpoint.

Pages are keyset-paginated on the log index (never OFFSET): `before=N` lists the matching entries with index
below N, newest first; `after=N` those above N, the nearest first, shown newest first. An export must be a
contiguous range for the range proof (`python -m crypto verify-log`) to prove nothing is left out, so the export
of a filter is every entry from its first to its last match.

Nothing here adds detail to the log: sealed bids are logged as constant-rate batches (app.audit.batches), so no
filter can count a tender's bids before its opening.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select

from app.audit import services
from app.audit.models import AuditEntry
from app.core.db import db
from app.core.keys import platform_public_keys
from crypto.cli_verify import check_entry
from crypto.merkle import leaf_hash, verify_inclusion
from crypto.signing import SignatureError, load_public_key, verify_document

PAGE_SIZE = 50
MAX_SUBJECT = 300
MAX_ACTOR = 200
MAX_ACTION = 100


def N_(message: str) -> str:
    """Mark a message for the catalogue; the page translates it when it shows it."""
    return message


@dataclass(frozen=True)
class Filters:
    subject: str | None = None
    subject_prefix: bool = False
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None  # included
    before: datetime | None = None  # excluded

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.subject:
            if self.subject_prefix:
                out.append(AuditEntry.subject.startswith(self.subject, autoescape=True))
            else:
                out.append(AuditEntry.subject == self.subject)
        if self.action:
            out.append(AuditEntry.action == self.action)
        if self.actor:
            out.append(AuditEntry.actor == self.actor)
        if self.since is not None:
            out.append(AuditEntry.created_at >= self.since)
        if self.before is not None:
            out.append(AuditEntry.created_at < self.before)
        return out


@dataclass(frozen=True)
class Page:
    entries: list[AuditEntry]
    newer: int | None  # `after` cursor of the previous (newer) page, or None when this is the newest
    older: int | None  # `before` cursor of the next (older) page, or None when this is the oldest


def _any(filters: Filters, *extra: ColumnElement[bool]) -> bool:
    return bool(db.session.execute(select(exists().where(*filters.conditions(), *extra))).scalar())


def page(filters: Filters, *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of matching entries, newest first. `after` wins over `before` when both are given."""
    conds = filters.conditions()
    if after is not None:
        rows = list(
            db.session.scalars(
                select(AuditEntry).where(*conds, AuditEntry.index > after).order_by(AuditEntry.index).limit(size + 1)
            )
        )
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        newer = rows[0].index if rows and more_newer else None
        older = rows[-1].index if rows and _any(filters, AuditEntry.index < rows[-1].index) else None
        if not rows and _any(filters, AuditEntry.index <= after):
            older = after + 1
        return Page(rows, newer, older)
    stmt = select(AuditEntry).where(*conds)
    if before is not None:
        stmt = stmt.where(AuditEntry.index < before)
    rows = list(db.session.scalars(stmt.order_by(AuditEntry.index.desc()).limit(size + 1)))
    more_older = len(rows) > size
    rows = rows[:size]
    older = rows[-1].index if rows and more_older else None
    newer = None
    if before is not None:
        if rows and _any(filters, AuditEntry.index > rows[0].index):
            newer = rows[0].index
        elif not rows and _any(filters, AuditEntry.index >= before):
            newer = before - 1
    return Page(rows, newer, older)


def actions() -> list[str]:
    """Every action the log holds, for the filter's list."""
    return list(db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def span(filters: Filters) -> tuple[int, int] | None:
    """(first, last) index of the matching entries, or None when nothing matches."""
    low, high = db.session.execute(
        select(func.min(AuditEntry.index), func.max(AuditEntry.index)).where(*filters.conditions())
    ).one()
    if low is None or high is None:
        return None
    return int(low), int(high)


NOTHING_TO_EXPORT = N_("No entry matches these filters: there is nothing to export.")
EXPORT_TOO_LARGE = N_(
    "The matching entries span %(count)s log entries; one export holds at most %(limit)s. Narrow the time range."
)


NOT_YET_SIGNED = N_(
    "The newest matching entry (%(index)s) is not covered by a signed checkpoint yet (the latest covers "
    "%(size)s entries). Try again in a minute, or end the time range earlier."
)


class ExportRefused(Exception):
    """Why a filter cannot be exported: a catalogue message and its parameters, for the page to show."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def export(filters: Filters) -> dict[str, Any]:
    """The API's export (platform-audit-export/v1) of every entry from the first to the last match.

    Raises ExportRefused when nothing matches, the range is too long, or its newest entry is not yet covered by
    a signed checkpoint.
    """
    found = span(filters)
    if found is None:
        raise ExportRefused(NOTHING_TO_EXPORT)
    start, end = found[0], found[1] + 1
    limit = services.export_max()
    if end - start > limit:
        raise ExportRefused(EXPORT_TOO_LARGE, count=end - start, limit=limit)
    latest = services.latest_checkpoint()
    covered = latest.tree_size if latest is not None else 0
    if covered < end:
        raise ExportRefused(NOT_YET_SIGNED, index=end - 1, size=covered)
    return services.export_range(start, end)


# --- the server's verification of one entry --------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool | None  # None: nothing to verify yet (no checkpoint covers the entry)
    reason: str  # a catalogue message (translated by the page)
    params: dict[str, Any]


NOT_COVERED = N_("No signed checkpoint covers this entry yet: its proof can be checked once the next one is issued.")
VERIFIED = N_(
    "The entry's canonical bytes hash to its leaf hash, the audit path leads from it to the root of tree size "
    "%(size)s, and that root is signed by the platform key %(key_id)s."
)
BAD_ENTRY = N_("The entry does not match its canonical bytes: %(problem)s.")
BAD_SIGNATURE = N_("The checkpoint's signature does not verify: %(problem)s.")
BAD_CHECKPOINT = N_("The checkpoint does not sign the tree size and root the proof is for.")
BAD_PATH = N_("The audit path does not lead from the leaf hash to the checkpoint's root.")
NO_CHECKPOINT = N_("No signed checkpoint was issued for tree size %(size)s.")


def verify_entry(document: dict[str, Any]) -> Verdict:
    """Check `services.get_entry`'s answer the way an outside verifier would, with the published keys."""
    entry = document["entry"]
    inclusion = document.get("inclusion")
    if inclusion is None:
        return Verdict(None, NOT_COVERED, {})
    index = entry["index"]
    _claimed, recomputed, problem = check_entry(entry, index)
    if problem is not None or recomputed is None:
        return Verdict(False, BAD_ENTRY, {"problem": problem or "no canonical bytes"})
    checkpoint = inclusion.get("checkpoint")
    size = inclusion["tree_size"]
    if checkpoint is None:
        return Verdict(False, NO_CHECKPOINT, {"size": size})
    keys = {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}
    try:
        payload = verify_document(checkpoint, keys)
    except SignatureError as exc:
        return Verdict(False, BAD_SIGNATURE, {"problem": str(exc)})
    try:
        root = bytes.fromhex(str(payload.get("root_hash")))
        proof = [bytes.fromhex(h) for h in inclusion["proof"]]
    except (ValueError, binascii.Error):
        return Verdict(False, BAD_CHECKPOINT, {})
    if payload.get("tree_size") != size:
        return Verdict(False, BAD_CHECKPOINT, {})
    if not verify_inclusion(recomputed, index, size, proof, root):
        return Verdict(False, BAD_PATH, {})
    return Verdict(True, VERIFIED, {"size": size, "key_id": checkpoint["signature"]["key_id"]})


def canonical_text(entry_doc: dict[str, Any]) -> str:
    """The canonical bytes of an entry (base64 in the API's answer) as the UTF-8 text they are."""
    return base64.b64decode(entry_doc["canonical"]).decode("utf-8")


def leaf_of(text: str) -> str:
    return leaf_hash(text.encode("utf-8")).hex()
