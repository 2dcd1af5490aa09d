"""Appointments: slots from the working plans, book / reschedule / cancel, check-in to the queue, no-shows and the
restriction, the reminder the day before through the outbox, the ICS file, the SMS and e-mail adapters."""

from __future__ import annotations

import socketserver
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.time import FakeClock
from tests.accounts.helpers import make_user
from tests.convenience.conftest import user, window_id

TUESDAY = date(2026, 12, 8)


def _key(app: Flask, number: str, day: date, hhmm: str) -> str:
    """A slot's key; inside an app context it reads the window in that context's session."""
    from flask import has_app_context

    if has_app_context():
        from app.convenience.models import Window
        from app.extensions import db

        wid = db.session.scalar(select(Window.id).where(Window.number == number))
    else:
        wid = window_id(app, number)
    return f"{wid}-{day:%Y%m%d}{hhmm.replace(':', '')}"


def _actions(subject: str) -> list[str]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    db.session.commit()  # the queue notes its entries: the commit appends them (app.audit.note)
    return list(
        db.session.scalars(select(AuditEntry.action).where(AuditEntry.subject == subject).order_by(AuditEntry.index))
    )


def _count() -> int:
    from app.convenience.appointment_models import Appointment
    from app.extensions import db

    return int(db.session.scalar(select(func.count(Appointment.id))) or 0)


@pytest.fixture
def people(floor: Flask) -> dict[str, int]:
    return {name: make_user(floor, name, ["bidder"])[0] for name in ("zhang", "li", "wang")}


def _book(app: Flask, who: int, key: str, service: str = "SI-001", phone: str = "13800138000") -> Any:
    from app.convenience import appointments
    from app.extensions import db

    row = appointments.book(actor=user(who), service_code=service, slot=key, phone=phone)
    db.session.commit()
    return row


def test_slots_follow_the_plan_the_break_the_lead_time_and_the_horizon(floor: Flask, clock: FakeClock) -> None:
    from app.convenience import appointments, services

    with floor.app_context():
        service = services.get_service("SI-001")
        tuesday = appointments.slots_for(service, TUESDAY)
        starts = sorted({s.starts_at.astimezone(appointments.zone()).strftime("%H:%M") for s in tuesday})
        assert starts[0] == "08:30" and starts[-1] == "17:00"
        assert "12:00" not in starts and "13:00" not in starts and "13:30" in starts  # the break 12:00–13:30
        assert {s.window_number for s in tuesday} == {"01", "02", "03"}
        # 30-minute slots, half bookable (900 s); SI-001 takes 600 s + 120 s rest: one place per window and slot.
        assert {s.places for s in tuesday} == {1}
        today = appointments.slots_for(service, date(2026, 12, 7))  # Monday 09:00 now, lead time 60 minutes
        assert min(s.starts_at for s in today) == datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 local
        assert appointments.slots_for(service, date(2026, 12, 7) + timedelta(days=15)) == []
        days = appointments.bookable_days(service)
        assert days[0] == date(2026, 12, 7) and days[-1] <= date(2026, 12, 21)
        assert appointments.slots_for(services.get_service("SI-003"), TUESDAY) == []  # not bookable
        assert appointments.slots_for(service, date.min) == appointments.slots_for(service, date.max) == []


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_book_takes_the_place_and_a_full_slot_is_refused(floor: Flask, people: dict[str, int], db_backend: str) -> None:
    from app.convenience import appointments, services
    from app.convenience.appointment_models import AppointmentStatus

    key = _key(floor, "01", TUESDAY, "09:00")
    with floor.app_context():
        row = _book(floor, people["zhang"], key)
        assert row.status is AppointmentStatus.BOOKED and appointments.REFERENCE.match(row.reference)
        assert row.seconds == 720 and row.starts_at == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
        assert _actions(f"convenience.appointment:{row.id}") == ["convenience.appointment_booked"]
        slot = next(s for s in appointments.slots_for(services.get_service("SI-001"), TUESDAY) if s.key == key)
        assert slot.places == 0
        with pytest.raises(appointments.SlotTaken) as caught:
            appointments.book(actor=user(people["li"]), service_code="SI-002", slot=key, phone="13900139000")
        assert caught.value.status == 409
        appointments.book(
            actor=user(people["li"]),
            service_code="SI-002",
            slot=_key(floor, "02", TUESDAY, "09:00"),
            phone="13900139000",
        )
        with pytest.raises(appointments.Conflict):  # the same service twice on a day
            appointments.book(
                actor=user(people["zhang"]),
                service_code="SI-001",
                slot=_key(floor, "03", TUESDAY, "10:00"),
                phone="13800138000",
            )


