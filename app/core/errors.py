"""Domain errors and their single mapping to HTTP: RFC 9457 problem JSON for the API, pages for HTML."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """Base of every error a service raises on purpose. `status` and `code` choose the HTTP answer."""

    status = 400
    code = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ValidationFailed(DomainError):
    status = 422
    code = "validation-failed"
    title = "The input is not valid"

    def __init__(self, detail: str = "", errors: dict[str, Any] | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        if errors:
            self.extra["errors"] = errors


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
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in {"application/json", "application/problem+json"}


def problem(status: int, title: str, detail: str = "", code: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": f"https://errors.platform.invalid/{code or status}",
        "title": title,
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


def _render(status: int, title: str, detail: str, code: str, extra: dict[str, Any]) -> Any:
    if wants_json():
        return problem(status, title, detail, code, **extra)
    return render_template("core/error.html", status=status, title=title, detail=detail), status


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Any:
        from app.core.db import db

        db.session.rollback()
        headers = {}
        if isinstance(err, NotAuthenticated) and request.path.startswith("/api/"):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
        rv = _render(err.status, err.title, err.detail, err.code, err.extra)
        if headers:
            resp = app.make_response(rv)
            resp.headers.update(headers)
            return resp
        return rv

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        extra: dict[str, Any] = {}
        # flask-smorest/webargs put validation messages here.
        data = getattr(err, "data", None)
        if isinstance(data, dict) and "messages" in data:
            extra["errors"] = data["messages"]
            status = 422
        title = err.name if status != 422 else "The input is not valid"
        detail = err.description or ""
        if status == 400 and "CSRF" in detail:
            title = "CSRF token missing or invalid"
        rv = _render(status, title, detail, str(status), extra)
        resp = app.make_response(rv)
        if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            resp.headers["Allow"] = ", ".join(err.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Any:
        from app.core.db import db

        db.session.rollback()
        app.logger.exception("unhandled error")
        return _render(500, "Internal error", "The error was logged.", "internal", {})
