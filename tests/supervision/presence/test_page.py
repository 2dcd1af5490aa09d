"""The supervision staff's presence page: each window's timeline for a day, the view logged, bad input readable."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.accounts.helpers import login, make_user
from tests.convenience.conftest import window_id


def test_supervisor_sees_todays_timeline_and_the_view_is_logged(floor: Flask, clock: Any) -> None:
    from app.supervision.presence import services

    app = floor
    wid = window_id(app, "01")
    with app.app_context():
        services.set_camera(window_id=wid, source="synthetic", seat=(0.3, 0.1, 0.4, 0.7), actor="system:test")
        for minute, present in ((0, True), (30, False), (45, True)):
            services.observe(wid, clock.now() + timedelta(minutes=minute), present)
        services.observe(wid, clock.now() + timedelta(minutes=60), True)
        db.session.commit()
    clock.advance(timedelta(minutes=61))
    _id, secret = make_user(app, "watcher", ["supervisor"], totp=True)
    client = app.test_client()
    assert login(client, "watcher", totp_secret=secret).status_code == 303
    page = client.get("/supervision/presence", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200, page.headers.get("Location")
    html = page.get_data(as_text=True)
    assert "窗口人员在岗情况" in html and 'data-window="01"' in html
    assert html.count('data-state="present"') == 2 and html.count('data-state="absent"') == 1
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "supervision.presence.viewed"))
    bad = client.get("/supervision/presence?day=yesterday", headers={"Accept-Language": "zh-CN"})
    assert bad.status_code == 200 and 'id="day-error"' in bad.get_data(as_text=True)


def test_window_staff_may_not_see_it(floor: Flask) -> None:
    _id, secret = make_user(floor, "clerk9", ["window_staff"])
    client = floor.test_client()
    assert login(client, "clerk9", totp_secret=secret).status_code == 303
    assert client.get("/supervision/presence").status_code == 403
