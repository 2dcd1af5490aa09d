"""Expert pool (specialties, profiles, declared relationships), committees, verifiable draws and members."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.time import now_utc


class Specialty(db.Model):  # type: ignore[name-defined,misc]
    """An entry of the maintained specialty list (专业分类); codes are referenced by profiles and requirements."""

    __tablename__ = "evaluation_specialties"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ExpertStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    BLACKLISTED = "blacklisted"


class ExpertProfile(db.Model):  # type: ignore[name-defined,misc]
    """An evaluation expert of the pool; the user account is what they sign in with."""

    __tablename__ = "evaluation_experts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    region: Mapped[str] = mapped_column(String(100), default="")
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)
    qualifications: Mapped[list[str]] = mapped_column(JSON, default=list)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[ExpertStatus] = mapped_column(_enum(ExpertStatus), default=ExpertStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    user: Mapped[Any] = relationship("User")
    employer: Mapped[Any] = relationship("Organisation")
    relationships: Mapped[list[ExpertRelationship]] = relationship(
        back_populates="expert", order_by="ExpertRelationship.id"
    )

    @property
    def audit_ref(self) -> str:
        return f"expert:{self.id}"


class ExpertRelationship(db.Model):  # type: ignore[name-defined,misc]
    """A declared relationship: an organisation the expert must never judge (former employer, relative's firm…)."""

    __tablename__ = "evaluation_expert_relationships"
    __table_args__ = (UniqueConstraint("expert_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("evaluation_experts.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    declared_by: Mapped[str] = mapped_column(String(200))

    expert: Mapped[ExpertProfile] = relationship(back_populates="relationships")
    organisation: Mapped[Any] = relationship("Organisation")


class Committee(db.Model):  # type: ignore[name-defined,misc]
    """The evaluation committee (评标委员会) of a tender: its composition, draw requirements and scoring rules."""

    __tablename__ = "evaluation_committees"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), unique=True)
    size: Mapped[int] = mapped_column(Integer)
    expert_seats: Mapped[int] = mapped_column(Integer)
    # [{"specialty": code | None, "count": n}], covering exactly the expert seats (a general group last).
    groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reserves_per_group: Mapped[int] = mapped_column(Integer, default=2)
    buyer_rep_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # Until this instant the members' names are shown only to themselves and to overseers.
    names_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    tender: Mapped[Any] = relationship("Tender")
    members: Mapped[list[CommitteeMember]] = relationship(back_populates="committee", order_by="CommitteeMember.id")
    draws: Mapped[list[Draw]] = relationship(back_populates="committee", order_by="Draw.round")

    @property
    def audit_subject(self) -> str:
        # Under the tender's subject, so a recording of the room shows these events on its timeline.
        return f"tender:{self.tender_id}/evaluation"


class DrawStatus(enum.StrEnum):
    COMMITTED = "committed"  # the seed's hash is in the evidence log; the seed is still secret
    PERFORMED = "performed"
    FAILED = "failed"  # the pool could not satisfy the requirements; the seed was revealed all the same


class Draw(db.Model):  # type: ignore[name-defined,misc]
    """One round of the random draw (the first, or a supplementary one for seats no reserve could fill)."""

    __tablename__ = "evaluation_draws"
    __table_args__ = (UniqueConstraint("committee_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("evaluation_committees.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    status: Mapped[DrawStatus] = mapped_column(_enum(DrawStatus), default=DrawStatus.COMMITTED)
    seed_sha256: Mapped[str] = mapped_column(String(64))
    seed_sealed: Mapped[bytes] = mapped_column(LargeBinary)  # under the master key until revealed
    seed_hex: Mapped[str | None] = mapped_column(String(64))  # revealed at the draw
    committed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    commit_audit_index: Mapped[int] = mapped_column(BigInteger)
    performed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    draw_audit_index: Mapped[int | None] = mapped_column(BigInteger)
    requirements: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    failure: Mapped[str | None] = mapped_column(Text)

    committee: Mapped[Committee] = relationship(back_populates="draws")


class MemberKind(enum.StrEnum):
    EXPERT = "expert"
    BUYER_REP = "buyer_rep"  # 招标人代表


class MemberStatus(enum.StrEnum):
    RESERVE = "reserve"  # drawn as a reserve, waiting for a seat
    INVITED = "invited"  # holds a seat, has not answered
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    RECUSED = "recused"  # declared a conflict of interest instead of signing the declaration


class CommitteeMember(db.Model):  # type: ignore[name-defined,misc]
    """A drawn expert (member or reserve) or an appointed buyer representative."""

    __tablename__ = "evaluation_members"
    __table_args__ = (UniqueConstraint("committee_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[int] = mapped_column(ForeignKey("evaluation_committees.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_experts.id"))
    kind: Mapped[MemberKind] = mapped_column(_enum(MemberKind))
    status: Mapped[MemberStatus] = mapped_column(_enum(MemberStatus))
    seat: Mapped[int | None] = mapped_column(Integer)  # 1..size while holding a seat
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_draws.id"))
    group_index: Mapped[int | None] = mapped_column(Integer)
    reserve_rank: Mapped[int | None] = mapped_column(Integer)  # order among the group's reserves
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declaration: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the signed no-conflict declaration

    committee: Mapped[Committee] = relationship(back_populates="members")
    user: Mapped[Any] = relationship("User")
    expert: Mapped[ExpertProfile | None] = relationship()

    @property
    def holds_seat(self) -> bool:
        return self.seat is not None and self.status in (MemberStatus.INVITED, MemberStatus.CONFIRMED)

    @property
    def has_declared(self) -> bool:
        return self.declared_at is not None and self.status is MemberStatus.CONFIRMED


# --- the session room (slice c) ----------------------------------------------------------------------


class RoomPhase(enum.StrEnum):
    REVIEW = "review"  # compliance and qualification review (符合性/资格审查), pass/fail per requirement
    SCORING = "scoring"  # score sheets (comprehensive scoring, last stage only)
    FINISHED = "finished"  # review closed (and, where scored, the result aggregated)


class Room(db.Model):  # type: ignore[name-defined,misc]
    """The evaluation room of one stage of a tender: its requirements, chair, review result and final result."""

    __tablename__ = "evaluation_rooms"
    __table_args__ = (UniqueConstraint("tender_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    stage: Mapped[int] = mapped_column(Integer)
    committee_id: Mapped[int] = mapped_column(ForeignKey("evaluation_committees.id"))
    phase: Mapped[RoomPhase] = mapped_column(_enum(RoomPhase), default=RoomPhase.REVIEW)
    chair_member_id: Mapped[int | None] = mapped_column(ForeignKey("evaluation_members.id"))  # None: electing
    # the chair's election (services_chair): None when appointed at opening; else status open | elected | closed
    chair_election: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    requirements: Mapped[list[str]] = mapped_column(JSON)
    objective: Mapped[list[str]] = mapped_column(JSON, default=list)  # criteria every member must score alike
    bid_ids: Mapped[list[int]] = mapped_column(JSON)  # the bids admitted to this room (valid at its stage)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    review_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    review_closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    committee: Mapped[Committee] = relationship()
    chair: Mapped[CommitteeMember | None] = relationship()

    @property
    def audit_subject(self) -> str:
        return f"tender:{self.tender_id}/evaluation"


class ReviewSheet(db.Model):  # type: ignore[name-defined,misc]
    """A member's compliance review: [{bid_id, requirement, passed, reason}], a draft until submitted."""

    __tablename__ = "evaluation_review_sheets"
    __table_args__ = (UniqueConstraint("room_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rooms.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("evaluation_members.id"))
    verdicts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChairVote(db.Model):  # type: ignore[name-defined,misc]
    """A member's secret vote for the chair of a room's committee (one per member, changeable until decided)."""

    __tablename__ = "evaluation_chair_votes"
    __table_args__ = (UniqueConstraint("room_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rooms.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("evaluation_members.id"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("evaluation_members.id"))
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changes: Mapped[int] = mapped_column(Integer, default=0)


class SheetStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"  # locked
    SUPERSEDED = "superseded"  # replaced by a correction (a newer version)


class ScoreSheet(db.Model):  # type: ignore[name-defined,misc]
    """One member's scores for one bid; versions keep every correction. Points are decimal text, never floats."""

    __tablename__ = "evaluation_score_sheets"
    __table_args__ = (UniqueConstraint("room_id", "member_id", "bid_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rooms.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("evaluation_members.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[SheetStatus] = mapped_column(_enum(SheetStatus), default=SheetStatus.DRAFT)
    items: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # criterion -> points typed
    reasons: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # criterion -> written reason
    total: Mapped[str | None] = mapped_column(String(20))  # computed at submission, with the price score
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correction_kind: Mapped[str | None] = mapped_column(String(30))
    correction_reason: Mapped[str | None] = mapped_column(Text)


# --- the report, publicity, objections and award (slice d) --------------------------------------------


class ReportStatus(enum.StrEnum):
    SIGNING = "signing"  # drawn up, members are signing
    FINAL = "final"  # every seated member signed


class EvaluationReport(db.Model):  # type: ignore[name-defined,misc]
    """The evaluation report (评标报告): a canonical-JSON document, its hash, and the publicity of its candidates."""

    __tablename__ = "evaluation_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), unique=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rooms.id"))
    status: Mapped[ReportStatus] = mapped_column(_enum(ReportStatus), default=ReportStatus.SIGNING)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    report_sha256: Mapped[str] = mapped_column(String(64))
    drawn_up_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drawn_up_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    audit_index: Mapped[int] = mapped_column(BigInteger)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publicity_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    publicity_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    publicity_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set by the sweep (or the award)

    signatures: Mapped[list[ReportSignature]] = relationship(back_populates="report", order_by="ReportSignature.seat")

    @property
    def audit_subject(self) -> str:
        return f"tender:{self.tender_id}/evaluation"


class ReportSignature(db.Model):  # type: ignore[name-defined,misc]
    """A member's signature: the member re-authenticated, the platform attests it with a signed entry."""

    __tablename__ = "evaluation_report_signatures"
    __table_args__ = (UniqueConstraint("report_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("evaluation_reports.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("evaluation_members.id"))
    seat: Mapped[int] = mapped_column(Integer)
    dissent: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    audit_index: Mapped[int] = mapped_column(BigInteger)
    signed: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"payload": …, "signature": …} by the platform key

    report: Mapped[EvaluationReport] = relationship(back_populates="signatures")


class ObjectionStatus(enum.StrEnum):
    OPEN = "open"  # suspends the process
    ANSWERED = "answered"


class Objection(db.Model):  # type: ignore[name-defined,misc]
    """A bidder's objection (异议) to the published candidates, and the agency's answer."""

    __tablename__ = "evaluation_objections"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("evaluation_reports.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[ObjectionStatus] = mapped_column(_enum(ObjectionStatus), default=ObjectionStatus.OPEN)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # flagged by the sweep
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organisation: Mapped[Any] = relationship("Organisation")


class Award(db.Model):  # type: ignore[name-defined,misc]
    """The award (中标通知书) to the winner and the result notices to the other bidders, signed by the platform."""

    __tablename__ = "evaluation_awards"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), unique=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("evaluation_reports.id"))
    winner_bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    audit_index: Mapped[int] = mapped_column(BigInteger)
    signed: Mapped[dict[str, Any]] = mapped_column(JSON)  # the award document with every notice, platform-signed


# --- clarifications (评标澄清) -----------------------------------------------------------------------------


class ClarificationStatus(enum.StrEnum):
    OPEN = "open"  # waiting for the bidder's answer until due_at
    ANSWERED = "answered"
    EXPIRED = "expired"  # not answered in time (set by the sweep, or at the first late attempt)


class Clarification(db.Model):  # type: ignore[name-defined,misc]
    """A clarification request (澄清) from the committee of a room to one bidder, and the bidder's written answer.

    A clarification may not change the substance of the bid (price, essential terms); the answer is a written
    statement the bidder signs. The optional attached file is a write-once document with its SHA-256.
    """

    __tablename__ = "evaluation_clarifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("evaluation_rooms.id"), index=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    question: Mapped[str] = mapped_column(Text)
    asked_by_member_id: Mapped[int] = mapped_column(ForeignKey("evaluation_members.id"))  # the chair
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[ClarificationStatus] = mapped_column(_enum(ClarificationStatus), default=ClarificationStatus.OPEN)
    answer: Mapped[str | None] = mapped_column(Text)
    answer_file_name: Mapped[str | None] = mapped_column(String(255))
    answer_file_key: Mapped[str | None] = mapped_column(String(300))
    answer_file_sha256: Mapped[str | None] = mapped_column(String(64))
    answer_file_size: Mapped[int | None] = mapped_column(BigInteger)
    answer_file_type: Mapped[str | None] = mapped_column(String(255))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    room: Mapped[Room] = relationship()
    bid: Mapped[Any] = relationship("Bid")  # named outside by its public id only
    organisation: Mapped[Any] = relationship("Organisation")

    @property
    def audit_subject(self) -> str:
        return f"tender:{self.tender_id}/evaluation"
