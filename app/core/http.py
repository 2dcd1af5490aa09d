"""HTTP hygiene for every request and response: JSON bodies are bounded before anything parses them, and every
answer carries the security headers (CSP, framing, sniffing, referrer, permissions, caching, HSTS in production).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_login import current_user

from app.core.errors import DomainError
from app.core.problems import N_

MAX_JSON_DEPTH = 32  # no request of the API nests deeper than a handful of levels
MAX_JSON_BYTES = 1024 * 1024


class MalformedJson(DomainError):
    status = 400
    code = "malformed-json"
    title = "Malformed JSON"


class JsonTooDeep(DomainError):
    status = 400
    code = "json-too-deep"
    title = "JSON nested too deeply"


class JsonTooLarge(DomainError):
    status = 413
    code = "content-too-large"
    title = "Request body too large"


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when arrays/objects in `text` nest deeper than `limit` (brackets inside strings do not count).

    Iterative and linear, so that it is safe on any input, unlike a recursive parser.
    """
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def check_json_body() -> None:
    """Refuse a JSON request body that is too large, nested too deeply or malformed: a 4xx problem, never a 500.

    Runs before authentication (and so before any database transaction); the parsers behind it (webargs,
    request.get_json) then only ever see bounded, well-formed JSON.
    """
    if not request.is_json or request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    length = request.content_length
    if length is not None and length > MAX_JSON_BYTES:
        raise JsonTooLarge(
            N_("A JSON request body may have at most %(limit)s bytes."), params={"limit": MAX_JSON_BYTES}
        )
    # Read at most one byte past the limit (core.body's deadline applies), and keep the body for the parsers
    # that read it afterwards (core.body's read_body_first then finds it read).
    raw = request.stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise JsonTooLarge(
            N_("A JSON request body may have at most %(limit)s bytes."), params={"limit": MAX_JSON_BYTES}
        )
    request._cached_data = raw
    if not raw.strip():
        return  # an empty body: the endpoint's schema says whether one is needed
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJson(N_("The request body is not UTF-8.")) from None
    if json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise JsonTooDeep(
            N_("JSON may nest arrays and objects at most %(limit)s levels deep."), params={"limit": MAX_JSON_DEPTH}
        )
    try:
        json.loads(text)
    except ValueError as exc:
        raise MalformedJson(N_("The request body is not valid JSON: %(reason)s."), params={"reason": exc}) from None


# --- security headers -----------------------------------------------------------------------------------------

# Only the platform's own scripts and styles, no inline code. media-src blob: is the replay page's hls.js (Media
# Source Extensions); img-src data: the page icon. Nothing may frame a page; a page frames only same-site
# documents (the evaluation room's document viewer).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "worker-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-src 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), interest-cohort=()"
)


def _personal(resp: Response) -> bool:
    """Answers that must not be stored by browsers or proxies: anything for a signed-in caller, account pages."""
    if g.get("auth_method") == "token":
        return True
    try:
        if current_user.is_authenticated:
            return True
    except Exception:  # noqa: BLE001 - no user loader context (e.g. an error before the app is ready)
        return False
    return request.path.startswith(("/account", "/admin", "/api/v1/auth", "/api/v1/me"))


def security_headers(resp: Response) -> Response:
    """Add the security headers to every answer (a view that set its own, e.g. a sandboxed document, keeps them)."""
    h = resp.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint != "static" and not (request.endpoint or "").endswith(".static") and _personal(resp):
        h["Cache-Control"] = "no-store"
        h.setdefault("Pragma", "no-cache")
    hsts = current_app.config.get("HSTS_MAX_AGE")
    if hsts:  # production is served over TLS (browsers ignore the header on plain HTTP)
        h.setdefault("Strict-Transport-Security", f"max-age={int(hsts)}; includeSubDomains")
    return resp


def init_app(app: Flask) -> None:
    """The JSON check runs first of all before_request hooks (before core.body reads whole bodies, and before
    anything opens a database transaction), so a JSON body is never read past its limit."""
    app.before_request_funcs.setdefault(None, []).insert(0, check_json_body)
    app.after_request(security_headers)


__all__: list[Any] = ["CSP", "MAX_JSON_DEPTH", "check_json_body", "init_app", "json_depth_exceeds"]
