"""Accounts: users, organisations, roles, sign-in (password, TOTP), server-side sessions and API tokens."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user

from app.core.errors import NotAuthenticated, PermissionDenied, is_api_path, problem, wants_json
from app.core.problems import N_

# Endpoints a signed-in user who still has to set up TOTP may reach.
TOTP_SETUP_EXEMPT = {
    "accounts.totp_setup",
    "accounts-api.begin_own_totp",
    "accounts-api.confirm_own_totp",
    "accounts.logout",
    "core.index",
    "core.set_language",
    "core.healthz",
    "static",
}


def _load_session_user(user_id: str) -> Any:
    from app.accounts import services_sessions

    sid = session.get("sid")
    if not sid or not user_id.isdigit():
        return None
    found = services_sessions.session_user(str(sid), int(user_id))
    if found is None:
        return None
    user, row = found
    g.auth_method = "session"
    g.user_session_id = row.id
    return user


def _load_token_user(req: Any) -> Any:
    """Bearer tokens authenticate API calls only; browsers' pages use the session."""
    from app.accounts import services_tokens
    from app.extensions import db

    if not is_api_path(req.path):
        return None
    header = req.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    token, refusal = services_tokens.authenticate_token(value.strip())
    if token is None:
        g.token_refusal = refusal.value if refusal else "invalid"
        return None
    if db.session.is_modified(token):
        # last_used_at moved (at most once a minute): this is the request's first work, so commit it on its own.
        # Otherwise nothing to commit, and the token, its user and roles stay loaded for the request (a commit
        # would expire them and load all three again).
        db.session.commit()
    g.auth_method = "token"
    g.token_scopes = list(token.scopes)
    g.token_user_id = token.user_id  # whose permissions the scopes restrict (core.security.request_token_scopes)
    g.api_token_id = token.id
    return token.user


def _enforce_totp_setup() -> Any:
    """Users whose role requires TOTP do nothing else until they have set it up."""
    if request.endpoint is None or request.endpoint in TOTP_SETUP_EXEMPT or request.endpoint.endswith(".static"):
        return None
    if request.endpoint.startswith("api-docs."):
        return None
    if not current_user.is_authenticated or not current_user.needs_totp_setup:
        return None
    if wants_json():
        raise PermissionDenied(N_("Set up two-step verification (TOTP) on the account page first."))
    return redirect(url_for("accounts.totp_setup"))


def _not_authenticated(err: NotAuthenticated) -> Any:
    """HTML pages send the visitor to the sign-in page; the API answers 401 problem JSON."""
    from app.extensions import db

    db.session.rollback()
    if wants_json():
        detail = err.detail
        refusal = g.get("token_refusal")
        if refusal:
            detail = f"The bearer token is not valid ({refusal})."
        resp = problem(err.status, err.title, detail, err.code, **err.extra)
        if is_api_path(request.path):
            resp.headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return resp
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("accounts.login", next=target.rstrip("?") if target else None))


def init_app(app: Flask) -> None:
    # Imported for what they register: the models, the seeded roles (reference data) and the demo accounts.
    from app.accounts import api, api_admin, cli, home, models, services_demo, services_roles, views  # noqa: F401
    from app.accounts.permissions import permission_label
    from app.core import views as core_views
    from app.extensions import login_manager

    login_manager.user_loader(_load_session_user)
    login_manager.request_loader(_load_token_user)
    login_manager.session_protection = "basic"
    app.register_error_handler(NotAuthenticated, _not_authenticated)
    app.before_request(_enforce_totp_setup)
    core_views.init_app(app)
    home.init_app()
    views.init_app(app)
    api.init_app(app)
    api_admin.init_app(app)
    cli.init_app(app)
    app.add_template_global(permission_label, "permission_label")
