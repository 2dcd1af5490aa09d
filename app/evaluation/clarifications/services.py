"""Clarifications during the evaluation (评标澄清): the committee asks one bidder, the bidder answers in writing.

The chair issues a request on behalf of the committee to the organisation of a bid before the room (not failed
in the review), while the room is in review or scoring. The bidder's users with the bidding permission answer
once, before the deadline (EVALUATION_CLARIFICATION_HOURS after the request, 24 by default) by the server clock;
a later answer is refused and the refusal logged. The sweep marks overdue requests expired (idempotent).

A clarification may not change the substance of the bid (price, essential terms); the answer is a written
statement the bidder signs (it confirms the statement, the evidence log keeps its SHA-256 and who gave it).
An attached file goes to the write-once documents bucket with its SHA-256.

Members (and the agency and overseers, as for the room's status) see every request and answer of the room; a
bidder sees only its own requests: never another bidder's, nor scores, nor the members' identities. Every step
is an evidence-log entry under `tender:<id>/evaluation` with its instant (`at`), so the recording replay shows
`evaluation.clarification.requested/answered/expired` on the room's timeline.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from flask import current_app
from sqlalchemy import select

from app.accounts.models import User
from app.audit import record
from app.core.db import db, is_valid_id
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, field_error
from app.core.problems import N_
from app.core.storage import DOCUMENTS, get_storage
from app.core.time import now_utc
from app.evaluation.models import Clarification, ClarificationStatus, Room, RoomPhase
from app.evaluation.room.services import failed_public_ids, instant, require_chair, require_member, room_bid, viewer
from app.tendering.common import AccessRefused, LoggedRefusal, store_document
from app.tendering.models import BidOutcome, Tender
from app.tendering.permissions import BID

DEFAULT_HOURS = 24
DEFAULT_MAX_FILE = 50 * 1024 * 1024
MAX_QUESTION = 5000
MAX_ANSWER = 20000
MAX_HOURS = 24 * 14
LEGAL_NOTE = (
    "A clarification may not change the substance of the bid (price, essential terms); "
    "the answer is a written statement signed by the bidder."
)


class ClarificationLate(LoggedRefusal, Conflict):
    """An answer after the deadline: refused, and the refusal stays in the evidence log."""

    code = "clarification-deadline-passed"
    title = N_("The clarification deadline has passed")
    description = N_(
        "The committee set a deadline for answering this clarification request, and it has passed. The answer was "
        "not accepted; the refused attempt is recorded in the evidence log."
    )
    audit_action = "evaluation.clarification.refused"


@dataclass
class AnswerFile:
    name: str
    stream: IO[bytes]
    length: int | None
    content_type: str = "application/octet-stream"


def _fail(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    return field_error(field, message, params)


def answer_period() -> timedelta:
    """EVALUATION_CLARIFICATION_HOURS (a number of hours, or a timedelta), 24 hours by default."""
    value = current_app.config.get("EVALUATION_CLARIFICATION_HOURS", DEFAULT_HOURS)
    if isinstance(value, timedelta):
        return value
    return timedelta(hours=float(str(value)))


def max_file_size() -> int:
    return int(current_app.config.get("EVALUATION_CLARIFICATION_MAX_FILE", DEFAULT_MAX_FILE))


def effective_status(c: Clarification, now: datetime | None = None) -> str:
    """The status as callers see it: an open request past its deadline is expired even before the sweep runs."""
    if c.status is ClarificationStatus.OPEN and (now or now_utc()) >= c.due_at:
        return ClarificationStatus.EXPIRED.value
    return c.status.value


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- the committee's side ------------------------------------------------------------------------------------


def issue(
    *, actor: Any, tender: Tender, room: Room, bid_id: str, question: str, hours: float | None = None
) -> Clarification:
    """The chair asks the bidder of a bid before the room (review or scoring), named by its public id, to clarify;
    the deadline starts now."""
    chair = require_chair(actor, tender, room, "clarification-request")
    if room.phase not in (RoomPhase.REVIEW, RoomPhase.SCORING):
        raise Conflict(N_("Clarifications are requested while the room reviews or scores."))
    bid = room_bid(room, bid_id)
    if bid is None or bid.public_id in failed_public_ids(room) or bid.outcome is not BidOutcome.VALID:
        raise _fail("bid_id", N_("a bid before this room, still in the evaluation"))
    text = (question or "").strip()
    if not text or len(text) > MAX_QUESTION:
        raise _fail("question", N_("the question, 1 to %(limit)s characters"), params={"limit": MAX_QUESTION})
    if hours is not None and not 0 < hours <= MAX_HOURS:
        raise _fail("hours", N_("more than 0 and at most %(limit)s hours"), params={"limit": MAX_HOURS})
    now = now_utc()
    due = now + (timedelta(hours=hours) if hours is not None else answer_period())
    c = Clarification(
        tender_id=tender.id,
        room_id=room.id,
        bid_id=bid.id,
        organisation_id=bid.organisation_id,
        question=text,
        asked_by_member_id=chair.id,
        asked_by_id=actor.id,
        asked_at=now,
        due_at=due,
        status=ClarificationStatus.OPEN,
    )
    db.session.add(c)
    db.session.flush()
    record(
        "evaluation.clarification.requested",
        actor=actor,
        subject=c.audit_subject,
        data={
            "clarification_id": c.id,
            "stage": room.stage,
            "bid_id": bid.public_id,
            "seat": chair.seat,
            "question_sha256": _sha(text),
            "due_at": instant(due),
            "at": instant(now),
        },
    )
    return c


def _file_view(c: Clarification) -> dict[str, Any] | None:
    if not c.answer_file_key:
        return None
    return {"name": c.answer_file_name, "sha256": c.answer_file_sha256, "size": c.answer_file_size}


def member_view(c: Clarification, seats: dict[int, int | None], now: datetime) -> dict[str, Any]:
    return {
        "id": c.id,
        "stage": c.room.stage,
        "bid_id": c.bid.public_id,
        "bidder": c.organisation.name,
        "question": c.question,
        "asked_by_seat": seats.get(c.asked_by_member_id),
        "asked_at": c.asked_at,
        "due_at": c.due_at,
        "status": effective_status(c, now),
        "answer": c.answer,
        "answered_at": c.answered_at,
        "file": _file_view(c),
    }


def room_clarifications(room: Room) -> list[Clarification]:
    return list(
        db.session.scalars(select(Clarification).where(Clarification.room_id == room.id).order_by(Clarification.id))
    )


def list_for_room(*, actor: Any, tender: Tender, room: Room) -> list[dict[str, Any]]:
    """Every request of the room with its answer: for the members, the agency and overseers (others refused)."""
    viewer(actor, tender, room)
    seats = {m.id: m.seat for m in room.committee.members}
    now = now_utc()
    return [member_view(c, seats, now) for c in room_clarifications(room)]


def open_answer_file(
    *, actor: Any, tender: Tender, room: Room, clarification_id: int
) -> tuple[Clarification, IO[bytes]]:
    """The file attached to an answer, for a member; the download is an evidence-log entry."""
    member = require_member(actor, tender, room, "clarification-file")
    c = db.session.get(Clarification, clarification_id) if is_valid_id(clarification_id) else None
    if c is None or c.room_id != room.id or not c.answer_file_key:
        raise NotFound(N_("No such clarification file."))
    fh = get_storage().open(DOCUMENTS, c.answer_file_key)
    record(
        "evaluation.clarification.file_downloaded",
        actor=actor,
        subject=c.audit_subject,
        data={
            "clarification_id": c.id,
            "stage": room.stage,
            "seat": member.seat,
            "sha256": c.answer_file_sha256,
            "at": instant(),
        },
    )
    return c, fh


# --- the bidder's side ---------------------------------------------------------------------------------------


def _bidder_org(actor: Any) -> int:
    org = getattr(actor, "organisation_id", None)
    if org is None or not actor.has_permission(BID):
        raise PermissionDenied(N_("Only a bidder's user, on behalf of its organisation, may do this."))
    return int(org)


def bidder_view(c: Clarification, now: datetime) -> dict[str, Any]:
    """What the bidder reads of its own request: no seat, no member, no score, nothing of other bidders."""
    tender = c.room.committee.tender
    return {
        "id": c.id,
        "tender_id": c.tender_id,
        "tender_reference": tender.reference,
        "tender_title": tender.title,
        "stage": c.room.stage,
        "bid_id": c.bid.public_id,
        "question": c.question,
        "asked_at": c.asked_at,
        "due_at": c.due_at,
        "status": effective_status(c, now),
        "answer": c.answer,
        "answered_at": c.answered_at,
        "file": _file_view(c),
    }


def list_for_bidder(*, actor: Any, open_only: bool = False) -> list[dict[str, Any]]:
    """The requests addressed to the caller's organisation, newest first."""
    org = _bidder_org(actor)
    rows = db.session.scalars(
        select(Clarification).where(Clarification.organisation_id == org).order_by(Clarification.id.desc())
    )
    now = now_utc()
    out = [bidder_view(c, now) for c in rows]
    return [v for v in out if v["status"] == "open"] if open_only else out


