"""The evaluation report (评标报告), its signatures, the publicity of candidates (公示), objections (异议), the award.

- The chair of the last room draws the report up once the result is aggregated: a canonical-JSON document with
  the committee (names included), every room's review result and votes, every member's scores, the aggregation,
  the ranking and the recommended candidates (the top EVALUATION_RECOMMENDED_CANDIDATES, 3 by default).
- Each seated member signs it. The platform holds no member's private key: the member re-authenticates in the
  signing request (password or TOTP code) and confirms the report's SHA-256; the platform then issues a signature
  entry {seat, report_sha256, signed_at, audit_index, dissent} signed with its own key, after logging the signing
  in the evidence log. A member who disagrees signs with a dissent note. All seats signed: the report is final.
- `verify_signed_report` (crypto.report; `python -m crypto verify-report`) checks a report bundle offline with
  nothing but the platform's public key.
- The agency publishes the candidates for EVALUATION_PUBLICITY_DAYS (3); the committee's names become visible.
  Bidders of the tender object within the window; an open objection suspends the process; the agency answers
  within EVALUATION_OBJECTION_ANSWER_DAYS (3) (the sweep flags late answers). When the window has ended and no
  objection is open, the agency issues the award: a platform-signed document with the award notice to the winner
  and a result notice to every other bidder.
Every step is an evidence-log entry under `tender:<id>/evaluation`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.accounts.services_passwords import verify_password
from app.accounts.services_totp import verify_totp
from app.audit import record
from app.audit.models import AuditEntry
from app.audit.services import actor_ref
from app.core.db import db
from app.core.errors import Conflict, NotFound, TooManyRequests, ValidationFailed, field_error
from app.core.keys import platform_signing_key
from app.core.problems import N_
from app.core.time import now_utc
from app.evaluation.committee.services import get_committee, is_overseer, member_uid, refuse, require_manager
from app.evaluation.models import (
    Award,
    Committee,
    CommitteeMember,
    EvaluationReport,
    Objection,
    ObjectionStatus,
    ReportSignature,
    ReportStatus,
    Room,
)
from app.evaluation.room.services import instant, require_chair, seated_members
from app.tendering import common
from app.tendering.models import Bid, Tender, TenderStatus
from app.tendering.permissions import BID
from app.tendering.services_tenders import is_manager_of
from crypto.canonical import canonicalize
from crypto.report import SIGNATURE_KIND
from crypto.signing import sign_document

REPORT_KIND = "evaluation-report"
AWARD_KIND = "evaluation-award"
MAX_RECOMMENDED = 10
MAX_REAUTH_FAILURES = 5  # wrong credentials per member within REAUTH_WINDOW before signing is refused (429)
REAUTH_WINDOW = timedelta(minutes=15)


class ReauthenticationFailed(common.ReauthenticationFailed):
    """The signing member's password or TOTP code was wrong: refused, and the attempt logged."""

    audit_action = "evaluation.report.sign_refused"


def _fail(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    return field_error(field, message, params)


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonicalize(value)).hexdigest()


def _period(name: str, default_days: float) -> timedelta:
    value = current_app.config.get(name, default_days)
    if isinstance(value, timedelta):
        return value
    return timedelta(days=float(str(value)))


def publicity_period() -> timedelta:
    return _period("EVALUATION_PUBLICITY_DAYS", 3)


def answer_period() -> timedelta:
    return _period("EVALUATION_OBJECTION_ANSWER_DAYS", 3)


# --- the report ----------------------------------------------------------------------------------------


def get_report(tender: Tender) -> EvaluationReport:
    report: EvaluationReport | None = db.session.scalar(
        select(EvaluationReport).where(EvaluationReport.tender_id == tender.id)
    )
    if report is None:
        raise NotFound(N_("No evaluation report for this tender yet."))
    return report


def final_room(tender: Tender) -> Room:
    """The room holding the result: the last stage's room, aggregated."""
    room: Room | None = db.session.scalar(
        select(Room).where(Room.tender_id == tender.id).order_by(Room.stage.desc()).limit(1)
    )
    if room is None or room.result is None or room.stage < tender.stage_count:
        raise Conflict(N_("The result of the last stage is not aggregated yet."))
    return room


