"""Pages of fees: the desk clerk's bill page (issue the bill, charge outside the standard with a reason, record a
payment at the cashier window) and the applicant's page (what to pay, its status), with the fee notice as PDF.

Thin: parse the form, call one service, render. Money is typed and shown in 元.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import field_error
from app.core.forms import parse_yuan
from app.core.pages import Errors, attempt, me
from app.core.problems import N_
from app.core.security import public, requires
from app.core.storage import content_disposition
from app.permits.cases import services as cases
from app.permits.cases.api import tracking_url
from app.permits.cases.models import Application
from app.permits.fees import services
from app.permits.fees.models import BillStatus
from app.permits.permissions import DESK

bp = Blueprint("permits_fees", __name__, url_prefix="/permits/fees", template_folder="templates")

BILL_STATUS = {
    BillStatus.UNPAID: (_l("To be paid"), "yellow"),
    BillStatus.PAID: (_l("Paid"), "green"),
    BillStatus.NOTHING_DUE: (_l("Nothing to pay"), "grey"),
}
FEE_KINDS = {"fixed": _l("Fixed amount"), "per_unit": _l("Per unit"), "free": _l("Free of charge")}


def _yuan(field: str, raw: str) -> int:
    try:
        return parse_yuan(raw or "")
    except ValueError:
        raise field_error(field, N_("Enter an amount in yuan with at most two decimals (fen).")) from None


def _desk_page(application: Application, errors: Errors | None = None, status: int = 200) -> Any:
    bill = services.bill_of(application)
    return (
        render_template(
            "permits_fees/bill.html",
            a=application,
            bill=bill,
            groups=services.groups(bill) if bill else [],
            co_items=services.co_department_items(application),
            errors=errors or Errors(),
            fee_url=services.fee_tracking_url(application),
        ),
        status,
    )


@bp.get("/cases/<int:application_id>")
@requires(DESK)
def bill_page(application_id: int) -> Any:
    return _desk_page(services.accepted_case(application_id))


def _act(application_id: int, action: Any, done: str, aliases: dict[str, str] | None = None) -> Any:
    application = services.accepted_case(application_id)
    with attempt(aliases=aliases) as outcome:
        action(application)
    if outcome.failed:
        return _desk_page(services.accepted_case(application_id), outcome.errors, outcome.status)
    flash(done, "success")
    return redirect(url_for("permits_fees.bill_page", application_id=application_id), code=303)


@bp.post("/cases/<int:application_id>/issue")
@requires(DESK)
def issue(application_id: int) -> Any:
    return _act(
        application_id,
        lambda a: services.issue_bill(actor=me(), application=a, items=request.form.getlist("items") or None),
        _("The fee bill was issued; the applicant sees it on the tracking page."),
    )


@bp.post("/cases/<int:application_id>/lines/<int:line_id>")
@requires(DESK)
def charge(application_id: int, line_id: int) -> Any:
    def action(a: Application) -> None:
        amount = _yuan(f"amount-{line_id}", request.form.get(f"amount-{line_id}", ""))
        services.charge_line(
            actor=me(),
            bill=services.get_bill(a),
            line_id=line_id,
            amount_fen=amount,
            reason=request.form.get(f"reason-{line_id}", ""),
        )

    return _act(
        application_id,
        action,
        _("The amount was changed; the reason is on record."),
        {"reason": f"reason-{line_id}", "amount_fen": f"amount-{line_id}"},
    )


@bp.post("/cases/<int:application_id>/payments")
@requires(DESK)
def pay(application_id: int) -> Any:
    def action(a: Application) -> None:
        amount = _yuan("amount", request.form.get("amount", ""))
        _payment, created = services.record_payment(
            actor=me(),
            bill=services.get_bill(a),
            amount_fen=amount,
            receipt_number=request.form.get("receipt_number", ""),
            payer=request.form.get("payer", ""),
        )
        if not created:
            flash(_("This receipt was recorded before: nothing changed."), "info")

    return _act(application_id, action, _("The payment was recorded."), {"amount_fen": "amount"})


@bp.get("/track/<string:number>/<string:token>")
@public
def applicant(number: str, token: str) -> Any:
    """What the applicant has to pay, to whom, and whether it is paid."""
    application = cases.tracked(number, token)
    bill = services.bill_of(application)
    return render_template(
        "permits_fees/applicant.html",
        a=application,
        bill=bill,
        groups=services.groups(bill) if bill else [],
        token=token,
        tracking=tracking_url(application),
    )


@bp.get("/track/<string:number>/<string:token>/notice.pdf")
@public
def notice_pdf(number: str, token: str) -> Any:
    bill = services.get_bill(cases.tracked(number, token))
    return Response(
        services.notice_pdf(bill),
        content_type="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{bill.number}.pdf")},
    )


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "fees_status": lambda s: BILL_STATUS[s],
        "fees_kind": lambda k: FEE_KINDS.get(k, k),
        "fees_bill_of": services.bill_of,
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
