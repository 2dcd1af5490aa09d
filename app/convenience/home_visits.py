"""Door-to-door service (上门服务) and after-hours sessions (下班延时服务).

Home visits: a citizen (or someone on their behalf, with or without an account) asks for a service that can be
done at home — who, address, why (elderly, disabled, ill), what, the day and part of the day they would like.
The floor's managers schedule a staff member and a day (the citizen gets a message), the staff member records
the visit: done closes the matter; not done (nobody home, papers missing) sends it back to be scheduled again.
The center may decline with the reason and what to do instead; the citizen may cancel an open request from the
tracking page. Every change is an evidence-log entry on `convenience.home_visit:<id>`.

After-hours sessions and closures are plan exceptions: one day of one window (or of every window) with its own
hours, or closed; the queue, the display and the appointment slots all read a day's hours through
`services.hours_on`.

Services flush; the request boundary commits.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit
from app.accounts.models import User
from app.convenience import notify
from app.convenience.appointments import PHONE
from app.convenience.home_visit_models import (
    DayPeriod,
    HomeVisit,
    HomeVisitStatus,
    PlanException,
    VisitReason,
    VisitRecord,
)
from app.convenience.models import Service
from app.convenience.permissions import MANAGE, WINDOW_OPERATE
from app.convenience.services import HoursArgs, get_window, local_now
from app.core.db import db, is_postgresql, parse_id
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc

DEFAULTS: dict[str, Any] = {
    "CONVENIENCE_HOME_VISIT_HORIZON_DAYS": 30,  # the latest preferred day, counted from today
}
NAME_MAX = 40
ADDRESS_MAX = 200
DETAILS_MAX = 1000
NOTE_MAX = 500
REASON_MAX = 200


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS[name])


def _subject(visit: HomeVisit) -> str:
    return f"convenience.home_visit:{visit.id}"


def _today() -> date:
    return local_now().date()


def _choice(enum_cls: Any, raw: Any, field: str, message: str) -> Any:
    try:
        return enum_cls(raw)
    except ValueError:
        raise field_error(field, message) from None


def _day(raw: Any, field: str) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw or "")[:10])
    except ValueError:
        raise field_error(field, N_("Enter a date like 2026-12-08.")) from None


def home_services() -> list[Service]:
    """The services that can be done at the citizen's home, in the floor's order."""
    return list(
        db.session.scalars(
            select(Service)
            .where(Service.is_at_home.is_(True), Service.is_active.is_(True))
            .order_by(Service.group_id, Service.position, Service.code)
        )
    )


def _home_service(code: Any) -> Service:
    found: Service | None = db.session.scalar(select(Service).where(Service.code == str(code or "")[:40]))
    if found is None or not found.is_at_home or not found.is_active:
        raise field_error("service", N_("Choose a service that can be done at home."))
    return found


def _new_reference(day: date) -> str:
    """SM + the day + a sequence of the day: what the citizen quotes on the phone (unique by the table's key)."""
    prefix = f"SM{day:%Y%m%d}"
    count = db.session.scalar(select(func.count()).where(HomeVisit.reference.like(f"{prefix}%"))) or 0
    return f"{prefix}{count + 1:03d}"


def request_visit(
    *,
    service_code: Any,
    name: Any,
    phone: Any,
    address: Any,
    reason: Any,
    details: Any = "",
    preferred_day: Any,
    preferred_period: Any,
    actor: Any = None,
) -> HomeVisit:
    """A request for a home visit; checks every field before anything is stored. Records `home_visit_requested`."""
    service = _home_service(service_code)
    name = clean_text(name, "name", NAME_MAX)
    phone = str(phone or "").strip().replace(" ", "").replace("-", "")
    if not PHONE.match(phone):
        raise field_error("phone", N_("Enter a mobile number of 11 digits starting with 1."))
    address = clean_text(address, "address", ADDRESS_MAX)
    why = _choice(VisitReason, reason, "reason", N_("Choose why the service is needed at home."))
    details = clean_text(details, "details", DETAILS_MAX, required=why is VisitReason.OTHER)
    day = _day(preferred_day, "preferred_day")
    today = _today()
    horizon = int(setting("CONVENIENCE_HOME_VISIT_HORIZON_DAYS"))
    if not (today < day <= today + timedelta(days=horizon)):
        raise field_error(
            "preferred_day",
            N_("Choose a day from tomorrow to %(last)s."),
            params={"last": (today + timedelta(days=horizon)).isoformat()},
        )
    period = _choice(DayPeriod, preferred_period, "preferred_period", N_("Choose morning, afternoon or either."))
    if is_postgresql():  # one request at a time takes the day's next reference
        db.session.execute(select(func.pg_advisory_xact_lock(7_120_001)))
    user_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    visit = HomeVisit(
        public_id=secrets.token_urlsafe(18),
        reference=_new_reference(today),
        service_id=service.id,
        user_id=user_id,
        name=name,
        phone=phone,
        address=address,
        reason=why,
        details=details,
        preferred_day=day,
        preferred_period=period,
        status=HomeVisitStatus.REQUESTED,
        requested_at=now_utc(),
    )
    db.session.add(visit)
    db.session.flush()
    audit.record(
        "convenience.home_visit_requested",
        actor=actor if user_id else None,
        subject=_subject(visit),
        data={"reference": visit.reference, "service": service.code, "reason": why.value, "day": day.isoformat()},
    )
    return visit


def by_public_id(public_id: str) -> HomeVisit:
    found: HomeVisit | None = None
    if public_id and len(public_id) <= 32:
        found = db.session.scalar(select(HomeVisit).where(HomeVisit.public_id == public_id))
    if found is None:
        raise NotFound(N_("No such home-visit request."))
    return found


def get_visit(visit_id: Any, *, lock: bool = False) -> HomeVisit:
    key = parse_id(visit_id)
    if key is None:
        raise NotFound(N_("No such home-visit request."))
    stmt = select(HomeVisit).where(HomeVisit.id == key)
    if lock and is_postgresql():
        stmt = stmt.with_for_update()
    found: HomeVisit | None = db.session.scalar(stmt)
    if found is None:
        raise NotFound(N_("No such home-visit request."))
    return found


def _require(actor: Any, permission: str) -> None:
    if not actor.has_permission(permission):
        raise PermissionDenied(N_("Your account may not do this."))


def _staff(staff_id: Any) -> User:
    key = parse_id(staff_id)
    user = db.session.get(User, key) if key is not None else None
    if user is None or not user.is_active or not user.has_permission(WINDOW_OPERATE):
        raise field_error("staff", N_("Choose a member of the window staff."))
    return user


def staff_choices() -> list[User]:
    """The people who can be sent: active window staff."""
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)).all()
    return [u for u in users if u.has_permission(WINDOW_OPERATE)]