def _committee_part(committee: Committee, room: Room) -> dict[str, Any]:
    return {
        "size": committee.size,
        "expert_seats": committee.expert_seats,
        "rules": committee.rules,
        "members": [
            {
                "seat": m.seat,
                "kind": m.kind.value,
                "name": m.user.display_name,
                "user_id": m.user_id,
                "expert_id": m.expert_id,
                "chair": m.id == room.chair_member_id,
            }
            for m in seated_members(committee)
        ],
    }


def build_document(tender: Tender, room: Room, recommended: int, at: datetime) -> dict[str, Any]:
    """The report's canonical content (pure JSON: no floats, no datetimes)."""
    committee = get_committee(tender)
    rooms = list(db.session.scalars(select(Room).where(Room.tender_id == tender.id).order_by(Room.stage)))
    result = dict(room.result or {})
    ranking = [
        {
            "rank": b["rank"],
            "bid_id": b["bid_id"],
            "bidder": b["bidder"],
            "price": b.get("price"),
            "total": b.get("total"),
            "evaluated_price": b.get("evaluated_price"),
            "tie_unresolved": b.get("tie_unresolved", False),
        }
        for b in result.get("bids", [])
    ]
    return {
        "kind": REPORT_KIND,
        "version": 1,
        "tender": {
            "id": tender.id,
            "reference": tender.reference,
            "title": tender.title,
            "evaluation_method": tender.evaluation_method.value,
            "buyer": tender.buyer.name,
            "agency": tender.agency.name,
        },
        "committee": _committee_part(committee, room),
        "reviews": [
            {"stage": r.stage, "requirements": r.requirements, "result": r.review_result}
            for r in rooms
            if r.review_result is not None
        ],
        "scores": [{"bid_id": b["bid_id"], "members": b.get("members", [])} for b in result.get("bids", [])],
        "aggregation": result,
        "ranking": ranking,
        "recommended": ranking[:recommended],
        "drawn_up_at": instant(at),
    }


def draw_up(*, actor: Any, tender: Tender, recommended: int | None = None) -> EvaluationReport:
    """The chair of the last room draws the report up from the aggregated result (once)."""
    room = final_room(tender)
    require_chair(actor, tender, room, "draw-up-report")
    if db.session.scalar(select(EvaluationReport.id).where(EvaluationReport.tender_id == tender.id)):
        raise Conflict(N_("The report is already drawn up."))
    count = recommended or int(current_app.config.get("EVALUATION_RECOMMENDED_CANDIDATES", 3))
    if not 1 <= count <= MAX_RECOMMENDED:
        raise _fail("recommended", N_("1 to %(limit)s candidates"), params={"limit": MAX_RECOMMENDED})
    if not (room.result or {}).get("bids"):
        raise Conflict(N_("No bid was ranked: there is no candidate to recommend."))
    now = now_utc()
    document = build_document(tender, room, count, now)
    digest = sha256_hex(document)
    entry = record(
        "evaluation.report.drawn_up",
        actor=actor,
        subject=f"tender:{tender.id}/evaluation",
        data={
            "report_sha256": digest,
            "recommended": [c["bid_id"] for c in document["recommended"]],
            "at": instant(now),
        },
    )
    report = EvaluationReport(
        tender_id=tender.id,
        room_id=room.id,
        status=ReportStatus.SIGNING,
        document=document,
        report_sha256=digest,
        drawn_up_at=now,
        drawn_up_by_id=actor.id,
        audit_index=entry.index,
    )
    db.session.add(report)
    db.session.flush()
    return report


def _signing_member(actor: Any, tender: Tender, report: EvaluationReport) -> CommitteeMember:
    uid = member_uid(actor)
    member = next((m for m in seated_members(get_committee(tender)) if m.user_id == uid), None)
    if member is None:
        raise refuse(actor, tender, "sign-report", N_("Only the committee's seated members sign the report."))
    return member


