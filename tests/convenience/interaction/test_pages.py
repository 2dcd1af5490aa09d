"""政民互动 pages, each role in Chinese: the citizen submits and follows a request (and rates it once closed), the
operator takes a call in and sees the template reply, the department replies from its inbox, the dispatcher
assigns and presses with overdue requests first, the operator calls back. Bad form input: a readable message,
nothing stored. Wording only on SQLite (the services and the API run on both databases)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.accounts.helpers import login
from tests.convenience.interaction.conftest import Cast
from tests.html import parse

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
BASE = "/convenience/interaction"
# Latin words a Chinese page may show: the reference (HD…), e-mail addresses, the zone name in a time.
ALLOWED = re.compile(r"HD\d{8}-[A-Z0-9]{6}|[\w.+-]+@[\w.-]+|Asia/Shanghai|CST|UTC")


def _english_words(html: bytes) -> list[str]:
    text = ALLOWED.sub(" ", parse(html).by_id("main").text)
    return re.findall(r"[A-Za-z]{3,}", text)


def _signed_in(app: Flask, username: str) -> Any:
    client = app.test_client()
    assert login(client, username).status_code == 303
    return client


def _form(client: Any, url: str, form_id: str, **values: Any) -> dict[str, Any]:
    page = parse(client.get(url, headers=ZH).data)
    fields = page.by_id(form_id).fields()
    fields.update(values)
    return fields


def _count(app: Flask) -> int:
    from app.convenience.interaction.models import InteractionRequest
    from app.extensions import db

    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(InteractionRequest)) or 0)


def test_citizen_submits_follows_and_rates(app: Flask, cast: Cast) -> None:
    client = app.test_client()
    page = client.get(f"{BASE}/new", headers=ZH)
    assert page.status_code == 200 and "投诉、建议和咨询" in page.get_data(as_text=True)
    assert _english_words(page.data) == []
    data = _form(
        client, f"{BASE}/new", "submit-form", kind="complaint", category="environment", body="夜间施工噪声扰民"
    )
    refused = client.post(f"{BASE}/new", data=data, headers=ZH)  # no telephone, no e-mail
    assert refused.status_code == 422 and "请留下电话号码或电子邮箱" in refused.get_data(as_text=True)
    assert _count(app) == 0
    data["phone"] = "13800138000"
    sent = client.post(f"{BASE}/new", data=data, headers=ZH)
    assert sent.status_code == 303
    tracking = sent.headers["Location"]
    shown = client.get(tracking, headers=ZH)
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "市生态环境局" in text and "已调度" in text and "诉求办结后即可评价" in text
    assert _english_words(shown.data) == []
    reference, token = tracking.rstrip("/").split("/")[-2:]
    found = client.get(f"{BASE}/track", query_string={"reference": reference, "token": token}, headers=ZH)
    assert found.status_code == 303 and found.headers["Location"].endswith(f"/{reference}/{token}")
    assert client.get(f"{BASE}/track/{reference}/wrong", headers=ZH).status_code == 404
    assert client.get(f"{BASE}/track", headers=ZH).status_code == 200

    from app.convenience.interaction import services
    from app.extensions import db
    from tests.convenience.interaction.conftest import user

    with app.app_context():
        services.reply(actor=user(cast.handler), reference=reference, text="已责令施工单位夜间停工。")
        services.close(actor=user(cast.dispatcher), reference=reference)
        db.session.commit()
    form = _form(client, tracking, "rate-form", level="satisfied")
    rated = client.post(tracking, data=form, headers=ZH)
    assert rated.status_code == 303
    again = client.get(tracking, headers=ZH).get_data(as_text=True)
    assert "已责令施工单位夜间停工" in again and 'id="rated"' in again and "rate-form" not in again
    assert client.post(tracking, data=form, headers=ZH).status_code == 409


def test_operator_console_and_call_back(app: Flask, cast: Cast) -> None:
    client = _signed_in(app, "operator")
    page = client.get(f"{BASE}/hotline", headers=ZH)
    assert page.status_code == 200 and _english_words(page.data) == []
    assert "autofocus" in page.get_data(as_text=True)
    data = _form(
        client,
        f"{BASE}/hotline",
        "hotline-form",
        kind="consultation",
        category="social-security",
        name="周八",
        body="退休手续怎么办",
    )
    refused = client.post(f"{BASE}/hotline", data=data, headers=ZH)  # no number
    assert refused.status_code == 422 and "请填写来电号码" in refused.get_data(as_text=True) and _count(app) == 0
    data["phone"] = "0310-7654321"
    taken = client.post(f"{BASE}/hotline", data=data, headers=ZH)
    assert taken.status_code == 303
    after = client.get(taken.headers["Location"], headers=ZH)
    text = after.get_data(as_text=True)
    assert "周八您好" in text and "社保医保" in text and 'id="last-reply"' in text  # the template, filled
    reference = re.search(r"HD\d{8}-[A-Z0-9]{6}", text).group(0)  # type: ignore[union-attr]

    from app.convenience.interaction import services
    from app.extensions import db
    from tests.convenience.interaction.conftest import user

    with app.app_context():
        services.reply(actor=user(cast.dispatcher), reference=reference, text="请携带身份证到社保窗口办理。")
        services.close(actor=user(cast.dispatcher), reference=reference)
        db.session.commit()
    listed = client.get(f"{BASE}/callbacks", headers=ZH)
    assert reference in listed.get_data(as_text=True) and _english_words(listed.data) == []
    detail = f"{BASE}/requests/{reference}"
    assert _english_words(client.get(detail, headers=ZH).data) == []
    form = _form(client, detail, "callback-form", reached="yes", satisfied="yes", note="满意")
    assert client.post(f"{detail}/callback", data=form, headers=ZH).status_code == 303
    assert "已回访" in client.get(detail, headers=ZH).get_data(as_text=True)
    assert reference not in client.get(f"{BASE}/callbacks", headers=ZH).get_data(as_text=True)


def test_department_replies_from_its_inbox(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Channel
    from app.extensions import db

    with app.app_context():
        mine = services.submit(
            channel=Channel.WEB, kind="complaint", category="environment", body="河道有异味", phone="13800138000"
        ).request
        theirs = services.submit(
            channel=Channel.WEB, kind="complaint", category="labour", body="工资拖欠", phone="13800138000"
        ).request
        db.session.commit()
        mine_ref, theirs_ref = mine.reference, theirs.reference
    client = _signed_in(app, "handler")
    inbox = client.get(f"{BASE}/inbox", headers=ZH)
    text = inbox.get_data(as_text=True)
    assert mine_ref in text and theirs_ref not in text and _english_words(inbox.data) == []
    assert client.get(f"{BASE}/requests/{theirs_ref}", headers=ZH).status_code == 404
    detail = f"{BASE}/requests/{mine_ref}"
    page = parse(client.get(detail, headers=ZH).data)
    assert "【请填写】" in page.by_id("reply-form").fields()["reply"]  # the reply starts from the template
    take = _form(client, detail, "take-form")
    assert client.post(f"{detail}/take-up", data=take, headers=ZH).status_code == 303
    empty = _form(client, detail, "reply-form", reply="")
    assert client.post(f"{detail}/reply", data=empty, headers=ZH).status_code == 422
    bad = client.post(f"{detail}/reply", data=_form(client, detail, "reply-form", reply="好"), headers=ZH)
    assert bad.status_code == 422 and "请至少填写 4 个字" in bad.get_data(as_text=True)
    good = _form(client, detail, "reply-form", reply="已安排清淤，三日内完成。")
    assert client.post(f"{detail}/reply", data=good, headers=ZH).status_code == 303
    assert "已答复" in client.get(detail, headers=ZH).get_data(as_text=True)
    assert client.get(f"{BASE}/inbox", headers=EN).status_code == 200


def test_dispatcher_assigns_presses_and_sees_overdue_first(app: Flask, cast: Cast, clock: Any) -> None:
    from datetime import timedelta

    from app.convenience.interaction import services, tasks
    from app.convenience.interaction.models import Channel
    from app.extensions import db

    with app.app_context():
        late = services.submit(
            channel=Channel.WEB, kind="consultation", category="other", body="咨询一", phone="13800138000"
        ).request
        db.session.commit()
        late_ref = late.reference
    clock.advance(timedelta(days=2))  # Wednesday: Monday's consultation was due Tuesday
    with app.app_context():
        fresh = services.submit(
            channel=Channel.WEB, kind="complaint", category="other", body="投诉二", phone="13800138000"
        ).request
        tasks.mark_overdue()
        db.session.commit()
        fresh_ref = fresh.reference
    client = _signed_in(app, "dispatcher")
    listing = client.get(f"{BASE}/dispatch", headers=ZH)
    text = listing.get_data(as_text=True)
    assert text.index(late_ref) < text.index(fresh_ref) and "超期" in text
    assert _english_words(listing.data) == []
    detail = f"{BASE}/requests/{fresh_ref}"
    assert _english_words(client.get(detail, headers=ZH).data) == []
    form = _form(client, detail, "dispatch-form", department="HRS")
    assert client.post(f"{detail}/dispatch", data=form, headers=ZH).status_code == 303
    again = client.post(f"{detail}/dispatch", data=form, headers=ZH)
    assert again.status_code == 409 and "该诉求已在此部门办理" in again.get_data(as_text=True)
    press = _form(client, detail, "press-form", note="请加快办理")
    assert client.post(f"{detail}/press", data=press, headers=ZH).status_code == 303
    shown = client.get(detail, headers=ZH).get_data(as_text=True)
    assert "请加快办理" in shown and "市人力资源和社会保障局" in shown
    assert client.post(f"{detail}/close", data=_form(client, detail, "press-form"), headers=ZH).status_code == 409


def test_roles_reach_only_their_pages(app: Flask, cast: Cast) -> None:
    from app.convenience.interaction import services
    from app.convenience.interaction.models import Channel
    from app.extensions import db

    with app.app_context():
        services.submit(channel=Channel.WEB, kind="help", category="environment", body="井盖丢失", phone="13800138000")
        db.session.commit()
    operator, handler = _signed_in(app, "operator"), _signed_in(app, "handler")
    assert operator.get(f"{BASE}/dispatch").status_code == 403
    assert handler.get(f"{BASE}/hotline").status_code == 403
    assert app.test_client().get(f"{BASE}/inbox").status_code in (302, 401)
    home = handler.get("/", headers=ZH).get_data(as_text=True)
    assert "待办理的群众诉求" in home
