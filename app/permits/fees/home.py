"""Fees on the home page: for desk staff, the bills waiting for payment (oldest first; no certificate until paid)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.core.db import db
from app.core.forms import format_yuan
from app.core.home import Item, Section, register_personal
from app.core.security import caller_has
from app.permits.fees.models import BillStatus, FeeBill
from app.permits.permissions import DESK

SHOWN = 10


def unpaid_sections(user: Any, now: datetime) -> list[Section]:
    if not caller_has(DESK):
        return []
    waiting = select(FeeBill).where(FeeBill.status == BillStatus.UNPAID)
    total = db.session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    if not total:
        return []
    items = [
        Item(
            bill.application.item.name,
            url_for("permits_fees.bill_page", application_id=bill.application_id),
            note=_l("%(amount)s yuan to pay", amount=format_yuan(bill.outstanding_fen)),
            reference=bill.number,
        )
        for bill in db.session.scalars(waiting.order_by(FeeBill.issued_at, FeeBill.id).limit(SHOWN))
    ]
    return [Section("permits-unpaid", _l("Fee bills waiting for payment (%(n)s)", n=total), items)]


def init_app() -> None:
    register_personal("permits.fees", unpaid_sections, order=47)
