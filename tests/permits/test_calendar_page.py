"""`/admin/calendar`: the year's grid, the loaded years, the November warning (fake clock), the upload form."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import func, select

from app.core.time import FakeClock
from app.extensions import db
from app.permits.calendar import services
from app.permits.calendar.models import CalendarDay
from tests.accounts.helpers import csrf, login, make_user, post_form
from tests.html import parse
from tests.permits.calendar_helpers import YEAR_2027


def _admin(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    _uid, secret = make_user(app, "root", ["admin"], totp=True)
    assert login(client, "root", totp_secret=secret).status_code == 303
    post_form(client, "/lang", {"lang": "en"})


def _seed(app: Flask) -> None:
    with app.app_context():
        services.seed(2025, 2026)
        db.session.commit()


def _cells(html: str) -> dict[str, str]:
    return {a["data-date"] or "": a["data-kind"] or "" for t, a in parse(html).tags if t == "td" and a.get("data-date")}


def test_grid_shows_holidays_and_makeup_days(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _seed(app)
    clock.set(datetime(2026, 3, 1, 2, 0, tzinfo=UTC))
    _admin(app, client)
    resp = client.get("/admin/calendar?year=2026")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    cells = _cells(html)
    assert len(cells) == 365
    assert cells["2026-02-17"] == "holiday" and cells["2026-02-14"] == "makeup"
    assert cells["2026-03-07"] == "weekend" and cells["2026-03-09"] == "workday"
    assert "春节（调休上班）" in html and "chinesecalendar 1.11.0" in html
    years = [a["data-year"] for t, a in parse(html).tags if t == "tr" and a.get("data-year")]
    assert years == ["2026", "2025"]
    assert "app-calendar-warning" not in html  # March: no warning
    assert "is not loaded" in client.get("/admin/calendar?year=2030").get_data(as_text=True)


def test_warning_from_november_when_next_year_is_missing(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _seed(app)
    clock.set(datetime(2026, 10, 31, 15, 59, tzinfo=UTC))  # 23:59 on 31 October in Beijing
    _admin(app, client)
    assert "app-calendar-warning" not in client.get("/admin/calendar").get_data(as_text=True)
    clock.set(datetime(2026, 10, 31, 16, 0, tzinfo=UTC))  # 00:00 on 1 November in Beijing
    html = client.get("/admin/calendar").get_data(as_text=True)
    assert "app-calendar-warning" in html and "2027 is not loaded yet" in html
    with app.app_context():
        services.load_year_file(YEAR_2027.encode(), actor="test")
        db.session.commit()
    assert "app-calendar-warning" not in client.get("/admin/calendar").get_data(as_text=True)
    clock.set(datetime(2028, 3, 1, tzinfo=UTC))  # the current year itself is missing: always warned
    client.get("/logout")
    _uid, secret = make_user(app, "root2", ["admin"], totp=True)
    assert login(client, "root2", totp_secret=secret).status_code == 303
    post_form(client, "/lang", {"lang": "en"})
    assert "2028 is not loaded: no due date" in client.get("/admin/calendar").get_data(as_text=True)


def test_upload_a_year(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _seed(app)
    _admin(app, client)
    bad = YEAR_2027.replace("2027-02-13", "2027-02-30").replace("[2027-09-26, 2027-10-09]", "[2027-09-27]")
    resp = client.post(
        "/admin/calendar",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(bad.encode()), "2027.yaml")},
        content_type="multipart/form-data",
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "2027-02-30 is not a real date" in html and "must be a Saturday or Sunday" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CalendarDay)) == 365 * 2
    resp = client.post(
        "/admin/calendar",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(YEAR_2027.encode()), "2027.yaml")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/calendar?year=2027")
    assert _cells(client.get("/admin/calendar?year=2027").get_data(as_text=True))["2027-02-14"] == "makeup"
    again = client.post(
        "/admin/calendar",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(YEAR_2027.encode()), "2027.yaml")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 409 and "loaded already" in again.get_data(as_text=True)
    replaced = client.post(
        "/admin/calendar",
        data={"csrf_token": csrf(client), "replace": "y", "file": (io.BytesIO(YEAR_2027.encode()), "2027.yaml")},
        content_type="multipart/form-data",
    )
    assert replaced.status_code == 303
    assert client.post("/admin/calendar", data={"csrf_token": csrf(client)}).status_code == 400


def test_only_the_calendar_permission(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "b1", ["bidder"])
    assert login(client, "b1").status_code == 303
    assert client.get("/admin/calendar").status_code == 403


def test_page_in_chinese(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _seed(app)
    clock.set(datetime(2026, 11, 5, tzinfo=UTC))
    _admin(app, client)
    post_form(client, "/lang", {"lang": "zh_CN"})
    html = client.get("/admin/calendar").get_data(as_text=True)
    assert "工作日历" in html and "2027年尚未载入" in html and "调休上班日" in html
