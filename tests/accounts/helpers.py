"""Helpers shared by the accounts, permission-matrix and browser tests: users, CSRF tokens, sign-in."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask

from app.core import time as clock_mod

PASSWORD = "correct horse battery staple"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "app" / "translations"


def compile_translations() -> None:
    """Compile the .po catalogues when the .mo is missing or stale (the Makefile does it for `make run`)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        with mo.open("wb") as fh:
            write_mo(fh, catalog)


def make_user(
    app: Flask,
    username: str,
    roles: list[str],
    *,
    password: str = PASSWORD,
    totp: bool = False,
    organisation_id: int | None = None,
) -> tuple[int, str | None]:
    """Create a user through the services (committed); with `totp`, enrol an authenticator. Returns (id, secret)."""
    from app.accounts import services_totp, services_users
    from app.extensions import db

    with app.app_context():
        user = services_users.create_user(
            actor="test",
            username=username,
            display_name=username.title(),
            password=password,
            roles=roles,
            organisation_id=organisation_id,
        )
        secret = None
        if totp:
            services_totp.begin_totp_enrolment(user)
            secret = services_totp.totp_secret_for_display(user)
            services_totp.confirm_totp_enrolment(user, pyotp.TOTP(secret).at(clock_mod.now_utc()))
        db.session.commit()
        return user.id, secret


def next_totp(secret: str) -> str:
    """A code for the next 30-second step: each step is accepted once, so move a fake clock past the last."""
    clock = clock_mod._clock
    if isinstance(clock, clock_mod.FakeClock):
        clock.advance(timedelta(seconds=30))
        return pyotp.TOTP(secret).at(clock.now())
    raise RuntimeError("next_totp needs the FakeClock")


def csrf_from(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    m = re.search(r'name="csrf-token" content="([^"]+)"', text) or re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', text
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


def csrf(client: Any) -> str:
    return csrf_from(client.get("/").data)


def login(client: Any, username: str, password: str = PASSWORD, *, totp_secret: str | None = None) -> Any:
    """Sign in through the real form (and the TOTP step); returns the last response."""
    token = csrf_from(client.get("/login").data)
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    if totp_secret is not None and resp.status_code == 303 and "/login/totp" in resp.headers.get("Location", ""):
        token = csrf_from(client.get("/login/totp").data)
        resp = client.post("/login/totp", data={"code": next_totp(totp_secret), "csrf_token": token})
    return resp


def post_form(client: Any, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    payload = {"csrf_token": csrf(client), **(data or {})}
    return client.post(url, data=payload, **kw)
