"""Roles: the seeded roles and their default grants, and administrators' edits of labels, permissions and TOTP."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts import permissions as perms
from app.accounts.common import N_, Actor, get_row
from app.accounts.models import Role
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, ValidationFailed
from app.core.reference import provides


def list_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.name)))


def get_role(role_id: int) -> Role:
    return get_row(Role, role_id, N_("No such role."))


def roles_by_name(names: list[str]) -> list[Role]:
    """The roles named (each once), by name like `User.roles`. Raises ValidationFailed listing the unknown names."""
    wanted = sorted(set(names))
    roles = list(db.session.scalars(select(Role).where(Role.name.in_(wanted)).order_by(Role.name))) if wanted else []
    unknown = set(wanted) - {r.name for r in roles}
    if unknown:
        raise ValidationFailed(N_("Unknown role."), errors={"roles": sorted(unknown)})
    return roles


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
        record("accounts.role_changed", actor=actor, subject=role.audit_ref, data={"before": before, "after": after})


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