def _reauthenticate(actor: Any, tender: Tender, password: str | None, totp: str | None) -> str:
    """Check the fresh credential(s) sent with the signing request; returns how the member re-authenticated."""
    if not password and not totp:
        raise _fail("password", N_("Confirm your identity with your password or a TOTP code."))
    since = now_utc() - REAUTH_WINDOW
    refused = db.session.scalar(
        select(func.count(AuditEntry.index)).where(
            AuditEntry.action == ReauthenticationFailed.audit_action,
            AuditEntry.actor == actor_ref(actor),
            AuditEntry.created_at >= since,
        )
    )
    if (refused or 0) >= MAX_REAUTH_FAILURES:
        raise TooManyRequests(N_("Too many wrong credentials: try signing again later."))
    via = []
    if password:
        if not verify_password(actor, password):
            raise ReauthenticationFailed(
                N_("The password is not correct."),
                actor=actor,
                subject=f"tender:{tender.id}/evaluation",
                data={"attempt": "sign-report", "via": "password"},
            )
        via.append("password")
    if totp:
        if not actor.totp_enabled or not verify_totp(actor, totp):
            raise ReauthenticationFailed(
                N_("The TOTP code is not correct."),
                actor=actor,
                subject=f"tender:{tender.id}/evaluation",
                data={"attempt": "sign-report", "via": "totp"},
            )
        via.append("totp")
    return "+".join(via)


def sign(
    *,
    actor: Any,
    tender: Tender,
    report_sha256: str,
    password: str | None = None,
    totp: str | None = None,
    dissent: str | None = None,
) -> ReportSignature:
    """A seated member signs the report they confirm by its hash, after a fresh re-authentication."""
    report = get_report(tender)
    member = _signing_member(actor, tender, report)
    if report_sha256 != report.report_sha256:
        raise _fail("report_sha256", N_("This is not the hash of the report as drawn up."))
    if any(s.member_id == member.id for s in report.signatures):
        raise Conflict(N_("You have already signed the report."))
    via = _reauthenticate(actor, tender, password, totp)
    note = (dissent or "").strip() or None
    now = now_utc()
    entry = record(
        "evaluation.report.signed",
        actor=actor,
        subject=report.audit_subject,
        data={
            "seat": member.seat,
            "report_sha256": report.report_sha256,
            "reauthenticated_with": via,
            "dissent": note,
            "at": instant(now),
        },
    )
    payload = {
        "kind": SIGNATURE_KIND,
        "tender_id": tender.id,
        "seat": member.seat,
        "report_sha256": report.report_sha256,
        "signed_at": instant(now),
        "audit_index": entry.index,
        "reauthenticated_with": via,
        "dissent": note,
    }
    signature = ReportSignature(
        report_id=report.id,
        member_id=member.id,
        seat=member.seat or 0,
        dissent=note,
        signed_at=now,
        audit_index=entry.index,
        signed=sign_document(payload, platform_signing_key()),
    )
    db.session.add(signature)
    db.session.flush()
    db.session.refresh(report)
    seats = {m.seat for m in seated_members(get_committee(tender))}
    if {s.seat for s in report.signatures} >= seats:
        report.status, report.finalised_at = ReportStatus.FINAL, now
        record(
            "evaluation.report.final",
            actor=actor,
            subject=report.audit_subject,
            data={
                "report_sha256": report.report_sha256,
                "signatures": len(report.signatures),
                "dissenting_seats": [s.seat for s in report.signatures if s.dissent],
                "at": instant(now),
            },
        )
        db.session.flush()
    return signature


def bundle(report: EvaluationReport) -> dict[str, Any]:
    """What anyone needs to verify the report offline: the document, its hash and the signature entries."""
    return {
        "report": report.document,
        "report_sha256": report.report_sha256,
        "signatures": [s.signed for s in report.signatures],
    }


