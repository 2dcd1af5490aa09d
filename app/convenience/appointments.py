"""Appointments (预约服务): slots from the working plans, book / reschedule / cancel, the ICS confirmation, the
reminder the day before, no-shows and the restriction after repeated ones, check-in to the queue.

Slots. A window's day (its working plan: opening to closing, the break left out) is cut into slots of
`CONVENIENCE_SLOT_MINUTES`; `CONVENIENCE_BOOKING_SHARE` percent of each slot's time may be booked, the rest stays
for walk-ins. A booking uses the service's average service time plus `CONVENIENCE_REST_SECONDS` of that budget, so
a slot offers a service as many places as still fit. A slot can be booked from `CONVENIENCE_BOOKING_LEAD_MINUTES`
before it starts back to `CONVENIENCE_BOOKING_HORIZON_DAYS` days ahead (the center's days, today counting as 0).
A slot is named by its window and local start: "12-202612080900" (window id 12, 2026-12-08 09:00 Asia/Shanghai).

No slot is sold twice: every booking or reschedule takes a row lock on the window (FOR UPDATE on PostgreSQL; SQLite
has a single writer) and counts the slot's used time under that lock before adding its own.

No-shows. A booking not checked in by the slot's end plus `CONVENIENCE_NO_SHOW_GRACE_MINUTES` becomes a no-show
(sweep). `CONVENIENCE_NO_SHOW_LIMIT` no-shows within `CONVENIENCE_NO_SHOW_WINDOW_DAYS` days stop the citizen from
booking for `CONVENIENCE_NO_SHOW_RESTRICTION_DAYS` days after the last of them.

Check-in opens `CONVENIENCE_CHECKIN_EARLY_MINUTES` before the slot and closes with the grace time after its end; it
issues a queue ticket marked booked, which the queue's call-next interleaves with walk-ins by
`CONVENIENCE_BOOKED_RULE` ("priority", or "quota": at most `CONVENIENCE_BOOKED_QUOTA_BOOKED` booked visitors in
every `CONVENIENCE_BOOKED_QUOTA_CALLS` calls while walk-ins wait).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from flask import current_app
from sqlalchemy import func, select

from app import audit
from app.convenience import notify, queue
from app.convenience.appointment_models import Appointment, AppointmentStatus, OutboxMessage
from app.convenience.models import Service, Window
from app.convenience.services import get_window, hours_on, local_now
from app.core.db import db, is_postgresql
from app.core.errors import Conflict, NotFound, PermissionDenied, field_error
from app.core.problems import N_
from app.core.time import now_utc

DEFAULTS: dict[str, Any] = {
    "CONVENIENCE_SLOT_MINUTES": 30,
    "CONVENIENCE_BOOKING_SHARE": 50,  # percent of a slot's time that may be booked
    "CONVENIENCE_REST_SECONDS": 120,  # added to the service's time for each booking
    "CONVENIENCE_BOOKING_HORIZON_DAYS": 14,
    "CONVENIENCE_BOOKING_LEAD_MINUTES": 60,
    "CONVENIENCE_CHECKIN_EARLY_MINUTES": 30,
    "CONVENIENCE_NO_SHOW_GRACE_MINUTES": 15,
    "CONVENIENCE_NO_SHOW_LIMIT": 3,
    "CONVENIENCE_NO_SHOW_WINDOW_DAYS": 90,
    "CONVENIENCE_NO_SHOW_RESTRICTION_DAYS": 30,
    "CONVENIENCE_BOOKED_RULE": "quota",  # or "priority"
    "CONVENIENCE_BOOKED_QUOTA_BOOKED": 2,
    "CONVENIENCE_BOOKED_QUOTA_CALLS": 3,
    "CONVENIENCE_NOTIFIER": "outbox",  # or "sms", "email" (app/convenience/notify.py)
    "CONVENIENCE_SMTP_HOST": "localhost",
    "CONVENIENCE_SMTP_PORT": 25,
    "CONVENIENCE_SMTP_FROM": "noreply@localhost",
    "CONVENIENCE_SMTP_TIMEOUT": 10,
    "CONVENIENCE_SMS_URL": "",
    "CONVENIENCE_SMS_TOKEN": "",
    "CONVENIENCE_SMS_TIMEOUT": 10,
}

SLOT = re.compile(r"^([1-9][0-9]{0,8})-([0-9]{12})$")
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE = re.compile(r"^[A-HJ-NP-Z2-9]{8}$")
PHONE = re.compile(r"^1[3-9][0-9]{9}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,180}\.[A-Za-z]{2,24}$")


class SlotTaken(Conflict):
    code = "appointment-slot-taken"
    title = "The slot is fully booked"
    description = N_("Every place of this slot is booked; choose another slot.")


class BookingRestricted(PermissionDenied):
    code = "appointment-restricted"
    title = "Booking is restricted after repeated no-shows"
    description = N_("The citizen missed too many booked appointments and cannot book for a while.")


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS[name])


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _subject(row: Appointment) -> str:
    return f"convenience.appointment:{row.id}"


# --- slots --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    key: str
    window_id: int
    window_number: str
    starts_at: datetime  # UTC
    ends_at: datetime
    places: int  # for the service asked about


def slot_key(window_id: int, local_start: datetime) -> str:
    return f"{window_id}-{local_start:%Y%m%d%H%M}"


def cost_seconds(service: Service) -> int:
    return int(service.average_service_seconds) + int(setting("CONVENIENCE_REST_SECONDS"))


def budget_seconds() -> int:
    return int(setting("CONVENIENCE_SLOT_MINUTES")) * 60 * int(setting("CONVENIENCE_BOOKING_SHARE")) // 100


def plan_slots(window: Window, day: date) -> list[tuple[datetime, datetime]]:
    """The window's slots on a day, as local (start, end): within opening hours, none overlapping the break."""
    plan = hours_on(window, day)
    if plan is None:
        return []
    step = timedelta(minutes=int(setting("CONVENIENCE_SLOT_MINUTES")))
    tz = zone()
    start = datetime.combine(day, plan.opens_at, tz)
    closes = datetime.combine(day, plan.closes_at, tz)
    out = []
    while start + step <= closes:
        end = start + step
        in_break = (
            plan.break_starts_at is not None
            and plan.break_ends_at is not None
            and start < datetime.combine(day, plan.break_ends_at, tz)
            and end > datetime.combine(day, plan.break_starts_at, tz)
        )
        if not in_break:
            out.append((start, end))
        start = end
    return out


