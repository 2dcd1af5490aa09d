"""Floor services: load the services/windows/plans data (idempotently), staff assignments, sign-on and sign-off.

A floor data file is JSON: {"groups": [...], "services": [...], "windows": [...]} (schema: `FloorArgs`; the demo is
demo_floor.json beside this module). Loading upserts by code / window number; an unchanged file changes nothing
and logs nothing. Times of day are the center's local "HH:MM".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app
from marshmallow import validate
from sqlalchemy import or_, select

from app import audit
from app.accounts.models import User
from app.convenience.models import (
    Service,
    StaffAssignment,
    Ticket,
    TicketStatus,
    Window,
    WindowGroup,
    WindowSession,
    WorkingPlan,
)
from app.core.db import db, is_postgresql, is_valid_id
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.fields import Integer
from app.core.problems import N_
from app.core.time import now_utc

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
MAX_SERVICE_SECONDS = 4 * 3600


class _Text(ma.fields.String):
    """Text without control characters."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any(not c.isprintable() for c in text):
            raise ma.ValidationError("Control characters are not allowed.")
        return text.strip()


class _TimeOfDay(ma.fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> time:  # type: ignore[override]
        text = super()._deserialize(value, attr, data, **kwargs)
        validate.Regexp(HHMM, error=N_("Enter a time of day as HH:MM."))(text)
        return time(int(text[:2]), int(text[3:]))


class GroupArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Regexp(CODE))
    name = _Text(required=True, validate=validate.Length(min=1, max=100))
    name_en = _Text(load_default="", validate=validate.Length(max=200))
    prefix = ma.fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{1,2}$"))


class ServiceArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Regexp(CODE))
    name = _Text(required=True, validate=validate.Length(min=1, max=200))
    name_en = _Text(load_default="", validate=validate.Length(max=300))
    department = _Text(required=True, validate=validate.Length(min=1, max=100))
    department_en = _Text(load_default="", validate=validate.Length(max=200))
    group = ma.fields.String(required=True, validate=validate.Regexp(CODE))
    average_service_seconds = Integer(required=True, validate=validate.Range(min=30, max=MAX_SERVICE_SECONDS))
    is_bookable = ma.fields.Boolean(load_default=False)
    is_at_home = ma.fields.Boolean(load_default=False)
    is_after_hours = ma.fields.Boolean(load_default=False)
    is_active = ma.fields.Boolean(load_default=True)


class HoursArgs(ma.Schema):
    """A day's hours at a window: open, close, an optional break and an optional after-hours extension."""

    opens_at = _TimeOfDay(required=True)
    closes_at = _TimeOfDay(required=True)
    break_starts_at = _TimeOfDay(load_default=None, allow_none=True)
    break_ends_at = _TimeOfDay(load_default=None, allow_none=True)
    extended_until = _TimeOfDay(load_default=None, allow_none=True)

    @ma.validates_schema
    def _ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["opens_at"] >= data["closes_at"]:
            raise ma.ValidationError(N_("A window closes after it opens."), "closes_at")
        start, end = data["break_starts_at"], data["break_ends_at"]
        if (start is None) != (end is None):
            raise ma.ValidationError(N_("A break has a start and an end."), "break_ends_at")
        if start is not None and end is not None and not (data["opens_at"] < start < end < data["closes_at"]):
            raise ma.ValidationError(N_("A break lies within the opening hours."), "break_starts_at")
        if data["extended_until"] is not None and data["extended_until"] <= data["closes_at"]:
            raise ma.ValidationError(N_("An after-hours extension ends after closing time."), "extended_until")


class PlanArgs(HoursArgs):
    weekday = Integer(required=True, validate=validate.Range(min=0, max=6))


class WindowArgs(ma.Schema):
    number = ma.fields.String(required=True, validate=validate.Regexp(r"^[0-9A-Za-z]{1,8}$"))
    name = _Text(load_default="", validate=validate.Length(max=100))
    name_en = _Text(load_default="", validate=validate.Length(max=200))
    location = _Text(load_default="", validate=validate.Length(max=100))
    group = ma.fields.String(required=True, validate=validate.Regexp(CODE))
    is_active = ma.fields.Boolean(load_default=True)
    plans = ma.fields.List(ma.fields.Nested(PlanArgs), load_default=list, validate=validate.Length(max=7))

    @ma.validates_schema
    def _one_plan_a_day(self, data: dict[str, Any], **kwargs: Any) -> None:
        days = [p["weekday"] for p in data["plans"]]
        if len(days) != len(set(days)):
            raise ma.ValidationError("One plan per day of the week.", "plans")


