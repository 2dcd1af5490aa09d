"""What each caller may see of a committee and its draws.

Who sees whose name (until `Committee.names_published_at`, set when the candidates are published):
- overseers (evaluation.oversee: auditors, supervisors) see every member and reserve, and every draw record;
- each member sees their own seat and name, the others only as seat numbers;
- the agency running the evaluation sees seats, their status and counts, never names nor the drawn expert ids
  (they would identify the experts through the pool), and the draw's commitments and hashes.
Afterwards the names and the full draw records (seed, snapshot, result) are open to the agency as well.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from app.core.db import db
from app.core.problems import N_
from app.evaluation.committee import draw as draw_mod
from app.evaluation.committee.services import (
    get_committee,
    get_draw,
    is_complete,
    is_overseer,
    member_of,
    member_uid,
    refuse,
)
from app.evaluation.models import Committee, CommitteeMember, Draw, DrawStatus, MemberStatus
from app.tendering.models import Tender
from app.tendering.services_tenders import is_manager_of


def viewer_role(actor: Any, tender: Tender, committee: Committee) -> str:
    """'overseer', 'manager' or 'member'; anybody else is refused (and the refusal logged)."""
    if is_overseer():
        return "overseer"
    if is_manager_of(actor, tender):
        return "manager"
    if member_of(committee, actor) is not None:
        return "member"
    raise refuse(
        actor, tender, "read-committee", N_("The committee is shown to its members, the agency and overseers.")
    )


def names_visible(role: str, committee: Committee) -> bool:
    return role == "overseer" or committee.names_published_at is not None


def _member_view(m: CommitteeMember, committee: Committee, *, show_name: bool, is_self: bool) -> dict[str, Any]:
    group = committee.groups[m.group_index] if m.group_index is not None else None
    return {
        "seat": m.seat,
        "kind": m.kind.value,
        "specialty": group["specialty"] if group else None,
        "status": m.status.value,
        "declared": m.declared_at is not None,
        "is_self": is_self,
        "name": m.user.display_name if show_name or is_self else None,
        "user_id": m.user_id if show_name or is_self else None,
        "expert_id": m.expert_id if show_name or is_self else None,
        "reserve_rank": m.reserve_rank,
        "decline_reason": m.decline_reason if show_name or is_self else None,
        "invited_at": m.invited_at,
        "responded_at": m.responded_at,
        "declared_at": m.declared_at,
    }


def committee_view(actor: Any, tender: Tender) -> dict[str, Any]:
    committee = get_committee(tender)
    role = viewer_role(actor, tender, committee)
    show = names_visible(role, committee)
    uid = member_uid(actor)
    seats = sorted((m for m in committee.members if m.seat is not None), key=lambda m: m.seat or 0)
    others = [m for m in committee.members if m.seat is None]
    if not show:  # reserves, declines and recusals would narrow down who the experts are
        others = [m for m in others if m.user_id == uid]
    return {
        "tender_id": tender.id,
        "viewer": role,
        "size": committee.size,
        "expert_seats": committee.expert_seats,
        "groups": committee.groups,
        "reserves_per_group": committee.reserves_per_group,
        "rules": committee.rules,
        "complete": is_complete(committee),
        "names_published_at": committee.names_published_at,
        "reserves_left": sum(1 for m in committee.members if m.status is MemberStatus.RESERVE),
        "seats": [_member_view(m, committee, show_name=show, is_self=m.user_id == uid) for m in seats],
        "others": [_member_view(m, committee, show_name=show, is_self=m.user_id == uid) for m in others],
        "draws": [draw_summary(d) for d in committee.draws],
    }


def draw_summary(d: Draw) -> dict[str, Any]:
    return {
        "round": d.round,
        "status": d.status.value,
        "seed_sha256": d.seed_sha256,
        "committed_at": d.committed_at,
        "commit_audit_index": d.commit_audit_index,
        "seed": d.seed_hex,
        "performed_at": d.performed_at,
        "draw_audit_index": d.draw_audit_index,
        "snapshot_sha256": d.snapshot_sha256,
        "failure": d.failure,
    }


def draw_record(actor: Any, tender: Tender, round_no: int) -> dict[str, Any]:
    """A draw's full replayable record (seed, snapshot, requirements, result): overseers; everyone after publication."""
    committee = get_committee(tender)
    role = viewer_role(actor, tender, committee)
    if not names_visible(role, committee):
        raise refuse(
            actor, tender, "read-draw", N_("Draw records are open to overseers until the result is published.")
        )
    d = get_draw(committee, round_no)
    return {
        **draw_summary(d),
        "requirements": d.requirements,
        "snapshot": d.snapshot,
        "result": d.result,
        "verification": draw_mod.verify(
            seed_hex=d.seed_hex,
            committed_sha256=d.seed_sha256,
            snapshot=d.snapshot,
            recorded_snapshot_sha256=d.snapshot_sha256 or "",
            requirements=d.requirements or {},
            recorded_result=d.result,
        )
        if d.status is DrawStatus.PERFORMED and d.seed_hex and d.snapshot and d.result is not None
        else None,
    }


def my_invitations(user: User) -> list[dict[str, Any]]:
    """The caller's committee memberships (any status), newest first."""
    rows = db.session.scalars(
        select(CommitteeMember).where(CommitteeMember.user_id == user.id).order_by(CommitteeMember.id.desc())
    )
    return [
        {
            "tender_id": m.committee.tender_id,
            "tender_title": m.committee.tender.title,
            "tender_reference": m.committee.tender.reference,
            "seat": m.seat,
            "kind": m.kind.value,
            "status": m.status.value,
            "declared": m.declared_at is not None,
            "invited_at": m.invited_at,
        }
        for m in rows
        if m.status is not MemberStatus.RESERVE
    ]
