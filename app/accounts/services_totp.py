"""Two-step verification (RFC 6238 TOTP): enrolment, codes each good once, and administrators' resets.

The secret is stored encrypted (AES-GCM under a key derived from SECRET_KEY, bound to the user id).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets

import pyotp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from app.accounts.common import N_, Actor
from app.accounts.models import User
from app.accounts.services_sessions import revoke_sessions
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, ValidationFailed
from app.core.time import now_utc

TOTP_ISSUER = "Service Center"


def _secret_box() -> AESGCM:
    # A key derived from the application secret, separate from the session-signing use by HKDF's info.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"accounts.totp-secret.v1").derive(
        str(current_app.config["SECRET_KEY"]).encode()
    )
    return AESGCM(key)


def encrypt_secret(plain: str, *, user_id: int) -> str:
    nonce = secrets.token_bytes(12)
    ct = _secret_box().encrypt(nonce, plain.encode(), f"user:{user_id}".encode())
    return base64.urlsafe_b64encode(nonce + ct).decode()


def decrypt_secret(blob: str, *, user_id: int) -> str:
    raw = base64.urlsafe_b64decode(blob.encode())
    return _secret_box().decrypt(raw[:12], raw[12:], f"user:{user_id}".encode()).decode()


def begin_totp_enrolment(user: User) -> str:
    """Give the user a fresh TOTP secret (not active until confirmed); returns the provisioning URI."""
    if user.totp_enabled:
        raise Conflict(N_("Two-step verification is already on."))
    secret = pyotp.random_base32()
    user.totp_secret_enc = encrypt_secret(secret, user_id=user.id)
    db.session.flush()
    return totp_uri(user)


def totp_uri(user: User) -> str:
    if user.totp_secret_enc is None:
        raise Conflict(N_("No authenticator is being set up."))
    secret = decrypt_secret(user.totp_secret_enc, user_id=user.id)
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def totp_secret_for_display(user: User) -> str:
    """The secret while enrolment is pending (for manual entry); never once it is enabled."""
    if user.totp_enabled or user.totp_secret_enc is None:
        raise Conflict(N_("The secret is only shown while setting up."))
    return decrypt_secret(user.totp_secret_enc, user_id=user.id)


def verify_totp(user: User, code: str) -> bool:
    """Check a 6-digit code at the platform clock (±1 step); each step is accepted once."""
    if user.totp_secret_enc is None:
        return False
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(decrypt_secret(user.totp_secret_enc, user_id=user.id))
    now_step = int(now_utc().timestamp()) // totp.interval
    for step in (now_step - 1, now_step, now_step + 1):
        if step <= user.totp_last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            user.totp_last_step = step
            db.session.flush()
            return True
    return False


def confirm_totp_enrolment(user: User, code: str) -> None:
    """Turn TOTP on after the user proves the authenticator works. Raises ValidationFailed."""
    if user.totp_enabled:
        raise Conflict(N_("Two-step verification is already on."))
    if not verify_totp(user, code):
        raise ValidationFailed(N_("The code is not correct."), errors={"code": ["incorrect"]})
    user.totp_enabled = True
    db.session.flush()
    record("accounts.totp_enabled", actor=user, subject=user.audit_ref)


def reset_totp(*, actor: Actor, user: User) -> None:
    """Remove the user's authenticator (lost phone); the user must enrol again if a role requires it.

    Raises Conflict for one's own: another administrator resets it (nobody removes their own second factor).
    """
    if isinstance(actor, User) and actor.id == user.id:
        raise Conflict(N_("Another administrator must reset your authenticator."))
    user.totp_secret_enc = None
    user.totp_enabled = False
    user.totp_last_step = 0
    revoke_sessions(user)
    db.session.flush()
    record("accounts.totp_reset", actor=actor, subject=user.audit_ref)