def _used(window_id: int, starts_at: datetime, *, besides: int | None = None) -> int:
    stmt = select(func.coalesce(func.sum(Appointment.seconds), 0)).where(
        Appointment.window_id == window_id,
        Appointment.starts_at == starts_at,
        Appointment.status.in_(AppointmentStatus.active()),
    )
    if besides is not None:
        stmt = stmt.where(Appointment.id != besides)
    return int(db.session.scalar(stmt) or 0)


def _windows(service: Service) -> list[Window]:
    return list(
        db.session.scalars(
            select(Window)
            .where(Window.group_id == service.group_id, Window.is_active.is_(True))
            .order_by(Window.number)
        )
    )


def _earliest() -> datetime:
    return now_utc() + timedelta(minutes=int(setting("CONVENIENCE_BOOKING_LEAD_MINUTES")))


def last_day() -> date:
    return local_now().date() + timedelta(days=int(setting("CONVENIENCE_BOOKING_HORIZON_DAYS")))


def slots_for(service: Service, day: date) -> list[Slot]:
    """The slots of the service's windows on the day that can still be booked (lead time and horizon), with the
    places each still offers the service (0: fully booked). Earliest first."""
    if not service.is_bookable or not service.is_active or day > last_day() or day < local_now().date():
        return []
    earliest = _earliest()
    need = cost_seconds(service)
    budget = budget_seconds()
    windows = _windows(service)
    tz = zone()
    day_start = datetime.combine(day, time(0, 0), tz)
    used = {  # (window, start) → booked seconds, in one query for the day
        (w, _utc(at)): int(total)
        for w, at, total in db.session.execute(
            select(Appointment.window_id, Appointment.starts_at, func.sum(Appointment.seconds))
            .where(
                Appointment.window_id.in_([w.id for w in windows] or [0]),
                Appointment.starts_at >= day_start,
                Appointment.starts_at < day_start + timedelta(days=1),
                Appointment.status.in_(AppointmentStatus.active()),
            )
            .group_by(Appointment.window_id, Appointment.starts_at)
        ).all()
    }
    out = []
    for window in windows:
        for start, end in plan_slots(window, day):
            starts_at = start.astimezone(ZoneInfo("UTC"))
            if starts_at < earliest:
                continue
            free = budget - used.get((window.id, starts_at), 0)
            places = max(0, free // need) if need > 0 else 0
            out.append(Slot(slot_key(window.id, start), window.id, window.number, starts_at, end, places))
    out.sort(key=lambda s: (s.starts_at, s.window_number))
    return out


def _utc(value: datetime) -> datetime:
    """An instant read back from a grouped query (SQLite returns it naive, in UTC)."""
    return value.replace(tzinfo=ZoneInfo("UTC")) if value.tzinfo is None else value.astimezone(ZoneInfo("UTC"))


def bookable_days(service: Service) -> list[date]:
    """The days from today to the horizon on which some window of the service works."""
    today = local_now().date()
    windows = _windows(service)
    days = [today + timedelta(days=i) for i in range(int(setting("CONVENIENCE_BOOKING_HORIZON_DAYS")) + 1)]
    return [d for d in days if any(hours_on(w, d) is not None for w in windows)]


def resolve_slot(service: Service, key: str) -> tuple[Window, datetime, datetime]:
    """The window and UTC start and end a slot key names, checked against the plan, the lead time and the horizon.

    Raises ValidationFailed (field `slot`) for a malformed key, a window of another group, a time outside the
    working plan, a slot in the past or within the lead time, or beyond the horizon.
    """
    found = SLOT.match(key or "")
    if found is None:
        raise field_error("slot", N_("Choose a slot from the list."))
    try:
        local = datetime.strptime(found.group(2), "%Y%m%d%H%M").replace(tzinfo=zone())
    except ValueError:
        raise field_error("slot", N_("Choose a slot from the list.")) from None
    window = db.session.get(Window, int(found.group(1)))
    if window is None or window.group_id != service.group_id or not window.is_active:
        raise field_error("slot", N_("This window does not offer the service."))
    match = [(s, e) for s, e in plan_slots(window, local.date()) if s == local]
    if not match:
        raise field_error("slot", N_("The window does not work at that time."))
    start, end = match[0]
    starts_at = start.astimezone(ZoneInfo("UTC"))
    if starts_at <= now_utc():
        raise field_error("slot", N_("That time has passed; choose a later slot."))
    if starts_at < _earliest():
        raise field_error(
            "slot",
            N_("Book at least %(minutes)s minutes ahead; choose a later slot."),
            params={"minutes": int(setting("CONVENIENCE_BOOKING_LEAD_MINUTES"))},
        )
    if local.date() > last_day():
        raise field_error(
            "slot",
            N_("Slots can be booked at most %(days)s days ahead."),
            params={"days": int(setting("CONVENIENCE_BOOKING_HORIZON_DAYS"))},
        )
    return window, starts_at, end.astimezone(ZoneInfo("UTC"))


# --- no-shows and the restriction -----------------------------------------------------------------------


@dataclass(frozen=True)
class Restriction:
    no_shows: int
    days: int  # within this many days
    until: datetime  # booking is possible again from then


def restriction(user_id: int) -> Restriction | None:
    """Whether the citizen is barred from booking after repeated no-shows, and until when."""
    window_days = int(setting("CONVENIENCE_NO_SHOW_WINDOW_DAYS"))
    limit = int(setting("CONVENIENCE_NO_SHOW_LIMIT"))
    now = now_utc()
    missed = list(
        db.session.scalars(
            select(Appointment.ends_at)
            .where(
                Appointment.user_id == user_id,
                Appointment.status == AppointmentStatus.NO_SHOW,
                Appointment.ends_at >= now - timedelta(days=window_days),
            )
            .order_by(Appointment.ends_at.desc())
        )
    )
    if limit <= 0 or len(missed) < limit:
        return None
    until = missed[0] + timedelta(days=int(setting("CONVENIENCE_NO_SHOW_RESTRICTION_DAYS")))
    if until <= now:
        return None
    return Restriction(len(missed), window_days, until)


def _refuse_restricted(user_id: int) -> None:
    found = restriction(user_id)
    if found is not None:
        from app.core.time import format_center_time

        raise BookingRestricted(
            N_(
                "You missed %(count)s booked appointments within %(days)s days, so you cannot book until %(until)s. "
                "You can still take a ticket in the hall."
            ),
            params={
                "count": found.no_shows,
                "days": found.days,
                "until": format_center_time(found.until, current_app.config["CENTER_TIMEZONE"]),
            },
        )


# --- booking ------------------------------------------------------------------------------------------


def _bookable(service_code: str) -> Service:
    from app.convenience.services import get_service

    try:
        service = get_service(service_code or "")
    except NotFound:
        raise field_error("service", N_("Choose a service that can be booked.")) from None
    if not service.is_bookable:
        raise field_error("service", N_("Choose a service that can be booked."))
    return service


def _contact(phone: str, email: str) -> tuple[str, str]:
    phone = (phone or "").strip().replace(" ", "").replace("-", "")
    if not PHONE.match(phone):
        raise field_error("phone", N_("Enter a mobile number of 11 digits starting with 1."))
    email = (email or "").strip()
    if email and not EMAIL.match(email):
        raise field_error("email", N_("Enter an e-mail address like name@example.com, or leave it empty."))
    return phone, email


def _lock(window_id: int) -> Window:
    return get_window(window_id, lock=True)


def _take(window: Window, starts_at: datetime, seconds: int, *, besides: int | None = None) -> None:
    """Under the window's lock: refuse when the slot's booked time plus this booking passes the budget."""
    if _used(window.id, starts_at, besides=besides) + seconds > budget_seconds():
        raise SlotTaken(N_("This slot is fully booked; choose another slot."))


def _new_reference() -> str:
    while True:
        ref = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        if db.session.scalar(select(Appointment.id).where(Appointment.reference == ref)) is None:
            return ref


def _same_day_booking(user_id: int, service_id: int, day: date, *, besides: int | None = None) -> Appointment | None:
    stmt = select(Appointment).where(
        Appointment.user_id == user_id,
        Appointment.service_id == service_id,
        Appointment.day == day,
        Appointment.status.in_(AppointmentStatus.active()),
    )
    if besides is not None:
        stmt = stmt.where(Appointment.id != besides)
    found: Appointment | None = db.session.scalar(stmt)
    return found


def book(*, actor: Any, service_code: str, slot: str, phone: str, email: str = "") -> Appointment:
    """Book a slot for a service. Flushes and records `appointment_booked`.

    Raises ValidationFailed (service, slot, phone, email), BookingRestricted (403: repeated no-shows), Conflict
    (already booked for the service that day) and SlotTaken (409: no place left).
    """
    service = _bookable(service_code)
    phone, email = _contact(phone, email)
    window, starts_at, ends_at = resolve_slot(service, slot)
    _refuse_restricted(actor.id)
    day = starts_at.astimezone(zone()).date()
    if _same_day_booking(actor.id, service.id, day) is not None:
        raise Conflict(N_("You already have an appointment for this service on that day; change it instead."))
    window = _lock(window.id)
    seconds = cost_seconds(service)
    _take(window, starts_at, seconds)
    now = now_utc()
    row = Appointment(
        reference=_new_reference(),
        user_id=actor.id,
        service_id=service.id,
        window_id=window.id,
        day=day,
        starts_at=starts_at,
        ends_at=ends_at,
        seconds=seconds,
        phone=phone,
        email=email,
        status=AppointmentStatus.BOOKED,
        created_at=now,
        reschedule_count=0,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "convenience.appointment_booked",
        actor=actor,
        subject=_subject(row),
        data={
            "reference": row.reference,
            "service": service.code,
            "window": window.number,
            "starts_at": starts_at.isoformat(),
        },
    )
    return row


def get_appointment(reference: str) -> Appointment:
    ref = (reference or "").strip().upper()
    found: Appointment | None = None
    if REFERENCE.match(ref):
        found = db.session.scalar(select(Appointment).where(Appointment.reference == ref))
    if found is None:
        raise NotFound(N_("No such appointment."))
    return found


def own_appointment(actor: Any, reference: str) -> Appointment:
    """The caller's appointment; another citizen's is not found (its reference tells nothing)."""
    row = get_appointment(reference)
    if row.user_id != getattr(actor, "id", None):
        raise NotFound(N_("No such appointment."))
    return row


def my_appointments(actor: Any) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment).where(Appointment.user_id == actor.id).order_by(Appointment.starts_at.desc())
        )
    )


