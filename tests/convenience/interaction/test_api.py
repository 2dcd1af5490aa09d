"""政民互动 API: each channel (web form, hotline, e-mail, forum import), bad and hostile input refused with problem
JSON and nothing stored, and the whole loop end to end: complaint → dispatched → replied → called back → rated."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.convenience.interaction.conftest import Cast, token

BASE = "/api/v1/convenience/interaction"
INTAKE = "convenience.interaction.intake"


def _count(app: Flask) -> tuple[int, int]:
    from app.audit.models import AuditEntry
    from app.convenience.interaction.models import InteractionRequest
    from app.extensions import db

    with app.app_context():
        requests = db.session.scalar(select(func.count()).select_from(InteractionRequest))
        entries = db.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.startswith("convenience.interaction."))
        )
        return int(requests or 0), int(entries or 0)


def _auth(text: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {text}"}


def test_web_form_and_tracking(app: Flask, cast: Cast, client: Any) -> None:
    resp = client.post(
        f"{BASE}/requests",
        json={
            "kind": "help",
            "category": "utilities",
            "body": "小区停水两天了",
            "phone": "13900139000",
            "lat": 36.6,
            "long": 114.5,
        },
    )
    assert resp.status_code == 201, resp.json
    got = resp.json
    assert got["status"] == "received" and got["created"] is True and got["due_on"] == "2026-12-14"
    tracked = client.get(f"{BASE}/requests/{got['reference']}", query_string={"token": got["tracking_token"]})
    assert tracked.status_code == 200
    body = tracked.json
    assert body["open311_status"] == "open" and body["category"] == "utilities" and body["lat"] == 36.6
    assert body["department"] == "中心调度室" and body["department_code"] is None
    assert "contact_phone" not in body  # the public view shows no contact details
    for bad in ("nope", "令牌"):
        wrong = client.get(f"{BASE}/requests/{got['reference']}", query_string={"token": bad})
        assert wrong.status_code == 404 and wrong.content_type.startswith("application/problem+json")


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "help", "category": "utilities", "body": "停水"},  # no way to answer
        {"kind": "help", "category": "utilities", "body": "停水", "phone": "abc"},
        {"kind": "help", "category": "nope", "body": "停水", "phone": "13900139000"},
        {"kind": "praise", "category": "utilities", "body": "停水", "phone": "13900139000"},
        {"kind": "help", "category": "utilities", "body": "停\x07水", "phone": "13900139000"},
        {"kind": "help", "category": "utilities", "body": "x" * 5001, "phone": "13900139000"},
        {"kind": "help", "category": "utilities", "body": "停水", "phone": "13900139000", "extra": 1},
        {"kind": "help", "category": "utilities", "body": "停水", "phone": "13900139000", "lat": "36"},
    ],
)
def test_web_form_bad_input_stores_nothing(app: Flask, cast: Cast, client: Any, payload: dict[str, Any]) -> None:
    before = _count(app)
    resp = client.post(f"{BASE}/requests", json=payload)
    assert resp.status_code == 422 and resp.content_type.startswith("application/problem+json")
    assert _count(app) == before


def test_hotline_needs_the_operator(app: Flask, cast: Cast, client: Any) -> None:
    call = {
        "kind": "complaint",
        "category": "environment",
        "urgent": True,
        "name": "王五",
        "phone": "0310-1234567",
        "body": "工地夜间施工噪声",
    }
    assert client.post(f"{BASE}/hotline", json=call).status_code == 401
    other = token(app, cast.handler, ["convenience.interaction.handle"])
    assert client.post(f"{BASE}/hotline", json=call, headers=_auth(other)).status_code == 403
    auth = _auth(token(app, cast.operator, [INTAKE]))
    resp = client.post(f"{BASE}/hotline", json=call, headers=_auth(token(app, cast.operator, [INTAKE])))
    assert resp.status_code == 201 and resp.json["status"] == "dispatched" and resp.json["due_on"] == "2026-12-07"
    assert client.post(f"{BASE}/hotline", json={**call, "urgent": "yes"}, headers=auth).status_code == 422
    assert client.post(f"{BASE}/hotline", json={**call, "phone": ""}, headers=auth).status_code == 422


def test_email_intake_is_bounded_and_idempotent(app: Flask, cast: Cast, client: Any) -> None:
    auth = _auth(token(app, cast.operator, [INTAKE]))
    mail = {
        "message_id": "<20261207.123@mail.example.com>",
        "sender": "citizen@example.com",
        "name": "赵六",
        "subject": "关于社保转移的咨询",
        "body": "您好：\n请问跨省社保转移需要什么手续？\n\t谢谢",
        "kind": "consultation",
        "category": "social-security",
    }
    first = client.post(f"{BASE}/email", json=mail, headers=auth)
    assert first.status_code == 201 and first.json["created"] is True
    again = client.post(f"{BASE}/email", json=mail, headers=auth)
    assert again.status_code == 201 and again.json["created"] is False
    assert again.json["reference"] == first.json["reference"]
    before = _count(app)
    hostile = [
        {**mail, "message_id": "<2@x>", "body": "a" * 5001},
        {**mail, "message_id": "<3@x>", "body": "恶意\x1b[31m控制字符"},
        {**mail, "message_id": "<4@x>", "sender": "not an address"},
        {**mail, "message_id": "<5@x>", "subject": "s" * 201},
        {**mail, "message_id": ""},
        {**mail, "message_id": "<6@x>", "category": "nope"},
    ]
    for body in hostile:
        resp = client.post(f"{BASE}/email", json=body, headers=auth)
        assert resp.status_code == 422, (body, resp.json)
    too_big = client.post(
        f"{BASE}/email",
        data=b'{"body": "' + b"a" * (1024 * 1024) + b'"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert _count(app) == before


def test_forum_import_is_idempotent_and_all_or_nothing(app: Flask, cast: Cast, client: Any) -> None:
    auth = _auth(token(app, cast.operator, [INTAKE]))
    posts = [
        {
            "post_id": "9001",
            "author": "老邯郸",
            "title": "建议公交延时",
            "body": "建议3路公交末班车延长到22点",
            "category": "traffic",
        },
        {
            "post_id": "9002",
            "author": "市民甲",
            "body": "小区垃圾清运不及时",
            "kind": "complaint",
            "category": "environment",
        },
    ]
    first = client.post(f"{BASE}/forum/import", json={"posts": posts}, headers=auth)
    assert first.status_code == 200 and first.json["created"] == 2 and first.json["existing"] == 0
    again = client.post(
        f"{BASE}/forum/import", json={"posts": [*posts, {"post_id": "9003", "body": "求助：老人走失"}]}, headers=auth
    )
    assert again.json["created"] == 1 and again.json["existing"] == 2
    assert [r["reference"] for r in again.json["requests"][:2]] == [r["reference"] for r in first.json["requests"]]
    before = _count(app)
    bad = client.post(
        f"{BASE}/forum/import",
        json={"posts": [{"post_id": "9004", "body": "好帖"}, {"post_id": "9005", "body": "\x00"}]},
        headers=auth,
    )
    assert bad.status_code == 422 and "posts.1.body" in bad.json["errors"]
    assert _count(app) == before  # the good post of the batch was not stored either
    assert client.post(f"{BASE}/forum/import", json={"posts": []}, headers=auth).status_code == 422
    many = [{"post_id": str(i), "body": "帖"} for i in range(101)]
    assert client.post(f"{BASE}/forum/import", json={"posts": many}, headers=auth).status_code == 422


def test_loop_end_to_end(app: Flask, cast: Cast, client: Any, clock: Any) -> None:
    """complaint → dispatched → replied → (督办) → closed → called back → rated, by API only."""
    from datetime import timedelta

    operator = _auth(token(app, cast.operator, [INTAKE]))
    dispatcher = _auth(token(app, cast.dispatcher, ["convenience.interaction.dispatch"]))
    handler = _auth(token(app, cast.handler, ["convenience.interaction.handle"]))
    other = _auth(token(app, cast.other_handler, ["convenience.interaction.handle"]))
    staff = f"{BASE}/staff/requests"

    made = client.post(
        f"{BASE}/hotline",
        headers=operator,
        json={
            "kind": "complaint",
            "category": "window-service",
            "name": "孙七",
            "phone": "13700137000",
            "body": "三号窗口工作人员推诿",
        },
    )
    assert made.status_code == 201 and made.json["status"] == "received"
    ref, tok = made.json["reference"], made.json["tracking_token"]
    listed = client.get(staff, headers=dispatcher)
    assert [r["reference"] for r in listed.json] == [ref]
    assert client.get(staff, query_string={"scope": "inbox"}, headers=operator).status_code == 403

    assert (
        client.post(f"{staff}/{ref}/dispatch", headers=dispatcher, json={"department": "ENV"}).json["status"]
        == "dispatched"
    )
    assert client.post(f"{staff}/{ref}/dispatch", headers=dispatcher, json={"department": "ENV"}).status_code == 409
    assert client.post(f"{staff}/{ref}/close", headers=dispatcher).status_code == 409  # not replied yet
    assert client.get(f"{staff}/{ref}", headers=other).status_code == 404  # another department
    inbox = client.get(staff, query_string={"scope": "inbox"}, headers=handler).json
    assert [r["reference"] for r in inbox] == [ref] and "【请填写】" in inbox[0]["template_reply"]
    assert client.post(f"{staff}/{ref}/take-up", headers=handler).json["status"] == "handling"
    clock.advance(timedelta(hours=2))
    pressed = client.post(f"{staff}/{ref}/press", headers=dispatcher, json={"note": "请今日答复"})
    assert pressed.status_code == 200 and pressed.json["presses"][0]["note"] == "请今日答复"
    bad_reply = client.post(f"{staff}/{ref}/reply", headers=handler, json={"reply": "\x00"})
    assert bad_reply.status_code == 422
    replied = client.post(
        f"{staff}/{ref}/reply", headers=handler, json={"reply": "已核实并批评教育当事人，三号窗口已整改。"}
    )
    assert replied.status_code == 200 and replied.json["status"] == "replied"
    assert client.post(f"{staff}/{ref}/close", headers=dispatcher).json["status"] == "closed"
    assert client.post(f"{staff}/{ref}/callbacks", headers=dispatcher, json={"reached": True}).status_code == 403
    callbacks = client.get(staff, query_string={"scope": "callbacks"}, headers=operator).json
    assert [r["reference"] for r in callbacks] == [ref]
    called = client.post(
        f"{staff}/{ref}/callbacks", headers=operator, json={"reached": True, "satisfied": True, "note": "群众表示满意"}
    )
    assert called.status_code == 201 and called.json["status"] == "called_back"

    rated = client.post(
        "/api/v1/convenience/ratings",
        json={"kind": "interaction", "reference": ref, "token": tok, "level": "very_satisfied"},
    )
    assert (
        rated.status_code == 201 and rated.json["kind"] == "interaction" and rated.json["department"] == "市生态环境局"
    )
    twice = client.post(
        "/api/v1/convenience/ratings",
        json={"kind": "interaction", "reference": ref, "token": tok, "level": "satisfied"},
    )
    assert twice.status_code == 409
    seen = client.get(f"{BASE}/requests/{ref}", query_string={"token": tok}).json
    assert (
        seen["rating"] == "very_satisfied" and seen["open311_status"] == "closed" and seen["reply"].startswith("已核实")
    )

    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        subject = f"convenience.interaction:{ref}"
        logged = list(
            db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.subject == subject).order_by(AuditEntry.index)
            )
        )
    assert logged == [
        "convenience.interaction.received",
        "convenience.interaction.dispatched",
        "convenience.interaction.handling",
        "convenience.interaction.pressed",
        "convenience.interaction.replied",
        "convenience.interaction.closed",
        "convenience.interaction.called_back",
    ]


def test_categories_and_openapi(app: Flask, cast: Cast, client: Any) -> None:
    codes = [c["code"] for c in client.get(f"{BASE}/categories").json]
    assert "environment" in codes and "other" in codes and len(codes) == 10
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/requests", "/hotline", "/email", "/forum/import", "/staff/requests/{reference}/reply"):
        assert f"{BASE}{path}" in paths
