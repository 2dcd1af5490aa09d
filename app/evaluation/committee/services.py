"""The committee of a tender: its definition, the committed-then-revealed random draw, answers, declarations.

What each caller may see of it is in `visibility.py`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from sqlalchemy import select

from app.accounts.models import User
from app.audit import record
from app.audit.services import format_instant
from app.core.db import db
from app.core.errors import Conflict, NotFound, ValidationFailed, field_error
from app.core.keys import master_key, platform_signing_key
from app.core.problems import N_
from app.core.security import caller_has, token_allows
from app.core.time import now_utc
from app.evaluation.committee import draw as draw_mod
from app.evaluation.models import (
    Committee,
    CommitteeMember,
    Draw,
    DrawStatus,
    ExpertProfile,
    MemberKind,
    MemberStatus,
)
from app.evaluation.permissions import COMMITTEE, OVERSEE
from app.evaluation.pool.services import check_specialties, pool_for_draw
from app.evaluation.room.scoring import Rules, ScoreError
from app.tendering.common import AccessRefused
from app.tendering.models import Bid, OpeningRecord, Tender, TenderStatus
from app.tendering.services_tenders import is_manager_of
from crypto.canonical import canonicalize
from crypto.signing import sign_document

MIN_SIZE = 5
MAX_SIZE = 25
MAX_RESERVES = 10
DECLARATION_FORMAT = "platform-no-conflict-declaration/v1"
DECLARATION_STATEMENT = (
    "本人承诺：与上列投标人不存在利害关系，不私下接触投标人，不收受财物，客观公正地履行评标职责。"
    " I declare that I have no conflict of interest with the bidders listed, will not contact them privately,"
    " accept nothing from them, and will evaluate objectively and impartially."
)


def _fail(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    return field_error(field, message, params)


def refuse(
    actor: Any, tender: Tender, attempt: str, detail: str, params: Mapping[str, Any] | None = None
) -> AccessRefused:
    return AccessRefused(
        detail, params, actor=actor, subject=f"tender:{tender.id}/evaluation", data={"attempt": attempt}
    )


def require_manager(actor: User, tender: Tender) -> None:
    if not is_manager_of(actor, tender):
        raise refuse(actor, tender, "manage-evaluation", N_("Only the tender's agency runs its evaluation."))


def is_overseer() -> bool:
    return caller_has(OVERSEE)


def get_committee(tender: Tender) -> Committee:
    committee: Committee | None = db.session.scalar(select(Committee).where(Committee.tender_id == tender.id))
    if committee is None:
        raise NotFound(N_("This tender has no evaluation committee yet."))
    return committee


def member_uid(user: Any) -> int | None:
    """The user id to match against committee seats: None when a bearer token without the committee scope made
    the call, so such a token is nobody's seat (a token does only what its scopes cover)."""
    uid = getattr(user, "id", None)
    return uid if token_allows(user, COMMITTEE) else None


def member_of(committee: Committee, user: Any) -> CommitteeMember | None:
    uid = member_uid(user)
    return next((m for m in committee.members if m.user_id == uid), None)


def conflict_org_ids(tender: Tender) -> list[int]:
    """Organisations no member may be tied to: every bidder of the tender, the buyer and the agency."""
    bidders = db.session.scalars(select(Bid.organisation_id).where(Bid.tender_id == tender.id))
    return sorted({*bidders, tender.buyer_id, tender.agency_id})


def has_opening_record(tender: Tender) -> bool:
    return db.session.scalar(select(OpeningRecord.id).where(OpeningRecord.tender_id == tender.id).limit(1)) is not None


# --- definition --------------------------------------------------------------------------------------


def default_rules(tender: Tender) -> dict[str, Any]:
    criteria = tender.criteria or {}
    base = Rules()
    return {
        **base.as_json(),
        "outlier_percent": int(criteria.get("outlier_percent", base.outlier_percent)),
        "drop_extremes": bool(criteria.get("drop_extremes", base.drop_extremes)),
    }


