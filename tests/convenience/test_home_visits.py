"""Door-to-door service (上门服务) and after-hours sessions (下班延时服务), through the pages as each person meets them:
the citizen asks without an account and follows the matter on its tracking page, a floor manager schedules staff,
the staff member records each visit (not done → scheduled again → done); days with their own hours open the
windows on a Saturday or close them, and the queue and the appointment slots follow. Bad input stores nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.time import FakeClock
from tests.accounts.helpers import csrf, login, make_user
from tests.convenience.conftest import staff, window_id
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
SATURDAY = date(2026, 12, 12)
GOOD = {
    "service": "UT-001",
    "name": "王秀兰",
    "phone": "13803100001",
    "address": "邯郸市丛台区中华北大街128号3单元502室",
    "reason": "elderly",
    "details": "",
    "preferred_day": "2026-12-09",
    "preferred_period": "morning",
}


def _visits(app: Flask) -> int:
    from app.convenience.home_visit_models import HomeVisit
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count(HomeVisit.id))) or 0)


def _actions(app: Flask, prefix: str) -> list[str]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.index)
            )
        )


@pytest.fixture
def manager(floor: Flask) -> Any:
    _id, secret = make_user(floor, "floorboss", ["admin"], totp=True)
    client = floor.test_client()
    assert login(client, "floorboss", totp_secret=secret).status_code == 303
    return client


@pytest.fixture
def worker(floor: Flask) -> tuple[Any, int]:
    user_id = staff(floor, "xiaoli", ("01",))
    client = floor.test_client()
    assert login(client, "xiaoli").status_code == 303
    return client, user_id


def _card(page: Any) -> Any:
    cards = [s for s in page.select("section") if s.attrs.get("id", "").startswith("visit-")]
    assert len(cards) == 1, cards
    return cards[0]


def _ask(app: Flask, **changes: str) -> Any:
    client = app.test_client()
    client.get("/convenience/home-visits/new", headers=ZH)
    return client.post("/convenience/home-visits/new", data={**GOOD, **changes, "csrf_token": csrf(client)}, headers=ZH)


@pytest.mark.parametrize(
    ("changes", "field_text"),
    [
        ({"phone": "0310-1234"}, "11位"),
        ({"service": "SI-001"}, "上门办理的服务事项"),  # a service not done at home
        ({"service": "<script>"}, "上门办理的服务事项"),
        ({"preferred_day": "2026-12-07"}, "明天至"),  # today: too soon
        ({"preferred_day": "2027-03-01"}, "明天至"),  # past the horizon
        ({"preferred_day": "tomorrow"}, "2026-12-08"),
        ({"reason": "bored"}, "原因"),
        ({"reason": "other", "details": ""}, "必填"),  # another reason must be said
        ({"name": ""}, "必填"),
        ({"address": "x" * 201}, "200"),
        ({"name": "王\x00兰"}, "控制字符"),
        ({"preferred_period": "night"}, "上午、下午"),
    ],
)
def test_a_request_with_bad_input_is_refused_on_the_page_and_stores_nothing(
    floor: Flask, changes: dict[str, str], field_text: str
) -> None:
    resp = _ask(floor, **changes)
    assert resp.status_code == 422
    page = parse(resp.data)
    assert field_text in page.one(cls="govuk-error-summary").text
    assert _visits(floor) == 0 and _actions(floor, "convenience.home_visit") == []


def test_home_visit_from_request_to_done_with_a_visit_that_could_not_finish(
    floor: Flask, manager: Any, worker: tuple[Any, int], clock: FakeClock
) -> None:
    staff_client, staff_id = worker
    kiosk = parse(floor.test_client().get("/convenience/", headers=ZH).data)
    assert kiosk.by_id("to-home-visit").attrs["href"] == "/convenience/home-visits/new"
    assert floor.test_client().get(kiosk.by_id("to-household").attrs["href"]).status_code == 200
    form = parse(floor.test_client().get("/convenience/home-visits/new", headers=ZH).data)
    options = form.by_id("service").text
    assert "社会保险参保登记" not in options  # only services done at home are offered

    resp = _ask(floor)
    assert resp.status_code == 303
    track = resp.headers["Location"]
    citizen = floor.test_client()
    page = parse(citizen.get(track, headers=ZH).data)
    assert page.one("h1").text.startswith("上门服务SM20261207001")
    assert "待安排" in page.text and "申请已受理" in page.by_id("visit-steps").text

    # the manager's list: schedule the staff member for Wednesday morning; the citizen gets a message
    listing = parse(manager.get("/convenience/home-visits", headers=ZH).data)
    card = _card(listing)
    visit_id = int(card.attrs["id"].split("-")[1])
    assert "王秀兰" in card.text and "13803100001" in card.text
    resp = manager.post(
        f"/convenience/home-visits/{visit_id}/schedule",
        data={"csrf_token": csrf(manager), "staff": str(staff_id), "day": "2026-12-09", "period": "morning"},
    )
    assert resp.status_code == 303
    from app.convenience.appointment_models import OutboxMessage
    from app.extensions import db

    with floor.app_context():
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "home_visit"))
        assert message is not None and message.recipient == "13803100001"
        assert "2026-12-09（上午）" in message.body and track in message.body
    assert "2026-12-09 上午" in parse(citizen.get(track, headers=ZH).data).by_id("visit-scheduled").text

    # someone else at the windows may not record it
    other_id = staff(floor, "xiaozhao", ("02",))
    other = floor.test_client()
    login(other, "xiaozhao")
    assert "没有安排" in parse(other.get("/convenience/my-visits", headers=ZH).data).text
    assert (
        other.post(
            f"/convenience/my-visits/{visit_id}", data={"csrf_token": csrf(other), "completed": "yes"}
        ).status_code
        == 403
    )
    del other_id

    # the visit could not finish: the reason is required, then it goes back to be scheduled
    mine = parse(staff_client.get("/convenience/my-visits", headers=ZH).data)
    assert "邯郸市丛台区" in mine.by_id(f"visit-{visit_id}").text
    resp = staff_client.post(
        f"/convenience/my-visits/{visit_id}", data={"csrf_token": csrf(staff_client), "completed": "no", "notes": ""}
    )
    assert resp.status_code == 422 and "必填" in parse(resp.data).one(cls="govuk-error-summary").text
    resp = staff_client.post(
        f"/convenience/my-visits/{visit_id}",
        data={"csrf_token": csrf(staff_client), "completed": "no", "notes": "家中无人，电话未接通"},
    )
    assert resp.status_code == 303
    page = parse(citizen.get(track, headers=ZH).data)
    assert "待安排" in page.text and "家中无人" in page.by_id("visit-steps").text

    clock.advance(timedelta(minutes=30))
    manager.post(
        f"/convenience/home-visits/{visit_id}/schedule",
        data={"csrf_token": csrf(manager), "staff": str(staff_id), "day": "2026-12-10", "period": "afternoon"},
    )
    resp = staff_client.post(
        f"/convenience/my-visits/{visit_id}",
        data={"csrf_token": csrf(staff_client), "completed": "yes", "notes": "已办结"},
    )
    assert resp.status_code == 303
    page = parse(citizen.get(track, headers=ZH).data)
    steps = page.by_id("visit-steps").text
    assert "已完成" in page.text
    assert steps.index("未能办结") < steps.index("已上门：事项已办结")
    assert not page.has("cancel-form")  # closed: nothing to cancel
    assert _actions(floor, "convenience.home_visit") == [
        "convenience.home_visit_requested",
        "convenience.home_visit_scheduled",
        "convenience.home_visit_recorded",
        "convenience.home_visit_scheduled",
        "convenience.home_visit_recorded",
    ]
    # the closed request cannot be scheduled again
    resp = manager.post(
        f"/convenience/home-visits/{visit_id}/schedule",
        data={"csrf_token": csrf(manager), "staff": str(staff_id), "day": "2026-12-11", "period": "any"},
        headers=ZH,
    )
    assert resp.status_code == 409 and "已办结或关闭" in parse(resp.data).text


def test_the_citizen_cancels_and_the_center_declines(floor: Flask, manager: Any) -> None:
    track = _ask(floor).headers["Location"]
    citizen = floor.test_client()
    citizen.get(track)
    resp = citizen.post(f"{track}/cancel", data={"csrf_token": csrf(citizen), "reason": "已自行到中心办理"})
    assert resp.status_code == 303
    page = parse(citizen.get(track, headers=ZH).data)
    assert "已撤回" in page.text and "已自行到中心办理" in page.by_id("visit-steps").text
    assert citizen.post(f"{track}/cancel", data={"csrf_token": csrf(citizen)}).status_code == 303  # flashed refusal
    assert "已办结或关闭" in parse(citizen.get(track, headers=ZH).data).text

    _ask(floor, name="刘建国")
    listing = parse(manager.get("/convenience/home-visits", headers=ZH).data)
    visit_id = int(_card(listing).attrs["id"].split("-")[1])
    resp = manager.post(
        f"/convenience/home-visits/{visit_id}/decline", data={"csrf_token": csrf(manager), "reason": ""}
    )
    assert resp.status_code == 303
    assert "必填" in parse(manager.get("/convenience/home-visits", headers=ZH).data).text  # flashed, still open
    resp = manager.post(
        f"/convenience/home-visits/{visit_id}/decline",
        data={"csrf_token": csrf(manager), "reason": "该事项须本人到场核验，可由家属预约后代办"},
    )
    assert resp.status_code == 303
    assert (
        "中心不予上门办理"
        in parse(manager.get("/convenience/home-visits", headers=ZH).data).by_id("closed-visits").text
    )
    assert floor.test_client().get("/convenience/home-visits/not-a-real-id").status_code == 404
    assert floor.test_client().get("/convenience/home-visits").status_code in (302, 303, 401)  # staff only


def _slots(app: Flask, day: date) -> list[Any]:
    from app.convenience import appointments, services

    with app.app_context():
        return appointments.slots_for(services.get_service("SI-001"), day)


def _open(app: Flask, number: str, at: datetime) -> bool:
    from app.convenience import services

    with app.app_context():
        return services.is_open(services.get_window(window_id(app, number)), at)


def test_days_with_their_own_hours_open_a_saturday_evening_and_close_a_day(
    floor: Flask, manager: Any, clock: FakeClock
) -> None:
    saturday_10 = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)
    saturday_14 = datetime(2026, 12, 12, 6, 0, tzinfo=UTC)
    assert _open(floor, "01", saturday_10) and not _open(floor, "01", saturday_14)  # the weekly plan: 09–12
    page = parse(manager.get("/convenience/hours", headers=ZH).data)
    assert "全部窗口均按每周工作计划办公" in page.by_id("exceptions").text
    data = {
        "csrf_token": csrf(manager),
        "window": "",
        "day": "2026-12-12",
        "kind": "open",
        "opens_at": "13:30",
        "closes_at": "17:00",
        "extended_until": "19:00",
        "reason": "周六下午延时服务",
    }
    for bad, text in (
        ({"closes_at": "12:00"}, "下班时间应晚于上班时间"),  # closes before it opens
        ({"opens_at": "25:00"}, "如09:00"),
        ({"day": "2026-12-01"}, "今天或以后"),
        ({"reason": ""}, "必填"),
        ({"window": "999"}, "窗口"),
    ):
        resp = manager.post("/convenience/hours", data={**data, **bad}, headers=ZH)
        assert resp.status_code == 422, (bad, resp.status_code)
        assert text in parse(resp.data).one(cls="govuk-error-summary").text, bad
    assert _actions(floor, "convenience.plan_exception") == []

    assert manager.post("/convenience/hours", data=data).status_code == 303
    assert not _open(floor, "01", saturday_10) and _open(floor, "01", saturday_14)
    assert _open(floor, "01", datetime(2026, 12, 12, 10, 30, tzinfo=UTC))  # 18:30: the after-hours extension
    assert {s.starts_at.astimezone(UTC).hour for s in _slots(floor, SATURDAY)} >= {6, 7, 8}  # 14:00–16:30 local
    resp = manager.post("/convenience/hours", data=data, headers=ZH)
    assert resp.status_code == 409  # one exception per day and window

    # window 01 closed on Tuesday for maintenance; the other windows of its group still take bookings
    tuesday = {
        **data,
        "window": str(window_id(floor, "01")),
        "day": "2026-12-08",
        "kind": "closed",
        "reason": "设备检修",
    }
    assert manager.post("/convenience/hours", data=tuesday).status_code == 303
    assert not _open(floor, "01", datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    assert _open(floor, "02", datetime(2026, 12, 8, 2, 0, tzinfo=UTC))
    assert all(s.window_id != window_id(floor, "01") for s in _slots(floor, date(2026, 12, 8)))
    page = parse(manager.get("/convenience/hours", headers=ZH).data)
    table = page.by_id("exceptions").text
    assert "当日不办公" in table and "延时至19:00" in table and "设备检修" in table

    row = next(f for f in page.select("form") if f.attrs.get("action", "").endswith("/remove"))
    assert manager.post(row.attrs["action"], data={"csrf_token": csrf(manager)}).status_code == 303
    assert _actions(floor, "convenience.plan_exception") == [
        "convenience.plan_exception_added",
        "convenience.plan_exception_added",
        "convenience.plan_exception_removed",
    ]
    assert floor.test_client().get("/convenience/hours").status_code in (302, 303, 401)


def test_english_pages_read_in_english(floor: Flask, manager: Any) -> None:
    page = parse(floor.test_client().get("/convenience/home-visits/new", headers=EN).data)
    assert page.one("h1").text == "Ask for a home visit"
    assert "Days with their own hours" in parse(manager.get("/convenience/hours", headers=EN).data).text


def test_the_api_asks_for_a_visit_and_follows_it_and_refuses_bad_input(floor: Flask) -> None:
    client = floor.test_client()
    body = {**GOOD, "preferred_day": "2026-12-09"}
    for bad in (
        {"phone": "123"},
        {"reason": "x"},
        {"preferred_day": "2026-13-01"},
        {"service": "SI-001"},
        {"name": ""},
    ):
        resp = client.post("/api/v1/convenience/home-visits", json={**body, **bad})
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json", (bad, resp.data)
    assert client.post("/api/v1/convenience/home-visits", data="{", content_type="application/json").status_code == 400
    assert _visits(floor) == 0
    resp = client.post("/api/v1/convenience/home-visits", json=body)
    assert resp.status_code == 201, resp.data
    made = resp.get_json()
    assert made["reference"] == "SM20261207001" and made["status"] == "requested"
    got = client.get(f"/api/v1/convenience/home-visits/{made['tracking_id']}", headers=ZH).get_json()
    assert got["steps"][0]["what"] == "申请已受理" and got["tracking_url"] == made["tracking_url"]
    assert client.get("/api/v1/convenience/home-visits/nope").status_code == 404
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/convenience/home-visits" in doc["paths"]