class FloorArgs(ma.Schema):
    groups = ma.fields.List(ma.fields.Nested(GroupArgs), required=True, validate=validate.Length(max=26))
    services = ma.fields.List(ma.fields.Nested(ServiceArgs), required=True, validate=validate.Length(max=2000))
    windows = ma.fields.List(ma.fields.Nested(WindowArgs), required=True, validate=validate.Length(max=500))


def _unique(rows: list[dict[str, Any]], key: str, where: str) -> None:
    values = [r[key] for r in rows]
    if len(values) != len(set(values)):
        raise ValidationFailed(N_("The floor data is not valid."), errors={where: [f"{key} values must be unique"]})


def parse_floor(raw: Any) -> dict[str, Any]:
    """The floor's data, checked in full (schema, uniqueness, references) before anything is stored."""
    if not isinstance(raw, dict):
        raise ValidationFailed(N_("The floor data is not valid."), errors={"_file": ["expected a JSON object"]})
    try:
        data: dict[str, Any] = FloorArgs().load(raw)
    except ma.ValidationError as exc:
        raise ValidationFailed(N_("The floor data is not valid."), errors=dict(exc.messages_dict)) from None
    _unique(data["groups"], "code", "groups")
    _unique(data["groups"], "prefix", "groups")
    _unique(data["services"], "code", "services")
    _unique(data["windows"], "number", "windows")
    known = {g["code"] for g in data["groups"]} | set(db.session.scalars(select(WindowGroup.code)))
    for where in ("services", "windows"):
        for i, row in enumerate(data[where]):
            if row["group"] not in known:
                raise ValidationFailed(
                    N_("The floor data is not valid."), errors={f"{where}.{i}.group": ["unknown window group"]}
                )
    return data


