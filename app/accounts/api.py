"""JSON API of the accounts module: API tokens and the caller's identity (flask-smorest, documented)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, g, request
from flask_smorest import Blueprint

from app.accounts import permissions as perms
from app.accounts import services_login, services_tokens, services_totp, services_users
from app.accounts.models import User
from app.accounts.services_login import SignInStatus
from app.core import pages
from app.core.api import problem_responses as core_problem_responses
from app.core.db import db
from app.core.errors import NotAuthenticated, TooManyRequests
from app.core.fields import Instant, Integer
from app.core.problems import N_
from app.core.security import authenticated, public, requires

blp = Blueprint(
    "accounts-api",
    __name__,
    url_prefix="/api/v1",
    description="API tokens and the identity of the caller. Send tokens as `Authorization: Bearer scp_…`.",
)


def problem_responses(*statuses: int) -> Any:
    """Document problem-JSON error answers on an endpoint."""
    return core_problem_responses(blp, *statuses)


class PlainText(ma.fields.String):
    """A string without control characters (which no user types and some databases refuse)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any(not c.isprintable() for c in text):
            raise ma.ValidationError("Control characters are not allowed.")
        return text


def _validate_scope(scope: str) -> None:
    if not perms.scope_is_valid(scope):
        raise ma.ValidationError(f"Unknown scope {scope!r}.")


