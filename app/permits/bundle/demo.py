"""Demo bundle for `make run`: 一照三证联办 defined over the demo catalogue's four items, and one joint application
accepted at the desk whose four department cases are in progress. Idempotent (nothing is added once a bundle case
exists). Accepted today, or on the latest earlier week the working-day calendar can count (fees.demo.demo_instant);
left waiting at the desk, with a line saying so, when none can."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from app.accounts.models import User
from app.accounts.uscc import make_uscc
from app.core.db import db
from app.core.time import now_utc
from app.permits.bundle import services
from app.permits.bundle.models import BundleCase
from app.permits.cases import services as cases
from app.permits.cases.demo import PDF
from app.permits.cases.models import ApplicationChannel
from app.permits.catalogue.models import Item
from app.permits.fees.demo import clock_at, demo_instant

CODE = "YZSZ"
NAME = "一照三证联办（企业设立登记）"
NAME_EN = "One licence, three certificates: joint registration of a new enterprise"
# 市场监管 business licence, 质监 organisation code, 国税 and 地税 tax registration
ITEMS = ["HDGS-XK-001", "HDZJ-FW-001", "HDGSJ-FW-001", "HDDSJ-FW-001"]
LICENCE_ITEM = "HDGS-XK-001"
USCC = make_uscc("9", "1", "130400", "MA0DEM05")
ANSWERS = {
    "applicant_type": "enterprise",
    "applicant_name": "邯郸示范联办贸易有限公司",
    "uscc": USCC,
    "contact_phone": "0310-3100005",
    "company_name": "邯郸示范联办贸易有限公司",
    "company_type": "llc",
    "registered_capital": 200,
    "address": "邯郸市丛台区人民路100号",
    "business_scope": "日用百货、五金交电批发零售",
    "has_foreign_investor": "no",
    "needs_prior_approval": "no",
    "employees": 12,
    "institution_category": "company",
    "accounting": "independent",
    "general_taxpayer": "no",
}


def define_demo_bundle() -> list[str]:
    if db.session.scalar(select(func.count(Item.id)).where(Item.code.in_(ITEMS))) != len(ITEMS):
        return []
    services.define_bundle(
        actor="system:demo", code=CODE, name=NAME, name_en=NAME_EN, item_codes=ITEMS, licence_item=LICENCE_ITEM
    )
    return []


def seed_demo_bundle() -> list[str]:
    define_demo_bundle()
    if db.session.scalar(select(func.count(BundleCase.id))) or not services.list_bundles():
        return []
    desk = db.session.scalar(select(User).where(User.username == "admin"))
    if desk is None or not desk.has_permission("permits.desk"):
        return []
    bundle = services.get_bundle(CODE)
    at = demo_instant(ITEMS)
    with clock_at(at or now_utc()):
        row = services.submit_bundle(
            actor=desk,
            bundle=bundle,
            applicant=cases.check_applicant("enterprise", ANSWERS["applicant_name"], USCC, ANSWERS["contact_phone"]),
            answers=dict(ANSWERS),
            channel=ApplicationChannel.DESK,
        )
        for material in services.needed_materials(bundle, row.answers):
            services.attach_bundle_material(
                actor=desk,
                row=row,
                key=material.key,
                name=f"{material.name}.pdf",
                stream=io.BytesIO(PDF),
                length=len(PDF),
                content_type="application/pdf",
            )
        if at is not None:
            services.accept_bundle(actor=desk, row=row)
    if at is None:
        lines = [
            f"joint registration (一照三证) waiting at the desk: {row.number}",
            "  not accepted: the working-day calendar does not reach its cases' due dates",
        ]
    else:
        lines = [f"joint registration (一照三证) in progress, four department cases: {row.number}"]
    lines.append(f"  tracking: /permits/bundles/track/{row.number}/{row.tracking_token}")
    return lines
