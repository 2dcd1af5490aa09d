"""Domain errors and their single mapping to HTTP: RFC 9457 problem JSON for the API, pages for HTML."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, has_request_context, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.core import problems
from app.core.problems import N_

# Machine interfaces: errors in JSON (problem+json, or the interface's own format), bearer tokens accepted, no CSRF
# token for an anonymous post. /open311/ is where GeoReport v2 clients look for a city's endpoint.
API_PREFIXES = ("/api/", "/open311/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


class DomainError(Exception):
    """Base of every error a service raises on purpose. `status` and `code` choose the HTTP answer.

    `code` is the slug of a problem type of `core.problems`; a subclass that brings a new code also gives
    its `title` and `description` (N_-marked) and is registered there when the class is defined.

    The message is a catalogue msgid, marked `N_()` where it is raised; its values come apart in `params`
    (named placeholders: `N_("at most %(limit)s bytes")`, `params={"limit": n}`) so that it translates.
    `detail` is the English text (problem JSON, logs, CLI); `translated` is the text in the request's language
    (pages, flashes). tests/test_error_messages.py checks every raise in app/ against the catalogue.
    """

    status = 400
    code = "bad-request"
    title = "Bad request"
    description = ""
    retry_after: int | None = None  # seconds: sent as Retry-After (a state that passes, e.g. a busy upload)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__ and cls.__dict__.get("description"):
            problems.register(cls.code, cls.status, cls.title, cls.description)

    def __init__(self, detail: str = "", params: Mapping[str, Any] | None = None, **extra: Any) -> None:
        self.message = detail or self.title
        self.params = dict(params or {})
        self.detail = _english(self.message, self.params)
        super().__init__(self.detail)
        self.extra = extra

    @property
    def translated(self) -> str:
        """The message in the current request's language, with its parameters (English outside a request)."""
        from flask_babel import gettext

        return str(gettext(self.message, **self.params))


def _english(message: str, params: dict[str, Any]) -> str:
    """The message with its values, in English (a lazy value such as a state's label is rendered in English)."""
    if not params:
        return message
    if not has_request_context():
        return message % params
    from flask_babel import LazyString, force_locale

    with force_locale("en"):
        return message % {k: str(v) if isinstance(v, LazyString) else v for k, v in params.items()}