def _notify(visit: HomeVisit, body: str) -> None:
    with force_locale("zh_CN"):
        subject = _("Home visit %(reference)s", reference=visit.reference)
    notify.queue_to(phone=visit.phone, email="", page=visit.reference, subject=subject, body=body, kind="home_visit")


def period_words(period: DayPeriod | None) -> str:
    return (
        {
            DayPeriod.MORNING: _("morning"),
            DayPeriod.AFTERNOON: _("afternoon"),
            DayPeriod.ANY: _("morning or afternoon"),
        }.get(period, "")
        if period
        else ""
    )  # type: ignore[arg-type]


def schedule(*, actor: Any, visit_id: Any, staff_id: Any, day: Any, period: Any) -> HomeVisit:
    """Send a staff member on a day (requested → scheduled, or scheduled again to another person or day);
    the citizen gets a message. Records `home_visit_scheduled`."""
    _require(actor, MANAGE)
    visit = get_visit(visit_id, lock=True)
    if visit.status not in HomeVisitStatus.open():
        raise Conflict(N_("This request is closed."))
    staff = _staff(staff_id)
    when = _day(day, "day")
    if when < _today():
        raise field_error("day", N_("Choose today or a later day."))
    part = _choice(DayPeriod, period, "period", N_("Choose morning, afternoon or either."))
    visit.staff_id, visit.scheduled_day, visit.scheduled_period = staff.id, when, part
    visit.scheduled_at, visit.status = now_utc(), HomeVisitStatus.SCHEDULED
    db.session.flush()
    with force_locale("zh_CN"):
        body = _(
            "Staff of the service center will come to %(address)s on %(day)s (%(period)s) for %(service)s. "
            "Follow your request: %(url)s",
            address=visit.address,
            day=when.isoformat(),
            period=period_words(part),
            service=visit.service.name,
            url=tracking_url(visit),
        )
    _notify(visit, body)
    audit.record(
        "convenience.home_visit_scheduled",
        actor=actor,
        subject=_subject(visit),
        data={"reference": visit.reference, "staff": staff.id, "day": when.isoformat(), "period": part.value},
    )
    return visit


