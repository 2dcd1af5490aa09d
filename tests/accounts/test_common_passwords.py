"""Common and breached passwords are refused wherever a password is set: the admin's new user, the user's
own change, the CLI; generated passwords (admin, CLI, demo seeding) always pass."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.accounts import services_passwords
from app.accounts.cli import accounts_cli
from app.accounts.models import User
from app.accounts.services_passwords import common_passwords, generate_password, is_common_password, password_problems
from app.core.time import FakeClock
from app.extensions import db
from tests.accounts.helpers import PASSWORD, login, make_user, post_form

COMMON = [
    "password123",
    "Password1!",
    "PASSWORD123",
    "P@ssw0rd",
    "P@ssw0rd2024!",
    "qwertyuiop",
    "Qwertyuiop1",
    "iloveyou2024!",
    "!!dragon2024",
    "1234567890",
    "football#1",
    "baseball1234",
]
MESSAGE = "a common password that attackers try first; choose a phrase of your own"


def test_the_list_is_the_bundled_one() -> None:
    assert len(common_passwords()) > 20_000
    assert {"password", "123456", "qwerty", "dragon"} <= common_passwords()


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_and_their_usual_variants_are_refused(password: str) -> None:
    assert is_common_password(password)
    assert MESSAGE in password_problems(password)


@pytest.mark.parametrize(
    "password", [PASSWORD, "a perfectly fine passphrase", "zH8_kq-0Lm2x", "Tr0ub4dor&3", "邯郸市公共资源交易2026"]
)
def test_uncommon_passwords_pass(password: str) -> None:
    assert not is_common_password(password)
    assert password_problems(password) == []


def test_generated_passwords_always_pass() -> None:
    for _ in range(200):
        assert password_problems(generate_password()) == []


def _admin(app: Flask, client, lang: str = "en") -> None:  # type: ignore[no-untyped-def]
    _uid, secret = make_user(app, "root", ["admin"], totp=True)
    assert login(client, "root", totp_secret=secret).status_code == 303
    post_form(client, "/lang", {"lang": lang})


def _users(app: Flask, name: str) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(User).where(User.username == name)) or 0)


@pytest.mark.parametrize("password", ["password123", "Password1!"])
def test_the_admin_cannot_give_a_new_user_a_common_password(app: Flask, client, clock: FakeClock, password) -> None:  # type: ignore[no-untyped-def]
    _admin(app, client)
    data = {"username": "wendy", "display_name": "W", "roles": ["bidder"], "organisation_id": "0", "password": password}
    resp = post_form(client, "/admin/users/new", data)
    assert resp.status_code == 422
    assert MESSAGE in resp.get_data(as_text=True)
    assert _users(app, "wendy") == 0
    # the same in Chinese
    post_form(client, "/lang", {"lang": "zh_CN"})
    resp = post_form(client, "/admin/users/new", data)
    assert resp.status_code == 422 and "常见密码" in resp.get_data(as_text=True)
    assert _users(app, "wendy") == 0
    # left blank, the platform generates one, which passes
    resp = post_form(client, "/admin/users/new", {**data, "password": ""})
    assert resp.status_code == 201 and _users(app, "wendy") == 1


@pytest.mark.parametrize("password", ["password123", "Password1!"])
def test_a_user_cannot_change_to_a_common_password(app: Flask, client, clock: FakeClock, password) -> None:  # type: ignore[no-untyped-def]
    make_user(app, "mia", ["bidder"])
    login(client, "mia")
    post_form(client, "/lang", {"lang": "en"})
    resp = post_form(client, "/account/password", {"current": PASSWORD, "new": password, "confirm": password})
    assert resp.status_code == 422 and MESSAGE in resp.get_data(as_text=True)
    assert login(app.test_client(), "mia", PASSWORD).status_code == 303  # unchanged
    assert login(app.test_client(), "mia", password).status_code == 401


def test_the_cli_refuses_a_common_password_and_generates_good_ones(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(accounts_cli, ["create-user", "yuri", "--role", "expert", "--password", "Password1!"])
    assert result.exit_code != 0 and "common password" in result.output, result.output
    assert _users(app, "yuri") == 0
    result = runner.invoke(accounts_cli, ["create-user", "zoe", "--role", "bidder"])
    assert result.exit_code == 0 and "password: " in result.output


def test_the_service_refuses_it_for_every_caller(app_ctx: Flask) -> None:
    from app.accounts import services_users
    from app.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        services_users.create_user(actor="test", username="api-user", display_name="x", password="Password1!", roles=[])
    assert exc.value.extra["errors"]["password"] == [MESSAGE]
    assert services_passwords.check_password("a perfectly fine passphrase", "api-user") is None
