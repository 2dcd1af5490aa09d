"""Helpers of the unified acceptance tests: people, a submitted application, files."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask

from app.accounts.models import User
from app.extensions import db
from app.permits.cases import services
from app.permits.cases.models import Application, ApplicationChannel
from tests.factories import user
from tests.permits.cases.conftest import ITEM, PDF, answers, enterprise

DESK_ROLE = "permits_clerk"  # the seeded desk clerk: permits.desk without permits.supervise


def people(app: Flask) -> dict[str, int]:
    desk, _ = user(app, roles=[DESK_ROLE], totp=False)
    lead, _ = user(app, roles=["admin"], totp=False)
    applicant, _ = user(app, roles=["bidder"])
    return {"desk": desk, "lead": lead, "applicant": applicant}


def who(user_id: int) -> User:
    return db.session.get(User, user_id)


def submit(actor: Any, *, channel: ApplicationChannel = ApplicationChannel.ONLINE, **over: Any) -> Application:
    ent = enterprise()
    return services.submit_application(
        actor=actor,
        item_code=over.pop("item_code", ITEM),
        applicant=services.check_applicant(ent["kind"], ent["name"], ent["code"]),
        answers=answers(**over),
        channel=channel,
    )


def attach(
    actor: Any, application: Application, position: int, data: bytes = PDF, kind: str = "application/pdf"
) -> Any:
    material = application.item.materials[position]
    return services.attach_material(
        actor=actor,
        application=application,
        material_id=material.id,
        name=f"{material.name}.pdf",
        stream=io.BytesIO(data),
        length=len(data),
        content_type=kind,
    )


def attach_all(actor: Any, application: Application) -> None:
    needed = {m.id for m in services.applicable_materials(application.item, application.answers)}
    for i, material in enumerate(application.item.materials):
        if material.id in needed:
            attach(actor, application, i)
            application = services.get_application(application.id)
