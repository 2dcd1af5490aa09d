"""The evaluation room (评标室) of one stage of a tender: who may enter, the opened bids, the compliance review.

One room per tender and stage, opened by the agency once the stage's opening record is published and the
committee is complete (every seat confirmed and declared). The agency appoints the chair (评标委员会主任) from
the seated members when it opens the room, or the members elect one (services_chair); the chair closes the review
and aggregates the scores, and sees who has submitted, never what, until every sheet is in.

Only seated members who signed the no-conflict declaration enter. Every download of an opened file and every
step of the review is an evidence-log entry under `tender:<id>/evaluation`, with the instant (`at`) the
recording replay places on its timeline. Score sheets and aggregation are in `services_sheets.py`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import select

from app.accounts.models import User
from app.audit import record
from app.audit.services import format_instant
from app.core.db import db
from app.core.errors import Conflict, NotFound, ValidationFailed, field_error
from app.core.problems import N_
from app.core.storage import OPENED_BIDS, get_storage
from app.core.time import now_utc
from app.evaluation.committee.services import (
    get_committee,
    is_complete,
    is_overseer,
    member_uid,
    refuse,
    require_manager,
)
from app.evaluation.models import Committee, CommitteeMember, ReviewSheet, Room, RoomPhase
from app.evaluation.room import scoring
from app.tendering.models import (
    Bid,
    BidEnvelope,
    BidOutcome,
    EnvelopeOutcome,
    EvaluationMethod,
    OpeningRecord,
    Tender,
    TenderStatus,
    is_public_id,
)
from app.tendering.services_tenders import is_manager_of
from crypto.canonical import canonicalize

DEFAULT_REQUIREMENTS = ("资格审查", "符合性审查")
MAX_REQUIREMENTS = 30


def _fail(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    return field_error(field, message, params)


def instant(value: datetime | None = None) -> str:
    return format_instant(value or now_utc())


def digest(value: Any) -> str:
    return hashlib.sha256(canonicalize(value)).hexdigest()


# --- bids and prices ---------------------------------------------------------------------------------


def valid_bids(tender: Tender) -> list[Bid]:
    return list(
        db.session.scalars(
            select(Bid).where(Bid.tender_id == tender.id, Bid.outcome == BidOutcome.VALID).order_by(Bid.id)
        )
    )


def opened_envelopes(bid: Bid, stage: int) -> list[BidEnvelope]:
    version = bid.current_version
    return [
        e
        for e in (version.envelopes if version else [])
        if e.stage <= stage and e.outcome is EnvelopeOutcome.OPENED and e.plaintext_key
    ]


def bid_price(bid: Bid, stage: int) -> int | None:
    """The price of the bid form, once the envelope holding it has been opened."""
    for env in opened_envelopes(bid, stage):
        if env.form is not None and isinstance(env.form.get("price"), int):
            return int(env.form["price"])
    return None


def room_bids(room: Room) -> list[Bid]:
    return list(db.session.scalars(select(Bid).where(Bid.id.in_(room.bid_ids or [0])).order_by(Bid.id)))


# A bid's internal id is a global sequence: it never leaves the database. Everything the evaluation shows or
# records (answers, pages, URLs, log entries, the stored review and result documents, the signed report and
# award) names a bid by its random public id; the internal ids only join tables and break the last ties.


def public_ids(ids: Iterable[int]) -> dict[int, str]:
    """Internal id -> public id of the given bids."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = db.session.execute(select(Bid.id, Bid.public_id).where(Bid.id.in_(wanted)))
    return {int(i): str(p) for i, p in rows}


def room_public_ids(room: Room) -> list[str]:
    """The public ids of the bids before the room, in the room's order."""
    pub = public_ids(room.bid_ids or [])
    return [pub[b] for b in room.bid_ids or []]


def room_bid(room: Room, public_id: Any) -> Bid | None:
    """The bid before this room named by `public_id`; None when malformed, unknown or not before the room."""
    if not is_public_id(public_id):
        return None
    bid: Bid | None = db.session.scalar(select(Bid).where(Bid.public_id == public_id))
    return bid if bid is not None and bid.id in (room.bid_ids or []) else None


def failed_public_ids(room: Room) -> set[str]:
    """The public ids of the bids the room's review failed (none while the review is open)."""
    return set((room.review_result or {}).get("failed", {}))


# --- the room and who enters -------------------------------------------------------------------------


