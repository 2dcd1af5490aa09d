"""Every endpoint of every module × every seeded role (and anonymous): allowed or refused, as the table says.

An endpoint missing from EXPECTED fails the test: a module that adds routes adds its rows here.
Only "allowed vs refused by the permission layer" is checked: an allowed caller may still get 404 or 422
for the placeholder URL values, a refused one gets 401 (anonymous) or 403 (signed in, lacking permission).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from app.accounts.permissions import SEEDED_ROLES
from tests.accounts.helpers import compile_translations, csrf, login, make_user

ROLES = tuple(SEEDED_ROLES)
ANONYMOUS = "anonymous"
EVERYONE = frozenset((ANONYMOUS, *ROLES))
SIGNED_IN = frozenset(ROLES)
SELF = frozenset(ROLES)  # accounts.self: every seeded role
ADMIN = frozenset({"admin"})
AUDIT_READ = frozenset({"admin", "auditor", "supervisor"})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # core shell
    ("GET", "core.index"): EVERYONE,
    ("POST", "core.set_language"): EVERYONE,
    ("GET", "core.healthz"): EVERYONE,
    ("GET", "api-docs.openapi_json"): EVERYONE,
    ("GET", "storage.download"): EVERYONE,  # the signed URL is the credential
    ("GET", "platform_keys.keys"): EVERYONE,
    ("GET", "well_known_keys.well_known_keys"): EVERYONE,
    # accounts: sign-in and own account
    ("GET", "accounts.login"): EVERYONE,
    ("POST", "accounts.login"): EVERYONE,
    ("GET", "accounts.login_totp"): EVERYONE,
    ("POST", "accounts.login_totp"): EVERYONE,
    ("POST", "accounts.logout"): SIGNED_IN,
    ("GET", "accounts.account"): SELF,
    ("POST", "accounts.update_profile"): SELF,
    ("POST", "accounts.change_password"): SELF,
    ("POST", "accounts.create_token"): SELF,
    ("POST", "accounts.revoke_token"): SELF,
    ("GET", "accounts.totp_setup"): SIGNED_IN,
    ("POST", "accounts.totp_setup"): SIGNED_IN,
    # accounts: administration
    ("GET", "accounts.admin_users"): ADMIN,
    ("GET", "accounts.admin_user_new"): ADMIN,
    ("POST", "accounts.admin_user_new"): ADMIN,
    ("GET", "accounts.admin_user"): ADMIN,
    ("POST", "accounts.admin_user"): ADMIN,
    ("POST", "accounts.admin_user_activate"): ADMIN,
    ("POST", "accounts.admin_user_deactivate"): ADMIN,
    ("POST", "accounts.admin_user_unlock"): ADMIN,
    ("POST", "accounts.admin_user_reset_totp"): ADMIN,
    ("GET", "accounts.admin_organisations"): ADMIN,
    ("POST", "accounts.admin_organisations"): ADMIN,
    ("GET", "accounts.admin_roles"): ADMIN,
    ("GET", "accounts.admin_role"): ADMIN,
    ("POST", "accounts.admin_role"): ADMIN,
    # accounts API
    ("POST", "accounts-api.create_token"): EVERYONE,
    ("GET", "accounts-api.list_tokens"): SELF,
    ("DELETE", "accounts-api.revoke_token"): SELF,
    ("GET", "accounts-api.me"): SIGNED_IN,
    # audit (evidence log): checkpoints and consistency proofs are public, entries are not
    ("GET", "audit.latest_checkpoint"): EVERYONE,
    ("GET", "audit.checkpoint"): EVERYONE,
    ("GET", "audit.consistency"): EVERYONE,
    ("GET", "audit.entry"): AUDIT_READ,
    ("GET", "audit.export"): AUDIT_READ,
}

# Requests that end the caller's session run last.
SESSION_ENDING = {("POST", "accounts.logout")}

LAYER_REFUSALS = (
    "Your account lacks the permission",
    "This endpoint is not open to anybody",
    "Set up two-step verification",
)


def _routes(app: Flask) -> list[tuple[str, Rule]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, rule))
    return sorted(out, key=lambda mr: ((mr[0], mr[1].endpoint) in SESSION_ENDING, mr[1].rule, mr[0]))


def _url(rule: Rule) -> str:
    values: dict[str, Any] = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]  # the only way to know a converter type
        name = type(converter).__name__
        values[arg] = 999999 if name in {"IntegerConverter", "FloatConverter"} else "placeholder"
    _domain, url = rule.build(values, append_unknown=False)
    return url.split("|", 1)[-1]


def _refused_by_layer(resp: Any) -> bool:
    if resp.status_code == 401:
        return True
    if resp.status_code != 403:
        return False
    body = resp.get_json(silent=True) or {}
    return str(body.get("detail", "")).startswith(LAYER_REFUSALS)


def test_table_covers_every_endpoint(app: Flask) -> None:
    present = {(m, r.endpoint) for m, r in _routes(app)}
    missing = sorted(present - set(EXPECTED))
    stale = sorted(set(EXPECTED) - present)
    assert missing == [], f"add these endpoints to EXPECTED in {__file__}: {missing}"
    assert stale == [], f"these rows name endpoints that no longer exist: {stale}"


@pytest.mark.parametrize("caller", [ANONYMOUS, *ROLES])
def test_permission_matrix(app: Flask, clock: Any, caller: str) -> None:
    compile_translations()
    client = app.test_client()
    if caller != ANONYMOUS:
        _uid, secret = make_user(app, f"matrix-{caller}", [caller], totp=SEEDED_ROLES[caller][2])
        resp = login(client, f"matrix-{caller}", totp_secret=secret)
        assert resp.status_code == 303, resp.get_data(as_text=True)
    token = csrf(client)
    wrong = []
    for method, rule in _routes(app):
        key = (method, rule.endpoint)
        if key not in EXPECTED:
            continue  # reported by test_table_covers_every_endpoint
        headers = {"Accept": "application/json", "X-CSRFToken": token}
        kwargs: dict[str, Any] = {"headers": headers}
        if method in {"POST", "PUT", "PATCH", "DELETE"} and rule.rule.startswith("/api/"):
            kwargs["json"] = {}
        resp = client.open(_url(rule), method=method, **kwargs)
        assert resp.status_code < 500, f"{method} {rule.rule} as {caller}: {resp.status_code}"
        allowed = not _refused_by_layer(resp)
        if allowed != (caller in EXPECTED[key]):
            wrong.append(f"{method} {rule.rule} ({rule.endpoint}) as {caller}: {resp.status_code}")
    assert wrong == []
