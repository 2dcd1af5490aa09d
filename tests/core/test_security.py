"""The permission layer fails closed and every registered endpoint declares who may call it."""

from __future__ import annotations

import pytest
from flask import Flask

from app.core.security import PUBLIC, declared_permission, public, requires, scope_allows


def test_every_endpoint_declares_a_permission(app: Flask) -> None:
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in rule.methods - {"OPTIONS"}:
            if declared_permission(app, rule.endpoint, method) is None:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == []


@pytest.mark.fresh_app
def test_undeclared_endpoint_is_refused(app: Flask) -> None:
    @app.route("/probe-undeclared")
    def probe_undeclared() -> str:
        return "should never be served"

    @app.route("/probe-public")
    @public
    def probe_public() -> str:
        return "ok"

    @app.route("/probe-secret")
    @requires("nobody.has.this")
    def probe_secret() -> str:
        return "secret"

    client = app.test_client()
    assert client.get("/probe-undeclared").status_code == 403
    assert client.get("/probe-public").data == b"ok"
    resp = client.get("/probe-secret", headers={"Accept": "application/json"})
    assert resp.status_code == 401
    assert declared_permission(app, "probe_public", "GET") == PUBLIC


def test_token_scopes() -> None:
    assert scope_allows(None, "audit.read")
    assert scope_allows(["*"], "audit.read")
    assert scope_allows(["audit.*"], "audit.read")
    assert not scope_allows(["audit.*"], "auditx.read")
    assert not scope_allows(["accounts.self"], "audit.read")
    assert not scope_allows([], "audit.read")
