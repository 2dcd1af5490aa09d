"""The invitation sweep: a matter closed three days ago and still unrated is invited once, through the notifier."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask

from tests.convenience.rating.helpers import (
    actions,
    clerk,
    count,
    decided_application,
    people,
    served_ticket,
)


def _sweep(app: Flask) -> dict[str, int]:
    from app.convenience.rating.tasks import invite_unrated
    from app.extensions import db

    with app.app_context():
        result = invite_unrated()
        db.session.commit()
        return result


def test_the_sweep_invites_each_unrated_matter_once_after_three_days(rated_floor: Flask, clock: Any) -> None:
    from app.convenience.rating import services
    from app.convenience.rating.models import Invitation, OutboxMessage
    from app.core.tasks import declared
    from app.extensions import db

    assert "convenience.rating.invite_unrated" in declared()  # in the beat schedule with the other sweeps
    who = people(rated_floor)
    clerk_id = clerk(rated_floor)
    unrated = served_ticket(rated_floor, clerk_id)
    rated = served_ticket(rated_floor, clerk_id)
    number, _token, _ = decided_application(rated_floor, who["desk"], who["applicant"])
    with rated_floor.app_context():
        services.rate(services.resolve("ticket", rated), level="satisfied")
        db.session.commit()
    clock.advance(timedelta(days=2, hours=23))
    assert _sweep(rated_floor) == {"ticket": 0, "application": 0}  # not three days yet
    clock.advance(timedelta(hours=2))
    later = served_ticket(rated_floor, clerk_id)  # closed just now: not yet
    assert _sweep(rated_floor) == {"ticket": 1, "application": 1}
    assert _sweep(rated_floor) == {"ticket": 0, "application": 0}  # idempotent
    assert count(rated_floor, Invitation) == 2 and count(rated_floor, OutboxMessage) == 2
    with rated_floor.app_context():
        messages = {m.channel: m for m in db.session.query(OutboxMessage)}
        assert set(messages) == {"ticket_page", "account"}
        assert messages["ticket_page"].link.endswith(f"/convenience/ratings/ticket/{unrated}")
        assert number in messages["account"].body and messages["account"].address == str(who["applicant"])
    assert actions(rated_floor).count("convenience.rating.invited") == 2
    clock.advance(timedelta(days=3, minutes=1))
    assert _sweep(rated_floor) == {"ticket": 1, "application": 0}
    with rated_floor.app_context():
        assert (
            db.session.query(Invitation).filter_by(reference=services.resolve("ticket", later).reference).count() == 1
        )
    clock.advance(timedelta(days=40))
    served_ticket(rated_floor, clerk_id)
    assert _sweep(rated_floor) == {"ticket": 0, "application": 0}


def test_another_notifier_can_take_the_messages(rated_floor: Flask, clock: Any) -> None:
    from app.convenience.rating import notify

    sent: list[notify.Message] = []

    class Fake:
        def send(self, message: notify.Message) -> int | None:
            sent.append(message)
            return None

    clerk_id = clerk(rated_floor)
    served_ticket(rated_floor, clerk_id)
    clock.advance(timedelta(days=3, minutes=1))
    previous = notify.set_notifier(Fake())
    try:
        assert _sweep(rated_floor)["ticket"] == 1
    finally:
        notify.set_notifier(previous)
    assert len(sent) == 1 and sent[0].channel == "ticket_page"
