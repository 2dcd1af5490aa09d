"""The floor's pages and API: the kiosk, my ticket, the window's call panel, the hall display and its live stream."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.accounts.helpers import csrf, login
from tests.convenience.conftest import staff, window_id
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CONVENIENCE_STREAM_SECONDS": 3, "CONVENIENCE_STREAM_POLL_SECONDS": 0.05}


def _ticket_count(app: Flask) -> int:
    from app.convenience.models import Ticket
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count(Ticket.id))) or 0)


def _take(client: Any, service: str = "SI-001", **extra: str) -> Any:
    page = parse(client.get("/convenience/", headers=ZH).data)
    fields = page.form("ticket-form").fields()
    return client.post("/convenience/tickets", data={**fields, "service": service, **extra}, headers=ZH)


def test_kiosk_gives_a_ticket_and_its_page_tracks_it(floor: Flask) -> None:
    client = floor.test_client()
    page = parse(client.get("/convenience/", headers=ZH).data)
    assert "取号" in page.one("h1").text
    assert "社会保险参保登记" in page.by_id("service").text
    first = _take(client, surname="张三", honorific="ms")
    assert first.status_code == 303
    second = _take(client)
    mine = parse(client.get(second.headers["Location"], headers=ZH).data)
    assert mine.by_id("ticket-number").text == "A002"
    facts = mine.by_id("ticket-facts").text
    assert "您前面还有" in facts and "1" in facts and "预计叫号时间" in facts and "Asia/Shanghai" in facts
    # kept current by js/live-refresh.js while it waits (no meta refresh: it moves the reader back to the top)
    assert mine.by_id("ticket-live").get("data-refresh-seconds") == "30"
    assert not mine.select("meta", http_equiv="refresh")
    assert mine.select("script", src="/static/js/live-refresh.js")
    english = parse(client.get(second.headers["Location"], headers=EN).data)
    assert "Tickets before yours" in english.by_id("ticket-facts").text
    assert client.get("/convenience/tickets/not-a-ticket-id-at-all", headers=ZH).status_code == 404


def test_kiosk_refuses_bad_input_and_stores_nothing(floor: Flask) -> None:
    client = floor.test_client()
    for extra in ({"service": "NOPE"}, {"surname": "张<b>"}, {"honorific": "dr"}):
        resp = _take(client, **extra)
        assert resp.status_code == 422, extra
        assert parse(resp.data).error_summary is not None
    assert _ticket_count(floor) == 0


def test_window_panel_calls_and_the_display_shows_it(floor: Flask) -> None:
    staff(floor, "clerk", ("01",))
    client = floor.test_client()
    _take(client, surname="张三", honorific="ms")
    assert login(client, "clerk").status_code == 303
    w1 = window_id(floor, "01")
    panel = parse(client.get(f"/convenience/windows/{w1}", headers=ZH).data)
    assert panel.has("sign-on") and not panel.has("call-next")
    client.post(f"/convenience/windows/{w1}/sign-on", data={"csrf_token": csrf(client)})
    panel = parse(client.get(f"/convenience/windows/{w1}", headers=ZH).data)
    assert "叫下一号" in panel.by_id("call-next").text and "1" in panel.by_id("waiting").text
    resp = client.post(f"/convenience/windows/{w1}/call", data={"csrf_token": csrf(client)})
    assert resp.status_code == 303
    panel = parse(client.get(f"/convenience/windows/{w1}", headers=ZH).data)
    assert "A001" in panel.by_id("current").text and panel.has("serve") and panel.has("transfer-form")
    display = parse(client.get("/convenience/display").data)
    assert display.one("html").get("lang") == "zh-CN"
    assert display.table("hall-calls")[1] == ["A001", "张*女士", "01号窗口"]
    # Nothing waits now: calling again says so on the panel, and stores nothing.
    client.post(f"/convenience/windows/{w1}/serve", data={"csrf_token": csrf(client)})
    client.post(f"/convenience/windows/{w1}/call", data={"csrf_token": csrf(client)})
    panel = parse(client.get(f"/convenience/windows/{w1}", headers=ZH).data)
    assert "本窗口暂无等候的号" in panel.text


def test_a_window_not_assigned_is_refused(floor: Flask) -> None:
    staff(floor, "clerk", ("01",))
    client = floor.test_client()
    login(client, "clerk")
    w2 = window_id(floor, "02")
    assert client.get(f"/convenience/windows/{w2}", headers=ZH).status_code == 403
    resp = client.post(f"/convenience/windows/{w2}/sign-on", data={"csrf_token": csrf(client)})
    assert resp.status_code == 403


def test_the_api_issues_tracks_and_calls(floor: Flask) -> None:
    staff(floor, "clerk", ("01",), sign_on="01")
    client = floor.test_client()
    services = client.get("/api/v1/convenience/services").get_json()
    assert len(services) >= 20 and services[0]["prefix"] == "A"
    resp = client.post("/api/v1/convenience/tickets", json={"service": "SI-002", "surname": "李", "honorific": "mr"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    ticket = resp.get_json()
    assert ticket["number"] == "A001" and ticket["ahead"] == 0 and ticket["status"] == "waiting"
    for bad, status in (({"service": "NOPE"}, 404), ({"service": "SI-002", "channel": "fax"}, 422), ({}, 422)):
        resp = client.post("/api/v1/convenience/tickets", json=bad)
        assert resp.status_code == status and resp.content_type == "application/problem+json", bad
    assert _ticket_count(floor) == 1
    login(client, "clerk")
    headers = {"X-CSRFToken": csrf(client)}
    w1 = window_id(floor, "01")
    called = client.post(f"/api/v1/convenience/windows/{w1}/call", headers=headers)
    assert called.status_code == 200 and called.get_json()["current"]["number"] == "A001"
    assert client.post(f"/api/v1/convenience/windows/{w1}/call", headers=headers).status_code == 409
    tracked = client.get(f"/api/v1/convenience/tickets/{ticket['tracking_id']}").get_json()
    assert tracked["status"] == "called" and tracked["window"] == "01"
    moved = client.post(f"/api/v1/convenience/windows/{w1}/transfer", json={"to_window": w1}, headers=headers)
    assert moved.status_code == 422
    hall = client.get("/api/v1/convenience/hall").get_json()
    assert hall["calls"][0]["name"] == "李*先生"
    served = client.post(f"/api/v1/convenience/windows/{w1}/serve", headers=headers)
    assert served.status_code == 200 and served.get_json()["current"] is None


def test_the_display_stream_sends_changes_and_holds_no_connection(floor: Flask) -> None:
    from app.convenience import queue
    from app.extensions import db

    client = floor.test_client()
    with floor.app_context():
        engine = db.engine
    resp = client.get("/convenience/display/stream")
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    chunks = (c.decode() if isinstance(c, bytes) else c for c in resp.response)
    assert next(chunks).startswith("retry:")
    first = next(chunks)
    assert first.startswith("id: 0\nevent: hall\n")
    assert engine.pool.checkedout() == 0  # between polls the stream holds no connection

    def take() -> None:
        time.sleep(0.3)
        with floor.app_context():
            queue.issue_ticket(service_code="SI-001", channel="kiosk")
            db.session.commit()

    thread = threading.Thread(target=take)
    started = time.monotonic()
    thread.start()
    changed = next(chunks)
    thread.join()
    assert changed.startswith("id: 1\nevent: hall\n") and '"count":1' in changed
    assert time.monotonic() - started < 1.5
    rest = list(chunks)  # the stream ends by itself after CONVENIENCE_STREAM_SECONDS
    assert all(not c.startswith("id:") for c in rest)
    assert time.monotonic() - started < 5
    again = client.get("/convenience/display/stream", headers={"Last-Event-ID": "1"})
    assert all(not c.startswith(b"id:") for c in list(again.response))  # nothing new since event 1


def test_the_home_page_lists_the_staff_members_windows(floor: Flask) -> None:
    staff(floor, "clerk", ("01", "02"), sign_on="02")
    client = floor.test_client()
    login(client, "clerk")
    _take(client)
    home = parse(client.get("/", headers=ZH).data)
    text = home.by_id("home-convenience-windows").text
    assert "01号窗口" in text and "02号窗口" in text and "已签到 · 1 人等候" in text