def tracking_url(visit: HomeVisit) -> str:
    try:
        return url_for("convenience.home_visit", public_id=visit.public_id, _external=True)
    except RuntimeError:  # outside a request (a sweep): the path alone
        return f"/convenience/home-visits/{visit.public_id}"


def record_visit(*, actor: Any, visit_id: Any, completed: Any, notes: Any) -> VisitRecord:
    """The staff member sent records the visit: done (closes the matter) or not done with what happened (back to
    be scheduled). Only the person scheduled, or a manager. Records `home_visit_recorded`."""
    visit = get_visit(visit_id, lock=True)
    if visit.staff_id != actor.id and not actor.has_permission(MANAGE):
        raise PermissionDenied(N_("This visit is scheduled for somebody else."))
    if visit.status is not HomeVisitStatus.SCHEDULED:
        raise Conflict(N_("Only a scheduled visit can be recorded."))
    if completed not in (True, False, "yes", "no"):
        raise field_error("completed", N_("Say whether the service was done."))
    done = completed in (True, "yes")
    text = clean_text(notes, "notes", NOTE_MAX, required=not done)
    row = VisitRecord(
        visit_id=visit.id,
        staff_id=actor.id,
        visited_on=_today(),
        completed=done,
        notes=text,
        recorded_at=now_utc(),
        sequence=len(visit.records) + 1,
    )
    db.session.add(row)
    if done:
        visit.status, visit.closed_at = HomeVisitStatus.COMPLETED, now_utc()
    else:
        visit.status = HomeVisitStatus.REQUESTED
        visit.staff_id = visit.scheduled_day = visit.scheduled_period = None
    db.session.flush()
    audit.record(
        "convenience.home_visit_recorded",
        actor=actor,
        subject=_subject(visit),
        data={"reference": visit.reference, "completed": done, "record": row.sequence},
    )
    return row


def decline(*, actor: Any, visit_id: Any, reason: Any) -> HomeVisit:
    """The center cannot serve this at home: the reason and what to do instead go to the citizen."""
    _require(actor, MANAGE)
    visit = get_visit(visit_id, lock=True)
    if visit.status not in HomeVisitStatus.open():
        raise Conflict(N_("This request is closed."))
    visit.closing_note = clean_text(reason, "reason", REASON_MAX)
    visit.status, visit.closed_at = HomeVisitStatus.DECLINED, now_utc()
    db.session.flush()
    with force_locale("zh_CN"):
        body = _("We cannot come to your home for this request: %(reason)s", reason=visit.closing_note)
    _notify(visit, body)
    audit.record(
        "convenience.home_visit_declined", actor=actor, subject=_subject(visit), data={"reason": visit.closing_note}
    )
    return visit


