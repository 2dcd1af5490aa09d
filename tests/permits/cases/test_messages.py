"""The applicant's notices through the center's one notifier (app.core.notify): the correction notice, the
acceptance, the rectification request and the decision, each written to the outbox with the decision's transaction
(a rolled-back decision sends nothing), delivered by the outbox's sweep with an evidence entry, and addressed to
the e-mail adapter only where the applicant has an address for it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.core import notify
from app.core.notify.models import OutboxChannel, OutboxMessage
from app.extensions import db
from app.permits.cases import processing, services
from tests.permits.cases.helpers import attach_all, people, submit, who
from tests.permits.cases.processing_helpers import LEAD, accepted_case, at, reviewer


def _messages() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_correction_acceptance_and_decision_notices(desk_app: Flask, clock: Any) -> None:
    lead = reviewer(desk_app, LEAD)
    at(clock, 2026, 3, 2, 9)
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        row.contact_phone = "13800138000"  # the phone given with the application
        db.session.commit()
        services.request_correction(actor=who(p["desk"]), application=services.get_application(row.id))
        db.session.commit()
        (notice,) = _messages()
        assert notice.kind == "permits_correction" and notice.subject_ref == f"permits.application:{row.id}"
        assert notice.channel is OutboxChannel.OUTBOX and notice.recipient == "13800138000"
        assert "一次性补正" in notice.body and row.tracking_token in notice.body
        assert notify.deliver_pending() == {"sent": 1, "failed": 0}
        db.session.commit()
        sent = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "notify.notice_sent")).one()
        assert sent.subject == notice.subject_ref and sent.data["kind"] == "permits_correction"
    app_id, _p = accepted_case(desk_app, co=())
    with desk_app.test_request_context():
        acceptance = _messages()[-1]
        case = processing.get_case(app_id)
        assert acceptance.kind == "permits_acceptance" and case.case_number in acceptance.body
        assert case.promised_due is not None and case.promised_due.isoformat() in acceptance.body
        processing.finish_step(actor=who(lead), application=case, kind="review")
        processing.decide(actor=who(lead), application=processing.get_case(app_id), outcome="approve", reasons="符合")
        db.session.rollback()  # a decision rolled back sends nothing
        assert _messages()[-1].id == acceptance.id
        processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="review")
        processing.decide(actor=who(lead), application=processing.get_case(app_id), outcome="approve", reasons="符合")
        db.session.commit()
        decided = _messages()[-1]
        assert decided.kind == "permits_decision" and "准予许可" in decided.body


def test_the_email_adapter_needs_an_address(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    desk_app.config["CONVENIENCE_NOTIFIER"] = "email"
    p = people(desk_app)
    with desk_app.test_request_context():
        without = submit(who(p["applicant"]))
        db.session.commit()
        services.request_correction(actor=who(p["desk"]), application=services.get_application(without.id))
        db.session.commit()
        message = _messages()[-1]
        assert (message.channel, message.recipient) == (OutboxChannel.PAGE, without.number)  # never to a phone
        db.session.get(User, p["applicant"]).email = "applicant@example.com"
        with_mail = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), with_mail)
        services.accept_application(actor=who(p["desk"]), application=with_mail, co_departments=[])
        db.session.commit()
        message = _messages()[-1]
        assert (message.channel, message.recipient) == (OutboxChannel.EMAIL, "applicant@example.com")
