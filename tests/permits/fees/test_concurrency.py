"""On PostgreSQL: the same receipt recorded by several clerks at once is one payment (the bill's row lock and the
unique receipt), and the bill's paid amount counts it once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.permits.fees import services
from app.permits.fees.models import BillStatus, FeePayment
from tests.permits.cases.helpers import who
from tests.permits.fees.helpers import FIXED_ITEM, accepted


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_the_same_receipt_at_once_is_one_payment(desk_app: Flask, db_backend: str) -> None:
    case_id, p = accepted(desk_app, FIXED_ITEM)
    with desk_app.test_request_context():
        services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(case_id))
        db.session.commit()
    barrier = threading.Barrier(3)

    def pay(_i: int) -> bool:
        with desk_app.test_request_context():
            bill = services.get_bill(services.accepted_case(case_id))
            barrier.wait()
            _payment, created = services.record_payment(
                actor=who(p["desk"]), bill=bill, amount_fen=30000, receipt_number="HB-2026-7777"
            )
            db.session.commit()
            return created

    with ThreadPoolExecutor(3) as pool:
        created = list(pool.map(pay, range(3)))
    assert sorted(created) == [False, False, True]
    with desk_app.app_context():
        assert db.session.scalar(select(func.count(FeePayment.id))) == 1
        bill = services.get_bill(services.accepted_case(case_id))
        assert bill.paid_fen == 30000 and bill.status is BillStatus.PAID
        entries = select(func.count(AuditEntry.index)).where(AuditEntry.action == "permits.fee.payment_recorded")
        assert db.session.scalar(entries) == 1
