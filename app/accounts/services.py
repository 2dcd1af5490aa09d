"""Account services: users, organisations, roles, passwords, TOTP, sign-in, sessions and API tokens.

Every function flushes and never commits; the view, CLI command or task that calls it commits.
Each state change writes its evidence entry through `app.audit.record` in the same transaction.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import func, select

from app.accounts import permissions as perms
from app.accounts.models import (
    USCC_REQUIRED_KINDS,
    ApiToken,
    LoginAttempt,
    LoginOutcome,
    Organisation,
    OrganisationKind,
    Role,
    User,
    UserSession,
)
from app.accounts.uscc import InvalidUSCC, make_uscc, parse_uscc
from app.core.db import db
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.reference import demo, provides
from app.core.time import now_utc

Actor = Any  # a User, or a string such as "cli" or "system"


def N_(message: str) -> str:
    """Mark a message for the translation catalogue; pages translate it when they show it."""
    return message


USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
PASSWORD_MIN = 10
PASSWORD_MAX = 256
TOKEN_PREFIX = "scp"  # noqa: S105 - the public marker of token texts, not a secret
TOTP_ISSUER = "Service Center"
PENDING_TOTP_LIFETIME = timedelta(minutes=5)


def _audit(action: str, *, actor: Actor, subject: str | None, data: dict[str, Any] | None = None) -> None:
    from app.audit import record

    record(action, actor=actor, subject=subject, data=data)


# --- passwords -------------------------------------------------------------------------------------

# argon2id; production uses the library defaults (RFC 9106 low-memory profile), tests a cheaper
# setting through ARGON2_PARAMS. Changing them makes every stored hash "need rehash", and the next
# successful sign-in upgrades it.
_hashers: dict[tuple[tuple[str, int], ...], PasswordHasher] = {}
_dummy: dict[str, str] = {}


def hasher() -> PasswordHasher:
    params: dict[str, int] = current_app.config.get("ARGON2_PARAMS") or {}
    key = tuple(sorted(params.items()))
    if key not in _hashers:
        defaults = PasswordHasher()
        _hashers[key] = PasswordHasher(
            time_cost=params.get("time_cost", defaults.time_cost),
            memory_cost=params.get("memory_cost", defaults.memory_cost),
            parallelism=params.get("parallelism", defaults.parallelism),
        )
    return _hashers[key]


def hash_password(password: str) -> str:
    return hasher().hash(password)


def _verify_hash(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _burn_time(password: str) -> None:
    """Spend one verification's time when there is no account, so timing does not reveal names."""
    if "hash" not in _dummy:
        _dummy["hash"] = hasher().hash(secrets.token_urlsafe(16))
    _verify_hash(_dummy["hash"], password)


def verify_password(user: User, password: str) -> bool:
    """Check `password`; upgrades the stored hash when the hashing parameters changed (flushes)."""
    if not _verify_hash(user.password_hash, password):
        return False
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
        db.session.flush()
    return True


