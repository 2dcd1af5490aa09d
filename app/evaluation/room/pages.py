"""Read queries for the experts' pages (committee/, room/, report/ views): memberships with their rooms, the room page.

Nothing here writes. Who may see what is decided by the services the pages call (services_room,
services_sheets, visibility); these helpers only gather what one page shows.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import select

from app.accounts.models import User
from app.core.db import db
from app.core.errors import NotFound
from app.core.problems import N_
from app.evaluation.committee.services import get_committee, member_of, refuse
from app.evaluation.models import CommitteeMember, MemberStatus, Room, RoomPhase
from app.evaluation.report import services as services_report
from app.evaluation.room import chair as services_chair
from app.evaluation.room import services as services_room
from app.evaluation.room import sheets as services_sheets
from app.tendering.models import EvaluationMethod, Tender


@dataclass
class Membership:
    member: CommitteeMember
    tender: Tender
    rooms: list[Room] = field(default_factory=list)

    @property
    def needs_answer(self) -> bool:
        return self.member.status is MemberStatus.INVITED

    @property
    def needs_declaration(self) -> bool:
        m = self.member
        return m.status is MemberStatus.CONFIRMED and m.seat is not None and m.declared_at is None

    @property
    def can_enter(self) -> bool:
        return self.member.has_declared and self.member.seat is not None


def memberships(user: User) -> list[Membership]:
    """The caller's committee memberships (reserves not yet called are left out), newest first, with their rooms."""
    rows = list(
        db.session.scalars(
            select(CommitteeMember)
            .where(CommitteeMember.user_id == user.id, CommitteeMember.status != MemberStatus.RESERVE)
            .order_by(CommitteeMember.id.desc())
        )
    )
    out = [Membership(member=m, tender=m.committee.tender) for m in rows]
    by_tender: dict[int, list[Membership]] = {}
    for ms in out:
        by_tender.setdefault(ms.tender.id, []).append(ms)
    if by_tender:  # every room of these tenders in one query, not one per membership
        for room in db.session.scalars(select(Room).where(Room.tender_id.in_(by_tender)).order_by(Room.stage)):
            for ms in by_tender[room.tender_id]:
                ms.rooms.append(room)
    return out


def tender_rooms(tender: Tender) -> list[Room]:
    return list(db.session.scalars(select(Room).where(Room.tender_id == tender.id).order_by(Room.stage)))


def own_membership(actor: User, tender: Tender) -> CommitteeMember:
    """The caller's membership of the tender's committee; anybody else is refused (and the refusal logged)."""
    committee = get_committee(tender)
    member = member_of(committee, actor)
    if member is None:
        raise refuse(actor, tender, "committee-member", N_("You are not on this tender's evaluation committee."))
    return member


def seat_holder(actor: User, tender: Tender) -> CommitteeMember:
    """The caller's membership when it holds (or held until declaring) a seat; reserves and outsiders are refused."""
    member = own_membership(actor, tender)
    if member.seat is None:
        raise refuse(actor, tender, "declaration", N_("The declaration is signed by the members holding a seat."))
    return member


def pending_declaration(actor: User, tender: Tender) -> bool:
    """True when the caller holds a confirmed seat but has not signed the declaration (the room stays closed)."""
    try:
        committee = get_committee(tender)
    except NotFound:
        return False
    m = member_of(committee, actor)
    return m is not None and m.status is MemberStatus.CONFIRMED and m.seat is not None and m.declared_at is None


def criteria_rows(tender: Tender) -> list[dict[str, Any]]:
    """The tender's criteria as the page shows them: typed ones with their range, the price one as computed."""
    rows = []
    for c in services_sheets.criteria(tender):
        category = str(c.get("category") or "")
        weight = c.get("weight")
        rows.append(
            {
                "name": str(c["name"]),
                "category": category,
                "weight": weight,
                "description": str(c.get("description") or ""),
                "computed": category == "price",
            }
        )
    return rows