def _set(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def load_floor(raw: Any, *, actor: Any = None, source: str = "") -> dict[str, int]:
    """Create or update window groups, services, windows and their working plans; counts of what changed.

    Rows missing from the data are kept. Flushes; records `convenience.floor_loaded` when anything changed.
    Raises ValidationFailed (nothing stored) for data that is not valid.
    """
    data = parse_floor(raw)
    counts = {"created": 0, "updated": 0}

    def upsert(model: Any, key: str, value: Any, values: dict[str, Any]) -> tuple[Any, str]:
        row = db.session.scalar(select(model).where(getattr(model, key) == value))
        if row is None:
            row = model(**{key: value}, **values)
            db.session.add(row)
            counts["created"] += 1
            return row, "created"
        if _set(row, values):
            counts["updated"] += 1
            return row, "updated"
        return row, ""

    groups: dict[str, WindowGroup] = {g.code: g for g in db.session.scalars(select(WindowGroup))}
    for position, spec in enumerate(data["groups"], start=1):
        values = {"name": spec["name"], "name_en": spec["name_en"], "prefix": spec["prefix"], "position": position}
        groups[spec["code"]] = upsert(WindowGroup, "code", spec["code"], values)[0]
    db.session.flush()
    for position, spec in enumerate(data["services"], start=1):
        values = {k: v for k, v in spec.items() if k not in ("code", "group")}
        upsert(Service, "code", spec["code"], {**values, "group_id": groups[spec["group"]].id, "position": position})
    for spec in data["windows"]:
        values = {k: spec[k] for k in ("name", "name_en", "location", "is_active")}
        window, done = upsert(Window, "number", spec["number"], {**values, "group_id": groups[spec["group"]].id})
        db.session.flush()
        wanted = {p["weekday"]: p for p in spec["plans"]}
        present = {p.weekday: p for p in window.plans}
        plans_changed = False
        for weekday, plan in present.items():
            if weekday not in wanted:
                window.plans.remove(plan)
                plans_changed = True
        for weekday, plan_spec in wanted.items():
            if weekday in present:
                plans_changed |= _set(present[weekday], plan_spec)
            else:
                window.plans.append(WorkingPlan(**plan_spec))
                plans_changed = True
        if plans_changed and not done:
            counts["updated"] += 1
    db.session.flush()
    if counts["created"] or counts["updated"]:
        audit.record(
            "convenience.floor_loaded",
            actor=actor,
            subject="convenience:floor",
            data={
                **counts,
                "source": source[:200],
                "services_in_file": len(data["services"]),
                "windows_in_file": len(data["windows"]),
            },
        )
    return counts


def load_floor_file(path: Path, *, actor: Any = None) -> dict[str, int]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(
            N_("The floor data file cannot be read: %(reason)s"), params={"reason": str(exc)[:200]}
        ) from None
    return load_floor(raw, actor=actor, source=path.name)


def dump_floor() -> dict[str, Any]:
    """The floor as a data file (the shape `load_floor` reads): download it, change it, load it again."""

    def hhmm(value: time | None) -> str | None:
        return value.strftime("%H:%M") if value is not None else None

    groups = list_groups()
    return {
        "groups": [{"code": g.code, "name": g.name, "name_en": g.name_en, "prefix": g.prefix} for g in groups],
        "services": [
            {
                "code": s.code,
                "name": s.name,
                "name_en": s.name_en,
                "department": s.department,
                "department_en": s.department_en,
                "group": s.group.code,
                "average_service_seconds": s.average_service_seconds,
                "is_bookable": s.is_bookable,
                "is_at_home": s.is_at_home,
                "is_after_hours": s.is_after_hours,
                "is_active": s.is_active,
            }
            for s in list_services(active_only=False)
        ],
        "windows": [
            {
                "number": w.number,
                "name": w.name,
                "name_en": w.name_en,
                "location": w.location,
                "group": w.group.code,
                "is_active": w.is_active,
                "plans": [
                    {
                        k: v
                        for k, v in {
                            "weekday": p.weekday,
                            "opens_at": hhmm(p.opens_at),
                            "closes_at": hhmm(p.closes_at),
                            "break_starts_at": hhmm(p.break_starts_at),
                            "break_ends_at": hhmm(p.break_ends_at),
                            "extended_until": hhmm(p.extended_until),
                        }.items()
                        if v is not None
                    }
                    for p in sorted(w.plans, key=lambda p: p.weekday)
                ],
            }
            for w in list_windows()
        ],
    }


def assignments() -> dict[int, list[User]]:
    """Window id → the people assigned there, by name."""
    out: dict[int, list[User]] = {}
    rows = db.session.execute(
        select(StaffAssignment.window_id, User).join(User, User.id == StaffAssignment.user_id).order_by(User.username)
    ).all()
    for window_id, user in rows:
        out.setdefault(window_id, []).append(user)
    return out


def signed_on_now() -> dict[int, User]:
    """Window id → who is signed on there now."""
    rows = db.session.execute(
        select(WindowSession.window_id, User)
        .join(User, User.id == WindowSession.user_id)
        .where(WindowSession.signed_off_at.is_(None))
    ).all()
    return {window_id: user for window_id, user in rows}


DEMO_FLOOR = Path(__file__).resolve().parent / "demo_floor.json"
DEMO_STAFF = {"window_staff": ("01", "02")}  # the demo's window-staff account works at these windows


def seed_demo_floor() -> list[str]:
    """The demo floor for `make run` (idempotent): services, windows, a week of plans, the demo staff's windows."""
    counts = load_floor_file(DEMO_FLOOR, actor="system:demo")
    lines = []
    if counts["created"] or counts["updated"]:
        lines.append(f"convenience floor: {counts['created']} rows created, {counts['updated']} updated")
    for username, numbers in DEMO_STAFF.items():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            continue
        for number in numbers:
            window = db.session.scalar(select(Window).where(Window.number == number))
            if window is not None and not is_assigned(window, user):
                assign_staff(actor="system:demo", window_id=window.id, user_id=user.id)
    from app.convenience.appointments import seed_demo_appointments

    lines.extend(seed_demo_appointments())
    from app.convenience.home_visits import seed_demo_home_visits

    lines.extend(seed_demo_home_visits())
    return lines


# --- reading ------------------------------------------------------------------------------------------


def list_groups() -> list[WindowGroup]:
    return list(db.session.scalars(select(WindowGroup).order_by(WindowGroup.position, WindowGroup.code)))


def list_services(*, active_only: bool = True) -> list[Service]:
    stmt = select(Service).join(WindowGroup, Service.group_id == WindowGroup.id)
    if active_only:
        stmt = stmt.where(Service.is_active.is_(True))
    return list(db.session.scalars(stmt.order_by(WindowGroup.position, Service.position, Service.code)))


def get_service(code: str) -> Service:
    found: Service | None = db.session.scalar(select(Service).where(Service.code == code)) if len(code) <= 40 else None
    if found is None or not found.is_active:
        raise NotFound(N_("No such convenience service."))
    return found


def list_windows() -> list[Window]:
    return list(db.session.scalars(select(Window).order_by(Window.number)))


def get_window(window_id: int, *, lock: bool = False) -> Window:
    found: Window | None = None
    if is_valid_id(window_id):
        if lock and is_postgresql():
            found = db.session.scalar(select(Window).where(Window.id == window_id).with_for_update())
        else:
            found = db.session.get(Window, window_id)  # no query when this transaction has loaded it already
    if found is None:
        raise NotFound(N_("No such window."))
    return found


def local_now(at: datetime | None = None) -> datetime:
    return (at or now_utc()).astimezone(ZoneInfo(current_app.config["CENTER_TIMEZONE"]))


@dataclass(frozen=True)
class Hours:
    """A window's hours on one day: from its weekly plan, or from that day's exception (an after-hours session,
    a closure)."""

    opens_at: time
    closes_at: time
    break_starts_at: time | None
    break_ends_at: time | None
    extended_until: time | None
    exception_id: int | None = None  # the plan exception that set them, if one did
    reason: str = ""


def hours_on(window: Window, day: date) -> Hours | None:
    """The window's hours on the center's `day`, or None when it is closed (inactive, no plan that weekday, or a
    closing exception). An exception for the window itself comes before one for every window."""
    from app.convenience.home_visit_models import PlanException

    if not window.is_active:
        return None
    exceptions = db.session.scalars(
        select(PlanException)
        .where(PlanException.day == day, or_(PlanException.window_id == window.id, PlanException.window_id.is_(None)))
        .order_by(PlanException.window_id.is_(None), PlanException.id)
    ).all()
    if exceptions:
        ex = exceptions[0]
        if ex.is_closed or ex.opens_at is None or ex.closes_at is None:
            return None
        return Hours(
            ex.opens_at, ex.closes_at, ex.break_starts_at, ex.break_ends_at, ex.extended_until, ex.id, ex.reason
        )
    plan = next((p for p in window.plans if p.weekday == day.weekday()), None)
    if plan is None:
        return None
    return Hours(plan.opens_at, plan.closes_at, plan.break_starts_at, plan.break_ends_at, plan.extended_until)


def is_open(window: Window, at: datetime | None = None) -> bool:
    """Within the day's hours (or its after-hours extension) and not in its break."""
    plan = hours_on(window, local_now(at).date())
    if plan is None:
        return False
    moment = local_now(at).time()
    end = plan.extended_until or plan.closes_at
    if not (plan.opens_at <= moment < end):
        return False
    return not (plan.break_starts_at and plan.break_ends_at and plan.break_starts_at <= moment < plan.break_ends_at)


def is_assigned(window: Window, user: Any) -> bool:
    found = db.session.scalar(
        select(StaffAssignment.id).where(StaffAssignment.window_id == window.id, StaffAssignment.user_id == user.id)
    )
    return found is not None


def windows_of(user: Any) -> list[Window]:
    """The windows a staff member is assigned to."""
    return list(
        db.session.scalars(
            select(Window)
            .join(StaffAssignment, StaffAssignment.window_id == Window.id)
            .where(StaffAssignment.user_id == user.id)
            .order_by(Window.number)
        )
    )


def open_session(*, window_id: int | None = None, user_id: int | None = None) -> WindowSession | None:
    stmt = select(WindowSession).where(WindowSession.signed_off_at.is_(None))
    if window_id is not None:
        stmt = stmt.where(WindowSession.window_id == window_id)
    if user_id is not None:
        stmt = stmt.where(WindowSession.user_id == user_id)
    found: WindowSession | None = db.session.scalar(stmt.order_by(WindowSession.id.desc()))
    return found


# --- staff --------------------------------------------------------------------------------------------


def assign_staff(*, actor: Any, window_id: int, user_id: int) -> StaffAssignment:
    """Let a user sign on at a window. Raises NotFound, Conflict (already assigned). Flushes and records."""
    window = get_window(window_id)
    user = db.session.get(User, user_id) if is_valid_id(user_id) else None
    if user is None or not user.active:
        raise NotFound(N_("No such user."))
    if is_assigned(window, user):
        raise Conflict(N_("This person already works at this window."))
    row = StaffAssignment(window_id=window.id, user_id=user.id, assigned_at=now_utc())
    db.session.add(row)
    db.session.flush()
    audit.record(
        "convenience.staff_assigned",
        actor=actor,
        subject=f"convenience.window:{window.id}",
        data={"user": user.id, "window": window.number},
    )
    return row


def unassign_staff(*, actor: Any, window_id: int, user_id: int) -> None:
    """Take a user off a window; refused while they are signed on there. Flushes and records."""
    window = get_window(window_id)
    row = (
        db.session.scalar(
            select(StaffAssignment).where(StaffAssignment.window_id == window.id, StaffAssignment.user_id == user_id)
        )
        if is_valid_id(user_id)
        else None
    )
    if row is None:
        raise NotFound(N_("This person does not work at this window."))
    if open_session(window_id=window.id, user_id=user_id) is not None:
        raise Conflict(N_("This person is signed on at the window; they sign off first."))
    db.session.delete(row)
    db.session.flush()
    audit.record(
        "convenience.staff_unassigned",
        actor=actor,
        subject=f"convenience.window:{window.id}",
        data={"user": user_id, "window": window.number},
    )


def sign_on(*, actor: Any, window_id: int) -> WindowSession:
    """The caller starts work at a window they are assigned to.

    Refused (PermissionDenied) when not assigned; Conflict when someone else is signed on there or the caller is
    signed on at another window. Signing on again where one already is changes nothing. Flushes and records.
    """
    window = get_window(window_id, lock=True)
    if not is_assigned(window, actor):
        raise PermissionDenied(N_("You are not assigned to this window."))
    if is_postgresql():  # the person too: two sign-ons at two windows at once must not both pass the check below
        db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    mine = open_session(user_id=actor.id)
    if mine is not None and mine.window_id == window.id:
        return mine
    if mine is not None:
        raise Conflict(
            N_("You are signed on at window %(number)s; sign off there first."), params={"number": mine.window.number}
        )
    if open_session(window_id=window.id) is not None:
        raise Conflict(N_("Somebody else is signed on at this window."))
    row = WindowSession(window_id=window.id, user_id=actor.id, signed_on_at=now_utc())
    db.session.add(row)
    db.session.flush()
    audit.record(
        "convenience.signed_on",
        actor=actor,
        subject=f"convenience.window:{window.id}",
        data={"window": window.number, "session": row.id},
    )
    return row


def sign_off(*, actor: Any, window_id: int) -> WindowSession:
    """The caller ends work at the window; refused while a ticket called there is not finished. Records."""
    window = get_window(window_id, lock=True)
    row = open_session(window_id=window.id, user_id=actor.id)
    if row is None:
        raise Conflict(N_("You are not signed on at this window."))
    called = db.session.scalar(
        select(Ticket.number).where(Ticket.window_id == window.id, Ticket.status == TicketStatus.CALLED)
    )
    if called is not None:
        raise Conflict(
            N_("Ticket %(number)s is still called at this window; finish it first."), params={"number": called}
        )
    row.signed_off_at = now_utc()
    db.session.flush()
    audit.record(
        "convenience.signed_off",
        actor=actor,
        subject=f"convenience.window:{window.id}",
        data={
            "window": window.number,
            "session": row.id,
            "seconds": int((row.signed_off_at - row.signed_on_at).total_seconds()),
        },
    )
    return row


def require_signed_on(actor: Any, window: Window) -> WindowSession:
    """The caller's open session at `window`, or a refusal: only the staff member at a window works its queue."""
    row = open_session(window_id=window.id, user_id=getattr(actor, "id", None))
    if row is None:
        raise PermissionDenied(N_("Sign on at this window first."))
    return row