def own_clarification(*, actor: Any, clarification_id: int) -> Clarification:
    """A request addressed to the caller's organisation; anything else is refused (and the refusal logged)."""
    org = _bidder_org(actor)
    c = db.session.get(Clarification, clarification_id) if is_valid_id(clarification_id) else None
    if c is None:
        raise NotFound(N_("No such clarification request."))
    if c.organisation_id != org:
        raise AccessRefused(
            N_("This clarification request is addressed to another bidder."),
            actor=actor,
            subject=c.audit_subject,
            data={"attempt": "clarification", "clarification_id": c.id},
        )
    return c


def _late(actor: Any, c: Clarification, now: datetime) -> ClarificationLate:
    return ClarificationLate(
        N_("The deadline for this clarification has passed: the answer was not received."),
        actor=actor,
        subject=c.audit_subject,
        data={"clarification_id": c.id, "due_at": instant(c.due_at), "at": instant(now)},
    )


def _check_answerable(actor: Any, c: Clarification) -> None:
    now = now_utc()
    if c.status is ClarificationStatus.ANSWERED:
        raise Conflict(N_("This clarification request is already answered."))
    if c.status is ClarificationStatus.EXPIRED or now >= c.due_at:
        raise _late(actor, c, now)
    if c.room.phase is RoomPhase.FINISHED:
        raise Conflict(N_("The committee has finished its work in this room."))