def report_view(actor: Any, tender: Tender) -> dict[str, Any]:
    """The report with its signatures: members, the agency and overseers; after publication also the bidders.

    Access is decided before the report is looked up, so an outsider learns nothing, not even whether it exists.
    """
    uid = member_uid(actor)
    committee = get_committee(tender)
    allowed = (
        is_overseer()
        or is_manager_of(actor, tender)
        or any(m.user_id == uid for m in seated_members(committee))
        or (committee.names_published_at is not None and is_bidder(actor, tender))
    )
    if not allowed:
        raise refuse(
            actor, tender, "read-report", N_("The report is shown to the committee, the agency and overseers.")
        )
    report = get_report(tender)
    seats = [m.seat for m in seated_members(committee)]
    done = {s.seat for s in report.signatures}
    data = bundle(report)
    # Names stay confidential until publication: the agency sees the report with the members as seats only.
    redacted = (
        committee.names_published_at is None and not is_overseer() and uid not in {m.user_id for m in committee.members}
    )
    if redacted:
        document = dict(data["report"])
        document["committee"] = {
            **document["committee"],
            "members": [
                {**m, "name": None, "user_id": None, "expert_id": None} for m in document["committee"]["members"]
            ],
        }
        data["report"] = document
    return {
        "tender_id": tender.id,
        "status": report.status.value,
        "drawn_up_at": report.drawn_up_at,
        "finalised_at": report.finalised_at,
        "waiting_seats": [s for s in seats if s not in done],
        "publicity_started_at": report.publicity_started_at,
        "publicity_ends_at": report.publicity_ends_at,
        "publicity_ended_at": report.publicity_ended_at,
        "names_redacted": redacted,
        **data,
    }


# --- publicity ------------------------------------------------------------------------------------------


def publish(*, actor: Any, tender: Tender, days: float | None = None) -> EvaluationReport:
    """The agency publishes the candidates of the final report: names are revealed, the window opens."""
    require_manager(actor, tender)
    report = get_report(tender)
    if report.status is not ReportStatus.FINAL:
        raise Conflict(N_("The report is not signed by every member yet."))
    if report.publicity_started_at is not None:
        raise Conflict(N_("The candidates are already published."))
    period = publicity_period()
    if days is not None:
        if timedelta(days=days) < period:
            raise _fail("days", N_("at least the configured %(period)s of publicity"), params={"period": period})
        period = timedelta(days=days)
    now = now_utc()
    report.publicity_started_at, report.publicity_ends_at = now, now + period
    committee = get_committee(tender)
    committee.names_published_at = now
    record(
        "evaluation.publicity.started",
        actor=actor,
        subject=report.audit_subject,
        data={
            "report_sha256": report.report_sha256,
            "candidates": [c["bid_id"] for c in report.document["recommended"]],
            "ends_at": instant(report.publicity_ends_at),
            "at": instant(now),
        },
    )
    db.session.flush()
    return report


def in_publicity(report: EvaluationReport, at: datetime | None = None) -> bool:
    now = at or now_utc()
    return (
        report.publicity_started_at is not None
        and report.publicity_ends_at is not None
        and report.publicity_started_at <= now < report.publicity_ends_at
    )


def _tender(tender_id: int) -> Tender:
    tender = db.session.get(Tender, tender_id)
    if tender is None:  # a foreign key: cannot happen
        raise NotFound(N_("No such tender."))
    return tender


def publicity_entry(report: EvaluationReport, tender: Tender) -> dict[str, Any]:
    return {
        "tender_id": tender.id,
        "reference": tender.reference,
        "title": tender.title,
        "started_at": report.publicity_started_at,
        "ends_at": report.publicity_ends_at,
        "suspended": open_objections(tender) > 0,
        "report_sha256": report.report_sha256,
        "committee": [
            {"seat": m["seat"], "kind": m["kind"], "name": m["name"]} for m in report.document["committee"]["members"]
        ],
        "candidates": [
            {
                "rank": c["rank"],
                "bid_id": c["bid_id"],
                "bidder": c["bidder"],
                "price": c["price"],
                "total": c["total"],
                "evaluated_price": c.get("evaluated_price"),
            }
            for c in report.document["recommended"]
        ],
    }


def list_publicity() -> list[dict[str, Any]]:
    """Candidates of every tender now in publicity (public)."""
    now = now_utc()
    rows = db.session.scalars(
        select(EvaluationReport)
        .where(EvaluationReport.publicity_started_at <= now, EvaluationReport.publicity_ends_at > now)
        .order_by(EvaluationReport.publicity_ends_at, EvaluationReport.id)
    )
    return [publicity_entry(r, _tender(r.tender_id)) for r in rows]


