"""Helpers of the bundle tests: the demo bundle defined, a joint application submitted with its materials."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask

from app.extensions import db
from app.permits.bundle import demo, services
from app.permits.cases import services as cases
from app.permits.cases.models import ApplicationChannel
from tests.permits.cases.conftest import PDF
from tests.permits.cases.helpers import people, who


def define(app: Flask) -> None:
    with app.test_request_context():
        demo.define_demo_bundle()
        db.session.commit()


def submit(actor: Any, *, materials: bool = True, **answers: Any) -> Any:
    bundle = services.get_bundle(demo.CODE)
    row = services.submit_bundle(
        actor=actor,
        bundle=bundle,
        applicant=cases.check_applicant("enterprise", demo.ANSWERS["applicant_name"], demo.USCC),
        answers={**demo.ANSWERS, **answers},
        channel=ApplicationChannel.ONLINE,
    )
    if materials:
        for material in services.needed_materials(bundle, row.answers):
            services.attach_bundle_material(
                actor=actor,
                row=row,
                key=material.key,
                name=f"{material.name}.pdf",
                stream=io.BytesIO(PDF),
                length=len(PDF),
                content_type="application/pdf",
            )
    return row


def submitted(app: Flask, **answers: Any) -> tuple[int, dict[str, int]]:
    define(app)
    p = people(app)
    with app.test_request_context():
        row = submit(who(p["applicant"]), **answers)
        db.session.commit()
        return row.id, p