def _changeable(row: Appointment) -> None:
    if row.status is not AppointmentStatus.BOOKED:
        raise Conflict(N_("This appointment can no longer be changed."))
    if row.starts_at <= now_utc():
        raise Conflict(N_("This appointment has begun; it can no longer be changed."))


def reschedule(*, actor: Any, reference: str, slot: str) -> Appointment:
    """Move the caller's booked appointment to another slot of the same service. Records `appointment_rescheduled`.

    Raises NotFound (not the caller's), Conflict (not booked any more, begun, or full: SlotTaken), ValidationFailed
    (slot), BookingRestricted.
    """
    row = own_appointment(actor, reference)
    _changeable(row)
    window, starts_at, ends_at = resolve_slot(row.service, slot)
    if window.id == row.window_id and starts_at == row.starts_at:
        raise field_error("slot", N_("Choose a slot other than the one you have."))
    _refuse_restricted(actor.id)
    day = starts_at.astimezone(zone()).date()
    if _same_day_booking(actor.id, row.service_id, day, besides=row.id) is not None:
        raise Conflict(N_("You already have an appointment for this service on that day; change it instead."))
    for window_id in sorted({window.id, row.window_id}):  # both windows, in one order: no deadlock
        _lock(window_id)
    _take(window, starts_at, row.seconds, besides=row.id)
    was = row.starts_at
    row.window_id = window.id
    row.starts_at, row.ends_at, row.day = starts_at, ends_at, day
    row.reschedule_count += 1
    row.reminded_at = None  # a new day: a new reminder
    db.session.flush()
    audit.record(
        "convenience.appointment_rescheduled",
        actor=actor,
        subject=_subject(row),
        data={
            "reference": row.reference,
            "from": was.isoformat(),
            "starts_at": starts_at.isoformat(),
            "window": window.number,
        },
    )
    return row


