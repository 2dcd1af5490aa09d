"""API bearer tokens `scp_<prefix>_<secret>`: creation (shown once, stored hashed), listing, revocation, checking."""

from __future__ import annotations

import base64
import enum
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import select

from app.accounts import permissions as perms
from app.accounts.common import N_, config_value, sha256_hex
from app.accounts.models import ApiToken, User
from app.audit import record
from app.core.db import db, is_valid_id
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.time import now_utc

TOKEN_PREFIX = "scp"  # noqa: S105 - the public marker of token texts, not a secret


class TokenRefusal(enum.Enum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INACTIVE = "inactive"
    TOTP_SETUP = "totp-setup-required"


def create_token(
    *, user: User, name: str, scopes: list[str], expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the token text, which is shown once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed(N_("A token needs a name."), errors={"name": ["required"]})
    if user.needs_totp_setup:
        raise PermissionDenied(N_("Set up two-step verification before creating tokens."))
    scopes = sorted(set(scopes))
    if not scopes:
        raise ValidationFailed(N_("Choose at least one scope."), errors={"scopes": ["required"]})
    bad = [s for s in scopes if not perms.scope_is_valid(s)]
    if bad:
        raise ValidationFailed(N_("Unknown scope."), errors={"scopes": bad})
    # A token delegates what its user holds, never more: a scope the roles do not grant is refused by name.
    held = perms.holdable_scopes(user.permissions)
    lacking = [s for s in scopes if not perms.scope_is_held(s, held)]
    if lacking:
        raise PermissionDenied(
            N_("Your account does not hold the scope %(scopes)s: a token can only carry what your roles allow."),
            params={"scopes": ", ".join(repr(s) for s in lacking)},
            errors={"scopes": lacking},
        )
    default_ttl: timedelta = config_value("API_TOKEN_DEFAULT_TTL")
    max_ttl: timedelta = config_value("API_TOKEN_MAX_TTL")
    ttl = default_ttl if expires_in_days is None else timedelta(days=expires_in_days)
    if ttl <= timedelta(0) or ttl > max_ttl:
        raise ValidationFailed(
            N_("A token lives between 1 and %(days)s days."),
            params={"days": max_ttl.days},
            errors={"expires_in_days": ["out of range"]},
        )
    prefix = secrets.token_hex(4)
    while db.session.scalar(select(ApiToken.id).where(ApiToken.prefix == prefix)) is not None:
        prefix = secrets.token_hex(4)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    text = f"{TOKEN_PREFIX}_{prefix}_{secret}"
    now = now_utc()
    token = ApiToken(
        user_id=user.id,
        name=name[:100],
        prefix=prefix,
        token_hash=sha256_hex(text),
        scopes=scopes,
        created_at=now,
        expires_at=now + ttl,
    )
    db.session.add(token)
    db.session.flush()
    record(
        "accounts.token_created",
        actor=user,
        subject=token.audit_ref,
        data={"name": token.name, "prefix": prefix, "scopes": scopes, "expires_at": token.expires_at.isoformat()},
    )
    return token, text


def list_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (idempotent). Raises NotFound for others' tokens."""
    token = db.session.get(ApiToken, token_id) if is_valid_id(token_id) else None
    if token is None or token.user_id != user.id:
        raise NotFound(N_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        db.session.flush()
        record("accounts.token_revoked", actor=user, subject=token.audit_ref, data={"prefix": token.prefix})
    return token


def authenticate_token(text: str) -> tuple[ApiToken | None, TokenRefusal | None]:
    """Look a bearer token up by prefix and compare hashes; moves last_used_at at most once a minute (not flushed)."""
    parts = text.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        return None, TokenRefusal.MALFORMED
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if token is None or not hmac.compare_digest(token.token_hash, sha256_hex(text)):
        return None, TokenRefusal.UNKNOWN
    now = now_utc()
    if token.revoked_at is not None:
        return None, TokenRefusal.REVOKED
    if token.expires_at <= now:
        return None, TokenRefusal.EXPIRED
    if not token.user.is_active:
        return None, TokenRefusal.INACTIVE
    if token.user.needs_totp_setup:
        return None, TokenRefusal.TOTP_SETUP
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now  # written by the next flush (the caller tells by db.session.is_modified(token))
    return token, None
