"""A person's monitoring record (/supervision/people/<id>) and supervision's read-only page of a permits case: who
may open them, and every view of a person's monitoring data written to the evidence log (viewer, person, what)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.html import parse
from tests.supervision.followup_helpers import _client

VIEWED = "supervision.person.viewed"


def _views(app: Flask) -> list[tuple[str, str | None, dict[str, Any]]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.action == VIEWED).order_by(AuditEntry.index))
        return [(r.actor, r.subject, dict(r.data)) for r in rows]


def _user_id(app: Flask, username: str) -> int:
    from app.accounts.models import User

    with app.app_context():
        found = db.session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return int(found)


def test_the_person_page_by_role(desk_app: Flask, red: dict[str, Any]) -> None:
    url = f"/supervision/people/{red['clerk']}"
    for name in ("watcher", "leader", "head", "clerk"):  # supervisors, leaders, the department's head, the person
        page = _client(desk_app, name).get(url)
        assert page.status_code == 200, name
        doc = parse(page.data)
        assert "窗口王五" in doc.one("h1").text
        assert [r.get("data-signal") for r in doc.by_id("person-signals").select("tr", data_signal=True)] == [
            str(red["signal"])
        ]
    other = _client(desk_app, "other")  # staff of the floor, not the person, heads nothing
    assert other.get(url).status_code == 403
    assert other.get(f"/supervision/people/{_user_id(desk_app, 'other')}").status_code == 200  # their own
    assert _client(desk_app, "watcher").get("/supervision/people/99999999").status_code == 404
    anonymous = desk_app.test_client().get(url)
    assert anonymous.status_code in (302, 303, 401) and "窗口王五" not in anonymous.get_data(as_text=True)


def test_a_head_sees_only_the_people_of_the_department(desk_app: Flask, red: dict[str, Any]) -> None:
    from app.supervision.models import DepartmentHead

    with desk_app.app_context():
        head = db.session.scalar(select(DepartmentHead).where(DepartmentHead.user_id == _user_id(desk_app, "head")))
        assert head is not None
        head.department = "另一个部门"
        db.session.commit()
    assert _client(desk_app, "head").get(f"/supervision/people/{red['clerk']}").status_code == 403


def test_every_view_of_a_persons_data_is_logged(desk_app: Flask, red: dict[str, Any]) -> None:
    watcher = _client(desk_app, "watcher")
    watcher_ref = f"user:{_user_id(desk_app, 'watcher')}"
    person = f"user:{red['clerk']}"
    assert _views(desk_app) == []
    assert watcher.get(f"/supervision/people/{red['clerk']}?day=2026-03-10").status_code == 200
    assert watcher.get(f"/supervision/signals/{red['signal']}").status_code == 200
    assert watcher.get(f"/supervision/signals?person={red['clerk']}").status_code == 200
    assert watcher.get("/supervision/signals").status_code == 200  # the general list: no one person's record
    logged = _views(desk_app)
    assert [(actor, subject, data["what"]) for actor, subject, data in logged] == [
        (watcher_ref, person, "person_page"),
        (watcher_ref, person, "signal"),
        (watcher_ref, person, "signal_list"),
    ]
    assert logged[0][2]["day"] == "2026-03-10" and logged[1][2]["signal"] == red["signal"]
    assert logged[2][2]["signals"] == [red["signal"]]

    from app.accounts import services_tokens
    from app.accounts.models import User

    with desk_app.app_context():
        account = db.session.get(User, _user_id(desk_app, "watcher"))
        _t, token = services_tokens.create_token(user=account, name="t", scopes=["*"], expires_in_days=1)
        db.session.commit()
    api = desk_app.test_client().get(
        f"/api/v1/supervision/signals/{red['signal']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 200
    actor, subject, data = _views(desk_app)[-1]
    assert (actor, subject, data["what"], data["via"]) == (watcher_ref, person, "signal", "api")

    before = len(_views(desk_app))
    assert _client(desk_app, "other").get(f"/supervision/people/{red['clerk']}").status_code == 403
    assert len(_views(desk_app)) == before  # a refused view shows nothing and logs no view (the denial is its own)
    bad = watcher.get(f"/supervision/people/{red['clerk']}?day=yesterday")
    assert bad.status_code == 200 and parse(bad.data).has("day-error")


def test_supervisors_read_a_permits_case_without_the_desk_permission(desk_app: Flask, red: dict[str, Any]) -> None:
    from app.supervision.models import Signal

    with desk_app.app_context():
        signal = db.session.get(Signal, red["signal"])
        assert signal is not None
        application_id = int(signal.subject.split(":", 1)[1].split("/", 1)[0])
    url = f"/supervision/cases/permits/{application_id}"
    watcher = _client(desk_app, "watcher")
    assert watcher.get(f"/permits/desk/applications/{application_id}").status_code == 403  # still the desk's own
    page = watcher.get(url)
    assert page.status_code == 200
    doc = parse(page.data)
    assert [li.get("data-signal") for li in doc.by_id("case-signals").select("li")] == [str(red["signal"])]
    assert doc.by_id("case-items").select("tr", data_item=True)
    assert _client(desk_app, "head").get(url).status_code == 200  # the department's head
    assert _client(desk_app, "other").get(url).status_code == 404  # not supervision's business to tell
    assert watcher.get("/supervision/cases/permits/99999999").status_code == 404


def _token(app: Flask, username: str) -> dict[str, str]:
    from app.accounts import services_tokens
    from app.accounts.models import User

    with app.app_context():
        account = db.session.get(User, _user_id(app, username))
        _t, token = services_tokens.create_token(user=account, name="t", scopes=["*"], expires_in_days=1)
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_read_only_api_follows_the_pages_rules(desk_app: Flask, red: dict[str, Any]) -> None:
    client = desk_app.test_client()
    watcher, head, other = (_token(desk_app, name) for name in ("watcher", "head", "other"))
    url = f"/api/v1/supervision/people/{red['clerk']}"
    got = client.get(url + "?day=2026-03-10", headers=watcher)
    assert got.status_code == 200, got.json
    assert got.json["name"] == "窗口王五" and [s["id"] for s in got.json["signals"]] == [red["signal"]]
    assert got.json["signals_total"] == 1 and got.json["day"] == "2026-03-10"
    assert client.get(url, headers=head).status_code == 200
    refused = client.get(url, headers=other)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert client.get("/api/v1/supervision/people/99999999", headers=watcher).status_code == 404
    assert client.get(url + "?day=yesterday", headers=watcher).status_code == 422
    assert client.get(url).status_code == 401
    assert [(d["what"], s) for _a, s, d in _views(desk_app)] == [("person_page", f"user:{red['clerk']}")] * 2

    stats = client.get("/api/v1/supervision/statistics?unit=day", headers=watcher)
    assert stats.status_code == 200 and len(stats.json["periods"]) == 14 and stats.json["periods"][-1]["live"]
    assert client.get("/api/v1/supervision/statistics?unit=decade", headers=watcher).status_code == 422
    assert client.get("/api/v1/supervision/statistics", headers=head).status_code == 200
    assert client.get("/api/v1/supervision/statistics", headers=other).status_code == 403

    assert client.get("/api/v1/supervision/presence", headers=watcher).json == {"day": "2026-03-10", "windows": []}
    assert client.get("/api/v1/supervision/presence", headers=head).status_code == 403
    assert client.get("/api/v1/supervision/presence?day=2026-13-40", headers=watcher).status_code == 422


def test_the_follow_up_pages_json(desk_app: Flask, red: dict[str, Any]) -> None:
    client = desk_app.test_client()
    watcher, leader, head, other = (_token(desk_app, n) for n in ("watcher", "leader", "head", "other"))
    assert client.get("/api/v1/supervision/letters", headers=watcher).json == {"letters": []}
    assert client.get("/api/v1/supervision/letters", headers=other).json == {"letters": []}

    grades = client.get("/api/v1/supervision/grading", headers=watcher)
    assert grades.status_code == 200 and (grades.json["year"], grades.json["quarter"]) == (2026, 1)
    assert grades.json["grades"] == []
    assert client.get("/api/v1/supervision/grading?year=2025&quarter=4", headers=head).status_code == 200
    assert client.get("/api/v1/supervision/grading?quarter=5", headers=watcher).status_code == 422
    assert client.get("/api/v1/supervision/grading?year=2026&quarter=3", headers=watcher).status_code == 422  # ahead
    assert client.get("/api/v1/supervision/grading?year=abc", headers=watcher).status_code == 422
    assert client.get("/api/v1/supervision/grading", headers=other).status_code == 403

    assert client.get("/api/v1/supervision/instructions", headers=watcher).json == {"instructions": []}
    on_duty = client.get("/api/v1/supervision/duty", headers=leader)
    assert on_duty.status_code == 200 and on_duty.json["unresolved_reds"] == [red["signal"]]
    assert client.get("/api/v1/supervision/duty", headers=watcher).status_code == 200
    assert client.get("/api/v1/supervision/duty", headers=head).status_code == 403
    assert client.get("/api/v1/supervision/duty").status_code == 401
