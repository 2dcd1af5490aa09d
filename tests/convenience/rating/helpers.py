"""Helpers of the 好差评 tests: a served ticket, a decided application, people, counting rows."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.convenience.conftest import staff, user, window_id


def count(app: Flask, model: Any, *where: Any) -> int:
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def actions(app: Flask, prefix: str = "convenience.rating.") -> list[str]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.index)
            )
        )


def served_ticket(app: Flask, clerk_id: int, number: str = "01", service: str = "SI-001") -> str:
    """A ticket issued, called and served at window `number` by the clerk (signed on there); its tracking id."""
    from app.convenience import queue
    from app.extensions import db

    window = window_id(app, number)
    with app.app_context():
        ticket = queue.issue_ticket(service_code=service, channel="kiosk")
        public_id = ticket.public_id
        queue.call_next(actor=user(clerk_id), window_id=window)
        queue.serve(actor=user(clerk_id), window_id=window)
        db.session.commit()
        return public_id


def waiting_ticket(app: Flask) -> str:
    from app.convenience import queue
    from app.extensions import db

    with app.app_context():
        ticket = queue.issue_ticket(service_code="SI-001", channel="kiosk")
        db.session.commit()
        return ticket.public_id


def clerk(app: Flask, username: str = "clerk01", number: str = "01") -> int:
    return staff(app, username, (number,), sign_on=number)


def decided_application(app: Flask, desk_id: int, applicant_id: int, *, accept: bool = True) -> tuple[str, str, int]:
    """An application submitted online by the applicant, claimed by the desk and accepted (or refused)."""
    from app.extensions import db
    from app.permits.cases import services as cases
    from tests.permits.cases.helpers import attach_all, submit

    with app.app_context():
        application = submit(user(applicant_id))
        attach_all(user(applicant_id), application)
        application = cases.get_application(application.id)
        cases.claim_application(actor=user(desk_id), application=application)
        if accept:
            cases.accept_application(actor=user(desk_id), application=application)
        else:
            cases.refuse_acceptance(
                actor=user(desk_id), application=application, reason="不属于本中心受理范围", remedies="请向有关部门申请"
            )
        db.session.commit()
        return application.number, application.tracking_token, application.id


def open_application(app: Flask, applicant_id: int) -> tuple[str, str]:
    from app.extensions import db
    from tests.permits.cases.helpers import submit

    with app.app_context():
        application = submit(user(applicant_id))
        db.session.commit()
        return application.number, application.tracking_token


def people(app: Flask) -> dict[str, int]:
    from tests.factories import user as make

    desk, _ = make(app, roles=["permits_clerk"], totp=False, display_name="受理员")
    lead, _ = make(app, roles=["admin"], totp=False, display_name="中心主任")
    applicant, _ = make(app, roles=["bidder"], display_name="申请人")
    return {"desk": desk, "lead": lead, "applicant": applicant}