def sheet_rows(tender: Tender, room: Room) -> list[dict[str, Any]]:
    """What a member types on a sheet, with its bounds: points of a criterion (comprehensive scoring) or a price
    adjustment, as a percentage of the price or an amount in minor units (lowest evaluated price)."""
    return [
        {
            "name": name,
            "low": str(t.low),
            "high": str(t.high),
            "precision": t.precision,
            "kind": t.kind,
        }
        for name, t in services_sheets.typed_items(tender, room).items()
    ]


def room_page(actor: User, tender: Tender, stage: int) -> dict[str, Any]:
    """Everything the room page renders for the caller: the status for anybody admitted, the rest for members."""
    room = services_room.get_room(tender, stage)
    status = services_sheets.status(actor=actor, tender=tender, room=room)  # refuses outsiders (logged)
    member = services_room.room_member(actor, room)
    scoring = services_room.is_scoring_room(tender, room.stage)
    rules = services_sheets.rules(room)
    out: dict[str, Any] = {
        "room": room,
        "status": status,
        "member": member,
        "is_chair": member is not None and member.id == room.chair_member_id,
        "scoring_room": scoring,
        "criteria": criteria_rows(tender),
        "sheet_rows": sheet_rows(tender, room),
        "adjusted_price": tender.evaluation_method is EvaluationMethod.LOWEST_EVALUATED_PRICE,
        "adjustments": list((tender.criteria or {}).get("adjustments", [])),
        "precision": rules.precision,
        "outlier_percent": rules.outlier_percent,
        "bids": [],
        "review": None,
        "sheets": [],
        "result": room.result if member is not None else None,
        "ballot": None,
        "electors": [],
    }
    if member is None:
        return out
    out["ballot"] = services_chair.ballot(actor=actor, tender=tender, room=room)  # the chair's election, if any
    out["electors"] = [
        {"seat": m.seat, "name": m.user.display_name} for m in services_room.seated_members(room.committee)
    ]
    out["bids"] = services_room.list_room_bids(actor=actor, tender=tender, room=room)
    out["review"] = services_room.own_review(actor=actor, tender=tender, room=room)
    if room.phase is not RoomPhase.REVIEW and scoring:
        out["sheets"] = services_sheets.own_sheets(actor=actor, tender=tender, room=room)
    return out


# --- one file of an opened envelope, for viewing in the page -------------------------------------------------

INLINE_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain; charset=utf-8",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def inline_type(name: str) -> str | None:
    """The content type a browser may show inline for this file name, or None (then it is a download)."""
    lower = name.lower()
    return next((t for ext, t in INLINE_TYPES.items() if lower.endswith(ext)), None)


def envelope_member(fh: IO[bytes], wanted: str) -> tuple[int, Iterator[bytes]] | None:
    """Find `files/<wanted>` in an envelope archive (streaming) and return its size and its bytes in chunks."""
    gen = _member_stream(fh, wanted)
    try:
        size = next(gen, None)
    except (tarfile.TarError, EOFError, OSError):
        return None
    if not isinstance(size, int):
        return None
    return size, (chunk for chunk in gen if isinstance(chunk, bytes))


def _member_stream(fh: IO[bytes], wanted: str) -> Iterator[int | bytes]:
    """Yields the member's size, then its bytes; nothing when the archive has no such file."""
    with fh, tarfile.open(fileobj=fh, mode="r|*") as tar:
        for info in tar:
            if info.isfile() and info.name.removeprefix("./") == "files/" + wanted:
                stream = tar.extractfile(info)
                if stream is None:
                    return
                yield info.size
                while data := stream.read(256 * 1024):
                    yield data
                return


# --- the report ------------------------------------------------------------------------------------------


def own_signature_state(actor: User, tender: Tender) -> dict[str, Any]:
    """Whether the caller is a seated member who may still sign the report, and their signature if given."""
    report = services_report.get_report(tender)
    member = next((m for m in services_room.seated_members(get_committee(tender)) if m.user_id == actor.id), None)
    signed = next((s for s in report.signatures if member is not None and s.member_id == member.id), None)
    return {
        "my_seat": member.seat if member else None,
        "my_signature": signed,
        "may_sign": member is not None and signed is None,
        "totp_enabled": bool(getattr(actor, "totp_enabled", False)),
    }
