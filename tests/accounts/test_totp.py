"""TOTP: enrolment with a QR code, the sign-in step, replay refusal, and enforcement for roles that require it."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from flask import Flask
from sqlalchemy import select

from app.accounts import services_login, services_totp
from app.accounts.models import User
from app.core.time import FakeClock
from app.extensions import db
from tests.accounts.helpers import PASSWORD, csrf_from, login, make_user, next_totp, post_form
from tests.html import parse


def _secret_on_page(html: str) -> str:
    secret = parse(html).by_id("totp-secret").text
    assert secret and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), secret  # base32
    return secret


def test_enrolment_through_the_page(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    uid, _ = make_user(app, "nina", ["bidder"])
    login(client, "nina")
    page = client.get("/account/totp")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and parse(html).select("svg") and page.headers["Cache-Control"] == "no-store"
    secret = _secret_on_page(html)
    with app.app_context():
        user = db.session.get(User, uid)
        assert secret not in (user.totp_secret_enc or "")  # stored encrypted
        assert not user.totp_enabled
    resp = post_form(client, "/account/totp", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert resp.status_code == 422
    resp = post_form(client, "/account/totp", {"code": pyotp.TOTP(secret).at(clock.now())})
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.get(User, uid).totp_enabled
    # Once on, the secret is never shown again.
    assert secret not in client.get("/account/totp").get_data(as_text=True)


def test_sign_in_asks_for_the_code(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _uid, secret = make_user(app, "olga", ["bidder"], totp=True)
    assert secret
    token = csrf_from(client.get("/login").data)
    resp = client.post("/login", data={"username": "olga", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login/totp")
    assert client.get("/account").status_code == 302  # not signed in yet
    token = csrf_from(client.get("/login/totp").data)
    assert client.post("/login/totp", data={"code": "12345", "csrf_token": token}).status_code == 400
    code = next_totp(secret)
    assert client.post("/login/totp", data={"code": code, "csrf_token": token}).status_code == 303
    assert client.get("/account").status_code == 200
    # The same code cannot be replayed within its window.
    other = app.test_client()
    token = csrf_from(other.get("/login").data)
    other.post("/login", data={"username": "olga", "password": PASSWORD, "csrf_token": token})
    token = csrf_from(other.get("/login/totp").data)
    assert other.post("/login/totp", data={"code": code, "csrf_token": token}).status_code == 401


def test_pending_totp_step_expires(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "pat", ["bidder"], totp=True)
    token = csrf_from(client.get("/login").data)
    client.post("/login", data={"username": "pat", "password": PASSWORD, "csrf_token": token})
    clock.advance(services_login.PENDING_TOTP_LIFETIME + timedelta(seconds=1))
    resp = client.get("/login/totp")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")


def test_wrong_codes_count_towards_lockout(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _uid, secret = make_user(app, "quinn", ["bidder"], totp=True)
    token = csrf_from(client.get("/login").data)
    client.post("/login", data={"username": "quinn", "password": PASSWORD, "csrf_token": token})
    token = csrf_from(client.get("/login/totp").data)
    statuses = [
        client.post("/login/totp", data={"code": "000001", "csrf_token": token}).status_code
        for _ in range(app.config["LOGIN_MAX_FAILURES"])
    ]
    assert statuses[:-1] == [401] * (len(statuses) - 1) and statuses[-1] == 429
    assert login(client, "quinn", totp_secret=secret).status_code == 429


def test_role_requiring_totp_blocks_everything_until_set_up(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "rita", ["auditor"])  # auditors must use TOTP
    resp = login(client, "rita")
    assert resp.status_code == 303
    resp = client.get("/account")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/totp")
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and api.mimetype == "application/problem+json"
    page = client.get("/account/totp").get_data(as_text=True)
    assert "requires two-step verification" in page or "要求启用两步验证" in page
    secret = _secret_on_page(page)
    assert post_form(client, "/account/totp", {"code": pyotp.TOTP(secret).at(clock.now())}).status_code == 303
    assert client.get("/account").status_code == 200


def test_admin_reset_totp(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    uid, _secret = make_user(app, "sam", ["bidder"], totp=True)
    with app.app_context():
        services_totp.reset_totp(actor="test", user=db.session.get(User, uid))
        db.session.commit()
        user = db.session.scalar(select(User).where(User.username == "sam"))
        assert not user.totp_enabled and user.totp_secret_enc is None
    assert login(client, "sam").status_code == 303  # no TOTP step any more