def cancel(*, actor: Any, reference: str) -> Appointment:
    """Cancel the caller's booked appointment before it begins; its place is free again. Records."""
    row = own_appointment(actor, reference)
    _changeable(row)
    _lock(row.window_id)
    row.status = AppointmentStatus.CANCELLED
    row.cancelled_at = now_utc()
    db.session.flush()
    audit.record(
        "convenience.appointment_cancelled",
        actor=actor,
        subject=_subject(row),
        data={"reference": row.reference, "starts_at": row.starts_at.isoformat()},
    )
    return row


# --- check-in -----------------------------------------------------------------------------------------


def checkin_opens(row: Appointment) -> datetime:
    return row.starts_at - timedelta(minutes=int(setting("CONVENIENCE_CHECKIN_EARLY_MINUTES")))


def checkin_closes(row: Appointment) -> datetime:
    return row.ends_at + timedelta(minutes=int(setting("CONVENIENCE_NO_SHOW_GRACE_MINUTES")))


def can_check_in(row: Appointment) -> bool:
    return row.status is AppointmentStatus.BOOKED and checkin_opens(row) <= now_utc() < checkin_closes(row)


def check_in(*, reference: str, actor: Any = None, phone: str | None = None, channel: str = "kiosk") -> Appointment:
    """The booked visitor arrives: a queue ticket marked booked. By the owner signed in (`actor`) or at the kiosk
    with the reference and the phone number given when booking. Records `appointment_checked_in`.

    Raises NotFound (reference, or the phone does not match), Conflict (not booked, too early or too late).
    """
    if phone is None:
        if actor is None:
            raise NotFound(N_("No such appointment."))
        row = own_appointment(actor, reference)
    else:
        row = get_appointment(reference)
        given = (phone or "").strip().replace(" ", "").replace("-", "")
        if not given or not secrets.compare_digest(given.encode(), row.phone.encode()):
            raise NotFound(N_("No appointment has this reference and phone number."))
    if row.status is AppointmentStatus.CHECKED_IN:
        raise Conflict(
            N_("You have checked in already; your ticket is %(number)s."),
            params={"number": row.ticket.number if row.ticket else ""},
        )
    if row.status is not AppointmentStatus.BOOKED:
        raise Conflict(N_("This appointment is no longer booked."))
    from app.core.time import format_center_time

    now = now_utc()
    tz = current_app.config["CENTER_TIMEZONE"]
    if now < checkin_opens(row):
        raise Conflict(N_("Check-in opens at %(at)s."), params={"at": format_center_time(checkin_opens(row), tz)})
    if now >= checkin_closes(row):
        raise Conflict(
            N_("Check-in closed at %(at)s; please take a ticket in the hall."),
            params={"at": format_center_time(checkin_closes(row), tz)},
        )
    ticket = queue.issue_ticket(service_code=row.service.code, channel=channel, booked=True, actor=actor)
    row.ticket_id = ticket.id
    row.status = AppointmentStatus.CHECKED_IN
    row.checked_in_at = now
    db.session.flush()
    audit.record(
        "convenience.appointment_checked_in",
        actor=actor,
        subject=_subject(row),
        data={"reference": row.reference, "ticket": ticket.number},
    )
    return row


