"""The home page: the desk clerk sees what waits for a decision and by when; the applicant, what to correct."""

from __future__ import annotations

from flask import Flask

from app.extensions import db
from app.permits.cases import services
from tests.accounts.helpers import login
from tests.html import parse
from tests.permits.cases.helpers import people, submit, who


def _home(app: Flask, username: str) -> str:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert login(client, username).status_code == 303
    return client.get("/").get_data(as_text=True)


def test_the_desk_sees_waiting_applications_and_the_applicant_what_to_correct(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        first = submit(who(p["applicant"]))  # received on Monday 2026-03-02 (the fixture's clock)
        second = submit(who(p["applicant"]))
        db.session.commit()
        numbers = (first.number, second.number)
        names = {uid: who(uid).username for uid in p.values()}
    doc = parse(_home(desk_app, names[p["desk"]]))
    section = doc.by_id("home-permits-desk")
    assert "等待窗口决定的申请（2 件）" in section.text
    assert all(n in section.text for n in numbers)
    assert "请在 2026-03-09 前作出决定，逾期视为受理" in section.text  # 5 working days after Monday's receipt
    assert not doc.has("home-permits-corrections")  # the clerk applied for nothing
    assert not parse(_home(desk_app, names[p["applicant"]])).has("home-permits-desk")  # an applicant has no desk

    with desk_app.test_request_context():
        services.request_correction(actor=who(p["desk"]), application=services.get_application(first.id))
        db.session.commit()
    mine = parse(_home(desk_app, names[p["applicant"]])).by_id("home-permits-corrections")
    assert first.number in mine.text and second.number not in mine.text
    assert "请提交补正告知所列的材料" in mine.text
    assert numbers[0] not in parse(_home(desk_app, names[p["desk"]])).by_id("home-permits-desk").text
