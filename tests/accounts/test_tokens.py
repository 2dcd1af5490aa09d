"""API tokens: creation with a password (and TOTP), use, scopes, expiry, revocation, and problem-JSON errors."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.accounts.models import ApiToken
from app.core.security import requires
from app.core.time import FakeClock
from app.extensions import db
from tests.accounts.helpers import PASSWORD, login, make_user, next_totp, post_form
from tests.html import parse


def _create(client: Any, **body: Any) -> Any:
    payload = {"username": "tess", "password": PASSWORD, "name": "ci", "scopes": ["*"], **body}
    return client.post("/api/v1/auth/tokens", json=payload)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"] and "/problems/" in body["type"]
    assert body["instance"] == resp.request.path
    return body


@pytest.fixture
def probe(app: Flask) -> Flask:
    @app.get("/api/v1/test-probe/audit")
    @requires("audit.read")
    def probe_audit() -> dict[str, str]:
        return {"ok": "audit"}

    return app


def test_create_use_and_list(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    resp = _create(client, expires_in_days=10)
    assert resp.status_code == 201
    body = resp.get_json()
    token = body["token"]
    assert token.startswith(f"scp_{body['prefix']}_") and len(token) > 40
    assert body["scopes"] == ["*"]
    with app.app_context():
        row = db.session.get(ApiToken, body["id"])
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token.split("_", 2)[2] not in row.token_hash
        assert row.expires_at == clock.now() + timedelta(days=10)
    me = client.get("/api/v1/me", headers=_bearer(token))
    assert me.status_code == 200
    assert me.get_json()["username"] == "tess" and me.get_json()["auth_method"] == "token"
    listed = client.get("/api/v1/auth/tokens", headers=_bearer(token)).get_json()
    assert [t["prefix"] for t in listed] == [body["prefix"]]
    assert all("token" not in t for t in listed) and token not in str(listed)
    with app.app_context():
        assert db.session.get(ApiToken, body["id"]).last_used_at == clock.now()


def test_bearer_tokens_do_not_open_html_pages(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    token = _create(client).get_json()["token"]
    assert client.get("/account", headers=_bearer(token)).status_code == 302


def test_token_writes_need_no_csrf(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    first = _create(client).get_json()
    second = _create(client, name="other").get_json()
    resp = client.delete(f"/api/v1/auth/tokens/{second['id']}", headers=_bearer(first["token"]))
    assert resp.status_code == 204
    _assert_problem(client.get("/api/v1/me", headers=_bearer(second["token"])), 401)


def test_revoked_and_expired_tokens_get_401(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    token = _create(client, expires_in_days=1).get_json()
    assert client.get("/api/v1/me", headers=_bearer(token["token"])).status_code == 200
    clock.advance(timedelta(days=1))
    body = _assert_problem(client.get("/api/v1/me", headers=_bearer(token["token"])), 401)
    assert "expired" in body["detail"]
    other = _create(client).get_json()
    assert client.delete(f"/api/v1/auth/tokens/{other['id']}", headers=_bearer(other["token"])).status_code == 204
    resp = client.get("/api/v1/me", headers=_bearer(other["token"]))
    assert "revoked" in _assert_problem(resp, 401)["detail"]
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    tampered = other["token"][:-2] + ("AA" if not other["token"].endswith("AA") else "BB")
    _assert_problem(client.get("/api/v1/me", headers=_bearer(tampered)), 401)
    _assert_problem(client.get("/api/v1/me", headers=_bearer("scp_nothing")), 401)
    _assert_problem(client.get("/api/v1/me"), 401)


@pytest.mark.fresh_app  # the probe adds a route
def test_scopes_limit_what_a_token_can_do(app: Flask, client, probe: Flask, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _uid, secret = make_user(app, "tess", ["auditor"], totp=True)
    narrow = _create(client, scopes=["accounts.self"], totp=next_totp(secret)).get_json()["token"]
    wide = _create(client, scopes=["audit.*"], totp=next_totp(secret)).get_json()["token"]
    assert client.get("/api/v1/test-probe/audit", headers=_bearer(wide)).status_code == 200
    _assert_problem(client.get("/api/v1/test-probe/audit", headers=_bearer(narrow)), 403)
    assert client.get("/api/v1/auth/tokens", headers=_bearer(narrow)).status_code == 200
    _assert_problem(client.get("/api/v1/auth/tokens", headers=_bearer(wide)), 403)
    # A scope never adds a permission the roles lack.
    make_user(app, "ulla", ["bidder"])
    star = _create(client, username="ulla").get_json()["token"]
    _assert_problem(client.get("/api/v1/test-probe/audit", headers=_bearer(star)), 403)


def test_totp_users_need_the_code(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _uid, secret = make_user(app, "tess", ["bidder"], totp=True)
    _assert_problem(_create(client), 401)
    _assert_problem(_create(client, totp="000000"), 401)
    assert _create(client, totp=next_totp(secret)).status_code == 201


def test_users_who_must_enrol_cannot_make_tokens(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["admin"])
    _assert_problem(_create(client), 403)


def test_bad_credentials_and_lockout(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    unknown = _assert_problem(_create(client, username="nobody"), 401)
    wrong = _assert_problem(_create(client, password="wrong password"), 401)
    assert unknown["detail"] == wrong["detail"]
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 2):  # the unknown name's failure counts for "nobody"
        _create(client, password="wrong password")
    _assert_problem(_create(client, password="wrong password"), 429)  # the fifth failure locks
    body = _assert_problem(_create(client), 429)
    assert body["retry_at"]
    # The sign-in page shares the lockout.
    assert login(app.test_client(), "tess").status_code == 429


def test_validation_problems(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    body = _assert_problem(_create(client, scopes=["no.such.permission"]), 422)
    assert "scopes" in body["errors"]["json"]
    _assert_problem(_create(client, scopes=[]), 422)
    _assert_problem(_create(client, expires_in_days=0), 422)
    _assert_problem(_create(client, expires_in_days=400), 422)  # beyond API_TOKEN_MAX_TTL
    _assert_problem(_create(client, username="te\x00ss"), 422)
    malformed = _assert_problem(
        client.post("/api/v1/auth/tokens", data="{not json", content_type="application/json"), 400
    )
    assert malformed["type"].endswith("/problems/malformed-json")
    token = _create(client).get_json()["token"]
    _assert_problem(client.delete("/api/v1/auth/tokens/999999", headers=_bearer(token)), 404)
    _assert_problem(client.delete(f"/api/v1/auth/tokens/{2**63}", headers=_bearer(token)), 404)


def test_others_tokens_are_not_found(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    make_user(app, "vera", ["bidder"])
    mine = _create(client).get_json()
    theirs = _create(client, username="vera").get_json()
    _assert_problem(client.delete(f"/api/v1/auth/tokens/{theirs['id']}", headers=_bearer(mine["token"])), 404)
    assert client.get("/api/v1/me", headers=_bearer(theirs["token"])).status_code == 200


def test_account_page_creates_and_revokes(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    login(client, "tess")
    resp = post_form(
        client, "/account/tokens", {"name": "laptop", "expires_in_days": "30", "scopes": ["accounts.self"]}
    )
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    html = resp.get_data(as_text=True)
    token = parse(html).by_id("new-token").text
    api = app.test_client()  # no session cookie: the bearer token alone
    assert api.get("/api/v1/me", headers=_bearer(token)).get_json()["auth_method"] == "token"
    assert token not in client.get("/account").get_data(as_text=True)  # shown once
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "laptop"))
    assert post_form(client, f"/account/tokens/{token_id}/revoke").status_code == 303
    assert api.get("/api/v1/me", headers=_bearer(token)).status_code == 401


def test_a_token_cannot_carry_a_scope_its_user_lacks(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    for scopes, lacking in ((["audit.read"], ["audit.read"]), (["accounts.self", "audit.*"], ["audit.*"])):
        body = _assert_problem(_create(client, scopes=scopes), 403)
        assert body["errors"] == {"scopes": lacking}
        assert all(repr(s) in body["detail"] for s in lacking)
    with app.app_context():
        assert db.session.scalars(select(ApiToken)).all() == []  # nothing was created
    # what the roles grant, a wildcard covering some of it, and the scopes decided per object are fine
    for scopes in (["tendering.bid"], ["tendering.*"], ["*"], ["tendering.custody", "evaluation.committee"]):
        assert _create(client, scopes=scopes).status_code == 201, scopes


def test_account_page_offers_and_accepts_only_held_scopes(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "tess", ["bidder"])
    login(client, "tess")
    html = client.get("/account").get_data(as_text=True)
    assert 'value="tendering.bid"' in html and 'value="tendering.custody"' in html
    assert 'value="audit.read"' not in html
    resp = post_form(client, "/account/tokens", {"name": "sneaky", "expires_in_days": "30", "scopes": ["audit.read"]})
    assert resp.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ApiToken.id).where(ApiToken.name == "sneaky")) is None
    resp = post_form(
        client, "/account/tokens", {"name": "custody", "expires_in_days": "30", "scopes": ["tendering.custody"]}
    )
    assert resp.status_code == 201
