"""The API's shared pieces: the RFC 9457 problem schema, documented error answers, the Api subclass."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from app.core.fields import Integer

PROBLEM = "application/problem+json"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, the shape of every API error."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.Raw(metadata={"description": "Field errors, for 422 answers"})
    permission = ma.fields.String(
        metadata={"description": "For a 403 refused by a missing permission: the permission's code (detail names it)"}
    )
    retry_at = ma.fields.String(metadata={"description": "For a 429: the instant (ISO 8601) to try again from"})
    offset = Integer(metadata={"description": "For a 409 on a resumable upload: the byte to resume at"})


def problem_responses(blp: Blueprint, *statuses: int) -> Callable[[Any], Any]:
    """Document problem-JSON error answers on an endpoint of `blp`."""

    def deco(fn: Any) -> Any:
        for status in statuses:
            fn = blp.alt_response(
                status, schema=ProblemSchema, content_type=PROBLEM, description=http.HTTPStatus(status).phrase
            )(fn)
        return fn

    return deco


# The two ways to call the API. Browsers use the session cookie (with the CSRF token of the page for writes);
# programs use an API token (POST /api/v1/auth/tokens) whose scopes narrow what the account's roles allow.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from POST /api/v1/auth/tokens, sent as 'Authorization: Bearer <token>'. "
        "It may do what the account's roles allow, narrowed to the token's scopes.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "The session cookie of a signed-in browser; writes also need the page's CSRF token "
        "in the X-CSRFToken header.",
    },
}
SIGNED_IN: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]


def operation_security(permission: str | None) -> dict[str, Any]:
    """The OpenAPI security of an operation, from the mark of core.security on its view (the one source)."""
    from app.core.security import AUTHENTICATED, PUBLIC

    if permission == PUBLIC:
        return {"security": []}
    doc: dict[str, Any] = {"security": SIGNED_IN}
    if permission is None:
        doc["x-permission"] = "nobody"  # undeclared endpoints are refused to everybody
    elif permission != AUTHENTICATED:
        doc["x-permission"] = permission
    return doc


class SecurityPlugin(BasePlugin):  # type: ignore[misc]
    """Write each operation's `security` from the @public/@authenticated/@requires mark of its view."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def operation_helper(self, path: str | None = None, operations: Any = None, **kwargs: Any) -> None:
        from app.core.security import declared_permission

        rule = kwargs.get("rule")
        app = getattr(self.api, "_app", None)
        if rule is None or app is None or not operations:
            return
        for method, operation in operations.items():
            if method.upper() not in {"GET", "PUT", "POST", "PATCH", "DELETE", "HEAD", "OPTIONS"}:
                continue
            permission = declared_permission(app, rule.endpoint, method.upper())
            operation.update(operation_security(permission))
            if operation.get("x-permission") not in (None, "nobody"):
                note = f"Requires the permission `{operation['x-permission']}` (and a token scope that allows it)."
                operation["description"] = (operation.get("description", "") + "\n\n" + note).strip()


class PlatformApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with every default error response documented as problem JSON, and security declared."""

    ERROR_SCHEMA = ProblemSchema

    def _init_spec(self, *args: Any, extra_plugins: Any = None, **kwargs: Any) -> None:
        super()._init_spec(*args, extra_plugins=[*(extra_plugins or ()), SecurityPlugin(self)], **kwargs)
        for name, scheme in SECURITY_SCHEMES.items():
            self.spec.components.security_scheme(name, scheme)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (RFC 9457 problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)