@pytest.mark.parametrize(
    ("service", "slot", "phone", "field"),
    [
        ("SI-001", ("01", date(2026, 12, 7), "08:30"), "13800138000", "slot"),  # in the past
        ("SI-001", ("01", date(2026, 12, 7), "09:30"), "13800138000", "slot"),  # within the lead time
        ("SI-001", ("01", TUESDAY, "12:00"), "13800138000", "slot"),  # in the break
        ("SI-001", ("01", TUESDAY, "18:00"), "13800138000", "slot"),  # after closing
        ("SI-001", ("01", TUESDAY, "09:10"), "13800138000", "slot"),  # not a slot's start
        ("SI-001", ("01", date(2026, 12, 13), "09:00"), "13800138000", "slot"),  # Sunday: no plan
        ("SI-001", ("01", date(2026, 12, 29), "09:00"), "13800138000", "slot"),  # beyond the horizon
        ("SI-001", ("04", TUESDAY, "09:00"), "13800138000", "slot"),  # a window of another group
        ("SI-001", "abc", "13800138000", "slot"),
        ("SI-001", "1-20261308090000", "13800138000", "slot"),
        ("SI-001", "999999-202612080900", "13800138000", "slot"),
        ("SI-001", "1-202613080900", "13800138000", "slot"),  # month 13
        ("SI-003", ("01", TUESDAY, "09:00"), "13800138000", "service"),  # not bookable
        ("NOPE", ("01", TUESDAY, "09:00"), "13800138000", "service"),
        ("SI-001", ("01", TUESDAY, "09:00"), "12345", "phone"),
        ("SI-001", ("01", TUESDAY, "09:00"), "<script>", "phone"),
    ],
)
def test_bad_bookings_are_refused_and_store_nothing(
    floor: Flask, people: dict[str, int], service: str, slot: Any, phone: str, field: str
) -> None:
    from app.convenience import appointments
    from app.core.errors import ValidationFailed
    from app.extensions import db

    key = _key(floor, *slot) if isinstance(slot, tuple) else slot
    with floor.app_context():
        with pytest.raises(ValidationFailed) as caught:
            appointments.book(actor=user(people["zhang"]), service_code=service, slot=key, phone=phone)
        assert field in caught.value.extra["errors"]
        db.session.rollback()
        assert _count() == 0


def test_reschedule_and_cancel_only_ones_own(floor: Flask, people: dict[str, int], clock: FakeClock) -> None:
    from app.convenience import appointments, services
    from app.convenience.appointment_models import AppointmentStatus
    from app.core.errors import Conflict, NotFound
    from app.extensions import db

    first, second = _key(floor, "01", TUESDAY, "09:00"), _key(floor, "01", TUESDAY, "10:00")
    with floor.app_context():
        mine = _book(floor, people["zhang"], first)
        ref = mine.reference
        _book(floor, people["li"], second)
        with pytest.raises(NotFound):
            appointments.reschedule(actor=user(people["li"]), reference=ref, slot=_key(floor, "02", TUESDAY, "11:00"))
        with pytest.raises(NotFound):
            appointments.cancel(actor=user(people["li"]), reference=ref)
        with pytest.raises(NotFound):
            appointments.cancel(actor=user(people["li"]), reference="not-a-ref'--")
        with pytest.raises(appointments.SlotTaken):
            appointments.reschedule(actor=user(people["zhang"]), reference=ref, slot=second)
        db.session.rollback()
        moved = appointments.reschedule(
            actor=user(people["zhang"]), reference=ref, slot=_key(floor, "02", TUESDAY, "11:00")
        )
        db.session.commit()
        assert moved.reschedule_count == 1 and moved.window.number == "02"
        slots = {s.key: s.places for s in appointments.slots_for(services.get_service("SI-001"), TUESDAY)}
        assert slots[first] == 1 and slots[_key(floor, "02", TUESDAY, "11:00")] == 0
        appointments.cancel(actor=user(people["zhang"]), reference=ref.lower())
        db.session.commit()
        assert moved.status is AppointmentStatus.CANCELLED
        with pytest.raises(Conflict):
            appointments.cancel(actor=user(people["zhang"]), reference=ref)
        assert _actions(f"convenience.appointment:{moved.id}") == [
            "convenience.appointment_booked",
            "convenience.appointment_rescheduled",
            "convenience.appointment_cancelled",
        ]


