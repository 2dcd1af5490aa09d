"""Questions and answers (answers public, askers never named), interest registration and notifications."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from app.accounts.models import User
from app.audit import batches, record
from app.audit.services import format_instant
from app.core.db import db, is_valid_id
from app.core.errors import Conflict, NotFound, PermissionDenied
from app.core.problems import N_
from app.core.time import now_utc
from app.tendering.models import Tender, TenderInterest, TenderNotification, TenderQuestion
from app.tendering.services_tenders import _require_manager, is_open_for_bids, notify_interested
from crypto.canonical import canonicalize


def _require_bidder(actor: User) -> int:
    if actor.organisation_id is None or not actor.has_permission("tendering.bid"):
        raise PermissionDenied(N_("Only a bidder's user, on behalf of its organisation, may do this."))
    return actor.organisation_id


def register_interest(*, actor: User, tender: Tender) -> TenderInterest:
    """Register the actor (and organisation) as interested: notified of clarifications. Idempotent."""
    org = _require_bidder(actor)
    if not is_open_for_bids(tender):
        raise Conflict(N_("The tender is not open for bids."))
    existing: TenderInterest | None = db.session.scalar(
        select(TenderInterest).where(TenderInterest.tender_id == tender.id, TenderInterest.user_id == actor.id)
    )
    if existing is not None:
        return existing
    now = now_utc()
    # Who is interested is as confidential as who bids, and so is how many: not an entry of its own (their number
    # would count the interested), but a hiding commitment in the next constant-rate batch (app.audit.batches).
    content = canonicalize(
        {
            "kind": "tendering.interest",
            "tender": tender.id,
            "user": actor.id,
            "organisation": org,
            "registered_at": format_instant(now),
        }
    )
    nonce, commitment = batches.new_commitment(content)
    interest = TenderInterest(
        tender_id=tender.id,
        user_id=actor.id,
        organisation_id=org,
        registered_at=now,
        commitment=commitment.hex(),
        nonce=nonce,
    )
    db.session.add(interest)
    db.session.flush()
    batches.commit(commitment)
    return interest


def ask_question(*, actor: User, tender: Tender, text: str) -> TenderQuestion:
    _require_bidder(actor)
    if not is_open_for_bids(tender):
        raise Conflict(N_("Questions are asked while the tender is open for bids."))
    question = TenderQuestion(tender_id=tender.id, asked_by_id=actor.id, text=text, asked_at=now_utc())
    db.session.add(question)
    db.session.flush()
    record(
        "tendering.question.asked",
        actor="sealed-bidder",  # a question is public once answered; questions count no bids
        subject=tender.audit_ref,
        data={"question_id": question.id, "sha256": hashlib.sha256(text.encode()).hexdigest()},
    )
    return question


def answer_question(*, actor: User, tender: Tender, question_id: int, answer: str) -> TenderQuestion:
    """Answer publicly, without naming who asked. Raises NotFound, Conflict when already answered."""
    _require_manager(actor, tender)
    question = db.session.get(TenderQuestion, question_id) if is_valid_id(question_id) else None
    if question is None or question.tender_id != tender.id:
        raise NotFound(N_("No such question."))
    if question.answer is not None:
        raise Conflict(N_("This question is already answered; issue a clarification to add to it."))
    if not is_open_for_bids(tender):
        raise Conflict(N_("Questions are answered while the tender is open for bids."))
    question.answer = answer
    question.answered_at = now_utc()
    db.session.flush()
    record(
        "tendering.question.answered",
        actor=actor,
        subject=tender.audit_ref,
        data={"question_id": question.id, "question": question.text, "answer": answer},
    )
    notify_interested(tender, "answer", f"{tender.reference}: a question was answered")
    return question


def list_questions(tender: Tender, *, answered_only: bool) -> list[TenderQuestion]:
    stmt = select(TenderQuestion).where(TenderQuestion.tender_id == tender.id)
    if answered_only:
        stmt = stmt.where(TenderQuestion.answer.is_not(None))
    return list(db.session.scalars(stmt.order_by(TenderQuestion.id)))


def list_notifications(user: User) -> list[TenderNotification]:
    return list(
        db.session.scalars(
            select(TenderNotification).where(TenderNotification.user_id == user.id).order_by(TenderNotification.id)
        )
    )
