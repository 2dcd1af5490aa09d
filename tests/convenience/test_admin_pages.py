"""The floor's managers at /convenience/admin: every window with today's hours and its people; staff assigned and
removed (not while signed on); the floor's data file downloaded and loaded back, hostile files refused whole."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask

from tests.accounts.helpers import csrf, login, make_user
from tests.convenience.conftest import staff, window_id
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def manager(floor: Flask) -> Any:
    _id, secret = make_user(floor, "floorboss", ["admin"], totp=True)
    client = floor.test_client()
    assert login(client, "floorboss", totp_secret=secret).status_code == 303
    return client


def _upload(client: Any, body: bytes, name: str = "floor.json") -> Any:
    page = client.get("/convenience/admin")
    assert page.status_code == 200
    return client.post(
        "/convenience/admin/floor",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
        headers=ZH,
    )


def test_the_hall_page_shows_windows_hours_and_people_and_assigns_staff(floor: Flask, manager: Any) -> None:
    worker = staff(floor, "xiaoli", ("01",), sign_on="01")
    helper = staff(floor, "xiaozhao", ())
    page = parse(manager.get("/convenience/admin", headers=ZH).data)
    row = page.by_id("window-01").text
    assert "08:30–17:30" in row and "办公中" in row and "Xiaoli" in row and "已签到" in row
    assert "无人" in page.by_id("window-05").text

    resp = manager.post(
        "/convenience/admin/assign",
        data={"csrf_token": csrf(manager), "window": str(window_id(floor, "05")), "user": str(helper)},
    )
    assert resp.status_code == 303
    assert "Xiaozhao" in parse(manager.get("/convenience/admin", headers=ZH).data).by_id("window-05").text
    again = manager.post(
        "/convenience/admin/assign",
        data={"csrf_token": csrf(manager), "window": str(window_id(floor, "05")), "user": str(helper)},
        headers=ZH,
    )
    assert again.status_code == 409 and "已安排在这个窗口" in parse(again.data).one(cls="govuk-error-summary").text
    bad = manager.post(
        "/convenience/admin/assign", data={"csrf_token": csrf(manager), "window": "x", "user": "1"}, headers=ZH
    )
    assert bad.status_code == 422

    # signed on: cannot be removed; after sign-off it can
    w1 = window_id(floor, "01")
    manager.post(f"/convenience/admin/windows/{w1}/staff/{worker}/remove", data={"csrf_token": csrf(manager)})
    assert "Xiaoli" in parse(manager.get("/convenience/admin", headers=ZH).data).by_id("window-01").text
    from app.accounts.models import User
    from app.convenience import services
    from app.extensions import db

    with floor.app_context():
        services.sign_off(actor=db.session.get(User, worker), window_id=w1)
        db.session.commit()
    manager.post(f"/convenience/admin/windows/{w1}/staff/{worker}/remove", data={"csrf_token": csrf(manager)})
    assert "Xiaoli" not in parse(manager.get("/convenience/admin", headers=ZH).data).by_id("window-01").text


def test_the_floor_file_goes_out_and_comes_back_and_bad_files_change_nothing(floor: Flask, manager: Any) -> None:
    resp = manager.get("/convenience/admin/floor.json")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    data = json.loads(resp.data)
    assert len(data["services"]) >= 20 and len(data["windows"]) >= 8
    assert data["windows"][0]["plans"][0]["opens_at"] == "08:30"
    resp = _upload(manager, json.dumps(data, ensure_ascii=False).encode())
    assert resp.status_code == 303  # the same file: nothing changes

    data["services"][0]["name"] = "社会保险参保登记（新）"
    data["windows"][0]["plans"][0]["closes_at"] = "18:00"
    before = manager.get("/convenience/admin/floor.json").data
    for body, status in (
        (b"\xff\xfe not utf-8", 422),
        (b"[1, 2]", 422),
        (json.dumps({**data, "windows": [{**data["windows"][0], "group": "nowhere"}]}).encode(), 422),
        (b" " * (1024 * 1024 + 1), 413),
    ):
        resp = _upload(manager, body)
        assert resp.status_code == status, (body[:20], resp.status_code)
        assert parse(resp.data).one(cls="govuk-error-summary")
    assert manager.get("/convenience/admin/floor.json").data == before  # nothing stored by a bad file

    resp = _upload(manager, json.dumps(data, ensure_ascii=False).encode())
    assert resp.status_code == 303
    after = json.loads(manager.get("/convenience/admin/floor.json").data)
    assert after["services"][0]["name"] == "社会保险参保登记（新）"
    assert after["windows"][0]["plans"][0]["closes_at"] == "18:00"
    assert floor.test_client().get("/convenience/admin").status_code in (302, 303, 401)
