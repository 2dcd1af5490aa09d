"""Organisations: the center, agencies and bidders, with their unified social credit codes (USCC)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.accounts.common import N_, Actor, get_row
from app.accounts.models import USCC_REQUIRED_KINDS, Organisation, OrganisationKind
from app.accounts.uscc import InvalidUSCC, parse_uscc
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, ValidationFailed
from app.core.time import now_utc

# "Leave this field as it is" in partial updates (None is a value: no code).
UNCHANGED: Any = object()


def list_organisations(*, active_only: bool = False) -> list[Organisation]:
    stmt = select(Organisation).order_by(Organisation.name)
    if active_only:
        stmt = stmt.where(Organisation.active.is_(True))
    return list(db.session.scalars(stmt))


def search_organisations(
    *, kind: str | None = None, name: str | None = None, active: bool | None = True, page: int = 1, per_page: int = 20
) -> tuple[list[Organisation], int]:
    """One page of organisations by name, filtered by kind, a name fragment and activity; and the total."""
    stmt = select(Organisation)
    if kind:
        stmt = stmt.where(Organisation.kind == _kind(kind))
    if name and name.strip():
        stmt = stmt.where(Organisation.name.contains(name.strip(), autoescape=True))
    if active is not None:
        stmt = stmt.where(Organisation.active.is_(active))
    total = int(db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = db.session.scalars(stmt.order_by(Organisation.name).limit(per_page).offset((page - 1) * per_page))
    return list(rows), total


def get_organisation(org_id: int) -> Organisation:
    return get_row(Organisation, org_id, N_("No such organisation."))


def get_active_organisation(org_id: int) -> Organisation:
    """An organisation that may take new users. Raises NotFound, ValidationFailed (deactivated)."""
    org = get_organisation(org_id)
    if not org.active:
        raise ValidationFailed(N_("That organisation is deactivated."), errors={"organisation_id": ["inactive"]})
    return org


def _kind(kind: str) -> OrganisationKind:
    try:
        return OrganisationKind(kind)
    except ValueError:
        raise ValidationFailed(N_("Unknown organisation kind."), errors={"kind": ["invalid"]}) from None


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationFailed(N_("A name is required."), errors={"name": ["required"]})
    return name


def _uscc(uscc: str | None, kind: OrganisationKind) -> str | None:
    if uscc and uscc.strip():
        try:
            return parse_uscc(uscc).code
        except InvalidUSCC as exc:
            raise ValidationFailed(str(exc), errors={"uscc": [exc.reason]}) from None
    if kind in USCC_REQUIRED_KINDS:
        raise ValidationFailed(
            N_("A unified social credit code is required for this kind."), errors={"uscc": ["required"]}
        )
    return None


def _check_unique(name: str, code: str | None, *, exclude: int | None = None) -> None:
    same_name = select(Organisation.id).where(Organisation.name == name)
    same_code = select(Organisation.id).where(Organisation.uscc == code)
    if exclude is not None:
        same_name = same_name.where(Organisation.id != exclude)
        same_code = same_code.where(Organisation.id != exclude)
    if db.session.scalar(same_name) is not None:
        raise Conflict(N_("An organisation with that name exists."))
    if code and db.session.scalar(same_code) is not None:
        raise Conflict(N_("An organisation with that unified social credit code exists."))


def create_organisation(*, actor: Actor, name: str, kind: str, uscc: str | None) -> Organisation:
    """Create an organisation; bidders and agencies need a valid unified social credit code."""
    kind_value = _kind(kind)
    name = _name(name)
    code = _uscc(uscc, kind_value)
    _check_unique(name, code)
    org = Organisation(name=name, kind=kind_value, uscc=code, active=True, created_at=now_utc())
    db.session.add(org)
    db.session.flush()
    record(
        "accounts.organisation_created",
        actor=actor,
        subject=org.audit_ref,
        data={"name": name, "kind": kind_value.value, "uscc": code},
    )
    return org


def update_organisation(
    *, actor: Actor, org: Organisation, name: Any = UNCHANGED, kind: Any = UNCHANGED, uscc: Any = UNCHANGED
) -> None:
    """Rename, re-classify or re-code an organisation (same rules as creation); changes recorded before/after."""
    new_name = org.name if name is UNCHANGED else _name(name)
    new_kind = org.kind if kind is UNCHANGED else _kind(kind)
    new_code = _uscc(org.uscc if uscc is UNCHANGED else uscc, new_kind)
    _check_unique(new_name, new_code, exclude=org.id)
    before = {"name": org.name, "kind": org.kind.value, "uscc": org.uscc}
    after = {"name": new_name, "kind": new_kind.value, "uscc": new_code}
    if before == after:
        return
    org.name, org.kind, org.uscc = new_name, new_kind, new_code
    db.session.flush()
    changed = sorted(k for k in after if before[k] != after[k])
    record(
        "accounts.organisation_updated",
        actor=actor,
        subject=org.audit_ref,
        data={"before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}},
    )


def set_organisation_active(*, actor: Actor, org: Organisation, active: bool) -> None:
    """Deactivate (no new users, tenders or expert links; its users keep their accounts) or reactivate."""
    if org.active == active:
        return
    org.active = active
    db.session.flush()
    record(
        "accounts.organisation_activated" if active else "accounts.organisation_deactivated",
        actor=actor,
        subject=org.audit_ref,
    )