# --- the sweeps -----------------------------------------------------------------------------------------

SWEEP_BATCH = 500


def mark_no_shows() -> int:
    """Booked appointments not checked in by their end plus the grace time become no-shows. Idempotent."""
    cutoff = now_utc() - timedelta(minutes=int(setting("CONVENIENCE_NO_SHOW_GRACE_MINUTES")))
    stmt = (
        select(Appointment)
        .where(Appointment.status == AppointmentStatus.BOOKED, Appointment.ends_at <= cutoff)
        .order_by(Appointment.id)
        .limit(SWEEP_BATCH)
    )
    if is_postgresql():
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(stmt))
    now = now_utc()
    for row in rows:
        row.status = AppointmentStatus.NO_SHOW
        row.no_show_at = now
        audit.record(
            "convenience.appointment_no_show",
            actor="system:sweep",
            subject=_subject(row),
            data={"reference": row.reference, "user": row.user_id, "starts_at": row.starts_at.isoformat()},
        )
    db.session.flush()
    return len(rows)


def reminder_text(row: Appointment) -> tuple[str, str]:
    """The reminder's subject and body (Chinese: the center's citizens read it on their phones)."""
    local = row.starts_at.astimezone(zone())
    subject = f"预约提醒：{row.service.name}"
    body = (
        f"您预约的“{row.service.name}”在{local:%Y-%m-%d %H:%M}（北京时间），{row.window.number}号窗口"
        f"{('（' + row.window.location + '）') if row.window.location else ''}。预约号{row.reference}，"
        f"请于开始前{int(setting('CONVENIENCE_CHECKIN_EARLY_MINUTES'))}分钟内到取号机凭预约号和手机号签到。"
        f"如不能前来请提前取消。"
    )
    return subject, body


