"""The invitation sweep: a matter closed three days ago and still unrated is invited once; its message goes through
the floor's one outbox (app/convenience/notify.py) and that outbox's delivery sweep and adapters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.convenience.rating.helpers import (
    actions,
    clerk,
    count,
    decided_application,
    people,
    served_ticket,
)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def _sweep(app: Flask) -> dict[str, int]:
    from app.convenience.rating.tasks import invite_unrated
    from app.extensions import db

    with app.app_context():
        result = invite_unrated()
        db.session.commit()
        return result


def _phone(app: Flask, number: str, phone: str = "13800138000") -> None:
    """The contact phone the applicant gave (the online form's optional field)."""
    from app.extensions import db
    from app.permits.cases.models import Application

    with app.app_context():
        db.session.scalars(select(Application).where(Application.number == number)).one().contact_phone = phone
        db.session.commit()


def test_the_sweep_invites_each_unrated_matter_once_after_three_days(rated_floor: Flask, clock: Any) -> None:
    from app.convenience import tasks
    from app.convenience.appointment_models import OutboxChannel, OutboxMessage
    from app.convenience.rating import services
    from app.convenience.rating.models import Invitation
    from app.core.tasks import declared
    from app.extensions import db

    assert "convenience.rating.invite_unrated" in declared()  # in the beat schedule with the other sweeps
    who = people(rated_floor)
    clerk_id = clerk(rated_floor)
    unrated = served_ticket(rated_floor, clerk_id)
    rated = served_ticket(rated_floor, clerk_id)
    number, _token, _ = decided_application(rated_floor, who["desk"], who["applicant"])
    _phone(rated_floor, number)
    with rated_floor.app_context():
        services.rate(services.resolve("ticket", rated), level="satisfied")
        db.session.commit()
    clock.advance(timedelta(days=2, hours=23))
    assert _sweep(rated_floor) == {
        "ticket": 0,
        "application": 0,
        "interaction": 0,
        "household": 0,
    }  # not three days yet
    clock.advance(timedelta(hours=2))
    later = served_ticket(rated_floor, clerk_id)  # closed just now: not yet
    assert _sweep(rated_floor) == {"ticket": 1, "application": 1, "interaction": 0, "household": 0}
    assert _sweep(rated_floor) == {"ticket": 0, "application": 0, "interaction": 0, "household": 0}  # idempotent
    assert count(rated_floor, Invitation) == 2
    assert count(rated_floor, OutboxMessage, OutboxMessage.kind == "rating_invitation") == 2
    with rated_floor.app_context():
        invited = {i.subject_kind.value: i for i in db.session.query(Invitation)}
        messages = {kind: db.session.get(OutboxMessage, i.message_id) for kind, i in invited.items()}
        assert {m.kind for m in messages.values()} == {"rating_invitation"}
        page_only, sms = messages["ticket"], messages["application"]
        # a kiosk ticket has no address: written for the ticket's own page, which no adapter sends
        assert page_only.channel is OutboxChannel.PAGE and page_only.body.endswith(
            f"/convenience/ratings/ticket/{unrated}"
        )
        # the applicant is reached on the configured channel (the embedded outbox) at the application's phone
        assert sms.channel is OutboxChannel.OUTBOX and number in sms.body and sms.recipient == "13800138000"
        assert tasks.deliver_notifications() == {"sent": 1, "failed": 0}  # the floor's one delivery sweep
        assert tasks.deliver_notifications() == {"sent": 0, "failed": 0}
        assert sms.sent_at is not None and page_only.sent_at is None and page_only.attempts == 0
        db.session.commit()
    assert actions(rated_floor).count("convenience.rating.invited") == 2
    assert actions(rated_floor, "convenience.outbox_message_sent") == ["convenience.outbox_message_sent"]
    clock.advance(timedelta(days=3, minutes=1))
    assert _sweep(rated_floor) == {"ticket": 1, "application": 0, "interaction": 0, "household": 0}
    with rated_floor.app_context():
        assert (
            db.session.query(Invitation).filter_by(reference=services.resolve("ticket", later).reference).count() == 1
        )
    clock.advance(timedelta(days=40))
    served_ticket(rated_floor, clerk_id)
    assert _sweep(rated_floor) == {"ticket": 0, "application": 0, "interaction": 0, "household": 0}


def test_an_invitation_goes_by_sms_and_a_gateway_failure_shows_on_the_outbox_page(
    rated_floor: Flask, clock: Any, sms_gateway: tuple[str, list[Any]]
) -> None:
    from app.convenience import tasks
    from app.convenience.appointment_models import OutboxChannel, OutboxMessage
    from app.extensions import db
    from tests.accounts.helpers import login
    from tests.factories import user as make_user
    from tests.html import parse

    base, got = sms_gateway
    who = people(rated_floor)
    number, _token, _ = decided_application(rated_floor, who["desk"], who["applicant"])
    _phone(rated_floor, number)
    clock.advance(timedelta(days=3, minutes=1))
    rated_floor.config.update(
        CONVENIENCE_NOTIFIER="sms",
        CONVENIENCE_SMS_URL=f"{base}/fail",
        CONVENIENCE_SMS_TOKEN="",
        CONVENIENCE_SMS_TIMEOUT=5,
    )
    assert _sweep(rated_floor) == {"ticket": 0, "application": 1, "interaction": 0, "household": 0}
    with rated_floor.app_context():
        # the permits floor's own notices of the decided application are in the same outbox: the invitation only
        message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "rating_invitation")).one()
        assert message.channel is OutboxChannel.SMS and message.kind == "rating_invitation"
        assert tasks.deliver_notifications() == {"sent": 0, "failed": 1}
        db.session.commit()
        assert message.sent_at is None and message.attempts == 1 and "500" in message.last_error
    assert got and got[0][1]["to"] == "13800138000" and number in got[0][1]["text"]
    _id, secret = make_user(rated_floor, "centerlead", roles=["admin"], display_name="中心主任")
    lead = rated_floor.test_client()
    assert login(lead, "centerlead", totp_secret=secret).status_code in (302, 303)
    page = parse(lead.get("/convenience/outbox?kind=rating_invitation", headers=ZH).data)
    card = page.by_id(f"message-{message.id}").text
    assert "评价邀请" in card and "尝试1次未发送成功" in card and "500" in card and message.recipient in card
    results = lead.get("/convenience/ratings/results", headers=ZH).get_data(as_text=True)
    assert "/convenience/outbox?kind=rating_invitation" in results
    assert lead.get("/convenience/ratings/outbox").status_code == 404  # the rating's own outbox page is gone
    rated_floor.config["CONVENIENCE_SMS_URL"] = f"{base}/send"
    with rated_floor.app_context():
        assert tasks.deliver_notifications() == {"sent": 1, "failed": 0}  # retried by the same sweep
        db.session.commit()
    page = parse(lead.get("/convenience/outbox?kind=rating_invitation", headers=ZH).data)
    card = page.by_id(f"message-{message.id}").text
    assert "已发送" in card and "未发送成功" not in card


