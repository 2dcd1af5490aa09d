"""Users: creation, profiles, own password changes, administrators' edits of organisation, roles and activity."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.accounts.common import N_, Actor, get_row
from app.accounts.models import Role, User
from app.accounts.services_organisations import get_active_organisation
from app.accounts.services_passwords import check_password, generate_password, hash_password, verify_hash
from app.accounts.services_roles import roles_by_name
from app.accounts.services_sessions import revoke_sessions
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, ValidationFailed
from app.core.time import now_utc

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def normalise_username(raw: str) -> str:
    return "".join(c for c in raw if c.isprintable()).strip().lower()


def get_user(user_id: int) -> User:
    return get_row(User, user_id, N_("No such user."))


def get_user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def search_users(
    *,
    q: str | None = None,
    role: str | None = None,
    organisation_id: int | None = None,
    active: bool | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[User], int]:
    """One page of users by user name: `q` matches user or display name; and the total."""
    stmt = select(User)
    if q and q.strip():
        text = q.strip()
        stmt = stmt.where(
            User.username.contains(text.lower(), autoescape=True) | User.display_name.contains(text, autoescape=True)
        )
    if role:
        stmt = stmt.where(User.roles.any(Role.name == role))
    if organisation_id is not None:
        stmt = stmt.where(User.organisation_id == organisation_id)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    total = int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = db.session.scalars(stmt.order_by(User.username).limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


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
    check_password(password, name)
    role_rows = roles_by_name(roles)
    if organisation_id is not None:
        get_active_organisation(organisation_id)
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
    record(
        "accounts.user_created",
        actor=actor,
        subject=user.audit_ref,
        data={"username": name, "roles": [r.name for r in role_rows], "organisation_id": organisation_id},
    )
    return user


def update_profile(*, actor: Actor, user: User, display_name: str, email: str | None, phone: str | None) -> None:
    """Change display name, e-mail and phone (the display name is required). Raises ValidationFailed."""
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
        record("accounts.profile_updated", actor=actor, subject=user.audit_ref, data={"fields": sorted(changes)})


def change_password(*, user: User, current: str, new: str, keep_session_id: int | None = None) -> None:
    """Change the caller's own password; signs out every other session. Raises ValidationFailed."""
    if not verify_hash(user.password_hash, current):
        raise ValidationFailed(N_("The current password is not correct."), errors={"current": ["incorrect"]})
    check_password(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = now_utc()
    revoked = revoke_sessions(user, except_id=keep_session_id)
    db.session.flush()
    record("accounts.password_changed", actor=user, subject=user.audit_ref, data={"sessions_ended": revoked})


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
            get_active_organisation(organisation_id)
        before_org = user.organisation_id
        user.organisation_id = organisation_id
        db.session.flush()
        record(
            "accounts.organisation_changed",
            actor=actor,
            subject=user.audit_ref,
            data={"before": before_org, "after": organisation_id},
        )
    set_roles(actor=actor, user=user, roles=roles)


def set_roles(*, actor: Actor, user: User, roles: list[str]) -> None:
    """Replace the user's roles. Refuses to remove the last active administrator."""
    role_rows = roles_by_name(roles)
    before = sorted(r.name for r in user.roles)
    after = sorted(r.name for r in role_rows)
    if before == after:
        return
    if "admin" in before and "admin" not in after:
        _refuse_self(actor, user, N_("You cannot remove your own administrator role."))
        _refuse_last_admin(user)
    user.roles = role_rows
    db.session.flush()
    record("accounts.roles_changed", actor=actor, subject=user.audit_ref, data={"before": before, "after": after})


def _refuse_self(actor: Actor, user: User, message: str) -> None:
    """An administrator cannot lock themselves out; another administrator must do it."""
    if isinstance(actor, User) and actor.id == user.id:
        raise Conflict(message)


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
        _refuse_self(actor, user, N_("You cannot deactivate your own account."))
        if user.has_role("admin"):
            _refuse_last_admin(user)
        revoke_sessions(user)
    user.active = active
    db.session.flush()
    record("accounts.user_activated" if active else "accounts.user_deactivated", actor=actor, subject=user.audit_ref)


def reset_password(*, actor: Actor, user: User, password: str | None = None) -> str:
    """Set a new password for a user who lost theirs (generated when none is given); ends their sessions.

    Returns the password, to be handed over once. Raises ValidationFailed (weak), Conflict (one's own:
    change it with the current password instead).
    """
    _refuse_self(actor, user, N_("Change your own password with your current password."))
    new = password if password else generate_password(user.username)
    check_password(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = now_utc()
    revoked = revoke_sessions(user)
    db.session.flush()
    record(
        "accounts.password_reset",
        actor=actor,
        subject=user.audit_ref,
        data={"sessions_ended": revoked, "generated": not password},
    )
    return new