def send_reminders() -> int:
    """The day before: a reminder for each booked appointment of tomorrow (the center's day) not yet reminded.
    Writes the outbox message and `reminded_at` in one transaction, so a second run sends nothing again."""
    tomorrow = local_now().date() + timedelta(days=1)
    stmt = (
        select(Appointment)
        .where(
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.day == tomorrow,
            Appointment.reminded_at.is_(None),
        )
        .order_by(Appointment.id)
        .limit(SWEEP_BATCH)
    )
    if is_postgresql():
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(db.session.scalars(stmt))
    now = now_utc()
    for row in rows:
        subject, body = reminder_text(row)
        message = notify.queue_to(
            phone=row.phone,
            email=row.email,
            page=row.reference,
            subject=subject,
            body=body,
            kind="appointment_reminder",
            appointment_id=row.id,
        )
        row.reminded_at = now
        audit.record(
            "convenience.appointment_reminder_queued",
            actor="system:sweep",
            subject=_subject(row),
            data={"reference": row.reference, "message": message.id, "channel": message.channel.value},
        )
    db.session.flush()
    return len(rows)


OUTBOX_KINDS = (
    "appointment_reminder",
    "rating_invitation",
    # the permits floor's applicant notices (app.permits.cases.messages), through the same outbox
    "permits_correction",
    "permits_acceptance",
    "permits_rectification",
    "permits_decision",
)


