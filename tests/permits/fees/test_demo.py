"""`make run`'s demo fees and bundle: a paid bill and an unpaid one, one joint registration in progress; idempotent."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.bundle.demo import seed_demo_bundle
from app.permits.bundle.models import BundleCase, BundleStatus
from app.permits.fees.demo import seed_demo_fees
from app.permits.fees.models import BillStatus, FeeBill
from tests.factories import user


def test_demo_fees_and_bundle(desk_app: Flask, clock: Any) -> None:
    user(desk_app, "admin", roles=["admin"], totp=False)
    with desk_app.test_request_context():
        fee_lines = seed_demo_fees()
        bundle_lines = seed_demo_bundle()
        db.session.commit()
        assert len(fee_lines) == 3 and len(bundle_lines) == 2, (fee_lines, bundle_lines)
        bills = list(db.session.scalars(select(FeeBill).order_by(FeeBill.id)))
        assert [b.status for b in bills] == [BillStatus.PAID, BillStatus.UNPAID]
        assert [b.total_fen for b in bills] == [2000, 5000]
        row = db.session.scalar(select(BundleCase))
        assert row is not None and row.status is BundleStatus.ACCEPTED
        assert len({p.application.case_number for p in row.parts}) == 4
        assert seed_demo_fees() == [] and seed_demo_bundle() == []
        assert db.session.scalar(select(func.count(FeeBill.id))) == 2
        assert db.session.scalar(select(func.count(BundleCase.id))) == 1