def _groups(raw: Any, expert_seats: int) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or len(raw) > expert_seats:
        raise _fail("groups", N_("a list of at most one group per expert seat"))
    groups: list[dict[str, Any]] = []
    for g in raw:
        if not isinstance(g, dict) or set(g) != {"specialty", "count"}:
            raise _fail("groups", N_("each group is {specialty, count}"))
        count = g["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise _fail("groups", N_("a group's count is at least 1"))
        if not isinstance(g["specialty"], str):
            raise _fail("groups", N_("a group names a specialty code"))
        groups.append({"specialty": check_specialties([g["specialty"]], field="groups")[0], "count": count})
    if len({g["specialty"] for g in groups}) != len(groups):
        raise _fail("groups", N_("one group per specialty"))
    covered = sum(g["count"] for g in groups)
    if covered > expert_seats:
        raise _fail(
            "groups",
            N_("the groups ask for %(covered)s experts but the committee has %(expert_seats)s expert seats"),
            params={"covered": covered, "expert_seats": expert_seats},
        )
    if covered < expert_seats:
        groups.append({"specialty": None, "count": expert_seats - covered})
    return groups


def _buyer_reps(tender: Tender, ids: Any, needed: int) -> list[User]:
    if not isinstance(ids, list) or len(ids) != needed or len(set(ids)) != len(ids):
        raise _fail(
            "buyer_rep_ids", N_("name exactly %(needed)s distinct buyer representative(s)"), params={"needed": needed}
        )
    users = []
    for uid in ids:
        user = db.session.get(User, uid) if isinstance(uid, int) and 0 < uid < 2**31 else None
        if user is None or not user.active or user.organisation_id != tender.buyer_id:
            raise _fail("buyer_rep_ids", N_("a buyer representative is an active user of the buyer organisation"))
        users.append(user)
    return users


def define_committee(*, actor: User, tender: Tender, data: dict[str, Any]) -> Committee:
    """Set the committee's size, expert share, specialty groups, reserves, buyer representatives and scoring rules.

    May be repeated until the first draw is committed. Raises AccessRefused, Conflict, ValidationFailed.
    """
    require_manager(actor, tender)
    if tender.status not in (TenderStatus.PUBLISHED, TenderStatus.OPENING, TenderStatus.OPENED):
        raise Conflict(N_("A committee is formed for a published tender that has not failed or been cancelled."))
    existing = db.session.scalar(select(Committee).where(Committee.tender_id == tender.id))
    if existing is not None and existing.draws:
        raise Conflict(N_("The committee is fixed once its draw has begun."))
    size, expert_seats = data.get("size"), data.get("expert_seats")
    if not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE or size % 2 == 0:
        raise _fail(
            "size",
            N_("an odd number from %(least)s to %(most)s"),
            params={"least": MIN_SIZE, "most": MAX_SIZE},
        )
    if not isinstance(expert_seats, int) or not (expert_seats * 3 >= size * 2 and expert_seats <= size):
        raise _fail("expert_seats", N_("experts hold at least two thirds of the seats"))
    groups = _groups(data.get("groups", []), expert_seats)
    reserves = data.get("reserves_per_group", 2)
    if not isinstance(reserves, int) or isinstance(reserves, bool) or not 0 <= reserves <= MAX_RESERVES:
        raise _fail("reserves_per_group", N_("0 to %(limit)s"), params={"limit": MAX_RESERVES})
    reps = _buyer_reps(tender, data.get("buyer_rep_ids", []), size - expert_seats)
    try:
        rules = Rules.from_json({**default_rules(tender), **(data.get("rules") or {})}).as_json()
    except ScoreError as exc:
        raise _fail("rules", str(exc)) from None
    if existing is not None:
        for member in list(existing.members):
            db.session.delete(member)
        db.session.flush()
    committee = existing or Committee(tender_id=tender.id, created_by_id=actor.id)
    committee.size, committee.expert_seats, committee.groups = size, expert_seats, groups
    committee.reserves_per_group, committee.rules = reserves, rules
    committee.buyer_rep_ids = [u.id for u in reps]
    if existing is None:
        db.session.add(committee)
    db.session.flush()
    now = now_utc()
    for i, user in enumerate(reps):
        db.session.add(
            CommitteeMember(
                committee_id=committee.id,
                user_id=user.id,
                kind=MemberKind.BUYER_REP,
                status=MemberStatus.CONFIRMED,
                seat=expert_seats + i + 1,
                invited_at=now,
                responded_at=now,
            )
        )
    db.session.flush()
    db.session.refresh(committee)
    record(
        "evaluation.committee.defined",
        actor=actor,
        subject=committee.audit_subject,
        data={
            "size": size,
            "expert_seats": expert_seats,
            "groups": groups,
            "reserves_per_group": reserves,
            "buyer_reps": len(reps),
            "rules": rules,
        },
    )
    return committee


def appoint_buyer_rep(*, actor: User, tender: Tender, seat: int, user_id: int) -> CommitteeMember:
    """Fill a buyer-representative seat left vacant by a recusal."""
    require_manager(actor, tender)
    committee = get_committee(tender)
    if not committee.expert_seats < seat <= committee.size:
        raise _fail("seat", N_("not a buyer representative's seat"))
    if any(m.seat == seat and m.holds_seat for m in committee.members):
        raise Conflict(N_("This seat is not vacant."))
    (user,) = _buyer_reps(tender, [user_id], 1)
    if member_of(committee, user) is not None:
        raise Conflict(N_("This user already belongs to the committee."))
    now = now_utc()
    member = CommitteeMember(
        committee_id=committee.id,
        user_id=user.id,
        kind=MemberKind.BUYER_REP,
        status=MemberStatus.CONFIRMED,
        seat=seat,
        invited_at=now,
        responded_at=now,
    )
    db.session.add(member)
    db.session.flush()
    record("evaluation.member.appointed", actor=actor, subject=committee.audit_subject, data={"seat": seat})
    return member


# --- the draw ----------------------------------------------------------------------------------------


def _seed_label(committee: Committee, round_no: int) -> bytes:
    return f"evaluation-draw-seed:{committee.id}:{round_no}".encode()


def _seal_seed(seed: bytes, label: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + ChaCha20Poly1305(master_key()).encrypt(nonce, seed, label)


def _open_seed(blob: bytes, label: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(master_key()).decrypt(blob[:12], blob[12:], label)
    except (InvalidTag, ValueError) as exc:
        raise RuntimeError("a draw seed does not open under the master key") from exc


def seat_group(committee: Committee, seat: int) -> int | None:
    """Expert seats are numbered group by group, in the order of the committee's groups."""
    first = 1
    for index, group in enumerate(committee.groups):
        if first <= seat < first + group["count"]:
            return index
        first += group["count"]
    return None


def vacant_expert_seats(committee: Committee) -> dict[int, list[int]]:
    """Group index -> its expert seats held by nobody (invited or confirmed)."""
    held = {m.seat for m in committee.members if m.holds_seat}
    out: dict[int, list[int]] = {}
    for seat in range(1, committee.expert_seats + 1):
        if seat not in held:
            out.setdefault(seat_group(committee, seat) or 0, []).append(seat)
    return out


def commit_draw(*, actor: User, tender: Tender) -> Draw:
    """Commit to a fresh random seed: only its SHA-256 goes to the evidence log; the seed stays sealed until the draw.

    Needs a defined committee, the first opening record (the bidders are then known, so conflicts can be
    excluded without revealing bids early) and a vacant expert seat. Raises AccessRefused, Conflict, NotFound.
    """
    require_manager(actor, tender)
    committee = get_committee(tender)
    if tender.status not in (TenderStatus.OPENING, TenderStatus.OPENED) or not has_opening_record(tender):
        raise Conflict(N_("Experts are drawn once the opening record has been published."))
    if any(d.status is DrawStatus.COMMITTED for d in committee.draws):
        raise Conflict(N_("A committed draw is waiting to be performed."))
    if committee.draws and not vacant_expert_seats(committee):
        raise Conflict(N_("Every expert seat is taken; no further draw is needed."))
    round_no = len(committee.draws) + 1
    seed = os.urandom(draw_mod.SEED_SIZE)
    now = now_utc()
    digest = draw_mod.seed_sha256(seed)
    entry = record(
        "evaluation.draw.committed",
        actor=actor,
        subject=committee.audit_subject,
        data={"round": round_no, "seed_sha256": digest, "committed_at": format_instant(now)},
    )
    row = Draw(
        committee_id=committee.id,
        round=round_no,
        status=DrawStatus.COMMITTED,
        seed_sha256=digest,
        seed_sealed=_seal_seed(seed, _seed_label(committee, round_no)),
        committed_at=now,
        commit_audit_index=entry.index,
    )
    db.session.add(row)
    db.session.flush()
    return row


def _requirements(committee: Committee) -> tuple[dict[str, Any], list[int], list[list[int]]]:
    """(requirements, committee group index per requirement group, seats each group fills)."""
    vacant = vacant_expert_seats(committee)
    groups, indices, seats = [], [], []
    for index, group in enumerate(committee.groups):
        free = vacant.get(index, [])
        if not free:
            continue
        groups.append({"specialty": group["specialty"], "count": len(free), "reserves": committee.reserves_per_group})
        indices.append(index)
        seats.append(free)
    return {"groups": groups}, indices, seats


def get_draw(committee: Committee, round_no: int) -> Draw:
    found = next((d for d in committee.draws if d.round == round_no), None)
    if found is None:
        raise NotFound(N_("No such draw."))
    return found


def perform_draw(*, actor: User, tender: Tender, round_no: int) -> Draw:
    """Reveal the committed seed, freeze the pool, select members and reserves, invite the members.

    A pool that cannot satisfy the requirements ends the round as `failed` (the seed is revealed and logged
    all the same, so a seed is never reused); commit a new round after fixing the pool.
    """
    require_manager(actor, tender)
    committee = get_committee(tender)
    row = get_draw(committee, round_no)
    if row.status is not DrawStatus.COMMITTED:
        raise Conflict(N_("This draw has already been performed."))
    seed = _open_seed(row.seed_sealed, _seed_label(committee, round_no))
    requirements, indices, seats = _requirements(committee)
    drawn = {m.expert_id for m in committee.members if m.expert_id is not None}
    rep_users = {m.user_id for m in committee.members if m.kind is MemberKind.BUYER_REP}
    drawn |= set(db.session.scalars(select(ExpertProfile.id).where(ExpertProfile.user_id.in_(rep_users or {0}))))
    snapshot = draw_mod.build_snapshot(pool_for_draw(), conflict_org_ids=conflict_org_ids(tender), already_drawn=drawn)
    now = now_utc()
    row.seed_hex = seed.hex()
    row.performed_at = now
    row.requirements = requirements
    row.snapshot = snapshot
    row.snapshot_sha256 = draw_mod.snapshot_sha256(snapshot)
    try:
        if not requirements["groups"]:
            raise draw_mod.DrawError("no seat is vacant")
        result = draw_mod.select(seed, snapshot, requirements)
    except draw_mod.DrawError as exc:
        row.status = DrawStatus.FAILED
        row.failure = str(exc)
        db.session.flush()
        entry = record(
            "evaluation.draw.failed",
            actor=actor,
            subject=committee.audit_subject,
            data={
                "round": round_no,
                "seed": row.seed_hex,
                "seed_sha256": row.seed_sha256,
                "snapshot_sha256": row.snapshot_sha256,
                "requirements": requirements,
                "reason": row.failure,
            },
        )
        row.draw_audit_index = entry.index
        return row
    row.status = DrawStatus.PERFORMED
    row.result = result
    _seat_drawn(committee, row, result, indices=indices, seats=seats, now=now)
    db.session.flush()
    entry = record(
        "evaluation.draw.performed",
        actor=actor,
        subject=committee.audit_subject,
        data={
            "round": round_no,
            "seed": row.seed_hex,
            "seed_sha256": row.seed_sha256,
            "snapshot_sha256": row.snapshot_sha256,
            "requirements": requirements,
            "result_sha256": hashlib.sha256(canonicalize(result)).hexdigest(),
            "members": len(draw_mod.selected_ids(result)),
            "reserves": len(draw_mod.reserve_ids(result)),
            "performed_at": format_instant(now),
        },
    )
    row.draw_audit_index = entry.index
    db.session.flush()
    return row


def _seat_drawn(
    committee: Committee,
    row: Draw,
    result: dict[str, Any],
    *,
    indices: list[int],
    seats: list[list[int]],
    now: datetime,
) -> None:
    experts = {
        e.id: e
        for e in db.session.scalars(
            select(ExpertProfile).where(
                ExpertProfile.id.in_(draw_mod.selected_ids(result) + draw_mod.reserve_ids(result) or [0])
            )
        )
    }
    rank = max((m.reserve_rank or 0 for m in committee.members), default=0)
    for group_out, index, free in zip(result["groups"], indices, seats, strict=True):
        for expert_id, seat in zip(group_out["selected"], free, strict=True):
            db.session.add(
                CommitteeMember(
                    committee_id=committee.id,
                    user_id=experts[expert_id].user_id,
                    expert_id=expert_id,
                    kind=MemberKind.EXPERT,
                    status=MemberStatus.INVITED,
                    seat=seat,
                    draw_id=row.id,
                    group_index=index,
                    invited_at=now,
                )
            )
        for expert_id in group_out["reserves"]:
            rank += 1
            db.session.add(
                CommitteeMember(
                    committee_id=committee.id,
                    user_id=experts[expert_id].user_id,
                    expert_id=expert_id,
                    kind=MemberKind.EXPERT,
                    status=MemberStatus.RESERVE,
                    draw_id=row.id,
                    group_index=index,
                    reserve_rank=rank,
                )
            )
    db.session.flush()
    db.session.refresh(committee)


# --- answers and declarations ------------------------------------------------------------------------


def _release_seat(committee: Committee, member: CommitteeMember, actor: Any) -> CommitteeMember | None:
    """Free the member's seat and offer it to the group's next reserve, in draw order. Returns who was promoted."""
    seat, group = member.seat, member.group_index
    member.seat = None
    db.session.flush()
    if member.kind is not MemberKind.EXPERT or seat is None:
        return None
    reserves = sorted(
        (m for m in committee.members if m.status is MemberStatus.RESERVE and m.group_index == group),
        key=lambda m: m.reserve_rank or 0,
    )
    if not reserves:
        return None
    nxt = reserves[0]
    nxt.status = MemberStatus.INVITED
    nxt.seat = seat
    nxt.invited_at = now_utc()
    db.session.flush()
    record(
        "evaluation.member.promoted",
        actor=actor,
        subject=committee.audit_subject,
        data={"seat": seat, "reserve_rank": nxt.reserve_rank},
    )
    return nxt


def _own_member(actor: User, tender: Tender) -> tuple[Committee, CommitteeMember]:
    committee = get_committee(tender)
    member = member_of(committee, actor)
    if member is None:
        raise refuse(actor, tender, "committee-member", N_("You are not on this tender's evaluation committee."))
    return committee, member


def respond(*, actor: User, tender: Tender, accept: bool, reason: str = "") -> CommitteeMember:
    """A drawn expert confirms or declines the invitation; a decline passes the seat to the next reserve."""
    committee, member = _own_member(actor, tender)
    if member.status is not MemberStatus.INVITED:
        raise Conflict(N_("You have no pending invitation on this committee."))
    member.responded_at = now_utc()
    if accept:
        member.status = MemberStatus.CONFIRMED
        db.session.flush()
        record("evaluation.member.confirmed", actor=actor, subject=committee.audit_subject, data={"seat": member.seat})
        return member
    reason = reason.strip()
    if not reason:
        raise _fail("reason", N_("give the reason for declining"))
    seat = member.seat
    member.status = MemberStatus.DECLINED
    member.decline_reason = reason
    db.session.flush()
    record(
        "evaluation.member.declined",
        actor=actor,
        subject=committee.audit_subject,
        data={"seat": seat, "reason": reason},
    )
    _release_seat(committee, member, actor)
    return member


def release_seat(*, actor: User, tender: Tender, seat: int, reason: str) -> CommitteeMember:
    """The agency records that an invited expert could not be reached or refused by phone; the next reserve moves up."""
    require_manager(actor, tender)
    committee = get_committee(tender)
    member = next((m for m in committee.members if m.seat == seat and m.status is MemberStatus.INVITED), None)
    if member is None:
        raise Conflict(N_("No invited expert holds this seat."))
    if not reason.strip():
        raise _fail("reason", N_("give the reason"))
    member.status = MemberStatus.DECLINED
    member.decline_reason = f"released by the agency: {reason.strip()}"
    member.responded_at = now_utc()
    db.session.flush()
    data = {"seat": seat, "reason": reason.strip()}
    record("evaluation.member.released", actor=actor, subject=committee.audit_subject, data=data)
    _release_seat(committee, member, actor)
    return member


def bidders_for_declaration(tender: Tender) -> list[dict[str, Any]]:
    bids = db.session.scalars(select(Bid).where(Bid.tender_id == tender.id, Bid.withdrawn.is_(False)).order_by(Bid.id))
    return [
        {"organisation_id": b.organisation.id, "name": b.organisation.name, "uscc": b.organisation.uscc} for b in bids
    ]


def declare(*, actor: User, tender: Tender, no_conflict: bool, detail: str = "") -> CommitteeMember:
    """Sign the no-conflict declaration (platform-attested, before any bid is shown), or recuse with the reason."""
    committee, member = _own_member(actor, tender)
    if member.status is not MemberStatus.CONFIRMED or member.seat is None:
        raise Conflict(N_("Confirm your seat before declaring."))
    if member.declared_at is not None:
        raise Conflict(N_("You have already signed the declaration."))
    now = now_utc()
    if not no_conflict:
        detail = detail.strip()
        if not detail:
            raise _fail("detail", N_("describe the conflict of interest"))
        seat = member.seat
        member.status = MemberStatus.RECUSED
        member.decline_reason = detail
        member.responded_at = now
        db.session.flush()
        record("evaluation.member.recused", actor=actor, subject=committee.audit_subject, data={"seat": seat})
        _release_seat(committee, member, actor)
        return member
    payload = {
        "format": DECLARATION_FORMAT,
        "tender": {"id": tender.id, "reference": tender.reference, "title": tender.title},
        "committee_id": committee.id,
        "seat": member.seat,
        "member": actor.audit_ref,
        "bidders": bidders_for_declaration(tender),
        "statement": DECLARATION_STATEMENT,
        "declared_at": format_instant(now),
    }
    member.declaration = sign_document(payload, platform_signing_key())
    member.declared_at = now
    db.session.flush()
    record(
        "evaluation.member.declared",
        actor=actor,
        subject=committee.audit_subject,
        data={"seat": member.seat, "declaration_sha256": hashlib.sha256(canonicalize(payload)).hexdigest()},
    )
    return member


def is_seated_and_declared(committee: Committee, user: Any) -> CommitteeMember | None:
    """The caller's membership when it holds a confirmed seat and has signed the declaration (the room's gate)."""
    member = member_of(committee, user)
    if member is None or not member.has_declared or member.seat is None:
        return None
    return member


def is_complete(committee: Committee) -> bool:
    """Every seat held by a confirmed member who has signed the declaration."""
    seated = {m.seat for m in committee.members if m.has_declared and m.seat is not None}
    return seated == set(range(1, committee.size + 1))
