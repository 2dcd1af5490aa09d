"""The chair (评标委员会主任) of a room: elected by the committee (评标委员会推选主任委员) or appointed by the agency.

A room opened without a chair seat opens with its election open (`Room.chair_election["status"] == "open"`,
`Room.chair_member_id` None). Rules:

- Each seated member who signed the declaration casts one vote for a seated member (themselves included) and may
  change it while no majority has formed; voting again for the same seat changes nothing.
- A strict majority of the committee's seats (⌊seats / 2⌋ + 1) for one member elects them at once; the election
  is then `elected` and no vote is taken any more.
- The agency may appoint the chair of a room that has none (the fall-back when the vote splits): the appointment
  closes the open election (`closed`), with the tally at that instant.
- Secrecy: the room status shows the count per candidate seat and how many have voted, never who voted for whom;
  a member sees their own vote. Only the evidence log (read by auditors) holds each vote. Bidders never enter
  the room, so they see neither the count nor the votes.
- Until a chair exists the members already read the bids and fill in (and submit) their review; what only the chair
  does (closing the review, aggregating, drawing up the report) is refused with 409 (services_room.require_chair).

Every vote, the election and an appointment are evidence-log entries under `tender:<id>/evaluation`, with the
instant (`at`) the recording replay places on its timeline; the live status (/events) carries the count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.evaluation.committee.services import require_manager
from app.evaluation.models import ChairVote, CommitteeMember, Room
from app.evaluation.room.services import instant, require_member, seated_members
from app.tendering.models import Tender

OPEN, ELECTED, CLOSED = "open", "elected", "closed"


def majority(room: Room) -> int:
    """A strict majority of the committee's seats."""
    return len(seated_members(room.committee)) // 2 + 1


def _votes(room: Room) -> list[ChairVote]:
    return list(db.session.scalars(select(ChairVote).where(ChairVote.room_id == room.id).order_by(ChairVote.id)))


def _tally(room: Room, votes: list[ChairVote]) -> dict[str, int]:
    """Votes per candidate seat (seats with no vote left out), keyed by the seat as text (JSON)."""
    seat_of = {m.id: m.seat for m in seated_members(room.committee)}
    out: dict[str, int] = {}
    for v in votes:
        seat = seat_of.get(v.candidate_id)
        if seat is not None:
            out[str(seat)] = out.get(str(seat), 0) + 1
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def is_open(room: Room) -> bool:
    return room.chair_member_id is None and (room.chair_election or {}).get("status") == OPEN


def election_view(room: Room) -> dict[str, Any] | None:
    """The election as every admitted viewer sees it: counts only, never who voted for whom."""
    election = room.chair_election
    if election is None:
        return None
    if election.get("status") == OPEN:
        votes = _votes(room)
        tally, cast = _tally(room, votes), len(votes)
    else:
        tally, cast = dict(election.get("tally") or {}), int(election.get("votes_cast") or 0)
    return {
        "status": election.get("status"),
        "opened_at": election.get("opened_at"),
        "decided_at": election.get("decided_at"),
        "seats": len(seated_members(room.committee)),
        "majority": majority(room),
        "votes_cast": cast,
        "tally": [{"seat": int(seat), "votes": n} for seat, n in tally.items()],
    }


def chair_seat(room: Room) -> int | None:
    return room.chair.seat if room.chair is not None else None


def my_vote(member: CommitteeMember | None, room: Room) -> int | None:
    """The seat the member voted for (their own vote only)."""
    if member is None:
        return None
    vote = db.session.scalar(select(ChairVote).where(ChairVote.room_id == room.id, ChairVote.member_id == member.id))
    if vote is None:
        return None
    return next((m.seat for m in seated_members(room.committee) if m.id == vote.candidate_id), None)


def _locked(room: Room) -> Room:
    """The room row re-read under a row lock (PostgreSQL), so two last votes cannot both decide."""
    fresh = db.session.scalar(
        select(Room).where(Room.id == room.id).with_for_update().execution_options(populate_existing=True)
    )
    return fresh or room


