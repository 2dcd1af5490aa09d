"""Appointment pages: book (service → day → slot), my appointments (reschedule, cancel, the ICS file, check-in), the
kiosk's check-in with the reference and the phone number, and the staff's outbox page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.convenience import appointments, services
from app.convenience.permissions import OUTBOX_READ
from app.convenience.views import bp
from app.core.errors import NotFound
from app.core.pages import Errors, attempt, discard, me
from app.core.security import authenticated, public, requires
from app.core.time import now_utc
from app.core.views import register_nav


def _day(raw: str | None, days: list[date]) -> date | None:
    """The day asked for (YYYY-MM-DD) if it is one of the bookable days, else the first of them."""
    if raw:
        try:
            asked = date.fromisoformat(raw[:10])
        except ValueError:
            asked = None
        if asked in days:
            return asked
    return days[0] if days else None


def _by_time(slots: list[appointments.Slot]) -> list[tuple[appointments.Slot, int]]:
    """One choice per start time: the window with the most free places (the citizen does not choose the window;
    the confirmation names it), and the places of all windows together."""
    out: dict[Any, tuple[appointments.Slot, int]] = {}
    for slot in slots:
        best, total = out.get(slot.starts_at, (slot, 0))
        if slot.places > best.places:
            best = slot
        out[slot.starts_at] = (best, total + slot.places)
    return [out[k] for k in sorted(out)]


def _slot_page(
    service: Any, *, appointment: Any = None, errors: Any = None, values: Any = None, status: int = 200
) -> Any:
    days = appointments.bookable_days(service)
    asked = (values or {}).get("day") or request.args.get("day")
    day = _day(asked, days)
    if not asked:  # the first day with a free place
        day = next((d for d in days if any(s.places for s in appointments.slots_for(service, d))), day)
    slots = _by_time(appointments.slots_for(service, day)) if day is not None else []
    user = me()
    blocked = appointments.restriction(user.id)
    return (
        render_template(
            "convenience/book_slots.html",
            service=service,
            days=days,
            day=day,
            slots=slots,
            appointment=appointment,
            errors=errors or {},
            values=values or {"phone": "", "email": user.email or ""},
            restriction=blocked,
            lead=appointments.setting("CONVENIENCE_BOOKING_LEAD_MINUTES"),
            horizon=appointments.setting("CONVENIENCE_BOOKING_HORIZON_DAYS"),
        ),
        status,
    )


@bp.get("/book")
@authenticated
def book_services() -> Any:
    bookable = [s for s in services.list_services() if s.is_bookable]
    return render_template(
        "convenience/book_services.html", services=bookable, restriction=appointments.restriction(me().id)
    )


@bp.route("/book/<string:code>", methods=["GET", "POST"])
@authenticated
def book(code: str) -> Any:
    service = services.get_service(code)
    if not service.is_bookable:
        abort(404)
    if request.method == "GET":
        return _slot_page(service)
    values = {k: request.form.get(k, "") for k in ("slot", "phone", "email", "day")}
    with attempt() as outcome:
        row = appointments.book(
            actor=me(), service_code=service.code, slot=values["slot"], phone=values["phone"], email=values["email"]
        )
        reference = row.reference
    if outcome.failed:
        return _slot_page(service, errors=outcome.errors, values=values, status=outcome.status)
    flash(_("Your appointment is booked. Its reference is %(reference)s.", reference=reference), "success")
    return redirect(url_for("convenience.appointment", reference=reference), code=303)


@bp.get("/appointments")
@authenticated
def my_appointments() -> Any:
    rows = appointments.my_appointments(me())
    return render_template(
        "convenience/appointments.html",
        rows=rows,
        can_check_in=appointments.can_check_in,
        restriction=appointments.restriction(me().id),
    )


@bp.get("/appointments/<string:reference>")
@authenticated
def appointment(reference: str) -> Any:
    row = appointments.own_appointment(me(), reference)
    return render_template(
        "convenience/appointment.html",
        row=row,
        can_check_in=appointments.can_check_in(row),
        opens=appointments.checkin_opens(row),
        closes=appointments.checkin_closes(row),
        changeable=row.status.value == "booked" and row.starts_at > now_utc(),
    )


@bp.get("/appointments/<string:reference>/calendar.ics")
@authenticated
def appointment_ics(reference: str) -> Any:
    row = appointments.own_appointment(me(), reference)
    body = appointments.ics(row, center=current_app.config.get("CENTER_NAME", ""))
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="appointment-{row.reference}.ics"'},
    )


@bp.route("/appointments/<string:reference>/reschedule", methods=["GET", "POST"])
@authenticated
def reschedule(reference: str) -> Any:
    row = appointments.own_appointment(me(), reference)
    if request.method == "GET":
        return _slot_page(row.service, appointment=row)
    values = {k: request.form.get(k, "") for k in ("slot", "day")}
    with attempt() as outcome:
        appointments.reschedule(actor=me(), reference=row.reference, slot=values["slot"])
    if outcome.failed:
        return _slot_page(row.service, appointment=row, errors=outcome.errors, values=values, status=outcome.status)
    flash(_("Your appointment was moved."), "success")
    return redirect(url_for("convenience.appointment", reference=row.reference), code=303)


@bp.post("/appointments/<string:reference>/cancel")
@authenticated
def cancel(reference: str) -> Any:
    with attempt() as outcome:
        appointments.cancel(actor=me(), reference=reference)
    if outcome.failed:
        outcome.flash()
    else:
        flash(_("Your appointment was cancelled."), "success")
    return redirect(url_for("convenience.my_appointments"), code=303)


@bp.post("/appointments/<string:reference>/check-in")
@authenticated
def check_in_mine(reference: str) -> Any:
    with attempt() as outcome:
        row = appointments.check_in(reference=reference, actor=me(), channel="phone")
        public_id = row.ticket.public_id if row.ticket else ""
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("convenience.my_appointments"), code=303)
    flash(_("You are checked in."), "success")
    return redirect(url_for("convenience.my_ticket", public_id=public_id), code=303)


@bp.route("/check-in", methods=["GET", "POST"])
@public
def kiosk_check_in() -> Any:
    """The kiosk: a booked visitor keys in the reference and the phone number and gets a queue ticket."""
    values = {"reference": "", "phone": ""}
    errors = Errors()
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "")[:40] for k in values}
        try:
            with attempt() as outcome:
                row = appointments.check_in(reference=values["reference"], phone=values["phone"], channel="kiosk")
                public_id = row.ticket.public_id if row.ticket else ""
        except NotFound as exc:  # at the kiosk a wrong reference or phone is a message on the form, not a page
            discard()
            errors.general.append(exc.translated)
            status = 404
        else:
            if not outcome.failed:
                return redirect(url_for("convenience.my_ticket", public_id=public_id), code=303)
            errors, status = outcome.errors, outcome.status
    return render_template("convenience/check_in.html", values=values, errors=errors), status


@bp.get("/outbox")
@requires(OUTBOX_READ)
def outbox() -> Any:
    """The floor's one outbox: appointment reminders and rating invitations; `?kind=` shows one kind."""
    kind = request.args.get("kind", "")
    kind = kind if kind in appointments.OUTBOX_KINDS else ""
    return render_template("convenience/outbox.html", messages=appointments.outbox(kind=kind or None), kind=kind)


@bp.app_template_filter("convenience_weekday")
def _weekday(value: date) -> str:
    names = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
    return str(names[value.weekday()])


def init_app() -> None:
    register_nav("convenience.my_appointments", _l("My appointments"), "@authenticated", order=13)
    register_nav("convenience.outbox", _l("Outbox"), OUTBOX_READ, order=21)