def is_scoring_room(tender: Tender, stage: int) -> bool:
    """Sheets are filled in the room of the last stage (every envelope open): scores for a comprehensive-scoring
    tender, price adjustments for a lowest-evaluated-price tender that configures them."""
    if stage < tender.stage_count:
        return False
    if tender.evaluation_method is EvaluationMethod.COMPREHENSIVE:
        return True
    return bool((tender.criteria or {}).get("adjustments"))


def seated_members(committee: Committee) -> list[CommitteeMember]:
    return sorted((m for m in committee.members if m.has_declared and m.seat), key=lambda m: m.seat or 0)


def get_room(tender: Tender, stage: int) -> Room:
    room: Room | None = db.session.scalar(select(Room).where(Room.tender_id == tender.id, Room.stage == stage))
    if room is None:
        raise NotFound(N_("No evaluation room for this stage."))
    return room


def room_member(actor: Any, room: Room) -> CommitteeMember | None:
    uid = member_uid(actor)
    return next((m for m in seated_members(room.committee) if m.user_id == uid), None)


def require_member(actor: Any, tender: Tender, room: Room, attempt: str) -> CommitteeMember:
    member = room_member(actor, room)
    if member is None:
        raise refuse(actor, tender, attempt, N_("Only seated members who signed the declaration enter the room."))
    return member


def require_chair(actor: Any, tender: Tender, room: Room, attempt: str) -> CommitteeMember:
    member = require_member(actor, tender, room, attempt)
    if room.chair_member_id is None:
        raise Conflict(N_("The committee has no chair yet: elect one (or the agency appoints one) first."))
    if member.id != room.chair_member_id:
        raise refuse(actor, tender, attempt, N_("Only the chair of the committee does this."))
    return member


def viewer(actor: Any, tender: Tender, room: Room) -> str:
    """'member', 'manager' (the agency) or 'overseer'; anybody else is refused and the refusal logged."""
    if room_member(actor, room) is not None:
        return "member"
    if is_manager_of(actor, tender):
        return "manager"
    if is_overseer():
        return "overseer"
    raise refuse(actor, tender, "room", N_("The room is open to its seated members, the agency and overseers."))


def _requirements(tender: Tender, raw: list[str] | None) -> list[str]:
    if raw is None:
        if tender.evaluation_method is EvaluationMethod.LOWEST_EVALUATED_PRICE:
            return [str(i["name"]) for i in (tender.criteria or {}).get("items", [])] or list(DEFAULT_REQUIREMENTS)
        return list(DEFAULT_REQUIREMENTS)
    names = [r.strip() for r in raw]
    if not names or len(names) > MAX_REQUIREMENTS or any(not n or len(n) > 200 for n in names):
        raise _fail(
            "requirements",
            N_("1 to %(limit)s named requirements"),
            params={"limit": MAX_REQUIREMENTS},
        )
    if len(set(names)) != len(names):
        raise _fail("requirements", N_("requirement names are unique"))
    return names


def _objective(tender: Tender, stage: int, raw: list[str]) -> list[str]:
    if not raw:
        return []
    if not is_scoring_room(tender, stage):
        raise _fail("objective", N_("objective criteria belong to the scoring room of a comprehensive tender"))
    if tender.evaluation_method is EvaluationMethod.COMPREHENSIVE:
        typed = {str(i["name"]) for i in tender.criteria["items"] if i.get("category") != "price"}
    else:
        typed = {str(a["name"]) for a in tender.criteria.get("adjustments", [])}
    unknown = sorted(set(raw) - typed)
    if unknown or len(set(raw)) != len(raw):
        raise _fail("objective", N_("distinct names of non-price criteria of the tender"))
    return list(raw)


