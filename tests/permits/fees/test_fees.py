"""Fees (中心收费): bills computed per rule kind, the combined notice of a joint case, payment idempotency by
receipt, charging outside the standard (reason + its own evidence action), the 制证 gate, the catalogue rules."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permits.cases import processing
from app.permits.catalogue import services as catalogue
from app.permits.catalogue.models import FeeKind, ItemFee
from app.permits.fees import rules, services
from app.permits.fees.models import BillStatus, FeePayment
from tests.permits.cases.helpers import who
from tests.permits.fees.helpers import FIXED_ITEM, FREE_ITEM, PER_UNIT_ITEM, accepted


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.index)))


def test_fee_rules_per_kind(desk_app: Flask) -> None:
    with desk_app.app_context():
        per_unit = catalogue.get_item(PER_UNIT_ITEM)
        kinds = [f.kind for f in per_unit.fees]
        assert kinds == [FeeKind.PER_UNIT, FeeKind.FREE]
        charges = rules.charges([per_unit], {"quantity": 3})
        assert [(c.quantity, c.amount_fen) for c in charges] == [(Decimal("3.00"), 3000), (Decimal(0), 0)]
        assert rules.charges([per_unit], {})[0].amount_fen == 0  # nothing counted, nothing charged
        fee = per_unit.fees[0]
        assert rules.charge(per_unit, fee, {"quantity": 2.5}).amount_fen == 2500
        fee.amount_fen = 333
        assert rules.charge(per_unit, fee, {"quantity": 1.5}).amount_fen == 500  # 499.5 → 500, half up
        fixed = catalogue.get_item(FIXED_ITEM)
        assert [(c.quantity, c.amount_fen) for c in rules.charges([fixed], {"quantity": 9})] == [(Decimal(1), 30000)]
        assert catalogue.get_item(FREE_ITEM).free
        db.session.rollback()


def test_bill_per_unit_with_free_line_and_nothing_due(desk_app: Flask) -> None:
    case_id, p = accepted(desk_app, PER_UNIT_ITEM, quantity=4)
    free_id, _ = accepted(desk_app, FREE_ITEM)
    with desk_app.test_request_context():
        bill = services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(case_id))
        assert bill.number.startswith("JF") and bill.status is BillStatus.UNPAID
        assert [(x.kind, x.amount_fen) for x in bill.lines] == [(FeeKind.PER_UNIT, 4000), (FeeKind.FREE, 0)]
        assert bill.total_fen == 4000
        free = services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(free_id))
        assert free.status is BillStatus.NOTHING_DUE and free.total_fen == 0
        db.session.commit()
        with pytest.raises(Conflict):  # one bill per case
            services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(case_id))
        entry = _entries("permits.fee.bill_issued")[0]
        assert entry.data["total_fen"] == 4000 and entry.data["case_number"]


def test_combined_notice_of_a_joint_case(desk_app: Flask) -> None:
    case_id, p = accepted(desk_app, PER_UNIT_ITEM, co=["HDGSJ"], quantity=3)
    with desk_app.test_request_context():
        tax = catalogue.get_item("HDGSJ-FW-001")
        db.session.add(ItemFee(item=tax, position=1, name="税务登记工本费", amount_fen=500, kind=FeeKind.FIXED))
        db.session.flush()
        application = services.accepted_case(case_id)
        with pytest.raises(ValidationFailed):  # not a co-department's item
            services.issue_bill(actor=who(p["desk"]), application=application, items=["HDDSJ-FW-001"])
        bill = services.issue_bill(actor=who(p["desk"]), application=application, items=["HDGSJ-FW-001"])
        assert bill.total_fen == 3000 + 500
        groups = services.groups(bill)
        assert [d.code for d, _lines, _sub in groups] == ["HDZJ", "HDGSJ"]
        assert [sub for _d, _lines, sub in groups] == [3000, 500]
        pdf = services.notice_pdf(bill)
        assert pdf.startswith(b"%PDF")
        db.session.commit()


def _unpaid(desk_app: Flask) -> tuple[int, dict[str, int]]:
    case_id, p = accepted(desk_app, FIXED_ITEM)
    with desk_app.test_request_context():
        services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(case_id))
        db.session.commit()
    return case_id, p


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_payment_is_idempotent_by_receipt(desk_app: Flask) -> None:
    case_id, p = _unpaid(desk_app)
    with desk_app.test_request_context():
        bill = services.get_bill(services.accepted_case(case_id))
        first, created = services.record_payment(
            actor=who(p["desk"]), bill=bill, amount_fen=10000, receipt_number="hb-2026-000123"
        )
        assert created and first.receipt_number == "HB-2026-000123" and bill.status is BillStatus.UNPAID
        db.session.commit()
        again, created = services.record_payment(
            actor=who(p["desk"]), bill=bill, amount_fen=10000, receipt_number="HB-2026-000123"
        )
        assert not created and again.id == first.id
        db.session.commit()
        assert db.session.scalar(select(func.count(FeePayment.id))) == 1
        assert len(_entries("permits.fee.payment_recorded")) == 1
        with pytest.raises(ValidationFailed):  # more than is due
            services.record_payment(actor=who(p["desk"]), bill=bill, amount_fen=20001, receipt_number="HB-9")
        db.session.rollback()
        bill = services.get_bill(services.accepted_case(case_id))
        services.record_payment(actor=who(p["desk"]), bill=bill, amount_fen=20000, receipt_number="HB-2026-000124")
        assert bill.status is BillStatus.PAID and bill.paid_at is not None
        db.session.commit()
        with pytest.raises(Conflict):  # the receipt is another payment's
            services.record_payment(actor=who(p["desk"]), bill=bill, amount_fen=5000, receipt_number="HB-2026-000123")


def test_only_desk_staff_record_at_the_cashier_window(desk_app: Flask) -> None:
    case_id, p = _unpaid(desk_app)
    with desk_app.test_request_context():
        bill = services.get_bill(services.accepted_case(case_id))
        with pytest.raises(PermissionDenied):
            services.record_payment(actor=who(p["applicant"]), bill=bill, amount_fen=100, receipt_number="HB-1234")
        with pytest.raises(ValidationFailed):
            services.record_payment(actor=who(p["desk"]), bill=bill, amount_fen=100, receipt_number="票据")
        with pytest.raises(ValidationFailed):
            services.record_payment(actor=who(p["desk"]), bill=bill, amount_fen=0, receipt_number="HB-1234")


def test_charging_outside_the_standard_needs_a_reason_and_is_logged(desk_app: Flask) -> None:
    case_id, p = _unpaid(desk_app)
    with desk_app.test_request_context():
        bill = services.get_bill(services.accepted_case(case_id))
        line = bill.lines[0]
        with pytest.raises(ValidationFailed):
            services.charge_line(actor=who(p["desk"]), bill=bill, line_id=line.id, amount_fen=15000, reason="  ")
        db.session.rollback()
        assert _entries("permits.fee.outside_standard") == []
        bill = services.get_bill(services.accepted_case(case_id))
        line = bill.lines[0]
        services.charge_line(
            actor=who(p["desk"]), bill=bill, line_id=line.id, amount_fen=15000, reason="减半收取：小微企业"
        )
        db.session.commit()
        assert bill.total_fen == 15000 and line.outside_standard and line.standard_fen == 30000
        (entry,) = _entries("permits.fee.outside_standard")
        assert entry.data["standard_fen"] == 30000 and entry.data["amount_fen"] == 15000
        assert (
            entry.data["reason"] == "减半收取：小微企业"
            and entry.data["case_number"]
            and entry.data["department"] == "HDZJ"
        )
        services.charge_line(actor=who(p["desk"]), bill=bill, line_id=line.id, amount_fen=30000, reason="恢复标准")
        db.session.commit()
        assert not line.outside_standard and len(_entries("permits.fee.standard_restored")) == 1
        services.record_payment(actor=who(p["desk"]), bill=bill, amount_fen=30000, receipt_number="HB-77777")
        db.session.commit()
        with pytest.raises(Conflict):  # a paid bill is not changed
            services.charge_line(actor=who(p["desk"]), bill=bill, line_id=line.id, amount_fen=1, reason="晚了")


def _to_production(desk_app: Flask, case_id: int) -> Any:
    """Review and decision done (the decision sealed): the case waits at 制证."""
    from tests.permits.cases.processing_helpers import reviewer

    uid = reviewer(desk_app, "HDZJ", items=(FIXED_ITEM,))
    with desk_app.test_request_context():
        application = processing.get_case(case_id)
        processing.finish_step(actor=who(uid), application=application, kind="review")
        processing.decide(
            actor=who(uid), application=processing.get_case(case_id), outcome="approve", reasons="符合条件"
        )
        db.session.commit()
    return uid


def test_production_refused_while_the_bill_is_unpaid(desk_app: Flask) -> None:
    case_id, p = accepted(desk_app, FIXED_ITEM)
    uid = _to_production(desk_app, case_id)
    with desk_app.test_request_context():
        with pytest.raises(Conflict):  # no bill at all for an item that charges
            processing.finish_step(actor=who(uid), application=processing.get_case(case_id), kind="production")
        db.session.rollback()
        bill = services.issue_bill(actor=who(p["desk"]), application=services.accepted_case(case_id))
        db.session.commit()
        with pytest.raises(Conflict):
            processing.finish_step(actor=who(uid), application=processing.get_case(case_id), kind="production")
        db.session.rollback()
        from app.permits.certificates import services as certificates

        application = services.accepted_case(case_id)
        with pytest.raises(Conflict):  # nor through the certificate registry
            certificates.issue(
                actor=who(p["lead"]),
                data={
                    "item_code": FIXED_ITEM,
                    "kind": "licence",
                    "holder_kind": "organisation",
                    "holder_name": application.applicant_name,
                    "holder_code": application.applicant_code,
                    "valid_from": "2026-03-02",
                    "case_number": application.case_number,
                },
            )
        db.session.rollback()
        bill = services.get_bill(services.accepted_case(case_id))
        services.record_payment(actor=who(p["desk"]), bill=bill, amount_fen=30000, receipt_number="HB-55555")
        db.session.commit()
        step = processing.finish_step(actor=who(uid), application=processing.get_case(case_id), kind="production")
        assert step.status.value == "done"
        db.session.commit()


def test_catalogue_fee_rules_are_checked(desk_app: Flask, demo_data: dict[str, Any]) -> None:
    with desk_app.app_context():
        for fee, where in (
            ({"name": "x", "amount_fen": 100, "kind": "per_unit", "per": "site"}, "per-unit of a text attribute"),
            ({"name": "x", "amount_fen": 100, "kind": "per_unit"}, "per-unit without its attribute"),
            ({"name": "x", "amount_fen": 100, "kind": "free"}, "free with an amount"),
            ({"name": "x", "amount_fen": 0, "kind": "fixed"}, "fixed without an amount"),
            ({"name": "x", "amount_fen": 100, "per": "quantity"}, "fixed counting an attribute"),
        ):
            data = copy.deepcopy(demo_data)
            item = next(i for i in data["items"] if i["code"] == PER_UNIT_ITEM)
            item["fees"] = [fee]
            with pytest.raises(ValidationFailed):
                catalogue.parse_catalogue(data)
            assert where
        data = copy.deepcopy(demo_data)
        item = next(i for i in data["items"] if i["code"] == FIXED_ITEM)
        item["fees"][0]["amount_fen"] = 45000
        assert catalogue.load_catalogue(data, base=catalogue.DEMO_CATALOGUE.parent)["items_updated"] == 1
        assert catalogue.get_item(FIXED_ITEM).fees[0].amount_fen == 45000
        db.session.rollback()