def _candidate(room: Room, seat: int) -> CommitteeMember:
    found = next((m for m in seated_members(room.committee) if m.seat == seat), None)
    if found is None:
        raise field_error("seat", N_("the seat of a seated member who signed the declaration"))
    return found


def ballot(*, actor: Any, tender: Tender, room: Room) -> dict[str, Any]:
    """The election as the calling member sees it: the count, their own vote, the chair once decided."""
    member = require_member(actor, tender, room, "chair-vote")
    return {"chair_seat": chair_seat(room), "election": election_view(room), "my_vote": my_vote(member, room)}


def cast_vote(*, actor: Any, tender: Tender, room: Room, seat: int) -> dict[str, Any]:
    """A member votes for the chair (or changes their vote); a strict majority of the seats elects at once."""
    member = require_member(actor, tender, room, "chair-vote")
    room = _locked(room)
    if room.chair_member_id is not None:
        raise Conflict(N_("The committee already has its chair."))
    if not is_open(room):
        raise Conflict(N_("No chair election is open in this room."))
    candidate = _candidate(room, seat)
    now = now_utc()
    vote = db.session.scalar(select(ChairVote).where(ChairVote.room_id == room.id, ChairVote.member_id == member.id))
    if vote is not None and vote.candidate_id == candidate.id:
        return ballot(actor=actor, tender=tender, room=room)
    changed = vote is not None
    if vote is None:
        vote = ChairVote(room_id=room.id, member_id=member.id, candidate_id=candidate.id, cast_at=now, changes=0)
        db.session.add(vote)
    else:
        vote.candidate_id, vote.cast_at, vote.changes = candidate.id, now, vote.changes + 1
    db.session.flush()
    votes = _votes(room)
    record(
        "evaluation.chair.voted",
        actor=actor,
        subject=room.audit_subject,
        data={
            "stage": room.stage,
            "seat": member.seat,
            "candidate_seat": candidate.seat,
            "changed": changed,
            "votes_cast": len(votes),
            "at": instant(now),
        },
    )
    tally = _tally(room, votes)
    if tally.get(str(candidate.seat), 0) >= majority(room):
        room.chair_member_id = candidate.id
        room.chair_election = {
            **(room.chair_election or {}),
            "status": ELECTED,
            "decided_at": instant(now),
            "tally": tally,
            "votes_cast": len(votes),
        }
        db.session.flush()
        db.session.expire(room, ["chair"])
        record(
            "evaluation.chair.elected",
            actor=actor,
            subject=room.audit_subject,
            data={
                "stage": room.stage,
                "seat": candidate.seat,
                "tally": tally,
                "votes_cast": len(votes),
                "seats": len(seated_members(room.committee)),
                "majority": majority(room),
                "at": instant(now),
            },
        )
    return ballot(actor=actor, tender=tender, room=room)


def appoint_chair(*, actor: User, tender: Tender, room: Room, seat: int) -> Room:
    """The agency appoints the chair of a room that has none; an open election is closed with its tally."""
    require_manager(actor, tender)
    room = _locked(room)
    if room.chair_member_id is not None:
        raise Conflict(N_("The committee already has its chair."))
    candidate = _candidate(room, seat)
    now = now_utc()
    if is_open(room):
        votes = _votes(room)
        tally = _tally(room, votes)
        room.chair_election = {
            **(room.chair_election or {}),
            "status": CLOSED,
            "decided_at": instant(now),
            "tally": tally,
            "votes_cast": len(votes),
        }
        record(
            "evaluation.chair.election_closed",
            actor=actor,
            subject=room.audit_subject,
            data={
                "stage": room.stage,
                "reason": "appointed",
                "tally": tally,
                "votes_cast": len(votes),
                "seats": len(seated_members(room.committee)),
                "at": instant(now),
            },
        )
    room.chair_member_id = candidate.id
    db.session.flush()
    db.session.expire(room, ["chair"])
    record(
        "evaluation.chair.appointed",
        actor=actor,
        subject=room.audit_subject,
        data={"stage": room.stage, "seat": candidate.seat, "at": instant(now)},
    )
    return room
