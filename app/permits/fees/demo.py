"""Demo fees for `make run`: two accepted cases of a fee-charging item, one bill paid at the cashier window and
one waiting for payment. Idempotent (nothing is added once a bill exists).

A case is accepted today when the working-day calendar reaches its statutory due date; late in a year whose
successor is not loaded yet, it is accepted on the latest earlier week that the calendar can count (`demo_instant`),
and skipped with a line saying so when none can."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.accounts.models import User
from app.accounts.uscc import make_uscc
from app.core import time as clock_mod
from app.core.db import db
from app.core.time import now_utc
from app.permits.calendar.deadlines import CalendarNotLoaded
from app.permits.cases import services as cases
from app.permits.cases.demo import PDF
from app.permits.cases.models import Application, ApplicationChannel
from app.permits.catalogue.models import Item
from app.permits.fees import services
from app.permits.fees.models import FeeBill

ITEM = "HDZJ-XK-002"  # 特种设备使用登记: 10 元 per unit registered, plus a fee waived by law
ANSWERS = {
    "applicant_type": "enterprise",
    "applicant_name": "邯郸示范热力有限公司",
    "uscc": make_uscc("9", "1", "130400", "MA0DEM07"),
    "contact_phone": "0310-3100007",
    "equipment": "boiler",
    "site": "邯郸市邯山区示范热源厂",
}


MAX_WEEKS_BACK = 10


def demo_instant(item_codes: list[str]) -> datetime | None:
    """Now, or the latest earlier week (up to MAX_WEEKS_BACK) from which every item's due dates can be counted."""
    items = list(db.session.scalars(select(Item).where(Item.code.in_(item_codes))))
    now = now_utc()
    for weeks in range(MAX_WEEKS_BACK + 1):
        at = now - timedelta(weeks=weeks)
        try:
            for item in items:
                cases._due_dates(item, cases.local_date(at))
        except CalendarNotLoaded:
            continue
        return at
    return None


@contextmanager
def clock_at(at: datetime) -> Iterator[None]:
    """The platform's clock at `at` while the demo acts (nothing moves when `at` is now)."""
    if at >= now_utc() - timedelta(minutes=1):
        yield
        return
    previous = clock_mod.set_clock(clock_mod.FakeClock(at))
    try:
        yield
    finally:
        clock_mod.set_clock(previous)


def _case(desk: User, quantity: int) -> Application:
    row = cases.submit_application(
        actor=desk,
        item_code=ITEM,
        applicant=cases.check_applicant("enterprise", ANSWERS["applicant_name"], ANSWERS["uscc"]),
        answers={**ANSWERS, "quantity": quantity},
        channel=ApplicationChannel.DESK,
    )
    for material in cases.applicable_materials(row.item, row.answers):
        cases.attach_material(
            actor=desk,
            application=row,
            material_id=material.id,
            name=f"{material.name}.pdf",
            stream=io.BytesIO(PDF),
            length=len(PDF),
            content_type="application/pdf",
        )
    cases.accept_application(actor=desk, application=row)
    return row


def seed_demo_fees() -> list[str]:
    if db.session.scalar(select(func.count(FeeBill.id))):
        return []
    desk = db.session.scalar(select(User).where(User.username == "admin"))
    if (
        desk is None
        or not desk.has_permission("permits.desk")
        or not db.session.scalar(select(Item.id).where(Item.code == ITEM))
    ):
        return []
    at = demo_instant([ITEM])
    if at is None:
        return ["permit fees: skipped (the working-day calendar does not reach the cases' due dates)"]
    with clock_at(at):
        paid_case = _case(desk, 2)
        unpaid_case = _case(desk, 5)
        paid = services.issue_bill(actor=desk, application=paid_case)
        services.record_payment(actor=desk, bill=paid, amount_fen=paid.total_fen, receipt_number="HB-DEMO-000001")
        unpaid = services.issue_bill(actor=desk, application=unpaid_case)
    return [
        f"permit fee bill paid at the cashier window: {paid.number}",
        f"permit fee bill waiting for payment: {unpaid.number} (certificate refused until paid)",
        f"  fees page: /permits/fees/track/{unpaid.application.number}/{unpaid.application.tracking_token}",
    ]
