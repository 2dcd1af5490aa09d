"""The tendering floor on the home page: tenders open for bids, openings today; the agency's drafts and openings,
the bidder's unsent envelopes, the custodian's key shares to bring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from app.core.db import db
from app.core.home import Item, Section, register_personal, register_public, today
from app.core.security import caller_has
from app.tendering.models import Bid, CustodyShare, Tender, TenderStatus, UploadSession, UploadStatus
from app.tendering.permissions import BID, MANAGE

LIMIT = 10
OPENING = (TenderStatus.PUBLISHED, TenderStatus.OPENING)


def _public_item(tender: Tender, at: datetime, at_label: Any) -> Item:
    return Item(
        tender.title,
        url_for("tendering.tender_detail", tender_id=tender.id),
        at=at,
        at_label=at_label,
        reference=tender.reference,
    )


def open_for_bids(now: datetime) -> list[Tender]:
    """Published tenders whose deadline has not come, the nearest deadline first."""
    return list(
        db.session.scalars(
            select(Tender)
            .where(Tender.status == TenderStatus.PUBLISHED, Tender.submission_deadline_at > now)
            .order_by(Tender.submission_deadline_at, Tender.id)
            .limit(LIMIT)
        )
    )


def opening_today(now: datetime, agency_id: int | None = None) -> list[Tender]:
    """Tenders whose opening falls today (the center's day), not yet opened."""
    start, end = today(now)
    query = select(Tender).where(Tender.status.in_(OPENING), Tender.opening_at >= start, Tender.opening_at < end)
    if agency_id is not None:
        query = query.where(Tender.agency_id == agency_id)
    return list(db.session.scalars(query.order_by(Tender.opening_at, Tender.id).limit(LIMIT)))


def public_sections(now: datetime) -> list[Section]:
    return [
        Section(
            "open-for-bids",
            _l("Open for bids"),
            [_public_item(t, t.submission_deadline_at, _l("Deadline")) for t in open_for_bids(now)],
            empty=_l("No tender is open for bids."),
        ),
        Section(
            "opening-today",
            _l("Opening today"),
            [_public_item(t, t.opening_at, _l("Opens at")) for t in opening_today(now)],
            empty=_l("No opening today."),
        ),
    ]


def agency_sections(user: Any, now: datetime) -> list[Section]:
    if not caller_has(MANAGE) or user.organisation_id is None:
        return []
    drafts = db.session.scalars(
        select(Tender)
        .where(Tender.agency_id == user.organisation_id, Tender.status == TenderStatus.DRAFT)
        .order_by(Tender.created_at.desc(), Tender.id.desc())
        .limit(LIMIT)
    )
    return [
        Section(
            "agency-drafts",
            _l("Tenders to publish"),
            [
                Item(
                    t.title,
                    url_for("tendering.agency_tender", tender_id=t.id),
                    note=_l("Draft"),
                    at=t.submission_deadline_at,
                    at_label=_l("Deadline"),
                    reference=t.reference,
                )
                for t in drafts
            ],
        ),
        Section(
            "agency-openings",
            _l("Your openings today"),
            [
                Item(
                    t.title,
                    url_for("tendering.agency_tender", tender_id=t.id),
                    at=t.opening_at,
                    at_label=_l("Opens at"),
                    reference=t.reference,
                )
                for t in opening_today(now, user.organisation_id)
            ],
        ),
    ]


def bidder_sections(user: Any, now: datetime) -> list[Section]:
    """Envelopes uploaded (or being uploaded) for a tender still open, with no bid sent from them."""
    if not caller_has(BID) or user.organisation_id is None:
        return []
    org = user.organisation_id
    submitted = exists().where(Bid.tender_id == Tender.id, Bid.organisation_id == org, Bid.withdrawn.is_(False))
    uploaded = exists().where(
        UploadSession.tender_id == Tender.id,
        UploadSession.organisation_id == org,
        UploadSession.status.in_((UploadStatus.OPEN, UploadStatus.COMPLETED)),
    )
    tenders = db.session.scalars(
        select(Tender)
        .where(Tender.status == TenderStatus.PUBLISHED, Tender.submission_deadline_at > now, uploaded, ~submitted)
        .order_by(Tender.submission_deadline_at, Tender.id)
        .limit(LIMIT)
    )
    return [
        Section(
            "bidder-unsent",
            _l("Bids not sent yet"),
            [
                Item(
                    t.title,
                    url_for("tendering.bid_page", tender_id=t.id),
                    note=_l("Envelopes uploaded, the bid is not submitted."),
                    at=t.submission_deadline_at,
                    at_label=_l("Deadline"),
                    reference=t.reference,
                )
                for t in tenders
            ],
        )
    ]


def custodian_sections(user: Any, now: datetime) -> list[Section]:
    """Key shares a named custodian still has to bring to an opening."""
    del now
    rows = db.session.execute(
        select(CustodyShare, Tender)
        .join(Tender, Tender.id == CustodyShare.tender_id)
        .where(
            CustodyShare.user_id == user.id,
            CustodyShare.submitted_at.is_(None),
            Tender.status.in_(OPENING),
        )
        .order_by(Tender.opening_at, Tender.id)
        .limit(LIMIT)
    )
    return [
        Section(
            "custodian-shares",
            _l("Key shares to bring"),
            [
                Item(
                    t.title,
                    url_for("tendering.custody_share_page", tender_id=t.id),
                    at=t.opening_at,
                    at_label=_l("Opens at"),
                    reference=t.reference,
                )
                for _share, t in rows
            ],
        )
    ]


def init_app() -> None:
    register_public("tendering", public_sections, order=10)
    register_personal("tendering.agency", agency_sections, order=10)
    register_personal("tendering.bidder", bidder_sections, order=30)
    register_personal("tendering.custodian", custodian_sections, order=50)