def test_with_email_configured_the_account_address_is_used_and_no_address_means_the_page(
    rated_floor: Flask, clock: Any
) -> None:
    from app.accounts.models import User
    from app.convenience.appointment_models import OutboxChannel, OutboxMessage
    from app.extensions import db
    from app.permits.cases.models import Application

    who = people(rated_floor)
    with_mail, _t, _ = decided_application(rated_floor, who["desk"], who["applicant"])
    _phone(rated_floor, with_mail)  # a phone does not help an e-mail adapter
    with rated_floor.app_context():
        db.session.get(User, who["applicant"]).email = "applicant@example.com"
        db.session.commit()
    other = people(rated_floor)
    without, _t, _ = decided_application(rated_floor, other["desk"], other["applicant"])
    clock.advance(timedelta(days=3, minutes=1))
    rated_floor.config["CONVENIENCE_NOTIFIER"] = "email"
    assert _sweep(rated_floor) == {"ticket": 0, "application": 2, "interaction": 0, "household": 0}
    with rated_floor.app_context():
        rows = db.session.execute(
            select(Application.number, OutboxMessage.channel, OutboxMessage.recipient)
            .join(OutboxMessage, OutboxMessage.body.contains(Application.number))
            .where(OutboxMessage.kind == "rating_invitation")
            .order_by(OutboxMessage.id)
        ).all()
    assert {r.number: (r.channel, r.recipient) for r in rows} == {
        with_mail: (OutboxChannel.EMAIL, "applicant@example.com"),
        without: (OutboxChannel.PAGE, without),  # the matter itself: only its own page shows it
    }