def outbox(limit: int = 200, kind: str | None = None) -> list[OutboxMessage]:
    """The floor's outbox, newest first: every kind, or one of `OUTBOX_KINDS`."""
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if kind in OUTBOX_KINDS:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(stmt))


# --- the ICS file -----------------------------------------------------------------------------------------


def ics(row: Appointment, *, center: str = "") -> bytes:
    """The appointment as an iCalendar file (RFC 5545): times in UTC, so every calendar shows them right."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Administrative Service Center//Convenience appointments//ZH")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{row.reference}@convenience.appointments")
    event.add("dtstamp", now_utc())
    event.add("dtstart", row.starts_at)
    event.add("dtend", row.ends_at)
    event.add("sequence", row.reschedule_count)
    event.add("summary", f"预约：{row.service.name}")
    place = f"{center} {row.window.number}号窗口 {row.window.location}".strip()
    event.add("location", place)
    early = int(setting("CONVENIENCE_CHECKIN_EARLY_MINUTES"))
    event.add("description", f"预约号 {row.reference}。请于开始前{early}分钟内凭预约号和手机号签到取号。")
    event.add("status", "CANCELLED" if row.status is AppointmentStatus.CANCELLED else "CONFIRMED")
    cal.add_component(event)
    return bytes(cal.to_ical())


def time_of(day: date, at: time) -> datetime:
    """A local time of day on a center's day, as a UTC instant."""
    return datetime.combine(day, at, zone()).astimezone(ZoneInfo("UTC"))


# --- demo ---------------------------------------------------------------------------------------------

DEMO_CITIZEN = "bidder"  # the demo has no citizen role: any signed-in account may book; the demo's bidder does
DEMO_BOOKINGS = (("SI-001", 1, "13800138000"), ("HR-001", 2, "13800138000"), ("UT-001", 3, "13800138000"))


def seed_demo_appointments() -> list[str]:
    """A few appointments of the demo citizen (idempotent: none when it has any), one of them cancelled, and
    their reminders for tomorrow in the outbox."""
    from app.accounts.models import User
    from app.convenience.services import get_service

    citizen = db.session.scalar(select(User).where(User.username == DEMO_CITIZEN))
    if citizen is None or db.session.scalar(select(Appointment.id).where(Appointment.user_id == citizen.id)):
        return []
    made = []
    for code, nth_day, phone in DEMO_BOOKINGS:
        service = get_service(code)
        days = [d for d in bookable_days(service) if d > local_now().date()]
        if len(days) < nth_day:
            continue
        free = [s for s in slots_for(service, days[nth_day - 1]) if s.places > 0]
        if not free:
            continue
        made.append(book(actor=citizen, service_code=code, slot=free[len(free) // 3].key, phone=phone))
    if len(made) == len(DEMO_BOOKINGS):
        cancel(actor=citizen, reference=made[-1].reference)
    reminders = send_reminders()
    return [f"convenience appointments: {len(made)} booked for `{DEMO_CITIZEN}` ({reminders} reminders in the outbox)"]