class ValidationFailed(DomainError):
    status = 422
    code = "validation-failed"
    title = "The input is not valid"

    def __init__(
        self,
        detail: str = "",
        errors: dict[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail, params, **extra)
        if errors:
            self.extra["errors"] = errors


def field_error(field: str, message: str, params: Mapping[str, Any] | None = None) -> ValidationFailed:
    """Invalid input in one field: the message (N_-marked, with its values in `params`) is also the field's error."""
    exc = ValidationFailed(message, params=params)
    exc.extra["errors"] = {field: [exc.detail]}
    return exc


def clean_text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    """A free-text input stripped, refused (as the field's error) when required and empty, longer than `limit`
    characters, or holding control characters other than line breaks and tabs."""
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise field_error(field, N_("This field is required."))
    if len(text) > limit or any(not c.isprintable() and c not in "\n\r\t" for c in text):
        raise field_error(
            field, N_("At most %(limit)s characters, without control characters."), params={"limit": limit}
        )
    return text


class NotAuthenticated(DomainError):
    status = 401
    code = "not-authenticated"
    title = "Sign-in required"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(DomainError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class TooManyRequests(DomainError):
    status = 429
    code = "too-many-requests"
    title = "Too many attempts"


def wants_json() -> bool:
    if is_api_path(request.path):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in {"application/json", "application/problem+json"}


def problem_type(status: int, code: str | None) -> problems.ProblemType:
    """The registered type for `code` (or the generic type of `status`).

    An unregistered code is a bug: under TESTING it raises, so that every error a test provokes is checked;
    in production the answer falls back to the generic type of its status (and the bug is logged).
    """
    slug = code or problems.slug_for_status(status)
    try:
        return problems.get(slug)
    except KeyError:
        if current_app.testing:
            raise
        current_app.logger.error("problem type %r is not registered", slug)
        return problems.get(problems.slug_for_status(status))


def problem(status: int, title: str | None = None, detail: str = "", code: str | None = None, **extra: Any) -> Response:
    """An RFC 9457 problem answer; the type URI and title come from the registry of problem types."""
    ptype = problem_type(status, code)
    body: dict[str, Any] = {
        "type": problems.type_uri(ptype.slug),
        "title": ptype.title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update(extra)
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


def _render(
    status: int, title: str, detail: str, code: str | None, extra: dict[str, Any], *, page_detail: str | None = None
) -> Any:
    """Problem JSON (its `detail` in English, stable for API clients and logs) or the page in the reader's language."""
    if wants_json():
        return problem(status, title, detail, code, **extra)
    return error_page(status, detail if page_detail is None else page_detail, code)


def error_page(status: int, detail: str = "", code: str | None = None) -> tuple[str, int]:
    """The HTML page of an error: its registered title, the detail, and a link to the problem type's page."""
    ptype = problem_type(status, code)
    page = render_template(
        "core/error.html",
        status=status,
        title=ptype.title,
        detail=detail,
        problem=ptype,
        type_uri=problems.type_uri(ptype.slug),
    )
    return page, status


# Seconds a client waits before it tries again after a 503 (a service the platform needs is down for a moment).
RETRY_AFTER_SECONDS = 5


def init_app(app: Flask) -> None:
    from sqlalchemy.exc import DBAPIError, OperationalError

    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Any:
        from app.core.db import db

        db.session.rollback()
        headers = {}
        if isinstance(err, NotAuthenticated) and is_api_path(request.path):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        if err.status == 503 or err.retry_after is not None:
            headers["Retry-After"] = str(err.retry_after or RETRY_AFTER_SECONDS)
        rv = _render(err.status, err.title, err.detail, err.code, err.extra, page_detail=err.translated)
        if headers:
            resp = app.make_response(rv)
            resp.headers.update(headers)
            return resp
        return rv

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        extra: dict[str, Any] = {}
        code = problems.slug_for_status(status)
        detail = err.description or ""
        # flask-smorest/webargs put validation messages here (422, or 400 for a body that is not JSON).
        data = getattr(err, "data", None)
        if isinstance(data, dict) and "messages" in data:
            messages = data["messages"]
            if status == 400 and messages == {"json": ["Invalid JSON body."]}:
                code, detail = "malformed-json", "The request body is not valid JSON."
            else:
                extra["errors"] = messages
                detail = "Some fields are not valid; see errors."
        elif status == 400 and "CSRF" in detail:
            code = "csrf-failed"
        # Werkzeug's default description (`abort(403)`) is English only: a page shows the translated title alone.
        default = detail == getattr(type(err), "description", None)
        rv = _render(status, "", detail, code, extra, page_detail="" if default else None)
        resp = app.make_response(rv)
        if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            resp.headers["Allow"] = ", ".join(err.valid_methods)
        return resp

    @app.errorhandler(OperationalError)
    def _database_unavailable(err: OperationalError) -> Any:
        """The database cannot be reached or dropped the connection (a restart, a failover): nothing was
        committed, so the client may send the same request again — 503 with Retry-After, never a 500."""
        from app.core.db import db

        with contextlib.suppress(DBAPIError):  # the connection is gone: the pool replaces it
            db.session.rollback()
        db.session.remove()
        app.logger.warning("database unavailable (%s): %s", request.path, " ".join(str(err.orig).split())[:300])
        resp = app.make_response(_render(503, "", "", "service-unavailable", {}))
        resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Any:
        from app.core.db import db

        db.session.rollback()
        app.logger.exception("unhandled error")
        return _render(500, "", "The error was logged.", "internal", {})
