"""Departments' staff at the center and the chief representatives' authorisations (首席代表授权委托书).

- A department's staff are users recorded against it (permits_reviewer accounts, usually); only its staff see
  and handle its tasks and the cases it leads.
- An authorisation names the representative, the items, the period [valid_from, valid_to) and who approved it.
  `authorisation_for()` is the check every decision (a task's answer, the case decision) goes through: it locks
  the candidate rows (FOR UPDATE on PostgreSQL), so a revocation committed before the decision's transaction
  reads them is seen, and one racing it waits: revocation takes effect at once.
- A decision outside every authorisation is refused with 403 `authorisation-refused`, saying why: none, the
  item is not covered, not valid yet, expired, or revoked.

Every function flushes and writes its evidence-log entry; the caller commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.permits.cases.processing_models import Authorisation, DepartmentStaff
from app.permits.catalogue.models import Department, Item
from app.permits.permissions import AUTHORISATIONS_MANAGE, REVIEW

MAX_TEXT = 2000


class AuthorisationRefused(DomainError):
    status = 403
    code = "authorisation-refused"
    title = N_("No authorisation for this decision")
    description = N_(
        "Decisions on a case (a co-department's answer, the case decision) are made by a department's chief "
        "representative under a written authorisation (授权委托书) naming the item and the period. The caller "
        "holds no authorisation that covers this item now (none, another item, not valid yet, expired or "
        "revoked). Nothing was recorded."
    )


def _require_manager(actor: Any) -> None:
    if not (getattr(actor, "is_authenticated", False) and actor.has_permission(AUTHORISATIONS_MANAGE)):
        raise PermissionDenied(N_("Only the center's administrators record staff and authorisations."))


def department_by_code(code: Any, field: str = "department") -> Department:
    row = db.session.execute(select(Department).where(Department.code == str(code))).scalar_one_or_none()
    if row is None:
        raise field_error(field, N_("No such department."))
    return row


# --- staff -------------------------------------------------------------------------------------------------


def departments_of(user: Any) -> list[Department]:
    """The departments `user` is on the staff of (none for an anonymous caller)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        db.session.execute(
            select(Department)
            .join(DepartmentStaff, DepartmentStaff.department_id == Department.id)
            .where(DepartmentStaff.user_id == user.id)
            .order_by(Department.position, Department.id)
        ).scalars()
    )


def is_staff(user: Any, department_id: int) -> bool:
    if not (getattr(user, "is_authenticated", False) and user.has_permission(REVIEW)):
        return False
    return (
        db.session.execute(
            select(DepartmentStaff.id).where(
                DepartmentStaff.user_id == user.id, DepartmentStaff.department_id == department_id
            )
        ).first()
        is not None
    )


def require_staff(user: Any, department: Department) -> None:
    if not is_staff(user, department.id):
        raise PermissionDenied(
            N_("Only the staff of %(department)s handle this."), params={"department": department.name}
        )


