"""Sign-in: passwords (argon2), generic errors, lockout and unlock on the platform clock, throttling, sessions."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import select

from app.accounts import services_passwords, services_users
from app.accounts.common import sha256_hex
from app.accounts.models import LoginAttempt, User, UserSession
from app.accounts.services_passwords import password_problems
from app.core.time import FakeClock
from app.extensions import db
from tests.accounts.helpers import PASSWORD, csrf, csrf_from, login, make_user, post_form

GENERIC = "Sign-in failed: the user name, password or code is not correct."


def _en(client) -> None:  # type: ignore[no-untyped-def]
    post_form(client, "/lang", {"lang": "en"})


def test_password_hash_is_argon2id_and_verifies(app_ctx: Flask) -> None:
    h = services_passwords.hash_password("a long enough secret")
    assert h.startswith("$argon2id$")
    assert services_passwords.hasher().verify(h, "a long enough secret")
    assert password_problems("short") and password_problems("alice-password", username="alice")
    assert password_problems("aaaaaaaaaaaa") == ["too few different characters"]
    assert password_problems("a perfectly fine passphrase") == []


def test_old_parameters_are_rehashed_on_sign_in(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    uid, _ = make_user(app, "rehash", ["bidder"])
    weak = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)  # not the configured ones
    with app.app_context():
        db.session.get(User, uid).password_hash = weak
        db.session.commit()
    assert login(client, "rehash").status_code == 303
    with app.app_context():
        stored = db.session.get(User, uid).password_hash
        assert stored != weak and not services_passwords.hasher().check_needs_rehash(stored)


def test_sign_in_and_out(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "alice", ["bidder"])
    anonymous_cookie = client.get_cookie("session").value if client.get_cookie("session") else None
    resp = login(client, "alice")
    assert resp.status_code == 303
    assert client.get("/account").status_code == 200
    with client.session_transaction() as sess:
        sid = sess["sid"]
        assert sess["_user_id"] == str(db_user_id(app, "alice"))
    assert client.get_cookie("session").value != anonymous_cookie
    resp = post_form(client, "/logout")
    assert resp.status_code == 303
    with client.session_transaction() as sess:
        assert "sid" not in sess and "_user_id" not in sess
    with app.app_context():
        row = db.session.scalar(select(UserSession).where(UserSession.sid_hash == sha256_hex(sid)))
        assert row is not None and row.revoked_at == clock.now()
    assert client.get("/account").status_code == 302  # back to the sign-in page


def db_user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_stolen_cookie_is_dead_after_sign_out(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "bob", ["bidder"])
    login(client, "bob")
    with client.session_transaction() as sess:
        stolen = dict(sess)
    post_form(client, "/logout")
    with client.session_transaction() as sess:
        sess.update(stolen)
    resp = client.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_session_expires_on_the_platform_clock(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "carol", ["bidder"])
    login(client, "carol")
    clock.advance(app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(seconds=1))
    assert client.get("/account").status_code == 302


def test_errors_do_not_reveal_which_part_was_wrong(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "dave", ["bidder"])
    _en(client)
    wrong_password = login(client, "dave", "not the password at all")
    unknown_user = login(client, "nobody-here", PASSWORD)
    for resp in (wrong_password, unknown_user):
        assert resp.status_code == 401
        assert GENERIC in resp.get_data(as_text=True)
    zh = app.test_client()
    resp = login(zh, "dave", "wrong wrong wrong")
    assert "登录失败" in resp.get_data(as_text=True)


def test_lockout_after_max_failures_and_expiry(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "erin", ["bidder"])
    _en(client)
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        assert login(client, "erin", "bad password 123").status_code == 401
        clock.advance(timedelta(seconds=10))
    resp = login(client, "erin", "bad password 123")
    assert resp.status_code == 429 and "Too many failed attempts" in resp.get_data(as_text=True)
    # Even the right password is refused while locked, without being checked.
    assert login(client, "erin").status_code == 429
    clock.advance(app.config["LOGIN_LOCKOUT"] - timedelta(seconds=1))
    assert login(client, "erin").status_code == 429
    clock.advance(timedelta(seconds=2))
    assert login(client, "erin").status_code == 303
    with app.app_context():
        outcomes = [a.outcome.value for a in db.session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))]
    assert outcomes == ["failure"] * limit + ["locked", "locked", "success"]


def test_failures_spread_beyond_the_window_do_not_lock(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "frank", ["bidder"])
    limit = app.config["LOGIN_MAX_FAILURES"]
    step = app.config["LOGIN_FAILURE_WINDOW"] / (limit - 1) + timedelta(seconds=1)
    for _ in range(limit + 1):
        assert login(client, "frank", "bad password 123").status_code == 401
        clock.advance(step)
    assert login(client, "frank").status_code == 303


def test_unknown_names_lock_the_same_way(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "ghost", "bad password 123")
    assert login(client, "ghost", "bad password 123").status_code == 429


def test_admin_unlocks(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    uid, _ = make_user(app, "gina", ["bidder"])
    _admin, secret = make_user(app, "root", ["admin"], totp=True)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(client, "gina", "bad password 123")
    assert login(client, "gina").status_code == 429
    admin = app.test_client()
    assert login(admin, "root", totp_secret=secret).status_code == 303
    page = admin.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert f"/admin/users/{uid}/unlock" in page
    assert post_form(admin, f"/admin/users/{uid}/unlock").status_code == 303
    clock.advance(timedelta(seconds=1))
    assert login(client, "gina").status_code == 303


def test_per_address_throttle(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    app.config["LOGIN_IP_MAX_FAILURES"] = 6
    make_user(app, "hank", ["bidder"])
    for i in range(6):  # different names, same address: no account lockout, but the address is throttled
        assert login(client, f"spray{i}", "bad password 123").status_code == 401
    assert login(client, "hank").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert login(other, "hank").status_code == 303
    clock.advance(app.config["LOGIN_FAILURE_WINDOW"] + timedelta(seconds=1))
    assert login(client, "hank").status_code == 303


def test_inactive_user_cannot_sign_in_and_is_signed_out(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    uid, _ = make_user(app, "ivan", ["bidder"])
    assert login(client, "ivan").status_code == 303
    with app.app_context():
        services_users.set_active(actor="test", user=db.session.get(User, uid), active=False)
        db.session.commit()
    assert client.get("/account").status_code == 302
    assert login(client, "ivan").status_code == 401


def test_csrf_is_enforced_on_forms(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    # TESTING=True does not switch CSRF off; only WTF_CSRF_ENABLED=False would.
    assert app.config["TESTING"] and app.config.get("WTF_CSRF_ENABLED", True)
    make_user(app, "judy", ["bidder"])
    client.get("/login")
    resp = client.post("/login", data={"username": "judy", "password": PASSWORD})
    assert resp.status_code == 400
    login(client, "judy")
    resp = client.post("/account/profile", data={"display_name": "Changed"})
    assert resp.status_code == 400
    resp = client.post("/account/profile", data={"display_name": "Changed", "csrf_token": "forged"})
    assert resp.status_code == 400
    resp = post_form(client, "/account/profile", {"display_name": "Changed"})
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(User.display_name).where(User.username == "judy")) == "Changed"


def test_new_csrf_token_after_sign_in(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "kate", ["bidder"])
    before = csrf(client)
    login(client, "kate")
    after = csrf(client)
    assert before != after
    assert client.post("/account/profile", data={"display_name": "X", "csrf_token": before}).status_code == 400


def test_next_parameter_is_same_site_only(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "leo", ["bidder"])
    token = csrf_from(client.get("/login").data)
    resp = client.post(
        "/login?next=https://evil.example/", data={"username": "leo", "password": PASSWORD, "csrf_token": token}
    )
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    redirect = app.test_client().get("/account")
    assert redirect.status_code == 302 and "next=/account" in redirect.headers["Location"]


def test_change_password_ends_other_sessions(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "mia", ["bidder"])
    other = app.test_client()
    login(client, "mia")
    login(other, "mia")
    new = "another long passphrase"
    resp = post_form(client, "/account/password", {"current": PASSWORD, "new": new, "confirm": new})
    assert resp.status_code == 303
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    assert login(app.test_client(), "mia", new).status_code == 303
    resp = post_form(client, "/account/password", {"current": "wrong", "new": "x" * 12, "confirm": "x" * 12})
    assert resp.status_code == 422