def password_problems(password: str, *, username: str = "") -> list[str]:
    """Reasons the password is refused (empty when acceptable). Length over composition rules (NIST 800-63B)."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(N_("at least 10 characters"))
    if len(password) > PASSWORD_MAX:
        problems.append(N_("at most 256 characters"))
    if username and username.lower() in password.lower():
        problems.append(N_("must not contain the user name"))
    if password and len(set(password)) < 4:
        problems.append(N_("too few different characters"))
    return problems


def _check_password(password: str, username: str) -> None:
    problems = password_problems(password, username=username)
    if problems:
        raise ValidationFailed(N_("The password is too weak."), errors={"password": problems})


def generate_password() -> str:
    return secrets.token_urlsafe(12)


# --- secrets at rest -------------------------------------------------------------------------------


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


# --- reads -----------------------------------------------------------------------------------------


def normalise_username(raw: str) -> str:
    return "".join(c for c in raw if c.isprintable()).strip().lower()


def _id_in_range(value: int) -> bool:
    # Ids are 32-bit on every backend; a bigger number in a URL is simply not found (not a 500).
    return 0 < value < 2**31


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id) if _id_in_range(user_id) else None
    if user is None:
        raise NotFound(N_("No such user."))
    return user


def get_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def list_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.name)))


def get_role(role_id: int) -> Role:
    role = db.session.get(Role, role_id) if _id_in_range(role_id) else None
    if role is None:
        raise NotFound(N_("No such role."))
    return role


def list_organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def get_organisation(org_id: int) -> Organisation:
    org = db.session.get(Organisation, org_id) if _id_in_range(org_id) else None
    if org is None:
        raise NotFound(N_("No such organisation."))
    return org


def _roles_by_name(names: list[str]) -> list[Role]:
    wanted = sorted(set(names))
    roles = list(db.session.scalars(select(Role).where(Role.name.in_(wanted)))) if wanted else []
    unknown = set(wanted) - {r.name for r in roles}
    if unknown:
        raise ValidationFailed(N_("Unknown role."), errors={"roles": sorted(unknown)})
    return roles


# --- users, organisations, roles -------------------------------------------------------------------


def create_user(
    *,
    actor: Actor,
    username: str,
    display_name: str,
    password: str,
    roles: list[str],
    organisation_id: int | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> User:
    """Create an active user with `roles`. Raises ValidationFailed (bad name, weak password, unknown role), Conflict."""
    name = normalise_username(username)
    if not USERNAME_RE.match(name):
        raise ValidationFailed(
            N_("User names are 2-64 characters: letters, digits, '.', '_' or '-'."), errors={"username": ["invalid"]}
        )
    if get_user_by_username(name) is not None:
        raise Conflict(N_("That user name is taken."))
    _check_password(password, name)
    role_rows = _roles_by_name(roles)
    if organisation_id is not None:
        get_organisation(organisation_id)
    user = User(
        username=name,
        display_name=display_name.strip() or name,
        email=(email or "").strip() or None,
        phone=(phone or "").strip() or None,
        password_hash=hash_password(password),
        password_changed_at=now_utc(),
        organisation_id=organisation_id,
        active=True,
        created_at=now_utc(),
    )
    user.roles = role_rows
    db.session.add(user)
    db.session.flush()
    _audit(
        "accounts.user_created",
        actor=actor,
        subject=user.audit_ref,
        data={"username": name, "roles": [r.name for r in role_rows], "organisation_id": organisation_id},
    )
    return user


def update_profile(*, actor: Actor, user: User, display_name: str, email: str | None, phone: str | None) -> None:
    changes = {}
    for field, raw in (("display_name", display_name), ("email", email), ("phone", phone)):
        value = (raw or "").strip() or None
        if field == "display_name" and not value:
            raise ValidationFailed(N_("A display name is required."), errors={"display_name": ["required"]})
        if getattr(user, field) != value:
            changes[field] = value
            setattr(user, field, value)
    if changes:
        db.session.flush()
        _audit("accounts.profile_updated", actor=actor, subject=user.audit_ref, data={"fields": sorted(changes)})


def change_password(*, user: User, current: str, new: str, keep_session_id: int | None = None) -> None:
    """Change the caller's own password; signs out every other session. Raises ValidationFailed."""
    if not _verify_hash(user.password_hash, current):
        raise ValidationFailed(N_("The current password is not correct."), errors={"current": ["incorrect"]})
    _check_password(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = now_utc()
    revoked = _revoke_sessions(user, except_id=keep_session_id)
    db.session.flush()
    _audit("accounts.password_changed", actor=user, subject=user.audit_ref, data={"sessions_ended": revoked})


def set_password(*, actor: Actor, user: User, new: str) -> None:
    """An administrator or the CLI sets a password; ends all the user's sessions."""
    _check_password(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = now_utc()
    _revoke_sessions(user)
    db.session.flush()
    _audit("accounts.password_set", actor=actor, subject=user.audit_ref)


def update_user(
    *,
    actor: Actor,
    user: User,
    display_name: str,
    email: str | None,
    phone: str | None,
    organisation_id: int | None,
    roles: list[str],
) -> None:
    """Administrator edit: profile, organisation and roles. Role changes are recorded with before/after."""
    update_profile(actor=actor, user=user, display_name=display_name, email=email, phone=phone)
    if organisation_id != user.organisation_id:
        if organisation_id is not None:
            get_organisation(organisation_id)
        before_org = user.organisation_id
        user.organisation_id = organisation_id
        db.session.flush()
        _audit(
            "accounts.organisation_changed",
            actor=actor,
            subject=user.audit_ref,
            data={"before": before_org, "after": organisation_id},
        )
    set_roles(actor=actor, user=user, roles=roles)


def set_roles(*, actor: Actor, user: User, roles: list[str]) -> None:
    """Replace the user's roles. Refuses to remove the last active administrator."""
    role_rows = _roles_by_name(roles)
    before = sorted(r.name for r in user.roles)
    after = sorted(r.name for r in role_rows)
    if before == after:
        return
    if "admin" in before and "admin" not in after:
        _refuse_last_admin(user)
    user.roles = role_rows
    db.session.flush()
    _audit("accounts.roles_changed", actor=actor, subject=user.audit_ref, data={"before": before, "after": after})


def _refuse_last_admin(user: User) -> None:
    others = db.session.scalar(
        select(func.count(User.id))
        .join(User.roles)
        .where(Role.name == "admin", User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise Conflict(N_("This is the last active administrator."))


def set_active(*, actor: Actor, user: User, active: bool) -> None:
    """Deactivate (ends sessions, tokens stop working) or reactivate an account."""
    if user.active == active:
        return
    if not active:
        if user.has_role("admin"):
            _refuse_last_admin(user)
        _revoke_sessions(user)
    user.active = active
    db.session.flush()
    _audit("accounts.user_activated" if active else "accounts.user_deactivated", actor=actor, subject=user.audit_ref)


def unlock_user(*, actor: Actor, user: User, ip: str = "-") -> None:
    """Lift a sign-in lockout: failures before this point no longer count."""
    db.session.add(
        LoginAttempt(at=now_utc(), username=user.username, user_id=user.id, ip=ip, outcome=LoginOutcome.UNLOCK)
    )
    db.session.flush()
    _audit("accounts.user_unlocked", actor=actor, subject=user.audit_ref)


def reset_totp(*, actor: Actor, user: User) -> None:
    """Remove the user's authenticator (lost phone); the user must enrol again if a role requires it."""
    user.totp_secret_enc = None
    user.totp_enabled = False
    user.totp_last_step = 0
    _revoke_sessions(user)
    db.session.flush()
    _audit("accounts.totp_reset", actor=actor, subject=user.audit_ref)


def create_organisation(*, actor: Actor, name: str, kind: str, uscc: str | None) -> Organisation:
    """Create an organisation; bidders and agencies need a valid unified social credit code."""
    try:
        kind_value = OrganisationKind(kind)
    except ValueError:
        raise ValidationFailed(N_("Unknown organisation kind."), errors={"kind": ["invalid"]}) from None
    name = name.strip()
    if not name:
        raise ValidationFailed(N_("A name is required."), errors={"name": ["required"]})
    code: str | None = None
    if uscc and uscc.strip():
        try:
            code = parse_uscc(uscc).code
        except InvalidUSCC as exc:
            raise ValidationFailed(str(exc), errors={"uscc": [exc.reason]}) from None
    elif kind_value in USCC_REQUIRED_KINDS:
        raise ValidationFailed(
            N_("A unified social credit code is required for this kind."), errors={"uscc": ["required"]}
        )
    if db.session.scalar(select(Organisation.id).where(Organisation.name == name)) is not None:
        raise Conflict(N_("An organisation with that name exists."))
    if code and db.session.scalar(select(Organisation.id).where(Organisation.uscc == code)) is not None:
        raise Conflict(N_("An organisation with that unified social credit code exists."))
    org = Organisation(name=name, kind=kind_value, uscc=code, created_at=now_utc())
    db.session.add(org)
    db.session.flush()
    _audit(
        "accounts.organisation_created",
        actor=actor,
        subject=org.audit_ref,
        data={"name": name, "kind": kind_value.value, "uscc": code},
    )
    return org


def update_role(
    *, actor: Actor, role: Role, label_en: str, label_zh: str, permissions: list[str], requires_totp: bool
) -> None:
    """Edit a role's labels, permissions (declared names only) and TOTP requirement."""
    unknown = sorted(p for p in permissions if not perms.is_declared(p))
    if unknown:
        raise ValidationFailed(N_("Unknown permission."), errors={"permissions": unknown})
    new_perms = sorted(set(permissions))
    if role.name == "admin" and perms.ACCOUNTS_ADMIN not in new_perms:
        raise Conflict(N_("The admin role must keep the permission to manage accounts."))
    before = {"permissions": sorted(role.permissions or []), "requires_totp": role.requires_totp}
    role.label_en = label_en.strip() or role.label_en
    role.label_zh = label_zh.strip() or role.label_zh
    role.permissions = new_perms
    role.requires_totp = requires_totp
    db.session.flush()
    after = {"permissions": new_perms, "requires_totp": requires_totp}
    if before != after:
        _audit("accounts.role_changed", actor=actor, subject=role.audit_ref, data={"before": before, "after": after})


@provides("accounts.roles")
def seed_roles() -> None:
    """Create the seeded roles and apply default grants not yet applied (an admin's removals stay removed)."""
    for name, (label_en, label_zh, requires_totp) in perms.SEEDED_ROLES.items():
        role = db.session.scalar(select(Role).where(Role.name == name))
        if role is None:
            role = Role(
                name=name,
                label_en=label_en,
                label_zh=label_zh,
                permissions=[],
                seeded_permissions=[],
                requires_totp=requires_totp,
            )
            db.session.add(role)
        seeded = list(role.seeded_permissions or [])
        fresh = [p for p in perms.default_grants(name) if p not in seeded]
        if fresh:
            current = list(role.permissions or [])
            role.permissions = sorted(set(current) | set(fresh))
            role.seeded_permissions = seeded + fresh
    db.session.flush()


# --- sign-in ---------------------------------------------------------------------------------------


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


def _cfg(name: str) -> Any:
    return current_app.config[name]


def _ip_limit() -> int:
    return int(current_app.config.get("LOGIN_IP_MAX_FAILURES", 4 * int(_cfg("LOGIN_MAX_FAILURES"))))


def locked_until(username: str, at: datetime | None = None) -> datetime | None:
    """When the lockout of `username` ends, or None. Derived from attempts after the last success/unlock."""
    at = at or now_utc()
    window: timedelta = _cfg("LOGIN_FAILURE_WINDOW")
    lockout: timedelta = _cfg("LOGIN_LOCKOUT")
    limit = int(_cfg("LOGIN_MAX_FAILURES"))
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
    window: timedelta = _cfg("LOGIN_FAILURE_WINDOW")
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


def _attempt(username: str, user: User | None, ip: str, outcome: LoginOutcome) -> None:
    db.session.add(
        LoginAttempt(at=now_utc(), username=username[:64], user_id=user.id if user else None, ip=ip, outcome=outcome)
    )
    db.session.flush()


def _failed(name: str, user: User | None, ip: str, reason: str) -> SignInResult:
    _attempt(name, user, ip, LoginOutcome.FAILURE)
    subject = user.audit_ref if user else f"username:{name[:64]}"
    _audit("accounts.login_failed", actor=f"anonymous@{ip}", subject=subject, data={"reason": reason})
    until = locked_until(name)
    if until is not None:
        _audit("accounts.locked_out", actor="system", subject=subject, data={"until": until.isoformat(), "ip": ip})
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
        _burn_time(password)
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
    _audit("accounts.signed_in", actor=user, subject=user.audit_ref, data={"ip": ip, "via": via})


# --- browser sessions ------------------------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start_session(user: User, *, ip: str, user_agent: str) -> tuple[UserSession, str]:
    """A new server-side session; returns the row and the random id for the cookie (never stored)."""
    sid = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        sid_hash=_sha256(sid),
        created_at=now_utc(),
        expires_at=now_utc() + _cfg("PERMANENT_SESSION_LIFETIME"),
        ip=ip[:64],
        user_agent=user_agent[:255],
    )
    db.session.add(row)
    db.session.flush()
    return row, sid


def session_user(sid: str, user_id: int) -> tuple[User, UserSession] | None:
    """The user of a live session (not revoked, not expired, account active), or None."""
    row = db.session.scalar(select(UserSession).where(UserSession.sid_hash == _sha256(sid)))
    if row is None or row.user_id != user_id or row.revoked_at is not None or row.expires_at <= now_utc():
        return None
    if not row.user.is_active:
        return None
    return row.user, row


def end_session(sid: str) -> None:
    row = db.session.scalar(select(UserSession).where(UserSession.sid_hash == _sha256(sid)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = now_utc()
        db.session.flush()
        _audit("accounts.signed_out", actor=row.user, subject=row.user.audit_ref)


def _revoke_sessions(user: User, except_id: int | None = None) -> int:
    rows = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    )
    count = 0
    for row in rows:
        if row.id != except_id:
            row.revoked_at = now_utc()
            count += 1
    return count


# --- TOTP ------------------------------------------------------------------------------------------


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
    _audit("accounts.totp_enabled", actor=user, subject=user.audit_ref)


# --- API tokens ------------------------------------------------------------------------------------


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
    default_ttl: timedelta = _cfg("API_TOKEN_DEFAULT_TTL")
    max_ttl: timedelta = _cfg("API_TOKEN_MAX_TTL")
    ttl = default_ttl if expires_in_days is None else timedelta(days=expires_in_days)
    if ttl <= timedelta(0) or ttl > max_ttl:
        raise ValidationFailed(
            f"A token lives between 1 and {max_ttl.days} days.", errors={"expires_in_days": ["out of range"]}
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
        token_hash=_sha256(text),
        scopes=scopes,
        created_at=now,
        expires_at=now + ttl,
    )
    db.session.add(token)
    db.session.flush()
    _audit(
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
    token = db.session.get(ApiToken, token_id) if _id_in_range(token_id) else None
    if token is None or token.user_id != user.id:
        raise NotFound(N_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = now_utc()
        db.session.flush()
        _audit("accounts.token_revoked", actor=user, subject=token.audit_ref, data={"prefix": token.prefix})
    return token


class TokenRefusal(enum.Enum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INACTIVE = "inactive"
    TOTP_SETUP = "totp-setup-required"


def authenticate_token(text: str) -> tuple[ApiToken | None, TokenRefusal | None]:
    """Look a bearer token up by prefix and compare hashes; updates last_used_at at most once a minute."""
    parts = text.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        return None, TokenRefusal.MALFORMED
    token = db.session.scalar(select(ApiToken).where(ApiToken.prefix == parts[1]))
    if token is None or not hmac.compare_digest(token.token_hash, _sha256(text)):
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
        token.last_used_at = now
        db.session.flush()
    return token, None


# --- demo accounts ---------------------------------------------------------------------------------

DEMO_ORGANISATIONS = [
    # name, kind, USCC (synthetic but valid; division 130400 is Handan)
    ("邯郸市行政服务中心", OrganisationKind.CENTER, make_uscc("1", "1", "130400", "MB1A0001")),
    ("邯郸示范招标代理有限公司", OrganisationKind.AGENCY, make_uscc("9", "1", "130400", "MA0DEM01")),
    ("邯郸示范建设工程有限公司", OrganisationKind.BIDDER, make_uscc("9", "1", "130400", "MA0DEM02")),
]
DEMO_ROLE_ORG = {
    "admin": 0,
    "agency": 1,
    "bidder": 2,
    "expert": None,
    "auditor": 0,
    "supervisor": 0,
}


def seed_demo_accounts() -> list[tuple[str, str, str]]:
    """When there are no users: one account per seeded role with a random password (flushes).

    Returns (username, role, password) triples for the operator to see once.
    """
    if db.session.scalar(select(func.count(User.id))):
        return []
    orgs = []
    for name, kind, code in DEMO_ORGANISATIONS:
        org = db.session.scalar(select(Organisation).where(Organisation.name == name))
        orgs.append(org or create_organisation(actor="system", name=name, kind=kind.value, uscc=code))
    created = []
    for role in perms.SEEDED_ROLES:
        password = generate_password()
        index = DEMO_ROLE_ORG.get(role)
        label_en, label_zh, _totp = perms.SEEDED_ROLES[role]
        create_user(
            actor="system",
            username=role,
            display_name=f"{label_zh} ({label_en})",
            password=password,
            roles=[role],
            organisation_id=orgs[index].id if index is not None else None,
        )
        created.append((role, role, password))
    return created


@demo("accounts.users")
def _demo_lines() -> list[str]:
    return [f"{username:<12} role={role:<11} password={password}" for username, role, password in seed_demo_accounts()]