# --- objections -----------------------------------------------------------------------------------------


def is_bidder(actor: Any, tender: Tender) -> bool:
    org = getattr(actor, "organisation_id", None)
    return (
        org is not None
        and actor.has_permission(BID)
        and bool(db.session.scalar(select(Bid.id).where(Bid.tender_id == tender.id, Bid.organisation_id == org)))
    )


def open_objections(tender: Tender) -> int:
    return len(
        list(
            db.session.scalars(
                select(Objection.id).where(Objection.tender_id == tender.id, Objection.status == ObjectionStatus.OPEN)
            )
        )
    )


def objection_view(o: Objection) -> dict[str, Any]:
    return {
        "id": o.id,
        "tender_id": o.tender_id,
        "bidder": o.organisation.name,
        "text": o.text,
        "status": o.status.value,
        "filed_at": o.filed_at,
        "answer_due_at": o.answer_due_at,
        "overdue": o.overdue_at is not None or (o.answered_at or now_utc()) > o.answer_due_at,
        "answer": o.answer,
        "answered_at": o.answered_at,
    }


def file_objection(*, actor: Any, tender: Tender, text: str) -> Objection:
    """A bidder of the tender objects within the publicity window; the process is suspended until answered."""
    if not is_bidder(actor, tender):
        raise refuse(actor, tender, "object", N_("Only the bidders of this tender may object."))
    report = get_report(tender)
    if not in_publicity(report):
        raise Conflict(N_("Objections are accepted only during the publicity period."))
    if not text.strip():
        raise _fail("text", N_("state the objection"))
    now = now_utc()
    objection = Objection(
        tender_id=tender.id,
        report_id=report.id,
        organisation_id=actor.organisation_id,
        filed_by_id=actor.id,
        text=text.strip(),
        status=ObjectionStatus.OPEN,
        filed_at=now,
        answer_due_at=now + answer_period(),
    )
    db.session.add(objection)
    db.session.flush()
    record(
        "evaluation.objection.filed",
        actor=actor,
        subject=report.audit_subject,
        data={
            "objection_id": objection.id,
            "organisation_id": objection.organisation_id,
            "text_sha256": hashlib.sha256(objection.text.encode()).hexdigest(),
            "answer_due_at": instant(objection.answer_due_at),
            "suspended": True,
            "at": instant(now),
        },
    )
    return objection


def list_objections(actor: Any, tender: Tender) -> list[Objection]:
    query = select(Objection).where(Objection.tender_id == tender.id).order_by(Objection.id)
    if is_overseer() or is_manager_of(actor, tender):
        return list(db.session.scalars(query))
    if is_bidder(actor, tender):
        return list(db.session.scalars(query.where(Objection.organisation_id == actor.organisation_id)))
    raise refuse(
        actor, tender, "read-objections", N_("Objections are shown to the agency, overseers and their filers.")
    )


def answer_objection(*, actor: Any, tender: Tender, objection_id: int, answer: str) -> Objection:
    """The agency answers; the last open objection answered resumes the process."""
    require_manager(actor, tender)
    objection = db.session.get(Objection, objection_id) if 0 < objection_id < 2**31 else None
    if objection is None or objection.tender_id != tender.id:
        raise NotFound(N_("No such objection."))
    if objection.status is not ObjectionStatus.OPEN:
        raise Conflict(N_("The objection is already answered."))
    if not answer.strip():
        raise _fail("answer", N_("the answer is required"))
    now = now_utc()
    objection.status, objection.answer = ObjectionStatus.ANSWERED, answer.strip()
    objection.answered_at, objection.answered_by_id = now, actor.id
    db.session.flush()
    record(
        "evaluation.objection.answered",
        actor=actor,
        subject=f"tender:{tender.id}/evaluation",
        data={
            "objection_id": objection.id,
            "answer_sha256": hashlib.sha256(objection.answer.encode()).hexdigest(),
            "overdue": now > objection.answer_due_at,
            "resumed": open_objections(tender) == 0,
            "at": instant(now),
        },
    )
    return objection


# --- award ----------------------------------------------------------------------------------------------