def test_check_in_gives_a_booked_ticket_within_its_times(
    floor: Flask, people: dict[str, int], clock: FakeClock
) -> None:
    from app.convenience import appointments
    from app.convenience.appointment_models import AppointmentStatus
    from app.core.errors import Conflict, NotFound
    from app.extensions import db

    with floor.app_context():
        row = _book(floor, people["zhang"], _key(floor, "01", TUESDAY, "09:00"))
        ref = row.reference
        with pytest.raises(Conflict, match="Check-in opens"):
            appointments.check_in(reference=ref, actor=user(people["zhang"]))
        clock.advance(timedelta(hours=23, minutes=40))  # Tuesday 08:40: 20 minutes early
        with pytest.raises(NotFound):
            appointments.check_in(reference=ref, phone="13900000000")
        with pytest.raises(NotFound):
            appointments.check_in(reference=ref, phone="一三八")
        with pytest.raises(NotFound):
            appointments.check_in(reference=ref, actor=user(people["li"]))
        done = appointments.check_in(reference=ref, phone="138 0013 8000")
        db.session.commit()
        assert done.status is AppointmentStatus.CHECKED_IN and done.ticket is not None
        assert done.ticket.is_booked and done.ticket.number == "A001"
        with pytest.raises(Conflict, match="A001"):
            appointments.check_in(reference=ref, actor=user(people["zhang"]))
        late = _book(floor, people["li"], _key(floor, "02", TUESDAY, "10:00"))
        clock.advance(timedelta(hours=2))  # 10:40: after 10:30 + 15 minutes grace? not yet
        appointments.check_in(reference=late.reference, actor=user(people["li"]))
        db.session.rollback()
        clock.advance(timedelta(minutes=10))  # 10:50
        with pytest.raises(Conflict, match="closed"):
            appointments.check_in(reference=late.reference, actor=user(people["li"]))


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_no_shows_restrict_booking_for_a_while(
    floor: Flask, people: dict[str, int], clock: FakeClock, db_backend: str
) -> None:
    from app.convenience import appointments, tasks
    from app.convenience.appointment_models import AppointmentStatus

    with floor.app_context():
        for days in (1, 2, 3):
            day = date(2026, 12, 7) + timedelta(days=days)
            _book(floor, people["wang"], _key(floor, "01", day, "09:00"))
        assert tasks.appointments_sweep()["no_shows"] == 0
        clock.advance(timedelta(days=4))  # Friday 09:00: all three ended long ago
        assert appointments.restriction(people["wang"]) is None
        assert tasks.appointments_sweep()["no_shows"] == 3
        assert tasks.appointments_sweep()["no_shows"] == 0  # idempotent
        found = appointments.restriction(people["wang"])
        assert found is not None and found.no_shows == 3
        with pytest.raises(appointments.BookingRestricted) as caught:
            appointments.book(
                actor=user(people["wang"]),
                service_code="SI-001",
                slot=_key(floor, "01", date(2026, 12, 14), "09:00"),
                phone="13800138000",
            )
        assert caught.value.status == 403
        assert "missed 3 booked appointments within 90 days" in caught.value.detail
        assert "2027-01-09" in caught.value.detail and "Asia/Shanghai" in caught.value.detail
        rows = appointments.my_appointments(user(people["wang"]))
        assert {r.status for r in rows} == {AppointmentStatus.NO_SHOW}
        assert _actions(f"convenience.appointment:{rows[0].id}")[-1] == "convenience.appointment_no_show"
        clock.advance(timedelta(days=30))
        assert appointments.restriction(people["wang"]) is None


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_reminder_the_day_before_goes_out_once(
    floor: Flask, people: dict[str, int], clock: FakeClock, db_backend: str
) -> None:
    from app.convenience import notify, tasks
    from app.convenience.appointment_models import OutboxMessage
    from app.extensions import db

    with floor.app_context():
        row = _book(floor, people["zhang"], _key(floor, "01", TUESDAY, "09:00"))
        later = _book(floor, people["li"], _key(floor, "01", date(2026, 12, 9), "09:00"))
        assert tasks.appointments_sweep()["reminders"] == 1  # Monday: only Tuesday's
        assert tasks.appointments_sweep()["reminders"] == 0
        db.session.commit()
        messages = list(db.session.scalars(select(OutboxMessage)))
        assert len(messages) == 1 and messages[0].appointment_id == row.id and messages[0].recipient == "13800138000"
        assert row.reference in messages[0].body and "2026-12-08 09:00" in messages[0].body
        assert tasks.deliver_notifications() == {"sent": 1, "failed": 0}
        assert tasks.deliver_notifications() == {"sent": 0, "failed": 0}
        assert _actions(f"convenience.appointment:{row.id}")[-2:] == [
            "convenience.appointment_reminder_queued",
            "convenience.appointment_reminder_sent",
        ]
        assert later.reminded_at is None

        class Broken:
            channel = notify.OutboxChannel.OUTBOX

            def send(self, message: OutboxMessage) -> None:
                raise OSError("gateway down")

        clock.advance(timedelta(days=1))
        assert tasks.appointments_sweep()["reminders"] == 1
        assert notify.deliver_pending(Broken()) == {"sent": 0, "failed": 1}
        failed = db.session.scalar(select(OutboxMessage).where(OutboxMessage.appointment_id == later.id))
        assert failed is not None and failed.sent_at is None and "gateway down" in failed.last_error
        assert notify.deliver_pending() == {"sent": 1, "failed": 0}  # retried


