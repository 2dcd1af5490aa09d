"""Security headers, bounded JSON bodies, the registry of problem types and the OpenAPI security declarations."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import app as app_pkg
from app import create_app
from app.config import test_config
from app.core import problems
from app.core.errors import DomainError
from app.core.http import MAX_JSON_DEPTH, json_depth_exceeds
from tests.accounts.helpers import PASSWORD, login, make_user


def _token(client: Any, username: str = "tess") -> str:
    body = {"username": username, "password": PASSWORD, "name": "t", "scopes": ["*"]}
    resp = client.post("/api/v1/auth/tokens", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return str(resp.get_json()["token"])


def _problem(resp: Any, status: int, slug: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["type"] == f"http://localhost/problems/{slug}", body
    assert body["title"] == problems.get(slug).title
    return dict(body)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# --- item 10: nested JSON ------------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400_problem_anonymously(client: Any) -> None:
    resp = client.post("/api/v1/auth/tokens", data=_nested(2000), content_type="application/json")
    _problem(resp, 400, "json-too-deep")
    obj = '{"a":' * 2000 + "1" + "}" * 2000
    _problem(client.post("/api/v1/auth/tokens", data=obj, content_type="application/json"), 400, "json-too-deep")


def test_deeply_nested_json_is_a_400_problem_when_authenticated(app: Flask, client: Any) -> None:
    make_user(app, "tess", ["bidder"])
    token = _token(client)
    headers = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/auth/tokens", data=_nested(5000), content_type="application/json", headers=headers)
    _problem(resp, 400, "json-too-deep")
    resp = client.patch("/api/v1/me", data=_nested(3000), content_type="application/json", headers=headers)
    _problem(resp, 400, "json-too-deep")
    # a body within the bound reaches the endpoint's schema (422, not a depth refusal)
    resp = client.patch("/api/v1/me", data=_nested(MAX_JSON_DEPTH), content_type="application/json", headers=headers)
    assert resp.status_code in (405, 422)


def test_oversized_and_malformed_json_are_problems(client: Any) -> None:
    big = '{"name": "' + "x" * (1024 * 1024 + 10) + '"}'
    _problem(client.post("/api/v1/auth/tokens", data=big, content_type="application/json"), 413, "content-too-large")
    body = _problem(
        client.post("/api/v1/auth/tokens", data="{bad", content_type="application/json"), 400, "malformed-json"
    )
    assert "JSON" in body["detail"]
    _problem(
        client.post("/api/v1/auth/tokens", data=b"\xff\xfe", content_type="application/json"), 400, "malformed-json"
    )


def test_depth_scanner_ignores_brackets_in_strings() -> None:
    assert not json_depth_exceeds('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', 3)
    assert not json_depth_exceeds('["\\"[[[[[[["]', 2)
    assert json_depth_exceeds("[[[[]]]]", 3)
    assert not json_depth_exceeds("[[[]]]", 3)


# --- item 14: problem types ----------------------------------------------------------------------------------


def _all_domain_errors() -> list[type[DomainError]]:
    for mod in pkgutil.walk_packages(app_pkg.__path__, "app."):
        importlib.import_module(mod.name)
    out: list[type[DomainError]] = []
    todo: list[type[DomainError]] = [DomainError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return out


def test_every_domain_error_uses_a_registered_type() -> None:
    for cls in _all_domain_errors():
        ptype = problems.get(cls.code)
        assert ptype.status == cls.status, cls
        assert ptype.title == cls.title or cls.code in {"forbidden", "not-found", "conflict"}, cls


def test_every_problem_type_uri_serves_a_page_in_both_languages(client: Any) -> None:
    _all_domain_errors()  # every module's types are registered
    from flask_babel import force_locale, gettext

    assert len(problems.REGISTRY) > 20
    for ptype in problems.REGISTRY.values():
        en = client.get(f"/problems/{ptype.slug}", headers={"Accept-Language": "en"})
        assert en.status_code == 200 and en.mimetype == "text/html"
        assert ptype.title in en.get_data(as_text=True) and ptype.description in en.get_data(as_text=True)
        zh = client.get(f"/problems/{ptype.slug}", headers={"Accept-Language": "zh-CN"})
        assert zh.status_code == 200
        with client.application.test_request_context(), force_locale("zh_CN"):
            zh_title, zh_description = gettext(ptype.title), gettext(ptype.description)
        assert zh_title != ptype.title and zh_description != ptype.description, ptype.slug
        page = zh.get_data(as_text=True)
        assert zh_title in page and zh_description in page, ptype.slug
    assert client.get("/problems").status_code == 200
    _problem(client.get("/problems/no-such-type", headers={"Accept": "application/json"}), 404, "not-found")


def test_framework_and_domain_errors_share_the_registry(app: Flask, client: Any) -> None:
    _problem(client.get("/api/v1/no-such-route"), 404, "not-found")
    _problem(client.delete("/api/v1/openapi.json"), 405, "method-not-allowed")
    _problem(client.get("/api/v1/me"), 401, "not-authenticated")
    _problem(client.get("/no-such-page", headers={"Accept": "application/json"}), 404, "not-found")
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "/problems/not-found" in page.get_data(as_text=True)


def test_an_unregistered_type_is_caught_in_tests(tmp_path: Path) -> None:
    class Unregistered(DomainError):
        status = 418
        code = "not-in-the-registry"

    application = create_app(test_config(tmp_path))

    @application.get("/teapot")
    def teapot() -> Any:
        raise Unregistered("x")

    from app.core.security import mark_endpoint

    mark_endpoint(application, "teapot", "@public")
    with pytest.raises(KeyError):
        application.test_client().get("/teapot", headers={"Accept": "application/json"})


# --- item 6: security headers --------------------------------------------------------------------------------


def _assert_security_headers(resp: Any) -> None:
    h = resp.headers
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in h["Permissions-Policy"] and "microphone=()" in h["Permissions-Policy"]
    assert h["Cross-Origin-Opener-Policy"] == "same-origin"


def test_security_headers_on_pages_api_and_errors(app: Flask, client: Any) -> None:
    for path in ("/", "/accounts/login", "/api/v1/openapi.json", "/api/v1/tenders", "/api/v1/me", "/nowhere"):
        _assert_security_headers(client.get(path))
    assert "Strict-Transport-Security" not in client.get("/").headers  # the embedded default: plain HTTP


def test_personal_answers_are_not_stored(app: Flask, client: Any) -> None:
    make_user(app, "tess", ["bidder"])
    token = _token(client)
    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
    assert (
        client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {token}"}).headers["Cache-Control"]
        == "no-store"
    )
    login(client, "tess")
    account = client.get("/account")
    assert account.status_code == 200 and account.headers["Cache-Control"] == "no-store"
    _assert_security_headers(account)  # the token page cannot be framed
    assert client.get("/").headers["Cache-Control"] == "no-store"  # signed in: every page is personal


def test_production_config_sets_secure_cookies_and_hsts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("APP_SECURE_COOKIES", raising=False)
    application = create_app(test_config(tmp_path))
    cfg = application.config
    assert cfg["SESSION_COOKIE_SECURE"] and cfg["REMEMBER_COOKIE_SECURE"]
    assert cfg["SESSION_COOKIE_HTTPONLY"] and cfg["SESSION_COOKIE_SAMESITE"] == "Lax"
    resp = application.test_client().get("/accounts/login", base_url="https://platform.example")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    cookie = resp.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
    monkeypatch.setenv("APP_ENV", "embedded")
    embedded = create_app(test_config(tmp_path / "e"))
    assert not embedded.config["SESSION_COOKIE_SECURE"] and not embedded.config["HSTS_MAX_AGE"]
    monkeypatch.setenv("APP_ENV", "staging")
    with pytest.raises(ValueError, match="APP_ENV"):
        create_app(test_config(tmp_path / "s"))


# --- item 15: the OpenAPI document ---------------------------------------------------------------------------


def test_openapi_declares_security_from_the_marks(app: Flask, client: Any) -> None:
    from app.core.security import AUTHENTICATED, PUBLIC, declared_permission

    doc = client.get("/api/v1/openapi.json").get_json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    rules = list(app.url_map.iter_rules())
    count = 0
    for path, ops in doc["paths"].items():
        flask_path = path.replace("{", "<").replace("}", ">")
        for method, op in ops.items():
            if method == "parameters":
                continue
            rule = next(r for r in rules if _same_path(r.rule, flask_path) and method.upper() in (r.methods or ()))
            count += 1
            assert "security" in op, (method, path)
            mark = declared_permission(app, rule.endpoint, method.upper())
            assert mark is not None, (method, path)
            if mark == PUBLIC:
                assert op["security"] == [], (method, path)
            else:
                assert op["security"] == [{"bearerToken": []}, {"sessionCookie": []}], (method, path)
                assert op.get("x-permission") == (None if mark == AUTHENTICATED else mark), (method, path)
    assert count > 50
    assert doc["paths"]["/api/v1/auth/tokens"]["post"]["security"] == []


def _same_path(flask_rule: str, templated: str) -> bool:
    import re

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"<\1>", flask_rule) == templated


def test_openapi_states_its_rules_and_no_missing_guide(client: Any) -> None:
    text = client.get("/api/v1/openapi.json").get_data(as_text=True)
    assert "guide" not in text.lower()
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    criteria = schemas["TenderTermsArgs"]["properties"]["criteria"]["description"]
    assert "add up to 100" in criteria and "price" in criteria
    expert = schemas["ExpertArgs"]
    assert "specialties" in expert["required"] and expert["properties"]["specialties"]["minItems"] == 1
    assert schemas["ExpertUpdateArgs"]["properties"]["specialties"]["minItems"] == 1
    publish = doc["paths"]["/api/v1/tenders/{tender_id}/publish"]["post"]
    assert "at least one tender document" in publish["description"]
