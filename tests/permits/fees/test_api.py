"""The fees API: the bill of a case, charging outside the standard, payments at the cashier window (idempotent by
receipt), the applicant's view by the tracking address; bad input is problem JSON and stores nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.cases.models import Application
from app.permits.fees.models import FeeBill, FeePayment
from tests.factories import Api
from tests.permits.cases.test_api import _token_user
from tests.permits.fees.helpers import FIXED_ITEM, PER_UNIT_ITEM, accepted

PROBLEM = "application/problem+json"


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_bill_payment_and_applicant_view(desk_app: Flask, client: Any) -> None:
    case_id, _p = accepted(desk_app, PER_UNIT_ITEM, quantity=2)
    desk: Api = _token_user(desk_app, client, ["permits_clerk"])
    bidder: Api = _token_user(desk_app, client, ["bidder"])
    assert desk.get(f"/api/v1/permits/cases/{case_id}/bill").status_code == 404
    assert bidder.post(f"/api/v1/permits/cases/{case_id}/bill", {}).status_code == 403
    resp = desk.post(f"/api/v1/permits/cases/{case_id}/bill", {})
    assert resp.status_code == 201, resp.get_json()
    bill = resp.get_json()
    assert bill["total_fen"] == 2000 and bill["status"] == "unpaid"
    assert [x["kind"] for x in bill["lines"]] == ["per_unit", "free"] and bill["lines"][0]["quantity"] == "2.00"
    assert desk.post(f"/api/v1/permits/cases/{case_id}/bill", {}).status_code == 409

    line = bill["lines"][0]["id"]
    for body in ({"amount_fen": 1000}, {"amount_fen": 1000, "reason": ""}, {"amount_fen": -1, "reason": "x"}):
        resp = desk.patch(f"/api/v1/permits/cases/{case_id}/bill/lines/{line}", body)
        assert resp.status_code == 422 and resp.mimetype == PROBLEM, body
    assert (
        desk.patch(f"/api/v1/permits/cases/{case_id}/bill/lines/999", {"amount_fen": 1, "reason": "x"}).status_code
        == 404
    )
    resp = desk.patch(
        f"/api/v1/permits/cases/{case_id}/bill/lines/{line}", {"amount_fen": 1500, "reason": "困难企业减免"}
    )
    assert resp.status_code == 200 and resp.get_json()["total_fen"] == 1500
    assert resp.get_json()["lines"][0]["outside_standard"] is True

    for body in ({"amount_fen": 1500, "receipt_number": "票据"}, {"amount_fen": 0, "receipt_number": "HB-1"}, {}):
        resp = desk.post(f"/api/v1/permits/cases/{case_id}/bill/payments", body)
        assert resp.status_code == 422, body
    assert _count(desk_app, FeePayment) == 0
    pay = {"amount_fen": 1500, "receipt_number": "HB-2026-0042", "payer": "张三"}
    first = desk.post(f"/api/v1/permits/cases/{case_id}/bill/payments", pay)
    assert first.status_code == 201 and first.get_json()["created"] is True
    assert first.get_json()["bill"]["status"] == "paid"
    again = desk.post(f"/api/v1/permits/cases/{case_id}/bill/payments", pay)
    assert again.status_code == 201 and again.get_json()["created"] is False
    assert _count(desk_app, FeePayment) == 1

    with desk_app.app_context():
        application = db.session.get(Application, case_id)
        number, token = application.number, application.tracking_token
    view = client.get(f"/api/v1/permits/tracking/{number}/{token}/bill")
    assert view.status_code == 200 and view.get_json()["paid_fen"] == 1500
    assert client.get(f"/api/v1/permits/tracking/{number}/wrong/bill").status_code == 404
    pdf = client.get(f"/api/v1/permits/tracking/{number}/{token}/bill.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_bad_items_store_no_bill(desk_app: Flask, client: Any) -> None:
    case_id, _p = accepted(desk_app, FIXED_ITEM)
    desk: Api = _token_user(desk_app, client, ["permits_clerk"])
    for body in ({"items": ["HDGSJ-FW-001"]}, {"items": "x"}, {"items": ["x"] * 11}):
        resp = desk.post(f"/api/v1/permits/cases/{case_id}/bill", body)
        assert resp.status_code == 422 and resp.mimetype == PROBLEM, body
    assert desk.post("/api/v1/permits/cases/999999/bill", {}).status_code == 404
    assert _count(desk_app, FeeBill) == 0


def test_openapi_names_the_fee_and_bundle_operations(desk_app: Flask, client: Any) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/permits/cases/{application_id}/bill",
        "/api/v1/permits/cases/{application_id}/bill/payments",
        "/api/v1/permits/bundles/{code}/applications",
        "/api/v1/permits/bundle-cases/{bundle_case_id}/output",
    ):
        assert path in paths, path
