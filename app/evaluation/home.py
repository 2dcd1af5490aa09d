"""The evaluation floor on the home page: recent results (awards); the agency's committees, reports, publicity,
objections and awards to act on; the bidder's clarifications and objection windows; the expert's invitations,
declarations, rooms and reports to sign; what the overseers follow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from app.core.db import db
from app.core.home import Item, Section, register_personal, register_public
from app.core.security import caller_has
from app.evaluation.models import (
    Award,
    Clarification,
    ClarificationStatus,
    Committee,
    CommitteeMember,
    EvaluationReport,
    MemberStatus,
    Objection,
    ObjectionStatus,
    ReportSignature,
    ReportStatus,
    Room,
    RoomPhase,
)
from app.evaluation.permissions import OVERSEE, RUN
from app.tendering.models import Bid, Tender, TenderStatus
from app.tendering.permissions import BID

LIMIT = 10
RESULTS = 5
IN_EVALUATION = (TenderStatus.OPENING, TenderStatus.OPENED)


def _winner(award: Award) -> str:
    payload = (award.signed or {}).get("payload") or {}
    winner = payload.get("winner") or {}
    return str(winner.get("bidder") or "")


def recent_awards() -> list[tuple[Award, Tender]]:
    rows = db.session.execute(
        select(Award, Tender).join(Tender, Tender.id == Award.tender_id).order_by(Award.issued_at.desc()).limit(RESULTS)
    )
    return [(award, tender) for award, tender in rows]


def public_sections(now: datetime) -> list[Section]:
    del now
    return [
        Section(
            "recent-results",
            _l("Recent results"),
            [
                Item(
                    t.title,
                    url_for("tendering.tender_detail", tender_id=t.id),
                    note=_l("Awarded to %(winner)s", winner=_winner(a)) if _winner(a) else "",
                    at=a.issued_at,
                    at_label=_l("Awarded"),
                    reference=t.reference,
                )
                for a, t in recent_awards()
            ],
            empty=_l("No award yet."),
        )
    ]


def _agency_item(t: Tender, note: Any = "", at: datetime | None = None, at_label: Any = "") -> Item:
    return Item(
        t.title,
        url_for("tendering.agency_tender", tender_id=t.id),
        note=note,
        at=at,
        at_label=at_label,
        reference=t.reference,
    )


def agency_sections(user: Any, now: datetime) -> list[Section]:
    if not caller_has(RUN) or user.organisation_id is None:
        return []
    mine = Tender.agency_id == user.organisation_id
    has_committee = exists().where(Committee.tender_id == Tender.id)
    has_report = exists().where(EvaluationReport.tender_id == Tender.id)
    finished_room = exists().where(Room.tender_id == Tender.id, Room.phase == RoomPhase.FINISHED)
    no_committee = db.session.scalars(
        select(Tender)
        .where(mine, Tender.status == TenderStatus.OPENED, ~has_committee)
        .order_by(Tender.id)
        .limit(LIMIT)
    )
    to_draw_up = db.session.scalars(
        select(Tender)
        .where(mine, Tender.status == TenderStatus.OPENED, finished_room, ~has_report)
        .order_by(Tender.id)
        .limit(LIMIT)
    )
    reports = list(
        db.session.execute(
            select(EvaluationReport, Tender)
            .join(Tender, Tender.id == EvaluationReport.tender_id)
            .where(mine, Tender.status == TenderStatus.OPENED)
            .order_by(Tender.id)
        )
    )
    open_objection = exists().where(
        Objection.tender_id == EvaluationReport.tender_id, Objection.status == ObjectionStatus.OPEN
    )
    objections = db.session.execute(
        select(Objection, Tender)
        .join(Tender, Tender.id == Objection.tender_id)
        .where(mine, Objection.status == ObjectionStatus.OPEN)
        .order_by(Objection.answer_due_at, Objection.id)
        .limit(LIMIT)
    )
    awardable = {
        r.id
        for r in db.session.scalars(
            select(EvaluationReport)
            .join(Tender, Tender.id == EvaluationReport.tender_id)
            .where(mine, Tender.status == TenderStatus.OPENED, ~open_objection)
        )
    }
    return [
        Section("agency-committees", _l("Committees to define"), [_agency_item(t) for t in no_committee]),
        Section("agency-reports", _l("Reports to draw up"), [_agency_item(t) for t in to_draw_up]),
        Section(
            "agency-signing",
            _l("Reports waiting for signatures"),
            [
                _agency_item(t, at=r.drawn_up_at, at_label=_l("Drawn up"))
                for r, t in reports
                if r.status is ReportStatus.SIGNING
            ],
        ),
        Section(
            "agency-publicity",
            _l("Candidates to publish"),
            [
                _agency_item(t, at=r.finalised_at, at_label=_l("Signed"))
                for r, t in reports
                if r.status is ReportStatus.FINAL and r.publicity_started_at is None
            ],
        ),
        Section(
            "agency-objections",
            _l("Objections to answer"),
            [
                _agency_item(t, note=o.organisation.name, at=o.answer_due_at, at_label=_l("Answer due"))
                for o, t in objections
            ],
        ),
        Section(
            "agency-awards",
            _l("Awards to issue"),
            [
                _agency_item(t, at=r.publicity_ends_at, at_label=_l("Publicity ended"))
                for r, t in reports
                if r.id in awardable and r.publicity_ends_at is not None and r.publicity_ends_at <= now
            ],
        ),
    ]


def bidder_sections(user: Any, now: datetime) -> list[Section]:
    if not caller_has(BID) or user.organisation_id is None:
        return []
    org = user.organisation_id
    clarifications = db.session.execute(
        select(Clarification, Tender)
        .join(Tender, Tender.id == Clarification.tender_id)
        .where(
            Clarification.organisation_id == org,
            Clarification.status == ClarificationStatus.OPEN,
            Clarification.due_at > now,
        )
        .order_by(Clarification.due_at, Clarification.id)
        .limit(LIMIT)
    )
    has_bid = exists().where(Bid.tender_id == Tender.id, Bid.organisation_id == org)
    windows = db.session.execute(
        select(EvaluationReport, Tender)
        .join(Tender, Tender.id == EvaluationReport.tender_id)
        .where(
            has_bid,
            Tender.status == TenderStatus.OPENED,
            EvaluationReport.publicity_started_at.is_not(None),
            EvaluationReport.publicity_ended_at.is_(None),
            EvaluationReport.publicity_ends_at > now,
        )
        .order_by(EvaluationReport.publicity_ends_at)
        .limit(LIMIT)
    )
    return [
        Section(
            "bidder-clarifications",
            _l("Clarifications to answer"),
            [
                Item(
                    t.title,
                    url_for("evaluation.my_clarifications"),
                    at=c.due_at,
                    at_label=_l("Answer due"),
                    reference=t.reference,
                )
                for c, t in clarifications
            ],
        ),
        Section(
            "bidder-objections",
            _l("Candidates in publicity: objections may be filed"),
            [
                Item(
                    t.title,
                    url_for("tendering.tender_detail", tender_id=t.id),
                    at=r.publicity_ends_at,
                    at_label=_l("Publicity ends"),
                    reference=t.reference,
                )
                for r, t in windows
            ],
        ),
    ]


def expert_sections(user: Any, now: datetime) -> list[Section]:
    del now
    rows = list(
        db.session.execute(
            select(CommitteeMember, Tender)
            .join(Committee, Committee.id == CommitteeMember.committee_id)
            .join(Tender, Tender.id == Committee.tender_id)
            .where(
                CommitteeMember.user_id == user.id,
                CommitteeMember.seat.is_not(None),
                CommitteeMember.status.in_((MemberStatus.INVITED, MemberStatus.CONFIRMED)),
                Tender.status.in_(IN_EVALUATION),
            )
            .order_by(Tender.id)
        )
    )
    if not rows:
        return []
    tender_ids = [t.id for _m, t in rows]
    rooms = list(
        db.session.scalars(
            select(Room).where(Room.tender_id.in_(tender_ids), Room.phase != RoomPhase.FINISHED).order_by(Room.id)
        )
    )
    signed = set(
        db.session.scalars(
            select(ReportSignature.member_id).where(ReportSignature.member_id.in_([m.id for m, _t in rows]))
        )
    )
    signing = {
        r.tender_id
        for r in db.session.scalars(
            select(EvaluationReport).where(
                EvaluationReport.tender_id.in_(tender_ids), EvaluationReport.status == ReportStatus.SIGNING
            )
        )
    }
    declared = {t.id for m, t in rows if m.status is MemberStatus.CONFIRMED and m.declared_at is not None}
    by_id = {t.id: t for _m, t in rows}
    return [
        Section(
            "expert-invitations",
            _l("Invitations to answer"),
            [
                Item(
                    t.title,
                    url_for("evaluation.my_evaluations"),
                    at=m.invited_at,
                    at_label=_l("Invited"),
                    reference=t.reference,
                )
                for m, t in rows
                if m.status is MemberStatus.INVITED
            ],
        ),
        Section(
            "expert-declarations",
            _l("Declarations to sign"),
            [
                Item(t.title, url_for("evaluation.declaration", tender_id=t.id), reference=t.reference)
                for m, t in rows
                if m.status is MemberStatus.CONFIRMED and m.declared_at is None
            ],
        ),
        Section(
            "expert-rooms",
            _l("Evaluation rooms open"),
            [
                Item(
                    by_id[r.tender_id].title,
                    url_for("evaluation.room", tender_id=r.tender_id, stage=r.stage),
                    at=r.opened_at,
                    at_label=_l("Room opened"),
                    reference=by_id[r.tender_id].reference,
                )
                for r in rooms
                if r.tender_id in declared
            ],
        ),
        Section(
            "expert-reports",
            _l("Reports to sign"),
            [
                Item(t.title, url_for("evaluation.report", tender_id=t.id), reference=t.reference)
                for m, t in rows
                if t.id in signing and t.id in declared and m.id not in signed
            ],
        ),
    ]


def overseer_sections(user: Any, now: datetime) -> list[Section]:
    """Auditors and supervisors: evaluations under way and candidates in publicity."""
    del user
    if not caller_has(OVERSEE):
        return []
    rooms = db.session.execute(
        select(Room, Tender)
        .join(Tender, Tender.id == Room.tender_id)
        .where(Room.phase != RoomPhase.FINISHED, Tender.status.in_(IN_EVALUATION))
        .order_by(Room.opened_at.desc())
        .limit(LIMIT)
    )
    publicity = db.session.execute(
        select(EvaluationReport, Tender)
        .join(Tender, Tender.id == EvaluationReport.tender_id)
        .where(
            EvaluationReport.publicity_started_at.is_not(None),
            EvaluationReport.publicity_ended_at.is_(None),
            EvaluationReport.publicity_ends_at > now,
        )
        .order_by(EvaluationReport.publicity_ends_at)
        .limit(LIMIT)
    )
    return [
        Section(
            "overseer-rooms",
            _l("Evaluations under way"),
            [
                Item(
                    t.title,
                    url_for("evaluation.room", tender_id=t.id, stage=r.stage),
                    at=r.opened_at,
                    at_label=_l("Room opened"),
                    reference=t.reference,
                )
                for r, t in rooms
            ],
        ),
        Section(
            "overseer-publicity",
            _l("Candidates in publicity"),
            [
                Item(
                    t.title,
                    url_for("tendering.tender_detail", tender_id=t.id),
                    at=r.publicity_ends_at,
                    at_label=_l("Publicity ends"),
                    reference=t.reference,
                )
                for r, t in publicity
            ],
        ),
    ]


def init_app() -> None:
    register_public("evaluation", public_sections, order=20)
    register_personal("evaluation.agency", agency_sections, order=20)
    register_personal("evaluation.bidder", bidder_sections, order=40)
    register_personal("evaluation.expert", expert_sections, order=45)
    register_personal("evaluation.overseer", overseer_sections, order=60)