def get_award(tender: Tender) -> Award:
    award: Award | None = db.session.scalar(select(Award).where(Award.tender_id == tender.id))
    if award is None:
        raise NotFound(N_("No award for this tender yet."))
    return award


def _bid_of(tender: Tender, ref: str | int) -> Bid:
    """The tender's bid a report or award names: by its public id, or by the internal id in a document signed before
    evaluations named bids by public id (its signature covers that id, so it stays; new documents never copy it)."""
    column = Bid.id if isinstance(ref, int) else Bid.public_id
    bid: Bid | None = db.session.scalar(select(Bid).where(Bid.tender_id == tender.id, column == ref))
    if bid is None:  # the report names the tender's own bids: cannot happen
        raise NotFound(N_("No such bid of this tender."))
    return bid


def issue_award(*, actor: Any, tender: Tender) -> Award:
    """After the window, with no open objection: the award notice to the first candidate, result notices to all
    other bidders, in one platform-signed document. The tender becomes `awarded` (closed)."""
    require_manager(actor, tender)
    report = get_report(tender)
    now = now_utc()
    if report.publicity_ends_at is None:
        raise Conflict(N_("The candidates have not been published."))
    if now < report.publicity_ends_at:
        raise Conflict(N_("The publicity period has not ended."))
    if open_objections(tender):
        raise Conflict(N_("An objection is open: the process is suspended until it is answered."))
    if db.session.scalar(select(Award.id).where(Award.tender_id == tender.id)):
        raise Conflict(N_("The award is already issued."))
    winner = report.document["recommended"][0]
    if report.publicity_ended_at is None:
        _end_publicity(report, now)
    entry, signed = _award_document(actor, tender, report, winner, now, declined=[], supersedes=None)
    award = Award(
        tender_id=tender.id,
        report_id=report.id,
        winner_bid_id=_bid_of(tender, winner["bid_id"]).id,
        issued_at=now,
        issued_by_id=actor.id,
        audit_index=entry.index,
        signed=signed,
    )
    db.session.add(award)
    tender.status = TenderStatus.AWARDED  # closed: no room, committee or objection step accepts it any more
    db.session.flush()
    return award


def _award_document(
    actor: Any,
    tender: Tender,
    report: EvaluationReport,
    winner: dict[str, Any],
    now: datetime,
    *,
    declined: list[dict[str, Any]],
    supersedes: str | None,
) -> tuple[AuditEntry, dict[str, Any]]:
    """Log the award and sign its document: the award notice to `winner`, a result notice to every other bidder
    (`declined` for a candidate who gave the award up). Bids are compared by internal id, named by public id."""
    ranks = {_bid_of(tender, r["bid_id"]).id: r["rank"] for r in report.document["ranking"]}
    gone = {_bid_of(tender, d["bid_id"]).id for d in declined}
    winner_bid = _bid_of(tender, winner["bid_id"])
    bids = list(db.session.scalars(select(Bid).where(Bid.tender_id == tender.id).order_by(Bid.id)))
    notices = [
        {
            "bid_id": b.public_id,
            "organisation_id": b.organisation_id,
            "bidder": b.organisation.name,
            "notice": "award" if b.id == winner_bid.id else "declined" if b.id in gone else "result",
            "rank": ranks.get(b.id),
        }
        for b in bids
    ]
    entry = record(
        "evaluation.award.issued",
        actor=actor,
        subject=report.audit_subject,
        data={
            "winner_bid_id": winner_bid.public_id,
            "report_sha256": report.report_sha256,
            "notices": [{"bid_id": n["bid_id"], "notice": n["notice"]} for n in notices],
            "supersedes": supersedes,
            "at": instant(now),
        },
    )
    payload: dict[str, Any] = {
        "kind": AWARD_KIND,
        "tender": report.document["tender"],
        "report_sha256": report.report_sha256,
        "winner": {"bid_id": winner_bid.public_id, "bidder": winner["bidder"], "price": winner["price"]},
        "notices": notices,
        "issued_at": instant(now),
        "audit_index": entry.index,
    }
    if supersedes is not None:
        payload["supersedes"] = supersedes
        payload["declined"] = [{**d, "bid_id": _bid_of(tender, d["bid_id"]).public_id} for d in declined]
    return entry, sign_document(payload, platform_signing_key())