def add_staff(*, actor: Any, department_code: Any, username: Any) -> DepartmentStaff:
    _require_manager(actor)
    department = department_by_code(department_code)
    user = db.session.execute(select(User).where(User.username == str(username).strip())).scalar_one_or_none()
    if user is None:
        raise field_error("username", N_("No such user."))
    existing = db.session.execute(
        select(DepartmentStaff).where(
            DepartmentStaff.department_id == department.id, DepartmentStaff.user_id == user.id
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    row = DepartmentStaff(department=department, user_id=user.id, added_at=now_utc(), added_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    record(
        "permits.staff.added",
        actor=actor,
        subject=f"permits.department:{department.id}",
        data={"department": department.code, "department_id": department.id, "user_id": user.id},
    )
    return row


def list_staff() -> list[tuple[DepartmentStaff, User]]:
    return [
        (staff, user)
        for staff, user in db.session.execute(
            select(DepartmentStaff, User)
            .join(User, User.id == DepartmentStaff.user_id)
            .options(selectinload(DepartmentStaff.department))
            .order_by(DepartmentStaff.department_id, User.username)
        ).all()
    ]


# --- authorisations --------------------------------------------------------------------------------------


def list_authorisations(department_id: int | None = None) -> list[Authorisation]:
    query = select(Authorisation).options(selectinload(Authorisation.department)).order_by(Authorisation.id.desc())
    if department_id is not None:
        query = query.where(Authorisation.department_id == department_id)
    return list(db.session.execute(query.limit(500)).scalars())


def get_authorisation(authorisation_id: int) -> Authorisation:
    row = db.session.get(Authorisation, authorisation_id) if 0 < authorisation_id < 2**31 else None
    if row is None:
        raise NotFound(N_("No such authorisation."))
    return row


def _aware(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise field_error(field, N_("A date and time with its time zone."))
    return value


def grant(
    *,
    actor: Any,
    department_code: Any,
    username: Any,
    item_codes: Any,
    valid_from: Any,
    valid_to: Any,
    approved_by: Any,
    reference: Any = "",
) -> Authorisation:
    """Record an authorisation (授权委托书) for one of the department's staff. Raises ValidationFailed."""
    _require_manager(actor)
    department = department_by_code(department_code)
    user = db.session.execute(select(User).where(User.username == str(username).strip())).scalar_one_or_none()
    if user is None:
        raise field_error("username", N_("No such user."))
    if not is_staff(user, department.id):
        raise field_error("username", N_("The representative must be on the department's staff (and a reviewer)."))
    if not isinstance(item_codes, list | tuple) or not item_codes or len(item_codes) > 200:
        raise field_error("items", N_("Name at least one item (at most 200)."))
    codes = [str(c).strip() for c in item_codes]
    items = list(db.session.execute(select(Item).where(Item.code.in_(codes))).scalars())
    unknown = sorted(set(codes) - {i.code for i in items})
    if unknown:
        raise field_error("items", N_("No such items: %(codes)s."), params={"codes": ", ".join(unknown)})
    start = _aware(valid_from, "valid_from")
    end = _aware(valid_to, "valid_to")
    if end <= start:
        raise field_error("valid_to", N_("The authorisation must end after it starts."))
    row = Authorisation(
        department=department,
        representative_id=user.id,
        item_ids=sorted(i.id for i in items),
        valid_from=start,
        valid_to=end,
        approved_by=clean_text(approved_by, "approved_by", 200),
        reference=clean_text(reference, "reference", 100, required=False),
        created_at=now_utc(),
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    record(
        "permits.authorisation.granted",
        actor=actor,
        subject=row.audit_ref,
        data={
            "authorisation_id": row.id,
            "department": department.code,
            "department_id": department.id,
            "representative_id": user.id,
            "items": sorted(codes),
            "valid_from": start.isoformat(),
            "valid_to": end.isoformat(),
            "approved_by": row.approved_by,
        },
    )
    return row


def revoke(*, actor: Any, authorisation: Authorisation, reason: Any) -> Authorisation:
    """Revoke at once: no decision after this transaction is made under it."""
    _require_manager(actor)
    clean = clean_text(reason, "reason", MAX_TEXT)
    locked = db.session.execute(
        select(Authorisation).where(Authorisation.id == authorisation.id).with_for_update()
    ).scalar_one()
    if locked.revoked_at is not None:
        raise Conflict(N_("This authorisation was already revoked."))
    locked.revoked_at = now_utc()
    locked.revoked_by_id = actor.id
    locked.revoke_reason = clean
    db.session.flush()
    record(
        "permits.authorisation.revoked",
        actor=actor,
        subject=locked.audit_ref,
        data={
            "authorisation_id": locked.id,
            "department_id": locked.department_id,
            "representative_id": locked.representative_id,
            "reason": clean,
            "revoked_at": locked.revoked_at.isoformat(),
        },
    )
    return locked


def is_valid(row: Authorisation, item_id: int, at: datetime) -> bool:
    return row.revoked_at is None and row.valid_from <= at < row.valid_to and item_id in (row.item_ids or [])


def authorisation_for(actor: Any, department: Department, item: Item, at: datetime | None = None) -> Authorisation:
    """The authorisation `actor` decides `item` under for `department` now, or AuthorisationRefused saying why.

    The candidate rows are locked (FOR UPDATE on PostgreSQL) for the rest of the deciding transaction.
    """
    require_staff(actor, department)
    when = at or now_utc()
    rows = list(
        db.session.execute(
            select(Authorisation)
            .where(Authorisation.department_id == department.id, Authorisation.representative_id == actor.id)
            .order_by(Authorisation.id.desc())
            .with_for_update()
        ).scalars()
    )
    for row in rows:
        if is_valid(row, item.id, when):
            return row
    covering = [r for r in rows if item.id in (r.item_ids or [])]
    if not rows:
        raise AuthorisationRefused(
            N_("You hold no authorisation (授权委托书) of %(department)s: you cannot decide for it."),
            params={"department": department.name},
        )
    if not covering:
        raise AuthorisationRefused(
            N_("Your authorisation does not cover the item %(item)s."), params={"item": item.name}
        )
    if all(r.revoked_at is not None and r.revoked_at <= when for r in covering):
        raise AuthorisationRefused(N_("Your authorisation for this item was revoked."))
    if any(r.revoked_at is None and r.valid_from > when for r in covering):
        raise AuthorisationRefused(N_("Your authorisation for this item is not valid yet."))
    raise AuthorisationRefused(N_("Your authorisation for this item has expired."))