def test_with_e_mail_configured_a_reminder_goes_to_the_address_or_only_to_the_page(
    floor: Flask, people: dict[str, int]
) -> None:
    """Never to a phone number on the e-mail channel: a booking without an address gets a page-only message."""
    from app.convenience import appointments, tasks
    from app.convenience.appointment_models import OutboxChannel, OutboxMessage
    from app.extensions import db

    floor.config["CONVENIENCE_NOTIFIER"] = "email"
    with floor.app_context():
        with_address = appointments.book(
            actor=user(people["zhang"]),
            service_code="SI-001",
            slot=_key(floor, "01", TUESDAY, "09:00"),
            phone="13800138000",
            email="zhang@example.com",
        )
        without = _book(floor, people["li"], _key(floor, "01", TUESDAY, "09:30"))
        db.session.commit()
        assert tasks.appointments_sweep()["reminders"] == 2
        db.session.commit()
        sent = {m.appointment_id: m for m in db.session.scalars(select(OutboxMessage))}
        assert (sent[with_address.id].channel, sent[with_address.id].recipient) == (
            OutboxChannel.EMAIL,
            "zhang@example.com",
        )
        assert (sent[without.id].channel, sent[without.id].recipient) == (OutboxChannel.PAGE, without.reference)


def test_the_ics_file_has_the_slot_in_utc(floor: Flask, people: dict[str, int]) -> None:
    from app.convenience import appointments

    with floor.app_context():
        row = _book(floor, people["zhang"], _key(floor, "01", TUESDAY, "09:00"))
        cal = icalendar.Calendar.from_ical(appointments.ics(row, center="邯郸市行政服务中心"))
        event = next(iter(cal.walk("VEVENT")))
        assert event.decoded("dtstart") == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai
        assert event.decoded("dtend") == datetime(2026, 12, 8, 1, 30, tzinfo=UTC)
        assert str(event["uid"]).startswith(row.reference) and "01号窗口" in str(event["location"])
        assert str(event["status"]) == "CONFIRMED" and row.reference in str(event["description"])


def _message(app: Flask) -> Any:
    from app.convenience.appointment_models import OutboxChannel, OutboxMessage

    return OutboxMessage(
        channel=OutboxChannel.EMAIL,
        recipient="zhang@example.com",
        subject="预约提醒",
        body="您预约的事项在明天。",
        kind="x",
    )


def test_the_email_adapter_speaks_smtp(floor: Flask) -> None:
    from app.convenience import notify

    received: list[bytes] = []

    class Smtp(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 test ESMTP\r\n")
            data = False
            while line := self.rfile.readline():
                if data:
                    if line == b".\r\n":
                        data = False
                        self.wfile.write(b"250 queued\r\n")
                    else:
                        received.append(line)
                    continue
                verb = line[:4].upper()
                if verb == b"DATA":
                    data = True
                    self.wfile.write(b"354 go on\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 ok\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with floor.app_context():
            notify.SmtpNotifier("127.0.0.1", server.server_address[1], "center@example.com").send(_message(floor))
    finally:
        server.shutdown()
    text = b"".join(received).decode()
    assert "To: zhang@example.com" in text and "From: center@example.com" in text and "Subject:" in text


def test_the_sms_adapter_posts_to_the_gateway(floor: Flask, sms_gateway: tuple[str, list[Any]]) -> None:
    from app.convenience import notify

    base, got = sms_gateway
    with floor.app_context():
        notify.SmsNotifier(f"{base}/send", "t0ken").send(_message(floor))
        with pytest.raises(OSError):
            notify.SmsNotifier(f"{base}/fail").send(_message(floor))
    assert got[0] == ("Bearer t0ken", {"to": "zhang@example.com", "text": "您预约的事项在明天。"})
    with pytest.raises(ValueError):
        notify.SmsNotifier("file:///etc/passwd")
