"""The one permission layer. Every endpoint declares who may call it; undeclared endpoints are refused.

A view is marked with `@public`, `@authenticated(scope, ...)` or `@requires("module.permission")`. A
`before_request` hook reads that mark for the matched endpoint (and, for class-based views, the
method), authenticates the caller (session cookie via Flask-Login, or a bearer token through the
loader the accounts module installs), enforces CSRF on cookie-authenticated writes, and checks the
permission against the caller's roles (intersected with a token's scopes). Object-level rules (a
bidder reads only its own bid) stay in the services.

A token may do only what its scopes cover, everywhere: `effective_permission(user, p)` (behind
`User.has_permission` and `caller_has`) intersects the user's role permissions with the scopes of the
token that authenticated that user in this request, and an `@authenticated` operation names the scopes
a token needs to call it (any one of them), since its object-level check (membership, custody, own
bid) may need no role permission. A session (cookie) caller has no token and so no scope restriction.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from flask import Flask, current_app, g, has_request_context, request
from flask_login import current_user

from app.core.errors import NotAuthenticated, PermissionDenied, is_api_path
from app.core.problems import N_

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "@public"
AUTHENTICATED = "@authenticated"
_ATTR = "_required_permission"
_SCOPES_ATTR = "_token_scopes"

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


@overload
def authenticated(fn: F, /) -> F: ...


@overload
def authenticated(*scopes: str) -> Callable[[F], F]: ...


def authenticated(*args: Any) -> Any:
    """Any signed-in account; finer checks happen in the service.

    `@authenticated("tendering.custody", ...)` names the scopes of which a bearer token needs one (every API
    operation names them); bare `@authenticated` is for pages, and a token reaches it only with scope '*'.
    """
    if len(args) == 1 and callable(args[0]):
        return _mark(AUTHENTICATED)(args[0])
    if not args or not all(isinstance(a, str) and a and not a.startswith("@") for a in args):
        raise TypeError("@authenticated takes the view, or the scope names a token needs")
    scopes = tuple(args)

    def deco(fn: F) -> F:
        setattr(fn, _ATTR, AUTHENTICATED)
        setattr(fn, _SCOPES_ATTR, scopes)
        return fn

    return deco


def requires(permission: str) -> Callable[[F], F]:
    """Only callers whose roles grant `permission` (and whose token scope allows it)."""
    return _mark(permission)


def on_denial(hook: Callable[[str, str], None]) -> None:
    _denial_hooks.append(hook)


def on_anonymous(hook: Callable[[str, str], None]) -> None:
    """`hook(endpoint, permission)` runs when a request without credentials is refused (401)."""
    _anonymous_hooks.append(hook)


def _marked(app: Flask, endpoint: str, method: str) -> Any:
    """The object (handler, view class or view) carrying the endpoint's mark for `method`, or None."""
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        if handler is not None and hasattr(handler, _ATTR):
            return handler
        if hasattr(view_class, _ATTR):
            return view_class
    if hasattr(view, _ATTR):
        return view
    return None


def declared_permission(app: Flask, endpoint: str, method: str) -> str | None:
    """The permission an endpoint declares for `method`, or None when it declares nothing."""
    marked = _marked(app, endpoint, method)
    return None if marked is None else str(getattr(marked, _ATTR))


def declared_scopes(app: Flask, endpoint: str, method: str) -> tuple[str, ...]:
    """The scopes a token needs (any one) to call the endpoint: `@requires(p)` needs p, `@authenticated(...)` what
    it names, bare `@authenticated` '*' only; `@public` nothing (an empty tuple)."""
    marked = _marked(app, endpoint, method)
    if marked is None:
        return ("*",)
    required = str(getattr(marked, _ATTR))
    if required == PUBLIC:
        return ()
    if required == AUTHENTICATED:
        return tuple(getattr(marked, _SCOPES_ATTR, ("*",)))
    return (required,)


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


def request_token_scopes(user: Any) -> list[str] | None:
    """The scopes of the bearer token that authenticated `user` in this request; None when no token did (a
    session, a task, the command line): then nothing is restricted beyond the user's roles."""
    if not has_request_context() or g.get("auth_method") != "token":
        return None
    if user is None or g.get("token_user_id") != getattr(user, "id", None):
        return None
    scopes = g.get("token_scopes")
    return list(scopes) if scopes is not None else []


def token_allows(user: Any, scope: str) -> bool:
    """True unless `user` called with a token whose scopes do not cover `scope` (session callers: always)."""
    return scope_allows(request_token_scopes(user), scope)


def effective_permission(user: Any, permission: str, role_permissions: set[str]) -> bool:
    """The one permission rule: the user's roles grant it and, in a token request, the token's scopes cover it."""
    return permission in role_permissions and token_allows(user, permission)


def caller_has(permission: str) -> bool:
    """True when the current caller may use `permission` (roles and token scope)."""
    if permission == PUBLIC:
        return True
    if not current_user.is_authenticated:
        return False
    if permission == AUTHENTICATED:
        return True
    return bool(current_user.has_permission(permission))


def _token_covers(scopes: tuple[str, ...]) -> bool:
    return any(token_allows(current_user, s) for s in scopes)


def check_request() -> None:
    endpoint = request.endpoint
    if endpoint is None:
        return  # 404/405 are answered by Flask's routing
    if endpoint == "static" or endpoint.endswith(".static"):
        return
    required = declared_permission(current_app, endpoint, request.method)
    if required is None:
        current_app.logger.error("endpoint %s declares no permission: refused", endpoint)
        raise PermissionDenied(N_("This endpoint is not open to anybody."))
    if required == PUBLIC:
        _csrf_if_cookie_write()
        return
    if not current_user.is_authenticated:
        for hook in _anonymous_hooks:
            hook(endpoint, required)
        raise NotAuthenticated(N_("Sign in or send a bearer token."))
    _csrf_if_cookie_write()
    scopes = declared_scopes(current_app, endpoint, request.method)
    if not _token_covers(scopes):
        needed = " or ".join(repr(s) for s in scopes)
        for hook in _denial_hooks:
            hook(endpoint, f"scope:{'|'.join(scopes)}")
        raise PermissionDenied(
            N_("The token's scopes do not cover this operation: it needs %(needed)s."), params={"needed": needed}
        )
    if not caller_has(required):
        for hook in _denial_hooks:
            hook(endpoint, required)
        from flask_babel import LazyString

        from app.accounts.permissions import permission_label

        # The page names the permission in words; the problem JSON also carries its code in `permission`.
        raise PermissionDenied(
            N_("Your account lacks the permission: %(permission)s."),
            params={"permission": LazyString(permission_label, required)},
            permission=required,
        )


def _csrf_if_cookie_write() -> None:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    if g.get("auth_method") == "token":
        return  # bearer tokens are not sent by browsers on their own
    if is_api_path(request.path) and not current_user.is_authenticated:
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
