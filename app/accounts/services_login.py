"""Signing in: password then TOTP, per-name lockout and per-address throttling, derived from recorded attempts.

Every attempt is a `LoginAttempt` row; lockouts are computed from them, never stored. Failures are
indistinct on purpose (unknown name, wrong password and inactive account look alike).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.accounts.common import Actor, config_value
from app.accounts.models import LoginAttempt, LoginOutcome, User
from app.accounts.services_passwords import burn_time, verify_password
from app.accounts.services_totp import verify_totp
from app.accounts.services_users import get_user_by_username, normalise_username
from app.audit import record
from app.core.db import db
from app.core.time import now_utc

# How long the password step stays good while the user types the TOTP code.
PENDING_TOTP_LIFETIME = timedelta(minutes=5)


class SignInStatus(enum.Enum):
    OK = "ok"
    TOTP_REQUIRED = "totp_required"
    INVALID = "invalid"
    LOCKED = "locked"
    THROTTLED = "throttled"


@dataclass
class SignInResult:
    status: SignInStatus
    user: User | None = None
    retry_at: datetime | None = None


def _ip_limit() -> int:
    return int(current_app.config.get("LOGIN_IP_MAX_FAILURES", 4 * int(config_value("LOGIN_MAX_FAILURES"))))


def locked_until(username: str, at: datetime | None = None) -> datetime | None:
    """When the lockout of `username` ends, or None. Derived from attempts after the last success/unlock."""
    at = at or now_utc()
    window: timedelta = config_value("LOGIN_FAILURE_WINDOW")
    lockout: timedelta = config_value("LOGIN_LOCKOUT")
    limit = int(config_value("LOGIN_MAX_FAILURES"))
    name = normalise_username(username)
    reset_id = db.session.scalar(
        select(func.max(LoginAttempt.id)).where(
            LoginAttempt.username == name, LoginAttempt.outcome.in_([LoginOutcome.SUCCESS, LoginOutcome.UNLOCK])
        )
    )
    stmt = select(LoginAttempt.at).where(
        LoginAttempt.username == name,
        LoginAttempt.outcome == LoginOutcome.FAILURE,
        LoginAttempt.at > at - window - lockout,
    )
    if reset_id is not None:
        stmt = stmt.where(LoginAttempt.id > reset_id)
    times = list(db.session.scalars(stmt.order_by(LoginAttempt.id)))
    until: datetime | None = None
    for i in range(len(times) - limit + 1):
        first, last = times[i], times[i + limit - 1]
        if last - first <= window:
            candidate = last + lockout
            until = candidate if until is None or candidate > until else until
    return until if until is not None and until > at else None


def ip_throttled(ip: str, at: datetime | None = None) -> datetime | None:
    """When sign-ins from `ip` are accepted again, or None when they are now."""
    at = at or now_utc()
    window: timedelta = config_value("LOGIN_FAILURE_WINDOW")
    times = list(
        db.session.scalars(
            select(LoginAttempt.at)
            .where(LoginAttempt.ip == ip, LoginAttempt.outcome == LoginOutcome.FAILURE, LoginAttempt.at > at - window)
            .order_by(LoginAttempt.at)
        )
    )
    limit = _ip_limit()
    if len(times) < limit:
        return None
    return times[len(times) - limit] + window


def unlock_user(*, actor: Actor, user: User, ip: str = "-") -> None:
    """Lift a sign-in lockout: failures before this point no longer count."""
    _attempt(user.username, user, ip, LoginOutcome.UNLOCK)
    record("accounts.user_unlocked", actor=actor, subject=user.audit_ref)


def _attempt(username: str, user: User | None, ip: str, outcome: LoginOutcome) -> None:
    db.session.add(
        LoginAttempt(at=now_utc(), username=username[:64], user_id=user.id if user else None, ip=ip, outcome=outcome)
    )
    db.session.flush()


def _failed(name: str, user: User | None, ip: str, reason: str) -> SignInResult:
    _attempt(name, user, ip, LoginOutcome.FAILURE)
    subject = user.audit_ref if user else f"username:{name[:64]}"
    record("accounts.login_failed", actor=f"anonymous@{ip}", subject=subject, data={"reason": reason})
    until = locked_until(name)
    if until is not None:
        record("accounts.locked_out", actor="system", subject=subject, data={"until": until.isoformat(), "ip": ip})
        return SignInResult(SignInStatus.LOCKED, retry_at=until)
    return SignInResult(SignInStatus.INVALID)


def _gate(name: str, ip: str) -> SignInResult | None:
    """Refuse before checking anything when the address is throttled or the name locked out."""
    until = ip_throttled(ip)
    if until is not None:
        _attempt(name, None, ip, LoginOutcome.THROTTLED)
        return SignInResult(SignInStatus.THROTTLED, retry_at=until)
    until = locked_until(name)
    if until is not None:
        _attempt(name, None, ip, LoginOutcome.LOCKED)
        return SignInResult(SignInStatus.LOCKED, retry_at=until)
    return None


def check_sign_in(
    username: str, password: str, *, ip: str, totp_code: str | None = None, inline_totp: bool = False
) -> SignInResult:
    """First step of signing in. Records the attempt (flushes; the caller commits even on failure).

    With `inline_totp` (the token API) the TOTP code must come with the password; otherwise a user
    with TOTP gets TOTP_REQUIRED and finishes with `check_totp_step`. Failures are indistinct on purpose.
    """
    name = normalise_username(username)[:64]
    refused = _gate(name, ip)
    if refused is not None:
        return refused
    user = get_user_by_username(name) if name else None
    if user is None:
        burn_time(password)
        return _failed(name, None, ip, "unknown user")
    if not verify_password(user, password):
        return _failed(name, user, ip, "wrong password")
    if not user.is_active:
        return _failed(name, user, ip, "inactive account")
    if user.totp_enabled:
        if not inline_totp:
            return SignInResult(SignInStatus.TOTP_REQUIRED, user=user)
        if not totp_code or not verify_totp(user, totp_code):
            return _failed(name, user, ip, "wrong or missing TOTP code")
    _signed_in(user, ip, via="token-api" if inline_totp else "password")
    return SignInResult(SignInStatus.OK, user=user)


def check_totp_step(user_id: int, code: str, *, ip: str) -> SignInResult:
    """Second step for users with TOTP; a wrong code counts as a failed sign-in."""
    user = db.session.get(User, user_id)
    if user is None or not user.totp_enabled:
        return SignInResult(SignInStatus.INVALID)
    refused = _gate(user.username, ip)
    if refused is not None:
        return refused
    if not user.is_active or not verify_totp(user, code):
        return _failed(user.username, user, ip, "wrong TOTP code")
    _signed_in(user, ip, via="password+totp")
    return SignInResult(SignInStatus.OK, user=user)


def _signed_in(user: User, ip: str, via: str) -> None:
    _attempt(user.username, user, ip, LoginOutcome.SUCCESS)
    record("accounts.signed_in", actor=user, subject=user.audit_ref, data={"ip": ip, "via": via})