def cancel(*, public_id: str, reason: Any = "") -> HomeVisit:
    """The citizen, holding the tracking link, withdraws an open request."""
    visit = by_public_id(public_id)
    if is_postgresql():
        visit = get_visit(visit.id, lock=True)
    if visit.status not in HomeVisitStatus.open():
        raise Conflict(N_("This request is closed."))
    visit.closing_note = clean_text(reason, "reason", REASON_MAX, required=False)
    visit.status, visit.closed_at = HomeVisitStatus.CANCELLED, now_utc()
    db.session.flush()
    audit.record("convenience.home_visit_cancelled", actor=None, subject=_subject(visit), data={})
    return visit


def open_visits() -> list[HomeVisit]:
    """Every open request, the longest waiting first."""
    return list(
        db.session.scalars(
            select(HomeVisit)
            .where(HomeVisit.status.in_(HomeVisitStatus.open()))
            .order_by(HomeVisit.status, HomeVisit.preferred_day, HomeVisit.id)
        )
    )


def recent_closed(limit: int = 20) -> list[HomeVisit]:
    return list(
        db.session.scalars(
            select(HomeVisit)
            .where(HomeVisit.status.not_in(HomeVisitStatus.open()))
            .order_by(HomeVisit.closed_at.desc())
            .limit(limit)
        )
    )


def my_visits(actor: Any) -> list[HomeVisit]:
    """The visits a staff member is scheduled for, soonest first."""
    return list(
        db.session.scalars(
            select(HomeVisit)
            .where(HomeVisit.staff_id == actor.id, HomeVisit.status == HomeVisitStatus.SCHEDULED)
            .order_by(HomeVisit.scheduled_day, HomeVisit.id)
        )
    )


def steps(visit: HomeVisit) -> list[tuple[str, datetime | date | None, str]]:
    """The matter from request to closure as the citizen reads it: (what, when, details)."""
    out: list[tuple[str, datetime | date | None, str]] = [(_("Request received"), visit.requested_at, "")]
    for record in visit.records:
        if record.completed:
            out.append((_("Visited: the service was done"), record.recorded_at, record.notes))
        else:
            out.append((_("Visited: the service could not be done"), record.recorded_at, record.notes))
    if visit.status is HomeVisitStatus.SCHEDULED and visit.scheduled_day:
        out.append(
            (
                _("Visit scheduled"),
                visit.scheduled_at,
                f"{visit.scheduled_day.isoformat()} {period_words(visit.scheduled_period)}",
            )
        )
    if visit.status is HomeVisitStatus.DECLINED:
        out.append((_("Declined by the center"), visit.closed_at, visit.closing_note))
    if visit.status is HomeVisitStatus.CANCELLED:
        out.append((_("Cancelled at your request"), visit.closed_at, visit.closing_note))
    return out


# --- after-hours sessions and closures ----------------------------------------------------------------------


def add_exception(
    *, actor: Any, window_id: Any, day: Any, closed: bool, hours: dict[str, Any], reason: Any
) -> PlanException:
    """One day's hours for a window (or every window, `window_id` empty) in place of the weekly plan: closed, or
    open with the hours given (an after-hours session). A day already excepted for the same window is a conflict.
    Records `plan_exception_added`."""
    import marshmallow as ma

    _require(actor, MANAGE)
    window = None
    if window_id not in (None, ""):
        key = parse_id(window_id)
        try:
            window = get_window(key) if key is not None else None
        except NotFound:
            window = None
        if window is None:
            raise field_error("window", N_("Choose a window, or every window."))
    when = _day(day, "day")
    if when < _today():
        raise field_error("day", N_("Choose today or a later day."))
    why = clean_text(reason, "reason", REASON_MAX)
    values: dict[str, time | None] = dict.fromkeys(
        ("opens_at", "closes_at", "break_starts_at", "break_ends_at", "extended_until")
    )
    if not closed:
        given = {k: v for k, v in hours.items() if v not in (None, "")}
        try:
            values.update(HoursArgs().load(given))
        except ma.ValidationError as exc:
            errors = exc.messages if isinstance(exc.messages, dict) else {"hours": exc.messages}
            raise ValidationFailed(N_("Check the hours."), errors=errors) from None
    same = select(PlanException.id).where(PlanException.day == when)
    same = same.where(PlanException.window_id == window.id if window else PlanException.window_id.is_(None))
    if db.session.scalar(same) is not None:
        raise Conflict(N_("This day already has its own hours; remove them first."))
    row = PlanException(
        window_id=window.id if window else None,
        day=when,
        is_closed=bool(closed),
        reason=why,
        created_by=str(getattr(actor, "username", actor)),
        created_at=now_utc(),
        **values,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "convenience.plan_exception_added",
        actor=actor,
        subject=f"convenience.window:{window.id}" if window else "convenience.floor",
        data={
            "day": when.isoformat(),
            "closed": row.is_closed,
            "reason": why,
            **{k: v.strftime("%H:%M") for k, v in values.items() if v is not None},
        },
    )
    return row


