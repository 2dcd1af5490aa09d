"""Helpers of the fees tests: an accepted case of a fee-charging item."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask

from app.accounts.uscc import make_uscc
from app.extensions import db
from app.permits.cases import services
from app.permits.cases.models import ApplicationChannel
from tests.permits.cases.conftest import PDF
from tests.permits.cases.helpers import people, who

PER_UNIT_ITEM = "HDZJ-XK-002"  # 特种设备使用登记: 10 元 per unit (台数) and a free line
FIXED_ITEM = "HDZJ-XK-003"  # 计量标准器具核准: 300 元 per item
FREE_ITEM = "HDZJ-FW-001"  # 组织机构代码证核发: free

BASE = {
    "applicant_type": "enterprise",
    "applicant_name": "邯郸市示范机械有限公司",
    "uscc": make_uscc("9", "1", "130400", "MA000009"),
    "contact_phone": "0310-7654321",
}
ITEM_ANSWERS: dict[str, dict[str, Any]] = {
    PER_UNIT_ITEM: {"equipment": "boiler", "quantity": 3, "site": "邯郸市丛台区示范路1号"},
    FIXED_ITEM: {"standard_name": "压力表标准装置", "range": "0–60 MPa"},
    FREE_ITEM: {
        "company_name": "邯郸市示范机械有限公司",
        "company_type": "llc",
        "registered_capital": 100,
        "institution_category": "company",
    },
}


def accept(actor: Any, item_code: str, co: list[str] | None = None, **answers: Any) -> Any:
    row = services.submit_application(
        actor=actor,
        item_code=item_code,
        applicant=services.check_applicant("enterprise", BASE["applicant_name"], BASE["uscc"]),
        answers={**BASE, **ITEM_ANSWERS[item_code], **answers},
        channel=ApplicationChannel.DESK,
    )
    for material in services.applicable_materials(row.item, row.answers):
        services.attach_material(
            actor=actor,
            application=row,
            material_id=material.id,
            name=f"{material.name}.pdf",
            stream=io.BytesIO(PDF),
            length=len(PDF),
            content_type="application/pdf",
        )
    services.accept_application(actor=actor, application=row, co_departments=co)
    return row


def accepted(app: Flask, item_code: str, co: list[str] | None = None, **answers: Any) -> tuple[int, dict[str, int]]:
    p = people(app)
    with app.test_request_context():
        row = accept(who(p["desk"]), item_code, co, **answers)
        db.session.commit()
        return row.id, p
