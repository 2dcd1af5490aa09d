"""Appointment pages and API: book (service → day → slot), my appointments (reschedule, cancel, ICS, check-in), the
kiosk's check-in, the outbox page; the API in the OpenAPI document; bad input is refused and stores nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import icalendar
import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.time import FakeClock
from tests import factories
from tests.accounts.helpers import csrf, login, make_user
from tests.convenience.conftest import staff, window_id
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
TUESDAY = date(2026, 12, 8)


def _count(app: Flask) -> int:
    from app.convenience.appointment_models import Appointment
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count(Appointment.id))) or 0)


def _key(app: Flask, number: str, day: date, hhmm: str) -> str:
    return f"{window_id(app, number)}-{day:%Y%m%d}{hhmm.replace(':', '')}"


@pytest.fixture
def citizen(floor: Flask) -> Any:
    make_user(floor, "zhang", ["bidder"])
    client = floor.test_client()
    assert login(client, "zhang").status_code == 303
    return client


def test_book_a_slot_through_the_pages_then_change_and_cancel_it(floor: Flask, citizen: Any, clock: FakeClock) -> None:
    page = parse(citizen.get("/convenience/book", headers=ZH).data)
    assert "预约" in page.one("h1").text and "社会保险参保登记" in page.by_id("bookable-services").text
    page = parse(citizen.get(f"/convenience/book/SI-001?day={TUESDAY}", headers=ZH).data)
    slots = page.by_id("slots").text
    assert "09:00–09:30" in slots and "12:00–" not in slots and "13:00–" not in slots and "Asia/Shanghai" in page.text
    key = _key(floor, "01", TUESDAY, "09:00")
    resp = citizen.post(
        "/convenience/book/SI-001",
        data={"csrf_token": csrf(citizen), "slot": key, "phone": "13800138000", "day": str(TUESDAY)},
        headers=ZH,
    )
    assert resp.status_code == 303, resp.data
    mine = parse(citizen.get(resp.headers["Location"], headers=ZH).data)
    facts = mine.by_id("appointment-facts").text
    assert "2026-12-08 09:00" in facts and "Asia/Shanghai" in facts and "01" in facts
    reference = resp.headers["Location"].rsplit("/", 1)[1]
    ics = citizen.get(f"/convenience/appointments/{reference}/calendar.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    event = next(iter(icalendar.Calendar.from_ical(ics.data).walk("VEVENT")))
    assert event.decoded("dtstart").isoformat() == "2026-12-08T01:00:00+00:00"
    home = parse(citizen.get("/", headers=ZH).data)
    assert reference in home.by_id("home-convenience-appointments").text
    listing = parse(citizen.get("/convenience/appointments", headers=EN).data)
    assert reference in listing.text and "Booked" in listing.text
    # change the time
    page = parse(citizen.get(f"/convenience/appointments/{reference}/reschedule?day={TUESDAY}", headers=ZH).data)
    assert page.has("current-slot")
    resp = citizen.post(
        f"/convenience/appointments/{reference}/reschedule",
        data={"csrf_token": csrf(citizen), "slot": _key(floor, "01", TUESDAY, "10:00")},
    )
    assert resp.status_code == 303
    assert "10:00" in parse(citizen.get(resp.headers["Location"], headers=ZH).data).by_id("appointment-facts").text
    resp = citizen.post(f"/convenience/appointments/{reference}/cancel", data={"csrf_token": csrf(citizen)})
    assert resp.status_code == 303
    assert "已取消" in parse(citizen.get("/convenience/appointments", headers=ZH).data).text


@pytest.mark.parametrize(
    ("slot", "phone"),
    [
        (("01", date(2026, 12, 7), "08:30"), "13800138000"),  # past
        (("01", TUESDAY, "12:00"), "13800138000"),  # the break
        ("x-1", "13800138000"),  # malformed
        (("01", TUESDAY, "09:00"), "123"),  # phone
    ],
)
def test_the_book_page_refuses_bad_input_in_words(floor: Flask, citizen: Any, slot: Any, phone: str) -> None:
    key = _key(floor, *slot) if isinstance(slot, tuple) else slot
    resp = citizen.post(
        "/convenience/book/SI-001", data={"csrf_token": csrf(citizen), "slot": key, "phone": phone}, headers=ZH
    )
    assert resp.status_code == 422
    assert parse(resp.data).error_summary is not None
    assert _count(floor) == 0


def test_someone_elses_appointment_is_not_found(floor: Flask, citizen: Any) -> None:
    client = floor.test_client()
    make_user(floor, "li", ["bidder"])
    login(client, "li")
    resp = client.post(
        "/convenience/book/SI-001",
        data={"csrf_token": csrf(client), "slot": _key(floor, "01", TUESDAY, "09:00"), "phone": "13900139000"},
    )
    reference = resp.headers["Location"].rsplit("/", 1)[1]
    for url in (f"/convenience/appointments/{reference}", f"/convenience/appointments/{reference}/calendar.ics"):
        assert citizen.get(url).status_code == 404
    resp = citizen.post(
        f"/convenience/appointments/{reference}/reschedule",
        data={"csrf_token": csrf(citizen), "slot": _key(floor, "02", TUESDAY, "10:00")},
    )
    assert resp.status_code == 404
    assert (
        citizen.post(f"/convenience/appointments/{reference}/cancel", data={"csrf_token": csrf(citizen)}).status_code
        == 404
    )
    assert citizen.get("/convenience/appointments/%27%3B--", headers=ZH).status_code == 404
    assert floor.test_client().get("/convenience/appointments").status_code in (302, 303, 401)


def test_the_kiosk_checks_in_with_reference_and_phone(floor: Flask, citizen: Any, clock: FakeClock) -> None:
    resp = citizen.post(
        "/convenience/book/SI-001",
        data={"csrf_token": csrf(citizen), "slot": _key(floor, "01", TUESDAY, "09:00"), "phone": "13800138000"},
    )
    reference = resp.headers["Location"].rsplit("/", 1)[1]
    kiosk = floor.test_client()
    page = parse(kiosk.get("/convenience/check-in", headers=ZH).data)
    assert "签到" in page.one("h1").text
    token = csrf(kiosk)
    resp = kiosk.post(
        "/convenience/check-in", data={"csrf_token": token, "reference": reference, "phone": "13800138001"}, headers=ZH
    )
    assert resp.status_code == 404 and parse(resp.data).error_summary is not None
    resp = kiosk.post(
        "/convenience/check-in", data={"csrf_token": token, "reference": reference, "phone": "13800138000"}, headers=ZH
    )
    assert (
        resp.status_code == 409 and "签到" in parse(resp.data).error_summary.text
    )  # too early: opens at 08:30 tomorrow
    clock.advance(timedelta(hours=23, minutes=45))
    resp = kiosk.post(
        "/convenience/check-in",
        data={"csrf_token": token, "reference": reference.lower(), "phone": "13800138000"},
        headers=ZH,
    )
    assert resp.status_code == 303 and "/convenience/tickets/" in resp.headers["Location"]
    assert parse(kiosk.get(resp.headers["Location"], headers=ZH).data).by_id("ticket-number").text == "A001"


def test_the_outbox_page_shows_the_reminders(floor: Flask, citizen: Any) -> None:
    from app.convenience import tasks

    citizen.post(
        "/convenience/book/SI-001",
        data={"csrf_token": csrf(citizen), "slot": _key(floor, "01", TUESDAY, "09:00"), "phone": "13800138000"},
    )
    with floor.app_context():
        from app.extensions import db

        tasks.appointments_sweep()
        db.session.commit()
    assert citizen.get("/convenience/outbox").status_code == 403
    staff(floor, "clerk", ("01",))
    desk = floor.test_client()
    login(desk, "clerk")
    page = parse(desk.get("/convenience/outbox", headers=ZH).data)
    assert "13800138000" in page.text and "预约提醒" in page.text


def test_the_api_books_lists_reschedules_checks_in_and_cancels(floor: Flask, clock: FakeClock) -> None:
    client = floor.test_client()
    who = factories.party(floor, client, "wang")
    other = factories.party(floor, client, "zhao")
    auth = {"Authorization": f"Bearer {who.token}"}
    slots = client.get(f"/api/v1/convenience/appointments/slots?service=SI-001&day={TUESDAY}")
    assert slots.status_code == 200 and slots.get_json()[0]["places"] == 1
    assert client.get("/api/v1/convenience/appointments/slots?service=SI-001&day=nope").status_code == 422
    assert client.get(f"/api/v1/convenience/appointments/slots?service=NOPE&day={TUESDAY}").status_code == 404
    key = slots.get_json()[0]["slot"]
    assert (
        client.post(
            "/api/v1/convenience/appointments", json={"service": "SI-001", "slot": key, "phone": "13800138000"}
        ).status_code
        == 401
    )
    resp = client.post(
        "/api/v1/convenience/appointments",
        json={"service": "SI-001", "slot": key, "phone": "13800138000"},
        headers=auth,
    )
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    ref = body["reference"]
    assert body["status"] == "booked" and body["starts_at"].startswith("2026-12-08T00:30:00")
    taken = client.post(
        "/api/v1/convenience/appointments",
        json={"service": "SI-001", "slot": key, "phone": "13900139000"},
        headers={"Authorization": f"Bearer {other.token}"},
    )
    assert taken.status_code == 409 and taken.mimetype == "application/problem+json"
    for bad in (
        {"service": "SI-001", "slot": key},
        {"service": "SI-001", "slot": 5, "phone": "1"},
        {"slot": key, "phone": "13800138000"},
    ):
        assert client.post("/api/v1/convenience/appointments", json=bad, headers=auth).status_code == 422
    assert (
        client.get(
            f"/api/v1/convenience/appointments/{ref}", headers={"Authorization": f"Bearer {other.token}"}
        ).status_code
        == 404
    )
    assert [a["reference"] for a in client.get("/api/v1/convenience/appointments", headers=auth).get_json()] == [ref]
    moved = client.post(
        f"/api/v1/convenience/appointments/{ref}/reschedule", json={"slot": slots.get_json()[3]["slot"]}, headers=auth
    )
    assert moved.status_code == 200 and moved.get_json()["reschedule_count"] == 1
    assert client.post(f"/api/v1/convenience/appointments/{ref}/check-in", headers=auth).status_code == 409  # too early
    clock.advance(timedelta(hours=23, minutes=40))
    done = client.post("/api/v1/convenience/appointments/check-in", json={"reference": ref, "phone": "13800138000"})
    assert done.status_code == 200 and done.get_json()["ticket"]["number"] == "A001"
    assert client.post(f"/api/v1/convenience/appointments/{ref}/cancel", headers=auth).status_code == 409
    assert _count(floor) == 1
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/appointments",
        "/appointments/slots",
        "/appointments/{reference}/reschedule",
        "/appointments/check-in",
    ):
        assert f"/api/v1/convenience{path}" in spec["paths"]


def test_end_to_end_book_check_in_called_served(floor: Flask, clock: FakeClock) -> None:
    """The loop through the API: book → check in → called before a walk-in who came earlier → served."""
    client = floor.test_client()
    who = factories.party(floor, client, "sun")
    clerk = factories.party(floor, client, "clerk1", role="window_staff")
    with floor.app_context():
        from app.convenience import services
        from app.extensions import db

        services.assign_staff(actor="system:test", window_id=window_id(floor, "01"), user_id=clerk.user_id)
        db.session.commit()
    auth = {"Authorization": f"Bearer {who.token}"}
    staff_auth = {"Authorization": f"Bearer {clerk.token}"}
    key = _key(floor, "01", TUESDAY, "09:00")
    ref = client.post(
        "/api/v1/convenience/appointments",
        json={"service": "SI-001", "slot": key, "phone": "13800138000"},
        headers=auth,
    ).get_json()["reference"]
    clock.advance(timedelta(hours=23, minutes=35))  # Tuesday 08:35
    walk_in = client.post("/api/v1/convenience/tickets", json={"service": "SI-002"}).get_json()
    clock.advance(timedelta(minutes=5))
    booked = client.post(f"/api/v1/convenience/appointments/{ref}/check-in", headers=auth).get_json()
    assert booked["status"] == "checked_in" and booked["ticket"]["number"] == "A002"
    w1 = window_id(floor, "01")
    assert client.post(f"/api/v1/convenience/windows/{w1}/sign-on", headers=staff_auth).status_code == 200
    called = client.post(f"/api/v1/convenience/windows/{w1}/call", headers=staff_auth).get_json()
    assert called["current"]["number"] == "A002"  # the booked visitor first (quota: 2 of every 3 calls)
    desk = floor.test_client()
    assert login(desk, "clerk1").status_code == 303
    assert "预约群众" in parse(desk.get(f"/convenience/windows/{w1}", headers=ZH).data).by_id("booked-visitor").text
    assert client.post(f"/api/v1/convenience/windows/{w1}/serve", headers=staff_auth).status_code == 200
    called = client.post(f"/api/v1/convenience/windows/{w1}/call", headers=staff_auth).get_json()
    assert called["current"]["number"] == walk_in["number"] == "A001"
    with floor.app_context():
        from app.audit.models import AuditEntry
        from app.extensions import db

        actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("convenience.%"))))
        assert "convenience.appointment_booked" in actions and "convenience.appointment_checked_in" in actions
        assert actions.count("convenience.ticket_served") == 1


def test_the_api_refuses_a_restricted_citizen_and_malformed_ids(floor: Flask, clock: FakeClock) -> None:
    client = floor.test_client()
    who = factories.party(floor, client, "qian")
    auth = {"Authorization": f"Bearer {who.token}"}
    for days in (1, 2, 3):
        day = date(2026, 12, 7) + timedelta(days=days)
        resp = client.post(
            "/api/v1/convenience/appointments",
            json={"service": "SI-001", "slot": _key(floor, "01", day, "09:00"), "phone": "13800138000"},
            headers=auth,
        )
        assert resp.status_code == 201
    clock.advance(timedelta(days=4))
    with floor.app_context():
        from app.convenience import tasks
        from app.extensions import db

        assert tasks.appointments_sweep()["no_shows"] == 3
        db.session.commit()
    resp = client.post(
        "/api/v1/convenience/appointments",
        json={"service": "SI-001", "slot": _key(floor, "01", date(2026, 12, 14), "09:00"), "phone": "13800138000"},
        headers=auth,
    )
    assert resp.status_code == 403 and resp.get_json()["type"].endswith("appointment-restricted")
    assert "cannot book until 2027-01-09" in resp.get_json()["detail"]
    assert _count(floor) == 3
    for ref in ("x", "ABCDEFGH", "%27%20OR%201%3D1", "A" * 300):
        assert client.get(f"/api/v1/convenience/appointments/{ref}", headers=auth).status_code == 404
        assert client.post(f"/api/v1/convenience/appointments/{ref}/cancel", headers=auth).status_code == 404
    bad = client.post("/api/v1/convenience/appointments/check-in", json={"reference": ["x"], "phone": 1})
    assert bad.status_code == 422
    browser = floor.test_client()
    assert login(browser, "qian").status_code == 303
    words = parse(browser.get("/convenience/book", headers=ZH).data).by_id("restriction").text
    assert "90天内有3次预约未到" in words and "2027-01-09" in words
    resp = browser.post(
        "/convenience/book/SI-001",
        data={
            "csrf_token": csrf(browser),
            "slot": _key(floor, "01", date(2026, 12, 14), "09:00"),
            "phone": "13800138000",
        },
        headers=ZH,
    )
    assert resp.status_code == 403 and "预约未到" in resp.data.decode() and _count(floor) == 3