def remove_exception(*, actor: Any, exception_id: Any) -> None:
    _require(actor, MANAGE)
    key = parse_id(exception_id)
    row = db.session.get(PlanException, key) if key is not None else None
    if row is None:
        raise NotFound(N_("No such day."))
    if row.day < _today():
        raise Conflict(N_("A day that has passed stays as it was."))
    subject = f"convenience.window:{row.window_id}" if row.window_id else "convenience.floor"
    audit.record("convenience.plan_exception_removed", actor=actor, subject=subject, data={"day": row.day.isoformat()})
    db.session.delete(row)
    db.session.flush()


def upcoming_exceptions() -> list[PlanException]:
    return list(
        db.session.scalars(
            select(PlanException)
            .where(PlanException.day >= _today())
            .order_by(PlanException.day, PlanException.window_id)
        )
    )


# --- demo ---------------------------------------------------------------------------------------------------

DEMO_VISITS = (  # service, name, phone, address, reason, details
    ("SI-003", "王秀兰", "13803100001", "邯郸市丛台区中华北大街128号3单元502室", "elderly", "八十六岁，行动不便"),
    ("UT-001", "刘建国", "13803100002", "邯郸市邯山区陵园路45号1单元201室", "disabled", ""),
    ("GN-003", "陈桂芳", "13803100003", "邯郸市复兴区复兴路17号", "ill", "卧床，需上门核实"),
)


def seed_demo_home_visits() -> list[str]:
    """For `make run` (idempotent: nothing when any home visit exists): three requests — one waiting, one scheduled
    for the demo window staff, one done — and next Saturday morning's after-hours session at every window."""
    if db.session.scalar(select(HomeVisit.id).limit(1)) is not None:
        return []
    staff = db.session.scalar(select(User).where(User.username == "window_staff"))
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    today = _today()
    made = []
    for code, name, phone, address, reason, details in DEMO_VISITS:
        made.append(
            request_visit(
                service_code=code,
                name=name,
                phone=phone,
                address=address,
                reason=reason,
                details=details,
                preferred_day=today + timedelta(days=2),
                preferred_period="morning",
            )
        )
    if staff is not None and admin is not None:
        for visit in made[1:]:
            schedule(actor=admin, visit_id=visit.id, staff_id=staff.id, day=today + timedelta(days=1), period="any")
        record_visit(actor=staff, visit_id=made[2].id, completed="yes", notes="已上门核实并办结")
        saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
        add_exception(
            actor=admin,
            window_id=None,
            day=saturday,
            closed=False,
            hours={"opens_at": "09:00", "closes_at": "12:00"},
            reason="周六延时服务",
        )
    return [
        f"convenience home visits: {len(made)} requests (managed at /convenience/home-visits, sign in as admin); "
        "after-hours session next Saturday (/convenience/hours)",
        f"    tracking: {tracking_url(made[0])}",
    ]
