"""JSON API of fees (/api/v1/permits/…): the case's fee bill, charging outside the standard, payments, and the
applicant's view by the tracking address. Desk staff (permits.desk) issue bills and record payments at the cashier
window. Bad input is a problem JSON (4xx) and stores nothing."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import public, requires
from app.core.storage import content_disposition
from app.permits.cases import services as cases
from app.permits.fees import schemas, services
from app.permits.fees.models import FeeBill, FeePayment
from app.permits.permissions import DESK

blp = Blueprint(
    "permits-fees-api",
    __name__,
    url_prefix="/api/v1/permits",
    description="Fees (中心收费): fee bills per case, the combined fee notice, payments at the cashier window.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def payment_view(p: FeePayment) -> dict[str, Any]:
    return {
        "channel": p.channel,
        "receipt_number": p.receipt_number,
        "amount_fen": p.amount_fen,
        "paid_at": p.paid_at,
        "recorded_by": p.recorded_by_name,
    }


def bill_view(bill: FeeBill) -> dict[str, Any]:
    return {
        "number": bill.number,
        "case_number": bill.application.case_number or "",
        "application_id": bill.application_id,
        "status": bill.status.value,
        "total_fen": bill.total_fen,
        "paid_fen": bill.paid_fen,
        "outstanding_fen": bill.outstanding_fen,
        "issued_at": bill.issued_at,
        "paid_at": bill.paid_at,
        "lines": [
            {
                "id": x.id,
                "item_code": x.item.code,
                "department": x.department.name,
                "name": x.name,
                "kind": x.kind.value,
                "unit": x.unit,
                "unit_fen": x.unit_fen,
                "quantity": str(x.quantity),
                "standard_fen": x.standard_fen,
                "amount_fen": x.amount_fen,
                "outside_standard": x.outside_standard,
                "override_reason": x.override_reason,
                "legal_basis": x.legal_basis,
            }
            for x in bill.lines
        ],
        "payments": [payment_view(p) for p in bill.payments],
    }


@blp.route("/cases/<int:application_id>/bill", methods=["GET"])
@blp.response(200, schemas.FeeBillOut)
@_problems(401, 403, 404)
@requires(DESK)
def get_bill(application_id: int) -> Any:
    """The case's fee bill with its lines and payments."""
    return bill_view(services.get_bill(services.accepted_case(application_id)))


@blp.route("/cases/<int:application_id>/bill", methods=["POST"])
@blp.arguments(schemas.FeeBillIn)
@blp.response(201, schemas.FeeBillOut)
@_problems(401, 403, 404, 409, 422)
@requires(DESK)
def issue_bill(args: dict[str, Any], application_id: int) -> Any:
    """Issue the case's bill from the item's fee rules and the answers; a joint case names the co-departments'
    items whose fees join it (one combined fee notice)."""
    bill = services.issue_bill(actor=me(), application=services.accepted_case(application_id), items=args["items"])
    return bill_view(bill)


@blp.route("/cases/<int:application_id>/bill/lines/<int:line_id>", methods=["PATCH"])
@blp.arguments(schemas.FeeChargeIn)
@blp.response(200, schemas.FeeBillOut)
@_problems(401, 403, 404, 409, 422)
@requires(DESK)
def charge_line(args: dict[str, Any], application_id: int, line_id: int) -> Any:
    """Charge a line outside the item's standard (a reason is required and logged), or back at the standard."""
    bill = services.get_bill(services.accepted_case(application_id))
    services.charge_line(actor=me(), bill=bill, line_id=line_id, amount_fen=args["amount_fen"], reason=args["reason"])
    return bill_view(bill)


@blp.route("/cases/<int:application_id>/bill/payments", methods=["POST"])
@blp.arguments(schemas.FeePaymentIn)
@blp.response(201, schemas.FeePaymentResultOut)
@_problems(401, 403, 404, 409, 422)
@requires(DESK)
def record_payment(args: dict[str, Any], application_id: int) -> Any:
    """Record a payment taken at the cashier window with its receipt number; the same receipt again changes
    nothing (created false)."""
    bill = services.get_bill(services.accepted_case(application_id))
    payment, created = services.record_payment(
        actor=me(),
        bill=bill,
        amount_fen=args["amount_fen"],
        receipt_number=args["receipt_number"],
        payer=args["payer"],
    )
    return {"created": created, "payment": payment_view(payment), "bill": bill_view(bill)}


@blp.route("/tracking/<string:number>/<string:token>/bill", methods=["GET"])
@blp.response(200, schemas.FeeBillOut)
@_problems(404)
@public
def tracked_bill(number: str, token: str) -> Any:
    """The applicant's view of the bill: what to pay and its status (by the tracking address)."""
    return bill_view(services.get_bill(cases.tracked(number, token)))


@blp.route("/tracking/<string:number>/<string:token>/bill.pdf", methods=["GET"])
@blp.doc(responses={"200": {"description": "The fee notice", "content": {"application/pdf": {}}}})
@_problems(404)
@public
def tracked_bill_pdf(number: str, token: str) -> Any:
    """The combined fee notice (缴费通知书) as PDF."""
    bill = services.get_bill(cases.tracked(number, token))
    return Response(
        services.notice_pdf(bill),
        content_type="application/pdf",
        headers={"Content-Disposition": content_disposition(f"{bill.number}.pdf")},
    )


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