def answer(
    *, actor: User, clarification_id: int, text: str, confirmed: bool, file: AnswerFile | None = None
) -> Clarification:
    """The bidder's written answer, once, before the deadline; an optional file is stored write-once."""
    c = own_clarification(actor=actor, clarification_id=clarification_id)
    _check_answerable(actor, c)
    body = (text or "").strip()
    if not body or len(body) > MAX_ANSWER:
        raise _fail("text", N_("the written answer, 1 to %(limit)s characters"), params={"limit": MAX_ANSWER})
    if not confirmed:
        raise _fail("confirm", N_("confirm the statement: the answer does not change the substance of the bid"))
    stored: dict[str, Any] | None = None
    if file is not None:
        limit = max_file_size()
        key = f"clarifications/{c.tender_id}/{c.id}/{uuid.uuid4().hex}"
        cid = c.id
        info = store_document(  # no transaction (SQLite: no write lock) while the file streams to storage
            key,
            name=file.name,
            stream=file.stream,
            length=file.length,
            content_type=file.content_type,
            limit=limit,
            too_large=_fail("file", N_("a file of at most %(limit)s bytes"), params={"limit": limit}),
        )
        stored = {"key": key, "name": file.name, "sha256": info.sha256, "size": info.size, "type": file.content_type}
        fresh = db.session.get(Clarification, cid, with_for_update=True, populate_existing=True)
        if fresh is None:
            raise NotFound(N_("No such clarification request."))
        c = fresh
        _check_answerable(actor, c)  # the upload may have outlasted the deadline, or a colleague answered
    now = now_utc()
    c.status, c.answer, c.answered_at, c.answered_by_id = ClarificationStatus.ANSWERED, body, now, actor.id
    if stored:
        c.answer_file_key, c.answer_file_name = stored["key"], stored["name"]
        c.answer_file_sha256, c.answer_file_size, c.answer_file_type = stored["sha256"], stored["size"], stored["type"]
    db.session.flush()
    record(
        "evaluation.clarification.answered",
        actor=actor,
        subject=c.audit_subject,
        data={
            "clarification_id": c.id,
            "stage": c.room.stage,
            "bid_id": c.bid.public_id,
            "answer_sha256": _sha(body),
            "statement_confirmed": True,
            "file": {"name": stored["name"], "sha256": stored["sha256"], "size": stored["size"]} if stored else None,
            "due_at": instant(c.due_at),
            "at": instant(now),
        },
    )
    return c


# --- the sweep ----------------------------------------------------------------------------------------------


def expire_due() -> dict[str, int]:
    """Mark open requests past their deadline expired, each with its evidence-log entry (idempotent)."""
    now = now_utc()
    due = list(
        db.session.scalars(
            select(Clarification).where(Clarification.status == ClarificationStatus.OPEN, Clarification.due_at <= now)
        )
    )
    for c in due:
        c.status, c.expired_at = ClarificationStatus.EXPIRED, now
        record(
            "evaluation.clarification.expired",
            actor="system",
            subject=c.audit_subject,
            data={
                "clarification_id": c.id,
                "stage": c.room.stage,
                "bid_id": c.bid.public_id,
                "due_at": instant(c.due_at),
                "at": instant(now),
            },
        )
    db.session.flush()
    return {"clarifications_expired": len(due)}