def reassign_award(*, actor: Any, tender: Tender, reason: str) -> Award:
    """The winner gave the award up or failed to sign the contract (第一中标候选人放弃中标、未签订合同): the agency
    records it with the reason and awards the next recommended candidate in the report's order, in a new signed
    document that names the one it supersedes (by the SHA-256 of its payload). No candidate left: Conflict (the
    tender is tendered again)."""
    require_manager(actor, tender)
    award = get_award(tender)
    if not reason.strip():
        raise _fail("reason", N_("give the reason (declined, or failed to sign the contract)"))
    report = db.session.get(EvaluationReport, award.report_id)
    if report is None:  # a foreign key: cannot happen
        raise NotFound(N_("No evaluation report for this tender."))
    previous = award.signed["payload"]
    now = now_utc()
    loser = _bid_of(tender, award.winner_bid_id)
    declined = [
        *previous.get("declined", []),
        {"bid_id": loser.public_id, "reason": reason.strip(), "at": instant(now)},
    ]
    gone = {_bid_of(tender, d["bid_id"]).id for d in declined}
    winner = next((c for c in report.document["recommended"] if _bid_of(tender, c["bid_id"]).id not in gone), None)
    if winner is None:
        raise Conflict(N_("No recommended candidate is left: the tender has to be tendered again."))
    next_bid = _bid_of(tender, winner["bid_id"])
    record(
        "evaluation.award.declined",
        actor=actor,
        subject=report.audit_subject,
        data={
            "bid_id": loser.public_id,
            "reason": reason.strip(),
            "next_bid_id": next_bid.public_id,
            "at": instant(now),
        },
    )
    entry, signed = _award_document(
        actor, tender, report, winner, now, declined=declined, supersedes=sha256_hex(previous)
    )
    award.winner_bid_id, award.issued_at, award.issued_by_id = next_bid.id, now, actor.id
    award.audit_index, award.signed = entry.index, signed
    db.session.flush()
    return award


def award_view(actor: Any, tender: Tender) -> dict[str, Any]:
    """The signed award document: the agency, overseers and the tender's bidders."""
    if not (is_overseer() or is_manager_of(actor, tender) or is_bidder(actor, tender)):
        raise refuse(actor, tender, "read-award", N_("The award is shown to the agency, overseers and the bidders."))
    award = get_award(tender)
    org = getattr(actor, "organisation_id", None)
    mine = next((n for n in award.signed["payload"]["notices"] if n["organisation_id"] == org), None)
    return {"tender_id": tender.id, "issued_at": award.issued_at, "your_notice": mine, "document": award.signed}


# --- the sweep ------------------------------------------------------------------------------------------


def _end_publicity(report: EvaluationReport, now: datetime) -> None:
    report.publicity_ended_at = now
    record(
        "evaluation.publicity.ended",
        actor="system",
        subject=report.audit_subject,
        data={
            "ends_at": instant(report.publicity_ends_at),
            "open_objections": open_objections(_tender(report.tender_id)),
            "at": instant(now),
        },
    )


def publicity_due() -> dict[str, int]:
    """Mark ended publicity periods and flag objections not answered in time (idempotent)."""
    now = now_utc()
    ended = list(
        db.session.scalars(
            select(EvaluationReport).where(
                EvaluationReport.publicity_ends_at <= now, EvaluationReport.publicity_ended_at.is_(None)
            )
        )
    )
    for report in ended:
        _end_publicity(report, now)
    late = list(
        db.session.scalars(
            select(Objection).where(
                Objection.status == ObjectionStatus.OPEN,
                Objection.answer_due_at <= now,
                Objection.overdue_at.is_(None),
            )
        )
    )
    for objection in late:
        objection.overdue_at = now
        record(
            "evaluation.objection.overdue",
            actor="system",
            subject=f"tender:{objection.tender_id}/evaluation",
            data={"objection_id": objection.id, "answer_due_at": instant(objection.answer_due_at), "at": instant(now)},
        )
    db.session.flush()
    return {"publicity_ended": len(ended), "objections_overdue": len(late)}
