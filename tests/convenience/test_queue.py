"""The queue: numbers, call next, recall, serve, miss → re-queue once → no-show, transfer, position and ETA."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.core.time import FakeClock
from tests.convenience.conftest import staff, user, window_id

SOCIAL = ("SI-001", "SI-002")  # group A: windows 01–03
HOUSEHOLD = "HR-001"  # group B: windows 04–05


def _actions(subject: str) -> list[str]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    db.session.commit()  # the queue notes its entries: the commit appends them (app.audit.note)
    return list(
        db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject == subject).order_by(AuditEntry.index))
    )


@pytest.fixture
def hall(floor: Flask) -> dict[str, Any]:
    """Alice at window 01, Bob at window 02 (both group A), Carol assigned to 04 but not signed on."""
    return {
        "alice": staff(floor, "alice", ("01",), sign_on="01"),
        "bob": staff(floor, "bob", ("02",), sign_on="02"),
        "carol": staff(floor, "carol", ("04",)),
        "w1": window_id(floor, "01"),
        "w2": window_id(floor, "02"),
        "w4": window_id(floor, "04"),
    }


def test_numbers_are_per_group_and_per_day(floor: Flask, clock: FakeClock) -> None:
    from app.convenience import queue
    from app.extensions import db

    with floor.app_context():
        numbers = [queue.issue_ticket(service_code=c, channel="kiosk").number for c in (*SOCIAL, HOUSEHOLD, SOCIAL[0])]
        db.session.commit()
        assert numbers == ["A001", "A002", "B001", "A003"]
        clock.advance(timedelta(days=1))
        assert queue.issue_ticket(service_code=SOCIAL[0], channel="phone").number == "A001"


def test_a_busy_day_passes_a_thousand_tickets_and_never_wraps(floor: Flask, clock: FakeClock) -> None:
    from app.convenience import queue
    from app.convenience.models import TicketCounter
    from app.core.errors import Conflict
    from app.extensions import db

    with floor.app_context():
        first = queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk")
        counter = db.session.get(TicketCounter, (first.group_id, first.day))
        counter.last = 998
        assert [queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk").number for _ in range(2)] == [
            "A999",
            "A1000",
        ]
        counter.last = queue.MAX_DAILY_TICKETS - 1
        assert queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk").number == "A9999"
        with pytest.raises(Conflict):
            queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"surname": "张1"}, "surname"),
        ({"surname": "<script>"}, "surname"),
        ({"honorific": "dr"}, "honorific"),
    ],
)
def test_bad_ticket_requests_store_nothing(floor: Flask, kwargs: dict[str, str], field: str) -> None:
    from app.convenience import queue
    from app.convenience.models import Ticket, TicketCounter
    from app.core.errors import NotFound, ValidationFailed
    from app.extensions import db

    with floor.app_context():
        with pytest.raises(ValidationFailed) as caught:
            queue.issue_ticket(service_code=SOCIAL[0], **{"channel": "kiosk", **kwargs})
        assert field in caught.value.extra["errors"]
        with pytest.raises(NotFound):
            queue.issue_ticket(service_code="NOPE", channel="kiosk")
        db.session.rollback()
        assert db.session.scalars(select(Ticket)).all() == [] and db.session.scalars(select(TicketCounter)).all() == []


def test_a_ticket_from_call_to_served_is_logged_and_measured(
    floor: Flask, clock: FakeClock, hall: dict[str, Any]
) -> None:
    from app.convenience import queue
    from app.convenience.models import TicketStatus
    from app.core.errors import Conflict, PermissionDenied
    from app.extensions import db

    with floor.app_context():
        ticket = queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk", surname="张三", honorific="ms")
        assert ticket.surname == "张"  # nothing more of the name is kept
        with pytest.raises(PermissionDenied):  # Carol is not signed on
            queue.call_next(actor=user(hall["carol"]), window_id=hall["w4"])
        with pytest.raises(PermissionDenied):  # Bob works at 02, not 01
            queue.call_next(actor=user(hall["bob"]), window_id=hall["w1"])
        assert queue.call_next(actor=user(hall["alice"]), window_id=hall["w1"]).id == ticket.id
        with pytest.raises(Conflict):
            queue.call_next(actor=user(hall["alice"]), window_id=hall["w1"])
        with pytest.raises(Conflict):
            queue.call_next(actor=user(hall["bob"]), window_id=hall["w2"])  # nobody else waits
        snapshot = queue.hall_snapshot()
        assert snapshot["calls"][0] | {"ticket": 0} == {
            "number": "A001",
            "window": "01",
            "name": "张*女士",
            "call": 1,
            "ticket": 0,
        }
        queue.recall(actor=user(hall["alice"]), window_id=hall["w1"])
        clock.advance(timedelta(minutes=7))
        served = queue.serve(actor=user(hall["alice"]), window_id=hall["w1"])
        db.session.commit()
        assert served.status is TicketStatus.SERVED and served.service_seconds == 420
        assert _actions(f"convenience.ticket:{ticket.id}") == [
            "convenience.ticket_issued",
            "convenience.ticket_called",
            "convenience.ticket_recalled",
            "convenience.ticket_served",
        ]
        assert queue.hall_snapshot()["calls"] == []
        with pytest.raises(Conflict):
            queue.serve(actor=user(hall["alice"]), window_id=hall["w1"])


def test_a_missed_ticket_goes_to_the_back_once_then_is_a_no_show(
    floor: Flask, clock: FakeClock, hall: dict[str, Any]
) -> None:
    from app.convenience import queue
    from app.convenience.models import TicketStatus

    w1 = hall["w1"]
    with floor.app_context():
        alice = user(hall["alice"])
        first, second = (queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk") for _ in range(2))
        queue.call_next(actor=alice, window_id=w1)
        clock.advance(timedelta(seconds=30))
        assert queue.miss(actor=alice, window_id=w1).status is TicketStatus.WAITING
        assert queue.call_next(actor=alice, window_id=w1).id == second.id  # the missed one went to the back
        queue.serve(actor=alice, window_id=w1)
        assert queue.call_next(actor=alice, window_id=w1).id == first.id
        assert queue.miss(actor=alice, window_id=w1).status is TicketStatus.NO_SHOW
        assert _actions(f"convenience.ticket:{first.id}")[-3:] == [
            "convenience.ticket_requeued",
            "convenience.ticket_called",
            "convenience.ticket_no_show",
        ]


def test_transfer_keeps_the_place_in_line_for_the_other_window(
    floor: Flask, clock: FakeClock, hall: dict[str, Any]
) -> None:
    from app.convenience import queue, services
    from app.core.errors import ValidationFailed

    with floor.app_context():
        alice, bob = user(hall["alice"]), user(hall["bob"])
        first = queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk")
        clock.advance(timedelta(seconds=5))
        later = queue.issue_ticket(service_code=SOCIAL[1], channel="kiosk")
        queue.call_next(actor=alice, window_id=hall["w1"])
        with pytest.raises(ValidationFailed):
            queue.transfer(actor=alice, window_id=hall["w1"], to_window_id=hall["w1"])
        with pytest.raises(ValidationFailed):
            queue.transfer(actor=alice, window_id=hall["w1"], to_window_id=999999)
        queue.transfer(actor=alice, window_id=hall["w1"], to_window_id=hall["w4"])
        assert queue.call_next(actor=bob, window_id=hall["w2"]).id == later.id  # 04's ticket is not 02's
        services.sign_on(actor=user(hall["carol"]), window_id=hall["w4"])
        assert queue.call_next(actor=user(hall["carol"]), window_id=hall["w4"]).id == first.id
        assert "convenience.ticket_transferred" in _actions(f"convenience.ticket:{first.id}")


def test_position_and_eta_come_from_measured_service_times(
    floor: Flask, clock: FakeClock, hall: dict[str, Any]
) -> None:
    from app.convenience import queue

    with floor.app_context():
        alice = user(hall["alice"])
        tickets = [queue.issue_ticket(service_code=SOCIAL[0], channel="phone") for _ in range(5)]
        planned = queue.progress(tickets[4])
        assert planned.ahead == 4 and planned.windows_open == 2
        assert planned.measured_seconds == 600  # nothing served yet: the service's planned time
        for _ in range(2):  # two served in 3 and 5 minutes: 4 minutes each, measured
            queue.call_next(actor=alice, window_id=hall["w1"])
            clock.advance(timedelta(minutes=3 if _ == 0 else 5))
            queue.serve(actor=alice, window_id=hall["w1"])
        now = clock.now()
        measured = queue.progress(tickets[4])
        assert (measured.ahead, measured.measured_seconds) == (2, 240)
        assert measured.eta == now + timedelta(seconds=240)  # 2 ahead × 240 s / 2 windows open
        assert queue.progress(tickets[0]).eta is None  # served


def test_the_sweep_closes_past_days(floor: Flask, clock: FakeClock, hall: dict[str, Any]) -> None:
    from app.convenience import queue, services, tasks
    from app.convenience.models import TicketStatus
    from app.extensions import db

    with floor.app_context():
        alice = user(hall["alice"])
        waiting = queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk")
        called = queue.issue_ticket(service_code=SOCIAL[0], channel="kiosk")
        queue.call_next(actor=alice, window_id=hall["w1"])  # takes `waiting`, the older one
        db.session.commit()
        assert tasks.close_past_days() == {"tickets": 0, "sessions": 0}  # today's are left alone
        clock.advance(timedelta(days=1))
        assert tasks.close_past_days() == {"tickets": 2, "sessions": 2}
        db.session.commit()
        assert tasks.close_past_days() == {"tickets": 0, "sessions": 0}
        for ticket in (waiting, called):
            db.session.refresh(ticket)
            assert ticket.status is TicketStatus.NO_SHOW
            assert _actions(f"convenience.ticket:{ticket.id}")[-1] == "convenience.ticket_expired"
        assert services.open_session(user_id=hall["alice"]) is None
