"""The one permission layer. Every endpoint declares who may call it; undeclared endpoints are refused.

A view is marked with `@public`, `@authenticated` or `@requires("module.permission")`. A
`before_request` hook reads that mark for the matched endpoint (and, for class-based views, the
method), authenticates the caller (session cookie via Flask-Login, or a bearer token through the
loader the accounts module installs), enforces CSRF on cookie-authenticated writes, and checks the
permission against the caller's roles (intersected with a token's scopes). Object-level rules (a
bidder reads only its own bid) stay in the services.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_login import current_user

from app.core.errors import NotAuthenticated, PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "@public"
AUTHENTICATED = "@authenticated"
_ATTR = "_required_permission"

# Called when an authenticated caller is refused; the audit module installs a recorder so that
# every refused attempt is detectable afterwards.
_denial_hooks: list[Callable[[str, str], None]] = []
_anonymous_hooks: list[Callable[[str, str], None]] = []


def _mark(value: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        setattr(fn, _ATTR, value)
        return fn

    return deco


def public(fn: F) -> F:
    """Anybody, signed in or not."""
    return _mark(PUBLIC)(fn)


def authenticated(fn: F) -> F:
    """Any signed-in account; finer checks happen in the service."""
    return _mark(AUTHENTICATED)(fn)


def requires(permission: str) -> Callable[[F], F]:
    """Only callers whose roles grant `permission` (and whose token scope allows it)."""
    return _mark(permission)


def on_denial(hook: Callable[[str, str], None]) -> None:
    _denial_hooks.append(hook)


def on_anonymous(hook: Callable[[str, str], None]) -> None:
    """`hook(endpoint, permission)` runs when a request without credentials is refused (401)."""
    _anonymous_hooks.append(hook)


def declared_permission(app: Flask, endpoint: str, method: str) -> str | None:
    """The permission an endpoint declares for `method`, or None when it declares nothing."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        if handler is not None and hasattr(handler, _ATTR):
            return str(getattr(handler, _ATTR))
        if hasattr(view_class, _ATTR):
            return str(getattr(view_class, _ATTR))
    if hasattr(view, _ATTR):
        return str(getattr(view, _ATTR))
    return None


def scope_allows(scopes: list[str] | None, permission: str) -> bool:
    """Token scopes are permission names or prefixes ending in '.*'; '*' allows everything."""
    if scopes is None:
        return True
    for scope in scopes:
        if scope in {"*", permission}:
            return True
        if scope.endswith(".*") and permission.startswith(scope[:-1]):
            return True
    return False


def caller_has(permission: str) -> bool:
    """True when the current caller may use `permission` (roles and token scope)."""
    if permission == PUBLIC:
        return True
    if not current_user.is_authenticated:
        return False
    if permission == AUTHENTICATED:
        return True
    if not current_user.has_permission(permission):
        return False
    return scope_allows(g.get("token_scopes"), permission)


def check_request() -> None:
    endpoint = request.endpoint
    if endpoint is None:
        return  # 404/405 are answered by Flask's routing
    if endpoint == "static" or endpoint.endswith(".static"):
        return
    required = declared_permission(current_app, endpoint, request.method)
    if required is None:
        current_app.logger.error("endpoint %s declares no permission: refused", endpoint)
        raise PermissionDenied("This endpoint is not open to anybody.")
    if required == PUBLIC:
        _csrf_if_cookie_write()
        return
    if not current_user.is_authenticated:
        for hook in _anonymous_hooks:
            hook(endpoint, required)
        raise NotAuthenticated("Sign in or send a bearer token.")
    _csrf_if_cookie_write()
    if not caller_has(required):
        for hook in _denial_hooks:
            hook(endpoint, required)
        raise PermissionDenied(f"Your account lacks the permission {required!r}.")


def _csrf_if_cookie_write() -> None:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    if g.get("auth_method") == "token":
        return  # bearer tokens are not sent by browsers on their own
    if request.path.startswith("/api/") and not current_user.is_authenticated:
        return  # no ambient credential to abuse (e.g. POST /api/v1/auth/tokens with a password)
    from app.extensions import csrf

    csrf.protect()


def mark_endpoint(app: Flask, endpoint: str, value: str) -> None:
    """Declare the permission of an endpoint registered by a third-party extension."""
    view = app.view_functions[endpoint]
    if inspect.ismethod(view):  # a bound method (flask-smorest's docs views): wrap it
        inner = view

        def view(*args: Any, **kwargs: Any) -> Any:
            return inner(*args, **kwargs)

        app.view_functions[endpoint] = view
    setattr(view, _ATTR, value)


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    for endpoint in list(app.view_functions):
        if endpoint.startswith("api-docs."):
            mark_endpoint(app, endpoint, PUBLIC)
