"""The fee pages: the desk clerk issues the bill, charges outside the standard (a reason or an error), records a
payment typed in 元; the applicant reads what to pay and its status; zh first, en too."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.cases.models import Application
from app.permits.fees.models import FeePayment
from tests.html import parse
from tests.permits.cases.helpers import DESK_ROLE
from tests.permits.cases.test_pages import EN, ZH, _signed_in
from tests.permits.fees.helpers import PER_UNIT_ITEM, accepted


def _tracking(app: Flask, case_id: int) -> tuple[str, str]:
    with app.app_context():
        a = db.session.get(Application, case_id)
        return a.number, a.tracking_token


def test_desk_issues_charges_and_records_a_payment(desk_app: Flask) -> None:
    case_id, _p = accepted(desk_app, PER_UNIT_ITEM, quantity=3)
    desk = _signed_in(desk_app, [DESK_ROLE])
    url = f"/permits/fees/cases/{case_id}"
    page = desk.get(url)
    doc = parse(page)
    assert doc.has("no-bill") and "缴费通知" in doc.text
    assert desk.get(f"/permits/desk/applications/{case_id}").status_code == 200
    assert "开具缴费通知" in parse(desk.get(f"/permits/desk/applications/{case_id}")).by_id("fees-link").text
    resp = desk.post(f"{url}/issue", data={"csrf_token": doc.csrf_token()})
    assert resp.status_code == 303
    doc = parse(desk.get(url))
    assert doc.by_id("bill-status").get("data-state") == "unpaid" and "待缴费" in doc.by_id("bill-status").text
    assert "30.00" in doc.by_id("bill-total").text and "按数量计收" in doc.text and "免收" in doc.text

    line = next(f.get("id") for f in doc.select("form") if (f.get("id") or "").startswith("charge-"))
    line_id = line.removeprefix("charge-")
    resp = desk.post(f"{url}/lines/{line_id}", data={"csrf_token": doc.csrf_token(), f"amount-{line_id}": "20"})
    assert resp.status_code == 422 and parse(resp).error_summary is not None
    assert "必填" in parse(resp).error_summary.text
    resp = desk.post(
        f"{url}/lines/{line_id}",
        data={"csrf_token": doc.csrf_token(), f"amount-{line_id}": "20", f"reason-{line_id}": "设备停用一台"},
    )
    assert resp.status_code == 303
    doc = parse(desk.get(url))
    assert "超出标准" in doc.text and "20.00" in doc.by_id("bill-total").text

    resp = desk.post(
        f"{url}/payments", data={"csrf_token": doc.csrf_token(), "amount": "二十", "receipt_number": "HB-1"}
    )
    assert resp.status_code == 422
    form = {"csrf_token": doc.csrf_token(), "amount": "20.00", "receipt_number": "HB-2026-9001", "payer": "李四"}
    assert desk.post(f"{url}/payments", data=form).status_code == 303
    doc = parse(desk.get(url))
    assert doc.by_id("bill-status").get("data-state") == "paid" and "HB-2026-9001" in doc.by_id("payments").text
    with desk_app.app_context():
        assert db.session.scalar(select(func.count(FeePayment.id))) == 1

    number, token = _tracking(desk_app, case_id)
    pdf = desk.get(f"/permits/fees/track/{number}/{token}/notice.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_applicant_reads_what_to_pay_in_chinese_and_english(desk_app: Flask) -> None:
    case_id, p = accepted(desk_app, PER_UNIT_ITEM, quantity=2)
    number, token = _tracking(desk_app, case_id)
    anonymous: Any = desk_app.test_client()
    url = f"/permits/fees/track/{number}/{token}"
    doc = parse(anonymous.get(url, headers=ZH))
    assert "尚未开具缴费通知" in doc.by_id("no-bill").text
    track = parse(anonymous.get(f"/permits/track/{number}/{token}", headers=ZH))
    assert track.by_id("fees-link").get("href") == url
    from app.permits.fees import services
    from tests.permits.cases.helpers import who

    with desk_app.test_request_context():
        services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(case_id))
        db.session.commit()
    doc = parse(anonymous.get(url, headers=ZH))
    assert "收费窗口" in doc.by_id("what-to-pay").text and "20.00" in doc.by_id("what-to-pay").text
    assert doc.by_id("bill-status").text == "待缴费"
    en = parse(anonymous.get(url, headers=EN))
    assert "cashier window" in en.by_id("what-to-pay").text and en.by_id("bill-status").text == "To be paid"
    assert anonymous.get(f"/permits/fees/track/{number}/wrong").status_code == 404


def test_the_desk_home_lists_unpaid_bills(desk_app: Flask) -> None:
    from app.permits.fees import services
    from tests.accounts.helpers import login
    from tests.permits.cases.helpers import who

    case_id, p = accepted(desk_app, PER_UNIT_ITEM, quantity=2)
    with desk_app.test_request_context():
        bill = services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(case_id))
        db.session.commit()
        number, desk_name = bill.number, who(p["desk"]).username
    client = desk_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert login(client, desk_name).status_code == 303
    section = parse(client.get("/")).by_id("home-permits-unpaid")
    assert "待缴费的缴费通知（1 件）" in section.text and number in section.text and "待缴 20.00 元" in section.text
