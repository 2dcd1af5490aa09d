"""Helpers shared by the accounts, permission-matrix and browser tests: users, CSRF tokens, sign-in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask

from app.core import time as clock_mod
from tests import factories
from tests.factories import PASSWORD
from tests.html import parse

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
    return factories.user(app, username, roles=roles, password=password, totp=totp, organisation_id=organisation_id)


def next_totp(secret: str) -> str:
    """A code for the next 30-second step: each step is accepted once, so move a fake clock past the last."""
    clock = clock_mod._clock
    if isinstance(clock, clock_mod.FakeClock):
        clock.advance(timedelta(seconds=30))
        return pyotp.TOTP(secret).at(clock.now())
    raise RuntimeError("next_totp needs the FakeClock")


def csrf_from(html: bytes | str) -> str:
    """The page's CSRF token (its <meta name="csrf-token"> or a form's hidden csrf_token field)."""
    return parse(html).csrf_token()


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
