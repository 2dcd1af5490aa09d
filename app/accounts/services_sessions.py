"""Server-side browser sessions: the cookie holds a random id, the database its hash, expiry and revocation."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.accounts.common import config_value, sha256_hex
from app.accounts.models import User, UserSession
from app.audit import record
from app.core.db import db
from app.core.time import now_utc


def start_session(user: User, *, ip: str, user_agent: str) -> tuple[UserSession, str]:
    """A new server-side session; returns the row and the random id for the cookie (never stored)."""
    sid = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        sid_hash=sha256_hex(sid),
        created_at=now_utc(),
        expires_at=now_utc() + config_value("PERMANENT_SESSION_LIFETIME"),
        ip=ip[:64],
        user_agent=user_agent[:255],
    )
    db.session.add(row)
    db.session.flush()
    return row, sid


def session_user(sid: str, user_id: int) -> tuple[User, UserSession] | None:
    """The user of a live session (not revoked, not expired, account active), or None."""
    row = db.session.scalar(select(UserSession).where(UserSession.sid_hash == sha256_hex(sid)))
    if row is None or row.user_id != user_id or row.revoked_at is not None or row.expires_at <= now_utc():
        return None
    if not row.user.is_active:
        return None
    return row.user, row


def end_session(sid: str) -> None:
    """Sign out: revoke the session of this cookie id (nothing when it is unknown or already ended)."""
    row = db.session.scalar(select(UserSession).where(UserSession.sid_hash == sha256_hex(sid)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now_utc()
        db.session.flush()
        record("accounts.signed_out", actor=row.user, subject=row.user.audit_ref)


def revoke_sessions(user: User, except_id: int | None = None) -> int:
    """Revoke the user's live sessions but `except_id`; returns how many. The caller flushes."""
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    count = 0
    for row in rows:
        if row.id != except_id:
            row.revoked_at = now_utc()
            count += 1
    return count
