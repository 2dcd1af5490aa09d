"""Pages and API of supervision: the wall, the list, a signal with the answer and review forms; access by role;
bad input answered with a readable message or a problem, nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.permits.cases.models import ApplicationChannel
from app.supervision.models import Signal, SignalAnswer
from tests.accounts.helpers import login, post_form
from tests.factories import user
from tests.html import parse
from tests.permits.cases.helpers import DESK_ROLE, submit, who
from tests.supervision.conftest import sweep

ZH = "zh-CN,zh;q=0.9"


SECRETS: dict[str, str | None] = {}


def _client(app: Flask, name: str, lang: str = ZH) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    assert login(client, name, totp_secret=SECRETS.get(name)).status_code == 303
    return client


@pytest.fixture
def lit(desk_app: Flask, clock: Any) -> dict[str, Any]:
    """An application the desk left undecided past its deadline: a red signal naming the clerk `clerk`."""
    clerk, _ = user(desk_app, "clerk", roles=[DESK_ROLE], totp=False, display_name="窗口王五")
    user(desk_app, "other", roles=[DESK_ROLE], totp=False)
    _id, SECRETS["watcher"] = user(desk_app, "watcher", roles=["supervisor"], display_name="监察李四")
    head, _ = user(desk_app, "head", roles=[DESK_ROLE], totp=False)
    with desk_app.app_context():
        application = submit(who(clerk), channel=ApplicationChannel.DESK)
        department = application.item.department.name
        from app.supervision.models import DepartmentHead

        db.session.add(DepartmentHead(user_id=head, department=department))
        db.session.commit()
    clock.set(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))  # Tuesday 10:00 in Beijing: a day late
    assert sweep(desk_app)["red"] == 1
    with desk_app.app_context():
        signal_id = db.session.scalar(select(Signal.id))
    return {"signal": signal_id, "department": department, "clerk": clerk}


def test_the_wall_shows_the_department_tile_red(desk_app: Flask, lit: dict[str, Any]) -> None:
    page = _client(desk_app, "watcher").get("/supervision/")
    assert page.status_code == 200
    doc = parse(page.data)
    tile = doc.one("li", data_department=True)
    assert tile.attrs["data-department"] == lit["department"] and tile.attrs["data-light"] == "red"
    assert "红灯" in page.get_data(as_text=True) and "Asia/Shanghai" in page.get_data(as_text=True)
    assert _client(desk_app, "head").get("/supervision/").status_code == 200  # the department's head
    assert _client(desk_app, "other").get("/supervision/").status_code == 403  # staff: their own signals only
    en = _client(desk_app, "watcher", "en").get("/supervision/").get_data(as_text=True)
    assert "Red lights" in en


def test_who_sees_the_signal(desk_app: Flask, lit: dict[str, Any]) -> None:
    url = f"/supervision/signals/{lit['signal']}"
    for name in ("watcher", "clerk", "head"):
        assert _client(desk_app, name).get(url).status_code == 200, name
        assert lit["department"] in _client(desk_app, name).get("/supervision/signals").get_data(as_text=True)
    assert _client(desk_app, "other").get(url).status_code == 404
    assert "no-signals" in _client(desk_app, "other").get("/supervision/signals").get_data(as_text=True)
    assert desk_app.test_client().get(url).status_code in (302, 303, 401)


def test_explain_then_accept_leaves_the_signal_as_it_was(desk_app: Flask, lit: dict[str, Any]) -> None:
    url = f"/supervision/signals/{lit['signal']}"
    clerk = _client(desk_app, "clerk")
    page = clerk.get(url).get_data(as_text=True)
    assert 'id="answer-form"' in page and 'id="review-form"' not in page
    empty = post_form(clerk, url + "/answer", {"text": "   "})
    assert empty.status_code == 422 and "govuk-error-summary" in empty.get_data(as_text=True)
    done = post_form(clerk, url + "/answer", {"text": "系统故障导致当日未能受理，已于次日上午处理。"})
    assert done.status_code == 303
    again = post_form(clerk, url + "/answer", {"text": "again"})
    assert again.status_code == 409 and "等待监察人员审核" in again.get_data(as_text=True)  # refused, explained
    watcher = _client(desk_app, "watcher")
    assert 'id="review-form"' in watcher.get(url).get_data(as_text=True)
    no_reason = post_form(watcher, url + "/review", {"decision": "reject", "text": ""})
    assert no_reason.status_code == 422
    assert post_form(watcher, url + "/review", {"decision": "accept", "text": ""}).status_code == 303
    assert post_form(_client(desk_app, "head"), url + "/review", {"decision": "accept"}).status_code in (403, 422)
    with desk_app.app_context():
        kinds = [a.kind.value for a in db.session.scalars(select(SignalAnswer).order_by(SignalAnswer.id))]
        assert kinds == ["explanation", "accepted"]
        actions = set(
            db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("supervision.signal.%")))
        )
        assert actions == {"supervision.signal.answered", "supervision.signal.accepted"}
        signal = db.session.get(Signal, lit["signal"])
        assert signal.colour == "red" and signal.person_id == lit["clerk"]
    assert "已认可" in watcher.get(url).get_data(as_text=True) or "认可" in watcher.get(url).get_data(as_text=True)


def test_a_bad_filter_is_explained_not_a_500(desk_app: Flask, lit: dict[str, Any]) -> None:
    page = _client(desk_app, "watcher").get("/supervision/signals?colour=purple&floor=%00")
    assert page.status_code == 200 and 'id="filter-error"' in page.get_data(as_text=True)
    assert _client(desk_app, "watcher").get("/supervision/signals/99999999999").status_code == 404


def test_the_api_answers_and_reviews(desk_app: Flask, lit: dict[str, Any]) -> None:
    from app.accounts import services_tokens
    from app.accounts.models import User

    def token(username: str) -> str:
        with desk_app.app_context():
            row = db.session.scalar(select(User).where(User.username == username))
            _t, text = services_tokens.create_token(user=row, name="t", scopes=["*"], expires_in_days=1)
            db.session.commit()
        return text

    client = desk_app.test_client()
    clerk = {"Authorization": f"Bearer {token('clerk')}"}
    watcher = {"Authorization": f"Bearer {token('watcher')}"}
    mine = client.get("/api/v1/supervision/signals", headers=clerk)
    assert mine.status_code == 200 and [s["id"] for s in mine.json["signals"]] == [lit["signal"]]
    assert client.get("/api/v1/supervision/signals?colour=blue", headers=clerk).status_code == 422
    assert client.get("/api/v1/supervision/wall", headers=clerk).status_code == 403
    wall = client.get("/api/v1/supervision/wall", headers=watcher)
    assert wall.status_code == 200 and wall.json["totals"]["red"] == 1
    url = f"/api/v1/supervision/signals/{lit['signal']}"
    bad = client.post(url + "/answers", json={"text": ""}, headers=clerk)
    assert bad.status_code == 422 and bad.headers["Content-Type"].startswith("application/problem+json")
    assert client.post(url + "/reviews", json={"decision": "accept"}, headers=watcher).status_code == 409
    assert client.post(url + "/answers", json={"text": "说明"}, headers=watcher).status_code == 403
    ok = client.post(url + "/answers", json={"text": "已整改"}, headers=clerk)
    assert ok.status_code == 201 and ok.json["status"] == "awaiting_review"
    rejected = client.post(url + "/reviews", json={"decision": "reject", "text": "说明不充分"}, headers=watcher)
    assert rejected.status_code == 201 and rejected.json["status"] == "awaiting_answer"
    with desk_app.app_context():
        assert db.session.scalar(select(func.count(SignalAnswer.id))) == 2
    spec = client.get("/api/openapi.json")
    paths = spec.json["paths"] if spec.status_code == 200 else {}
    assert not paths or "/api/v1/supervision/signals/{signal_id}/answers" in paths


def test_the_home_page_lists_the_signal_to_explain(desk_app: Flask, lit: dict[str, Any], clock: Any) -> None:
    del clock
    page = _client(desk_app, "clerk").get("/").get_data(as_text=True)
    assert "supervision-to-explain" in page and f"/supervision/signals/{lit['signal']}" in page


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_supervisor_home_lists_explanations_to_review(desk_app: Flask, lit: dict[str, Any]) -> None:
    url = f"/supervision/signals/{lit['signal']}"
    assert post_form(_client(desk_app, "clerk"), url + "/answer", {"text": "已整改"}).status_code == 303
    page = _client(desk_app, "watcher").get("/")
    assert page.status_code == 200
    assert "supervision-to-review" in page.get_data(as_text=True) and url in page.get_data(as_text=True)
