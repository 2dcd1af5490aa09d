"""Administration pages (users, organisations with USCC validation, roles), the CLI and demo accounts."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from app.accounts import services_demo, services_roles
from app.accounts.cli import accounts_cli
from app.accounts.models import Organisation, Role, User
from app.core.time import FakeClock
from app.extensions import db
from tests.accounts.helpers import PASSWORD, login, make_user, post_form
from tests.html import parse


def _admin(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    _uid, secret = make_user(app, "root", ["admin"], totp=True)
    assert login(client, "root", totp_secret=secret).status_code == 303
    post_form(client, "/lang", {"lang": "en"})


def test_organisation_needs_a_valid_uscc(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _admin(app, client)
    resp = post_form(client, "/admin/organisations", {"name": "Acme", "kind": "bidder", "uscc": ""})
    assert resp.status_code == 422 and "required for this kind" in resp.get_data(as_text=True)
    resp = post_form(client, "/admin/organisations", {"name": "Acme", "kind": "bidder", "uscc": "91330100716105852G"})
    assert resp.status_code == 422 and "check character (18th) is wrong" in resp.get_data(as_text=True)
    resp = post_form(client, "/admin/organisations", {"name": "Acme", "kind": "bidder", "uscc": "91330100716105852f"})
    assert resp.status_code == 303
    resp = post_form(client, "/admin/organisations", {"name": "Acme 2", "kind": "agency", "uscc": "91330100716105852F"})
    assert resp.status_code == 409
    assert post_form(client, "/admin/organisations", {"name": "Office", "kind": "center"}).status_code == 303
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.name == "Acme"))
        assert org.uscc == "91330100716105852F"


def test_create_user_assign_roles_deactivate(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _admin(app, client)
    resp = post_form(
        client,
        "/admin/users/new",
        {"username": "Wendy", "display_name": "Wendy W", "roles": ["bidder"], "organisation_id": "0"},
    )
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    shown = parse(resp).by_id("initial-password")
    assert "token" in shown.classes
    password = shown.text
    assert login(app.test_client(), "wendy", password).status_code == 303
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "wendy"))
    resp = post_form(
        client,
        f"/admin/users/{uid}",
        {"display_name": "Wendy W", "roles": ["bidder", "expert"], "organisation_id": "0"},
    )
    assert resp.status_code == 303
    with app.app_context():
        assert sorted(r.name for r in db.session.get(User, uid).roles) == ["bidder", "expert"]
    assert post_form(client, f"/admin/users/{uid}/deactivate").status_code == 303
    assert login(app.test_client(), "wendy", password).status_code == 401
    assert post_form(client, f"/admin/users/{uid}/activate").status_code == 303
    assert login(app.test_client(), "wendy", password).status_code == 303
    assert client.get("/admin/users/999999").status_code == 404
    assert client.get("/admin/users").status_code == 200


def test_reset_password_page(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]

    _admin(app, client)
    uid, _s = make_user(app, "wendy", ["bidder"])
    assert "reset-password" in client.get(f"/admin/users/{uid}").get_data(as_text=True)
    resp = post_form(client, f"/admin/users/{uid}/reset-password")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    shown = parse(resp).by_id("new-password")
    assert "token" in shown.classes
    password = shown.text
    assert login(app.test_client(), "wendy", PASSWORD).status_code == 401
    assert login(app.test_client(), "wendy", password).status_code == 303
    # one's own password is changed on the account page, with the current one
    with app.app_context():
        root = db.session.scalar(select(User.id).where(User.username == "root"))
    resp = post_form(client, f"/admin/users/{root}/reset-password", follow_redirects=True)
    assert "Change your own password with your current password." in resp.get_data(as_text=True)
    assert login(app.test_client(), "root", PASSWORD).status_code == 303


def test_last_admin_cannot_be_removed(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _admin(app, client)
    with app.app_context():
        uid = db.session.scalar(select(User.id).where(User.username == "root"))
    post_form(client, f"/admin/users/{uid}/deactivate")
    with app.app_context():
        assert db.session.get(User, uid).active


def test_role_permissions_are_data(app: Flask, client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    _admin(app, client)
    make_user(app, "xena", ["bidder"])
    with app.app_context():
        role_id = db.session.scalar(select(Role.id).where(Role.name == "bidder"))
    resp = post_form(
        client,
        f"/admin/roles/{role_id}",
        {"label_en": "Bidder", "label_zh": "投标人", "permissions": ["accounts.self", "audit.read"]},
    )
    assert resp.status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "xena"))
        assert user.has_permission("audit.read")
    assert client.get("/admin/roles").status_code == 200


def test_seed_is_idempotent_and_respects_removals(app_ctx: Flask) -> None:
    role = db.session.scalar(select(Role).where(Role.name == "auditor"))
    assert {"accounts.self", "audit.read"} <= set(role.permissions) and role.requires_totp
    role.permissions = ["accounts.self"]
    db.session.commit()
    services_roles.seed_roles()
    db.session.commit()
    assert db.session.scalar(select(Role).where(Role.name == "auditor")).permissions == ["accounts.self"]
    assert db.session.scalar(select(Role.id).where(Role.name == "expert")) is not None


def test_cli_create_user(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(accounts_cli, ["create-user", "yuri", "--role", "expert", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    result = runner.invoke(accounts_cli, ["create-user", "zoe", "--role", "bidder"])
    assert result.exit_code == 0 and "password: " in result.output
    result = runner.invoke(accounts_cli, ["create-user", "zed", "--role", "nosuchrole"])
    assert result.exit_code != 0 and "Unknown role" in result.output
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "yuri")).has_role("expert")


def test_seed_demo_accounts(app: Flask, clock: FakeClock) -> None:
    with app.app_context():
        created = services_demo.seed_demo_accounts()
        db.session.commit()
        assert sorted(role for _u, role, _p in created) == sorted(
            [
                "admin",
                "agency",
                "auditor",
                "bidder",
                "department_handler",
                "dispatcher",
                "duty_leader",
                "expert",
                "hotline_operator",
                "household_admin",
                "household_provider",
                "permits_clerk",
                "permits_reviewer",
                "supervisor",
                "window_staff",
            ]
        )
        assert services_demo.seed_demo_accounts() == []
        bidder = db.session.scalar(select(User).where(User.username == "bidder"))
        assert bidder.organisation is not None and bidder.organisation.uscc
    password = dict((u, p) for u, _r, p in created)["bidder"]
    assert login(app.test_client(), "bidder", password).status_code == 303


def test_health_and_language(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    assert "登录" in client.get("/").get_data(as_text=True)
    post_form(client, "/lang", {"lang": "en", "next": "https://evil.example/"})
    page = client.get("/").get_data(as_text=True)
    assert "Sign in" in page and 'lang="en"' in page
    assert client.post("/lang", data={"lang": "zh_CN"}).status_code == 400  # CSRF
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Sign in" in page


def test_html_errors_are_pages_and_api_errors_problem_json(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/admin/users", headers={"Accept": "application/json"})
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    resp = client.get("/no/such/page")
    assert resp.status_code == 404 and resp.mimetype == "text/html" and parse(resp).one("h1").text.startswith("404 ")
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404 and resp.get_json()["status"] == 404