class TokenCreateArgs(ma.Schema):
    username = PlainText(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    totp = PlainText(validate=ma.validate.Length(min=6, max=8), metadata={"description": "Required when TOTP is on"})
    name = PlainText(required=True, validate=ma.validate.Length(min=1, max=100))
    scopes = ma.fields.List(
        PlainText(validate=[ma.validate.Length(min=1, max=100), _validate_scope]),
        required=True,
        validate=ma.validate.Length(min=1, max=50),
        metadata={"description": "Permission names, 'module.*' prefixes, or '*' for all the roles allow"},
    )
    expires_in_days = Integer(validate=ma.validate.Range(min=1, max=3650))


class TokenOut(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True, metadata={"description": "Shown to recognise the token"})
    scopes = ma.fields.List(ma.fields.String(), required=True)
    created_at = Instant(required=True)
    expires_at = Instant(required=True)
    last_used_at = Instant(allow_none=True, required=True)
    revoked_at = Instant(allow_none=True, required=True)


class TokenCreated(TokenOut):
    token = ma.fields.String(required=True, metadata={"description": "The secret token, shown only this once"})


class OrganisationOut(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Function(lambda o: o.kind.value, required=True)
    uscc = ma.fields.String(allow_none=True, required=True)
    active = ma.fields.Boolean(required=True)


class MeOut(ma.Schema):
    id = Integer(required=True)
    username = ma.fields.String(required=True)
    display_name = ma.fields.String(required=True)
    email = ma.fields.String(allow_none=True, required=True)
    phone = ma.fields.String(allow_none=True, required=True)
    organisation = ma.fields.Nested(OrganisationOut, allow_none=True, required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)
    permissions = ma.fields.List(ma.fields.String(), required=True)
    totp_enabled = ma.fields.Boolean(required=True)
    auth_method = ma.fields.String(required=True, metadata={"description": "'session' or 'token'"})
    token_scopes = ma.fields.List(ma.fields.String(), allow_none=True, required=True)


@blp.route("/auth/tokens", methods=["POST"])
@blp.arguments(TokenCreateArgs)
@blp.response(201, TokenCreated)
@problem_responses(400, 401, 403, 422, 429)
@public
def create_token(args: dict[str, Any]) -> Any:
    """Create an API token with a user name and password (and TOTP code when enabled).

    Rate-limited and locked out like the sign-in page. The token text is in the answer only.
    """
    result = services_login.check_sign_in(
        args["username"], args["password"], ip=request.remote_addr or "-", totp_code=args.get("totp"), inline_totp=True
    )
    db.session.commit()  # mid-request on purpose: the attempt is evidence whatever the outcome (401/429)
    if result.status in (SignInStatus.LOCKED, SignInStatus.THROTTLED):
        retry = result.retry_at.isoformat() if result.retry_at else None
        raise TooManyRequests(N_("Too many failed attempts; try again later."), retry_at=retry)
    if result.status is not SignInStatus.OK or result.user is None:
        raise NotAuthenticated(N_("The credentials are not valid."))
    token, text = services_tokens.create_token(
        user=result.user, name=args["name"], scopes=args["scopes"], expires_in_days=args.get("expires_in_days")
    )
    fields = ("id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    return {**{f: getattr(token, f) for f in fields}, "token": text}


@blp.route("/auth/tokens", methods=["GET"])
@blp.response(200, TokenOut(many=True))
@problem_responses(401, 403)
@requires(perms.ACCOUNTS_SELF)
def list_tokens() -> Any:
    """The caller's tokens, newest last; never the secrets."""
    return services_tokens.list_tokens(pages.me())


@blp.route("/auth/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@problem_responses(400, 401, 403, 404)
@requires(perms.ACCOUNTS_SELF)
def revoke_token(token_id: int) -> Any:
    """Revoke one of the caller's tokens (repeating it is harmless)."""
    services_tokens.revoke_token(user=pages.me(), token_id=token_id)
    return None


def _me_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "organisation": user.organisation,
        "roles": [r.name for r in user.roles],
        "permissions": sorted(user.permissions),
        "totp_enabled": user.totp_enabled,
        "auth_method": g.get("auth_method", "session"),
        "token_scopes": g.get("token_scopes"),
    }


@blp.route("/me", methods=["GET"])
@blp.response(200, MeOut)
@problem_responses(401, 403)
@authenticated(perms.ACCOUNTS_SELF)
def me() -> Any:
    """Who the caller is, which roles and permissions it holds, and how it authenticated."""
    return _me_view(pages.me())


class ProfileArgs(ma.Schema):
    display_name = PlainText(validate=ma.validate.Length(min=1, max=120))
    email = ma.fields.Email(allow_none=True, validate=ma.validate.Length(max=254))
    phone = PlainText(allow_none=True, validate=ma.validate.Length(max=32))


class PasswordChangeArgs(ma.Schema):
    current = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))
    new = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class TotpCodeArgs(ma.Schema):
    totp = PlainText(
        required=True,
        validate=ma.validate.Length(min=6, max=8),
        metadata={"description": "The 6-digit code, named as in POST /auth/tokens"},
    )


class CredentialsArgs(ma.Schema):
    username = PlainText(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class CredentialsCodeArgs(CredentialsArgs, TotpCodeArgs):
    pass


class TotpEnrolmentOut(ma.Schema):
    otpauth_uri = ma.fields.String(required=True, metadata={"description": "otpauth:// URI for an authenticator app"})
    secret = ma.fields.String(required=True, metadata={"description": "The base32 secret, shown only at enrolment"})


NO_STORE_HEADER = {"Cache-Control": {"schema": {"type": "string"}}}


@blp.route("/me", methods=["PATCH"])
@blp.arguments(ProfileArgs)
@blp.response(200, MeOut)
@problem_responses(401, 403, 422)
@requires(perms.ACCOUNTS_SELF)
def update_me(args: dict[str, Any]) -> Any:
    """Change one's display name, e-mail or phone (as the account page does); fields left out stay."""
    user = pages.me()
    services_users.update_profile(
        actor=user,
        user=user,
        display_name=args.get("display_name", user.display_name),
        email=args.get("email", user.email),
        phone=args.get("phone", user.phone),
    )
    return _me_view(user)


@blp.route("/me/password", methods=["POST"])
@blp.arguments(PasswordChangeArgs)
@blp.response(204)
@problem_responses(401, 403, 422)
@requires(perms.ACCOUNTS_SELF)
def change_my_password(args: dict[str, Any]) -> Any:
    """Change one's password with the current one; every other session ends (API tokens stay valid)."""
    services_users.change_password(
        user=pages.me(), current=args["current"], new=args["new"], keep_session_id=g.get("user_session_id")
    )
    return None


def _begin_totp(user: User) -> Any:
    uri = services_totp.begin_totp_enrolment(user)
    secret = services_totp.totp_secret_for_display(user)
    return {"otpauth_uri": uri, "secret": secret}, 201, {"Cache-Control": "no-store"}


@blp.route("/me/totp", methods=["POST"])
@blp.response(201, TotpEnrolmentOut, headers=NO_STORE_HEADER)
@problem_responses(401, 403, 409)
@authenticated(perms.ACCOUNTS_SELF)
def begin_own_totp() -> Any:
    """Start enrolling an authenticator: a fresh secret, returned only in this answer; on after `confirm`."""
    return _begin_totp(pages.me())


@blp.route("/me/totp/confirm", methods=["POST"])
@blp.arguments(TotpCodeArgs)
@blp.response(204)
@problem_responses(401, 403, 409, 422)
@authenticated(perms.ACCOUNTS_SELF)
def confirm_own_totp(args: dict[str, Any]) -> Any:
    """Turn two-step verification on with a current code from the authenticator."""
    services_totp.confirm_totp_enrolment(pages.me(), args["totp"])
    return None


def _signed_in_user(args: dict[str, Any]) -> User:
    """The account the credentials name, checked like a sign-in (attempts recorded, lockout, throttling)."""
    result = services_login.check_sign_in(
        args["username"], args["password"], ip=request.remote_addr or "-", inline_totp=True
    )
    db.session.commit()  # mid-request on purpose: the attempt is evidence whatever the outcome (401/429)
    if result.status in (SignInStatus.LOCKED, SignInStatus.THROTTLED):
        retry = result.retry_at.isoformat() if result.retry_at else None
        raise TooManyRequests(N_("Too many failed attempts; try again later."), retry_at=retry)
    if result.status is not SignInStatus.OK or result.user is None:
        raise NotAuthenticated(N_("The credentials are not valid."))
    return result.user


@blp.route("/auth/totp", methods=["POST"])
@blp.arguments(CredentialsArgs)
@blp.response(201, TotpEnrolmentOut, headers=NO_STORE_HEADER)
@problem_responses(400, 401, 409, 422, 429)
@public
def begin_totp_with_password(args: dict[str, Any]) -> Any:
    """Enrol an authenticator with user name and password, before the account can have a token.

    For a new account whose role requires TOTP (a token needs it on): the same step as the page at first
    sign-in. Once TOTP is on the password alone is refused (401), as for a token. Rate-limited and locked
    out like signing in.
    """
    return _begin_totp(_signed_in_user(args))


@blp.route("/auth/totp/confirm", methods=["POST"])
@blp.arguments(CredentialsCodeArgs)
@blp.response(204)
@problem_responses(400, 401, 409, 422, 429)
@public
def confirm_totp_with_password(args: dict[str, Any]) -> Any:
    """Turn TOTP on with user name, password and a current code from the authenticator."""
    services_totp.confirm_totp_enrolment(_signed_in_user(args), args["totp"])
    return None


def init_app(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