def open_room(
    *,
    actor: User,
    tender: Tender,
    stage: int,
    chair_seat: int | None = None,
    requirements: list[str] | None = None,
    objective: list[str] | None = None,
) -> Room:
    """Open the room of a stage: after its opening record, with the committee complete; the agency names the chair,
    or (no chair_seat) the members elect theirs in the room (services_chair)."""
    require_manager(actor, tender)
    committee = get_committee(tender)
    if tender.status not in (TenderStatus.OPENING, TenderStatus.OPENED):
        raise Conflict(N_("The room opens for a tender being opened or opened."))
    if not 1 <= stage <= tender.current_stage:
        raise _fail("stage", N_("a stage that has been opened"))
    if not db.session.scalar(
        select(OpeningRecord.id).where(OpeningRecord.tender_id == tender.id, OpeningRecord.stage == stage)
    ):
        raise Conflict(N_("The room opens once the stage's opening record is published."))
    if not is_complete(committee):
        raise Conflict(N_("Every seat must be confirmed and declared before the room opens."))
    if db.session.scalar(select(Room.id).where(Room.tender_id == tender.id, Room.stage == stage)):
        raise Conflict(N_("This stage already has its room."))
    chair = next((m for m in seated_members(committee) if m.seat == chair_seat), None)
    if chair is None and chair_seat is not None:
        raise _fail("chair_seat", N_("the seat of a declared member"))
    reqs = _requirements(tender, requirements)
    obj = _objective(tender, stage, objective or [])
    bids = valid_bids(tender)
    if not bids:
        raise Conflict(N_("No valid bid to evaluate."))
    now = now_utc()
    room = Room(
        tender_id=tender.id,
        stage=stage,
        committee_id=committee.id,
        phase=RoomPhase.REVIEW,
        chair_member_id=chair.id if chair else None,
        chair_election=None if chair else {"status": "open", "opened_at": instant(now)},
        requirements=reqs,
        objective=obj,
        bid_ids=[b.id for b in bids],
        opened_at=now,
        opened_by_id=actor.id,
    )
    db.session.add(room)
    db.session.flush()
    record(
        "evaluation.room.opened",
        actor=actor,
        subject=room.audit_subject,
        data={
            "stage": stage,
            "chair_seat": chair_seat,
            "bids": room_public_ids(room),
            "requirements": reqs,
            "objective": obj,
            "scoring": is_scoring_room(tender, stage),
            "at": instant(now),
        }
        | ({} if chair else {"chair_election": "open"}),
    )
    return room


# --- the opened bids ---------------------------------------------------------------------------------


def list_room_bids(*, actor: Any, tender: Tender, room: Room) -> list[dict[str, Any]]:
    """The bids before the committee, with their opened envelopes and files (members only)."""
    require_member(actor, tender, room, "room-bids")
    failed = (room.review_result or {}).get("failed", {})
    out = []
    for bid in room_bids(room):
        version = bid.current_version
        out.append(
            {
                "bid_id": bid.public_id,
                "bidder": bid.organisation.name,
                "price": bid_price(bid, room.stage),
                "received_at": version.received_at if version else None,
                "in_evaluation": bid.public_id not in failed,
                "envelopes": [
                    {
                        "name": e.name,
                        "stage": e.stage,
                        "plaintext_sha256": e.plaintext_sha256,
                        "plaintext_size": e.plaintext_size,
                        "files": e.files or [],
                    }
                    for e in opened_envelopes(bid, room.stage)
                ],
            }
        )
    return out


def open_envelope_file(
    *, actor: Any, tender: Tender, room: Room, bid_id: str, envelope: str
) -> tuple[BidEnvelope, IO[bytes]]:
    """An opened envelope (its decrypted archive) for a member, the bid named by its public id; the download is an
    evidence-log entry."""
    member = require_member(actor, tender, room, "download-opened")
    bid = room_bid(room, bid_id)
    if bid is None:
        raise NotFound(N_("No such bid in this room."))
    env = next((e for e in opened_envelopes(bid, room.stage) if e.name == envelope), None)
    if env is None:
        raise NotFound(N_("No such opened envelope."))
    fh = get_storage().open(OPENED_BIDS, env.plaintext_key or "")
    record(
        "evaluation.file.downloaded",
        actor=actor,
        subject=room.audit_subject,
        data={
            "stage": room.stage,
            "seat": member.seat,
            "bid_id": bid.public_id,
            "envelope": envelope,
            "plaintext_sha256": env.plaintext_sha256,
            "at": instant(),
        },
    )
    return env, fh


def iter_file(fh: IO[bytes]) -> Iterator[bytes]:
    with fh:
        while data := fh.read(256 * 1024):
            yield data


# --- compliance and qualification review -------------------------------------------------------------


def _review_sheet(room: Room, member: CommitteeMember) -> ReviewSheet | None:
    return db.session.scalar(
        select(ReviewSheet).where(ReviewSheet.room_id == room.id, ReviewSheet.member_id == member.id)
    )


def own_review(*, actor: Any, tender: Tender, room: Room) -> dict[str, Any]:
    member = require_member(actor, tender, room, "review")
    return review_view(_review_sheet(room, member), member)


def review_view(sheet: ReviewSheet | None, member: CommitteeMember) -> dict[str, Any]:
    return {
        "seat": member.seat,
        "verdicts": sheet.verdicts if sheet else [],
        "saved_at": sheet.saved_at if sheet else None,
        "submitted_at": sheet.submitted_at if sheet else None,
    }


