"""What the agency's pages share: the tender it runs, its management page, the center's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import select

from app.accounts.models import User
from app.core.db import db
from app.core.pages import Errors, me
from app.core.time import now_utc
from app.tendering import services_questions, services_tenders
from app.tendering.agency.forms import AnswerForm, DocumentForm
from app.tendering.models import CustodyShare, Tender, TenderStatus
from app.tendering.views import form_fields

# API field names → the form field that shows their errors.
FORM_FIELD = {
    "budget_amount": "budget",
    "custodian_ids": "custodians",
    "max_bid_size": "max_bid_size_mib",
    "bid_form_schema": "bid_fields",
}

# --- helpers -----------------------------------------------------------------------------------------


def center_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def to_utc_iso(local: datetime | None) -> str | None:
    """A datetime-local value, read in the center's zone, as an ISO instant for the API schema.

    Kept in the center's offset: the schema's Instant converts it to UTC and refuses instants out of
    range (0001-01-01T00:00 in Shanghai is before year 1 in UTC; converting here would overflow)."""
    if local is None:
        return None
    return local.replace(tzinfo=center_zone()).isoformat()


def plain_text(value: str | None) -> str:
    """Browsers send CRLF line breaks from text areas; the terms are stored with LF."""
    return (value or "").replace("\r\n", "\n")


def managed_tender(tender_id: int) -> Tender:
    """A tender of the caller's agency: drafts of others are not found, others' tenders are refused (logged)."""
    return services_tenders.managed_tender(me(), tender_id)


# --- agency: one tender ------------------------------------------------------------------------------


def _custody_rows(tender: Tender) -> list[tuple[CustodyShare, User | None]]:
    rows = list(db.session.scalars(select(CustodyShare).where(CustodyShare.tender_id == tender.id)))
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r.user_id for r in rows if r.user_id])))
    }
    return [(r, users.get(r.user_id) if r.user_id else None) for r in sorted(rows, key=lambda r: r.share_index)]


def render_manage(tender: Tender, status: int = 200, **extra: Any) -> Any:
    questions = services_questions.list_questions(tender, answered_only=False)
    names = {}
    if tender.custodian_ids:
        names = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(tender.custodian_ids)))}
    open_for_bids = services_tenders.is_open_for_bids(tender)
    return render_template(
        "tendering/agency_tender.html",
        tender=tender,
        questions=questions,
        open_for_bids=open_for_bids,
        can_add_documents=tender.status is TenderStatus.DRAFT or open_for_bids,
        can_cancel=tender.status in (TenderStatus.DRAFT, TenderStatus.PUBLISHED) and now_utc() < tender.opening_at,
        doc_form=extra.pop("doc_form", None) or DocumentForm(formdata=None),
        answer_form=AnswerForm(formdata=None),
        answer_errors=extra.pop("answer_errors", {}),
        doc_errors=extra.pop("doc_errors", Errors(FORM_FIELD)),
        fields=form_fields(tender.bid_form_schema),
        custodians=[names.get(uid) for uid in tender.custodian_ids],
        shares=_custody_rows(tender) if tender.status is not TenderStatus.DRAFT else [],
        **extra,
    ), status
