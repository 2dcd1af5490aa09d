"""The person page on the convenience floor: the windows a staff member sat at on a day with what the camera saw
there (only while they were signed on), their ratings, the link from the presence page, the view logged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.accounts.helpers import login, make_user
from tests.convenience.conftest import staff, window_id
from tests.html import parse


def test_presence_ratings_and_the_drill_from_the_presence_page(floor: Flask, clock: Any) -> None:
    from app.convenience.rating.models import Rating
    from app.supervision.presence import services

    app = floor
    wid = window_id(app, "01")
    clock.advance(timedelta(minutes=-30))  # 08:30: the camera sees the seat before the clerk signs on
    with app.app_context():
        services.set_camera(window_id=wid, source="synthetic", seat=(0.3, 0.1, 0.4, 0.7), actor="system:test")
        services.observe(wid, clock.now(), False)
        db.session.commit()
    clock.advance(timedelta(minutes=30))  # 09:00: signs on
    clerk = staff(app, "clerk7", ("01",), sign_on="01")
    with app.app_context():
        for minute, present in ((0, True), (20, False), (30, True), (60, True)):
            services.observe(wid, clock.now() + timedelta(minutes=minute), present)
        db.session.add(
            Rating(
                subject_kind="ticket",
                subject_id=1,
                reference="A001",
                level="satisfied",
                rated_at=clock.now(),
                closed_at=clock.now(),
                window_id=wid,
                staff_id=clerk,
                department="测试部门",
            )
        )
        db.session.commit()
    clock.advance(timedelta(minutes=61))
    _id, secret = make_user(app, "watcher", ["supervisor"], totp=True)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert login(client, "watcher", totp_secret=secret).status_code == 303
    presence = parse(client.get("/supervision/presence").data)
    link = presence.one("li", data_window="01").one("a", data_drill="person").get("href") or ""
    assert link.startswith(f"/supervision/people/{clerk}")
    page = client.get(link)
    assert page.status_code == 200
    doc = parse(page.data)
    stint = doc.by_id("stints").one("li", data_window="01")
    states = [el.get("data-state") for el in stint.select("rect", data_state=True)]
    assert states == ["present", "absent", "present"]  # 08:30–09:00 empty seat is before the sign-on: not theirs
    assert doc.by_id("person-ratings").one("td", data_level="satisfied").text == "1"
    assert doc.by_id("person-ratings").one("td", data_level="dissatisfied").text == "0"
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("supervision.p%.viewed"))))
        actions = [(e.action, e.subject) for e in entries]
        assert ("supervision.presence.viewed", "supervision.presence") in actions
        assert ("supervision.person.viewed", f"user:{clerk}") in actions
        presence_entry = next(e for e in entries if e.action == "supervision.presence.viewed")
        assert presence_entry.data["people"] == [clerk]

    # Another window's staff member sees their own record, not this one's.
    other = staff(app, "clerk8", ("02",))
    mine = app.test_client()
    assert login(mine, "clerk8").status_code == 303
    assert mine.get(f"/supervision/people/{other}").status_code == 200
    assert mine.get(f"/supervision/people/{clerk}").status_code == 403