def _verdicts(room: Room, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The verdicts as stored and shown: each names its bid by public id; in the room's order of bids."""
    order = {p: i for i, p in enumerate(room_public_ids(room))}
    seen: set[tuple[str, str]] = set()
    out = []
    for v in raw:
        key = (v["bid_id"], v["requirement"])
        if v["bid_id"] not in order:
            raise _fail("verdicts", N_("bid %(value)s is not before this room"), params={"value": v["bid_id"]})
        if v["requirement"] not in room.requirements:
            raise _fail("verdicts", N_("unknown requirement %(value)s"), params={"value": repr(v["requirement"])})
        if key in seen:
            raise _fail("verdicts", N_("one verdict per bid and requirement"))
        seen.add(key)
        out.append(
            {
                "bid_id": v["bid_id"],
                "requirement": v["requirement"],
                "passed": bool(v["passed"]),
                "reason": (v.get("reason") or "").strip(),
            }
        )
    return sorted(out, key=lambda v: (order[v["bid_id"]], room.requirements.index(v["requirement"])))


def save_review(*, actor: Any, tender: Tender, room: Room, verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Save the member's review draft (replacing the previous one: PUT, idempotent)."""
    member = require_member(actor, tender, room, "review")
    if room.phase is not RoomPhase.REVIEW:
        raise Conflict(N_("The review is closed."))
    sheet = _review_sheet(room, member)
    if sheet is not None and sheet.submitted_at is not None:
        raise Conflict(N_("Your review is submitted and locked."))
    clean = _verdicts(room, verdicts)
    now = now_utc()
    if sheet is None:
        sheet = ReviewSheet(room_id=room.id, member_id=member.id, verdicts=clean, saved_at=now)
        db.session.add(sheet)
    elif sheet.verdicts == clean:
        return review_view(sheet, member)
    else:
        sheet.verdicts, sheet.saved_at = clean, now
    db.session.flush()
    record(
        "evaluation.review.saved",
        actor=actor,
        subject=room.audit_subject,
        data={"stage": room.stage, "seat": member.seat, "verdicts_sha256": digest(clean), "at": instant(now)},
    )
    return review_view(sheet, member)


def submit_review(*, actor: Any, tender: Tender, room: Room) -> dict[str, Any]:
    """Lock the review: a verdict for every bid and requirement, a reason for every fail."""
    member = require_member(actor, tender, room, "review")
    if room.phase is not RoomPhase.REVIEW:
        raise Conflict(N_("The review is closed."))
    sheet = _review_sheet(room, member)
    if sheet is None:
        raise Conflict(N_("Save your review first."))
    if sheet.submitted_at is not None:
        raise Conflict(N_("Your review is already submitted."))
    have = {(v["bid_id"], v["requirement"]) for v in sheet.verdicts}
    missing = [f"bid {b}: {r}" for b in room_public_ids(room) for r in room.requirements if (b, r) not in have]
    if missing:
        raise _fail("verdicts", N_("missing verdicts: %(missing)s"), params={"missing": "; ".join(missing[:20])})
    unexplained = [
        f"bid {v['bid_id']}: {v['requirement']}" for v in sheet.verdicts if not v["passed"] and not v["reason"]
    ]
    if unexplained:
        raise _fail(
            "verdicts", N_("a fail needs its reason: %(missing)s"), params={"missing": "; ".join(unexplained[:20])}
        )
    now = now_utc()
    sheet.submitted_at = now
    db.session.flush()
    record(
        "evaluation.review.submitted",
        actor=actor,
        subject=room.audit_subject,
        data={"stage": room.stage, "seat": member.seat, "verdicts_sha256": digest(sheet.verdicts), "at": instant(now)},
    )
    return review_view(sheet, member)


def _review_majority(room: Room, sheets: list[tuple[CommitteeMember, ReviewSheet]]) -> dict[str, Any]:
    bids: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for bid_id in room_public_ids(room):
        reqs: dict[str, Any] = {}
        for req in room.requirements:
            votes = [(m, v) for m, s in sheets for v in s.verdicts if v["bid_id"] == bid_id and v["requirement"] == req]
            fails = [(m, v) for m, v in votes if not v["passed"]]
            reqs[req] = {
                "pass": len(votes) - len(fails),
                "fail": len(fails),
                "passed": len(fails) * 2 < len(votes),
                "reasons": [{"seat": m.seat, "reason": v["reason"]} for m, v in fails],
            }
        lost = [r for r, x in reqs.items() if not x["passed"]]
        if lost:
            failed[bid_id] = "; ".join(f"{r}: " + " / ".join(x["reason"] for x in reqs[r]["reasons"]) for r in lost)[
                :2000
            ]
        bids[bid_id] = {"passed": not lost, "requirements": reqs}
    return {"bids": bids, "failed": failed, "votes": {str(m.seat): s.verdicts for m, s in sheets}}


def close_review(*, actor: Any, tender: Tender, room: Room) -> Room:
    """The chair closes the review once every member has submitted; the majority decides per bid and requirement.

    A bid failing any requirement leaves the evaluation. In a scoring room scoring begins; in the last room of a
    lowest-evaluated-price tender the ranking by price follows at once; otherwise the room is finished.
    """
    require_chair(actor, tender, room, "close-review")
    if room.phase is not RoomPhase.REVIEW:
        raise Conflict(N_("The review is already closed."))
    members = seated_members(room.committee)
    sheets = [(m, _review_sheet(room, m)) for m in members]
    waiting = [m.seat for m, s in sheets if s is None or s.submitted_at is None]
    if waiting:
        raise Conflict(N_("Not every member has submitted the review."), errors={"waiting_seats": waiting})
    result = _review_majority(room, [(m, s) for m, s in sheets if s is not None])
    now = now_utc()
    room.review_result, room.review_closed_at = result, now
    pub = public_ids(room.bid_ids)
    passing = [b for b in room.bid_ids if pub[b] not in result["failed"]]
    record(
        "evaluation.review.closed",
        actor=actor,
        subject=room.audit_subject,
        data={"stage": room.stage, "failed": result["failed"], "passed": [pub[b] for b in passing], "at": instant(now)},
    )
    if is_scoring_room(tender, room.stage) and passing:
        room.phase = RoomPhase.SCORING
    else:
        if tender.evaluation_method is EvaluationMethod.LOWEST_EVALUATED_PRICE and room.stage >= tender.stage_count:
            room.result = lowest_price_result(room, passing)
            record(
                "evaluation.result.aggregated",
                actor=actor,
                subject=room.audit_subject,
                data={
                    "stage": room.stage,
                    "result_sha256": digest(room.result),
                    "result": room.result,
                    "at": instant(now),
                },
            )
        room.phase, room.finished_at = RoomPhase.FINISHED, now
    db.session.flush()
    return room


def lowest_price_result(room: Room, passing: list[int]) -> dict[str, Any]:
    """经评审的最低投标价法: the bids that passed, ranked by evaluated price (the price, no adjustments configured)."""
    rules = scoring.Rules.from_json(room.committee.rules)
    candidates = []
    info: dict[int, dict[str, Any]] = {}
    for bid in room_bids(room):
        if bid.id not in passing:
            continue
        price = bid_price(bid, room.stage)
        if price is None or price <= 0:
            continue
        evaluated = scoring.evaluated_price(price, [])
        received = instant(bid.current_version.received_at) if bid.current_version else ""
        candidates.append(scoring.Candidate(bid.id, Decimal(evaluated), price, received))
        info[bid.id] = {
            "bid_id": bid.public_id,
            "bidder": bid.organisation.name,
            "price": price,
            "evaluated_price": evaluated,
        }
    ranked = scoring.rank(candidates, higher_is_better=False, tie_break=rules.tie_break)
    return {
        "method": EvaluationMethod.LOWEST_EVALUATED_PRICE.value,
        "bids": [
            {
                **info[r.candidate.bid_id],
                "rank": r.rank,
                "tie_unresolved": r.tie_unresolved,
                "decided_by": r.decided_by,
            }
            for r in ranked
        ],
    }


def failed_bids(tender: Tender, stage: int) -> list[tuple[Bid, str]]:
    """Bids the committee failed in the stage's review, with the reason: for opening.advance_stage(eliminated=…).

    No room for the stage: nothing failed. A room whose review is still open refuses (Conflict), so the agency
    cannot advance — and open later envelopes of bids about to fail — before the committee has decided.
    """
    room: Room | None = db.session.scalar(select(Room).where(Room.tender_id == tender.id, Room.stage == stage))
    if room is None:
        return []
    if room.review_result is None:
        raise Conflict(N_("The committee's review of this stage is not closed."))
    failed: dict[str, Any] = room.review_result["failed"]
    bids = db.session.scalars(
        select(Bid).where(Bid.id.in_(room.bid_ids or [0]), Bid.public_id.in_(list(failed) or [""])).order_by(Bid.id)
    )
    return [(b, str(failed[b.public_id])) for b in bids]
