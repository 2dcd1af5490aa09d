"""Fee services: issue a case's bill, charge outside the standard (with a reason), record payments, the 制证 gate.

Every function flushes and writes its evidence-log entry in the caller's transaction; the caller commits.

- `issue_bill`: desk staff, once per accepted case. The lines are the case item's fee rules and, for a joint
  case, those of the co-departments' items the desk names (each item of a department the case consulted): one
  combined fee notice. A bill whose total is 0 is `nothing_due` at once.
- `charge_line`: a clerk changes a line's amount on a bill not yet paid; a reason is required and the entry's
  action is `permits.fee.outside_standard` (supervision turns a red light on from it); bringing a line back to
  its standard is `permits.fee.standard_restored`.
- `record_payment`: through the configured payment channel (payments.py); the same receipt twice is one payment.
- `require_paid`: 制证 (the production step, or issuing a certificate for the case) is refused while the case's
  bill is unpaid, or has no bill and the item charges a fee.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.common import actor_name
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, PermissionDenied, clean_text, field_error
from app.core.problems import N_
from app.core.time import format_center_time, now_utc
from app.permits.cases.models import Application, ApplicationStatus
from app.permits.cases.processing import facts
from app.permits.catalogue.models import Item
from app.permits.fees import rules
from app.permits.fees.models import BillStatus, FeeBill, FeeLine, FeePayment
from app.permits.fees.payments import get_payment_channel
from app.permits.permissions import DESK

MAX_REASON = 2000
MAX_FEN = 10**12
MAX_EXTRA_ITEMS = 10


def _require_desk(actor: Any) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_permission(DESK)):
        raise PermissionDenied(N_("Only desk staff handle fee bills."))


# --- reading ---------------------------------------------------------------------------------------------


def bill_of(application: Application) -> FeeBill | None:
    found: FeeBill | None = db.session.scalar(select(FeeBill).where(FeeBill.application_id == application.id))
    return found


def get_bill(application: Application) -> FeeBill:
    bill = bill_of(application)
    if bill is None:
        raise NotFound(N_("No fee bill for this case yet."))
    return bill


def accepted_case(application_id: int) -> Application:
    row = db.session.get(Application, application_id) if 0 < application_id < 2**31 else None
    if row is None or row.status is not ApplicationStatus.ACCEPTED:
        raise NotFound(N_("No such case."))
    return row


def co_department_items(application: Application) -> list[Item]:
    """The items of the departments a joint case consulted (the items the desk may add to the combined bill)."""
    ids = [t.department_id for t in application.tasks]
    if not ids:
        return []
    return list(db.session.scalars(select(Item).where(Item.department_id.in_(ids)).order_by(Item.code)))


def _bill_facts(bill: FeeBill, **extra: Any) -> dict[str, Any]:
    application = bill.application
    return facts(
        application,
        department=application.item.department,
        bill=bill.number,
        bill_id=bill.id,
        total_fen=bill.total_fen,
        paid_fen=bill.paid_fen,
        status=bill.status.value,
        **extra,
    )


def _status(bill: FeeBill) -> BillStatus:
    if bill.total_fen == 0:
        return BillStatus.NOTHING_DUE
    return BillStatus.PAID if bill.paid_fen >= bill.total_fen else BillStatus.UNPAID


# --- issuing ---------------------------------------------------------------------------------------------


def _extra_items(application: Application, codes: Any) -> list[Item]:
    if codes is None:
        return []
    if not isinstance(codes, list | tuple) or len(codes) > MAX_EXTRA_ITEMS:
        raise field_error("items", N_("A list of at most %(n)s item codes."), params={"n": MAX_EXTRA_ITEMS})
    allowed = {i.code: i for i in co_department_items(application)}
    out: list[Item] = []
    for i, code in enumerate(codes):
        item = allowed.get(code) if isinstance(code, str) else None
        if item is None:
            raise field_error(f"items.{i}", N_("Not an item of a co-department of this case."))
        if item in out:
            raise field_error(f"items.{i}", N_("An item is named once."))
        out.append(item)
    return out


def issue_bill(*, actor: Any, application: Application, items: Any = None) -> FeeBill:
    """The case's fee bill (缴费通知书) from the fee rules and the answers. Raises PermissionDenied, Conflict
    (a bill exists), ValidationFailed (items)."""
    _require_desk(actor)
    if application.status is not ApplicationStatus.ACCEPTED or application.case_number is None:
        raise Conflict(N_("A fee bill is issued for an accepted case."))
    extra = _extra_items(application, items)
    if bill_of(application) is not None:
        raise Conflict(N_("This case has its fee bill already."))
    charges = rules.charges([application.item, *extra], application.answers)
    bill = FeeBill(
        number=f"JF{application.case_number}",
        application_id=application.id,
        application=application,
        status=BillStatus.UNPAID,
        total_fen=sum(c.amount_fen for c in charges),
        paid_fen=0,
        issued_at=now_utc(),
        issued_by_id=actor.id,
    )
    bill.lines = [
        FeeLine(
            position=i,
            item_id=c.item.id,
            department_id=c.item.department_id,
            name=c.fee.name,
            kind=c.fee.kind,
            unit=c.fee.unit,
            unit_fen=c.fee.amount_fen,
            quantity=c.quantity,
            standard_fen=c.amount_fen,
            amount_fen=c.amount_fen,
            legal_basis=c.fee.legal_basis,
        )
        for i, c in enumerate(charges, start=1)
    ]
    bill.status = _status(bill)
    db.session.add(bill)
    db.session.flush()
    record(
        "permits.fee.bill_issued",
        actor=actor,
        subject=bill.audit_ref,
        data=_bill_facts(
            bill,
            responsible_id=actor.id,
            items=[application.item.code, *(i.code for i in extra)],
            lines=[_line_facts(line) for line in bill.lines],
        ),
    )
    return bill


def _line_facts(line: FeeLine) -> dict[str, Any]:
    return {
        "line_id": line.id,
        "item": line.item.code if line.item else None,
        "name": line.name,
        "kind": line.kind.value,
        "quantity": str(line.quantity),
        "unit_fen": line.unit_fen,
        "standard_fen": line.standard_fen,
        "amount_fen": line.amount_fen,
    }


def _locked(bill: FeeBill) -> FeeBill:
    return db.session.execute(
        select(FeeBill).where(FeeBill.id == bill.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def charge_line(*, actor: Any, bill: FeeBill, line_id: Any, amount_fen: Any, reason: Any) -> FeeLine:
    """Charge a line outside its standard (or bring it back to it). The reason is required."""
    _require_desk(actor)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 0 <= amount_fen <= MAX_FEN:
        raise field_error("amount_fen", N_("The amount is a whole number of fen, 0 or more."))
    clean = clean_text(reason, "reason", MAX_REASON)
    line = next((x for x in bill.lines if x.id == line_id), None)
    if line is None:
        raise NotFound(N_("No such line on this bill."))
    bill = _locked(bill)
    if bill.status is BillStatus.PAID or bill.payments:
        raise Conflict(N_("A bill with a payment recorded is not changed."))
    if amount_fen == line.amount_fen:
        raise field_error("amount_fen", N_("This is the amount charged already."))
    before = line.amount_fen
    at = now_utc()
    line.amount_fen = amount_fen
    restored = amount_fen == line.standard_fen
    line.override_reason = "" if restored else clean
    line.overridden_by_id = None if restored else actor.id
    line.overridden_at = None if restored else at
    bill.total_fen = sum(x.amount_fen for x in bill.lines)
    bill.status = _status(bill)
    db.session.flush()
    record(
        "permits.fee.standard_restored" if restored else "permits.fee.outside_standard",
        actor=actor,
        subject=bill.audit_ref,
        data=_bill_facts(
            bill,
            responsible_id=actor.id,
            line=_line_facts(line),
            previous_fen=before,
            standard_fen=line.standard_fen,
            amount_fen=amount_fen,
            reason=clean,
        ),
    )
    return line


# --- paying ----------------------------------------------------------------------------------------------


def record_payment(
    *, actor: Any, bill: FeeBill, amount_fen: Any, receipt_number: Any, payer: Any = ""
) -> tuple[FeePayment, bool]:
    """Record a payment through the configured channel; (payment, created). The same receipt on the same channel
    again returns the payment already recorded (created False) and writes nothing; a receipt recorded for another
    bill or another amount is a Conflict."""
    channel = get_payment_channel()
    clean_payer = clean_text(payer, "payer", 200, required=False)
    confirmed = channel.confirm(
        bill=bill, actor=actor, amount_fen=amount_fen, receipt_number=receipt_number, payer=clean_payer
    )
    bill = _locked(bill)
    known = _payment(channel.name, confirmed.receipt_number)
    if known is not None:
        if known.bill_id == bill.id and known.amount_fen == confirmed.amount_fen:
            return known, False
        raise Conflict(N_("This receipt number was recorded already for another payment."))
    if bill.status is not BillStatus.UNPAID:
        raise Conflict(N_("Nothing is due on this bill."))
    if confirmed.amount_fen > bill.outstanding_fen:
        raise field_error(
            "amount_fen", N_("More than is due: %(due)s fen are outstanding."), params={"due": bill.outstanding_fen}
        )
    payment = FeePayment(
        bill_id=bill.id,
        channel=channel.name,
        receipt_number=confirmed.receipt_number,
        amount_fen=confirmed.amount_fen,
        paid_at=confirmed.paid_at,
        recorded_by_id=getattr(actor, "id", None),
        recorded_by_name=actor_name(actor),
        payer=confirmed.payer,
    )
    try:
        with db.session.begin_nested():
            db.session.add(payment)
            db.session.flush()
    except IntegrityError:  # the same receipt recorded by a concurrent request: one payment
        known = _payment(channel.name, confirmed.receipt_number)
        if known is not None and known.bill_id == bill.id and known.amount_fen == confirmed.amount_fen:
            return known, False
        raise Conflict(N_("This receipt number was recorded already for another payment.")) from None
    bill.paid_fen += payment.amount_fen
    bill.status = _status(bill)
    if bill.status is BillStatus.PAID:
        bill.paid_at = payment.paid_at
    db.session.flush()
    record(
        "permits.fee.payment_recorded",
        actor=actor,
        subject=bill.audit_ref,
        data=_bill_facts(
            bill,
            responsible_id=getattr(actor, "id", None),
            channel=channel.name,
            receipt_number=payment.receipt_number,
            amount_fen=payment.amount_fen,
        ),
    )
    return payment, True


def _payment(channel: str, receipt: str) -> FeePayment | None:
    found: FeePayment | None = db.session.scalar(
        select(FeePayment).where(FeePayment.channel == channel, FeePayment.receipt_number == receipt)
    )
    return found


# --- the 制证 gate ----------------------------------------------------------------------------------------


def require_paid(application: Application) -> None:
    """Refuse (409) producing the certificate of a case whose fees are not paid; a free item needs no bill."""
    bill = bill_of(application)
    if bill is None:
        if application.item.free:
            return
        raise Conflict(N_("The fee bill of this case is not issued and paid yet: no certificate before payment."))
    if bill.status is BillStatus.UNPAID:
        raise Conflict(
            N_("The fee bill %(number)s is not paid yet: no certificate before payment."),
            params={"number": bill.number},
        )


def require_paid_for_case_number(case_number: str | None) -> None:
    if not case_number:
        return
    application = db.session.scalar(select(Application).where(Application.case_number == case_number))
    if application is not None:
        require_paid(application)


# --- the combined fee notice (PDF) ------------------------------------------------------------------------


def fee_tracking_url(application: Application, *, external: bool = False) -> str:
    from flask import url_for

    return url_for(
        "permits_fees.applicant", number=application.number, token=application.tracking_token, _external=external
    )


def groups(bill: FeeBill) -> list[tuple[Any, list[FeeLine], int]]:
    """The bill's lines by department, lead first: (department, lines, subtotal)."""
    out: dict[int, tuple[Any, list[FeeLine]]] = {}
    for line in bill.lines:
        out.setdefault(line.department_id, (line.department, []))[1].append(line)
    return [(d, lines, sum(x.amount_fen for x in lines)) for d, lines in out.values()]


def notice_pdf(bill: FeeBill) -> bytes:
    """缴费通知书: the combined notice of every department's fees on the case, with a QR code to its status."""
    from app.permits.cases.notices import _pdf, _qr

    zone = current_app.config["CENTER_TIMEZONE"]
    url = fee_tracking_url(bill.application, external=True)
    html = render_template(
        "permits_fees/notice_pdf.html",
        b=bill,
        a=bill.application,
        groups=groups(bill),
        issued_at=format_center_time(bill.issued_at, zone),
        url=url,
        qr=_qr(url),
    )
    return _pdf(html)
