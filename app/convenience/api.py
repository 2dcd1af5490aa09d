"""JSON API of the convenience floor (/api/v1/convenience): the service list, tickets from a phone and their
tracking, the hall's state, the window staff's calls (sign on, call next, recall, serve, miss, transfer),
appointments (slots, book, reschedule, cancel, check in), and home visits (ask, follow)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint

from app.convenience import appointments, home_visits, queue, schemas, services
from app.convenience.appointment_models import Appointment
from app.convenience.home_visit_models import HomeVisit
from app.convenience.models import Service, Ticket, TicketStatus, Window
from app.convenience.permissions import APPOINTMENTS, WINDOW_OPERATE
from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import authenticated, public, requires

PROBLEM = "application/problem+json"

blp = Blueprint(
    "convenience-api",
    __name__,
    url_prefix="/api/v1/convenience",
    description="The convenience floor (便民服务): services, tickets, the hall display and the window staff's calls.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def service_view(service: Service) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service.name,
        "name_en": service.name_en,
        "department": service.department,
        "department_en": service.department_en,
        "group": service.group.name,
        "prefix": service.group.prefix,
        "average_service_seconds": service.average_service_seconds,
        "is_bookable": service.is_bookable,
        "is_at_home": service.is_at_home,
        "is_after_hours": service.is_after_hours,
    }


def ticket_view(ticket: Ticket) -> dict[str, Any]:
    # place and ETA only for a ticket in line (a called or closed one has none: no need to measure anything)
    progress = queue.progress(ticket) if ticket.status is TicketStatus.WAITING else None
    return {
        "number": ticket.number,
        "tracking_id": ticket.public_id,
        "tracking_url": url_for("convenience.my_ticket", public_id=ticket.public_id),
        "service": ticket.service.code,
        "status": ticket.status.value,
        "issued_at": ticket.issued_at,
        "ahead": progress.ahead if progress is not None else 0,
        "eta": progress.eta if progress is not None else None,
        "window": ticket.window.number if ticket.window is not None else None,
        "call_count": ticket.call_count,
        "is_requeued": ticket.is_requeued,
    }


_UNKNOWN: Any = object()


def window_view(
    window: Window, user: Any, *, current: Ticket | None = _UNKNOWN, signed_on: bool | None = None
) -> dict[str, Any]:
    """`current` and `signed_on` when the caller already knows them (a window action's service has just found the
    caller signed on there and left its ticket called or not), so the answer does not look them up again."""
    if signed_on is None:
        session = services.open_session(window_id=window.id)
        signed_on = session is not None and session.user_id == user.id
    if current is _UNKNOWN:
        current = queue.current_ticket(window)
    return {
        "id": window.id,
        "number": window.number,
        "name": window.name,
        "group": window.group.name,
        "is_open": services.is_open(window),
        "signed_on": signed_on,
        "current": ticket_view(current) if current is not None else None,
        "waiting": queue.waiting_count(window),
    }


@blp.route("/services", methods=["GET"])
@blp.response(200, schemas.ConvenienceServiceOut(many=True))
@public
def list_services() -> Any:
    """The services the floor offers, by window group, with how each may be done (booked, at home, after hours)."""
    return [service_view(s) for s in services.list_services()]


@blp.route("/tickets", methods=["POST"])
@blp.arguments(schemas.TicketArgs)
@blp.response(201, schemas.TicketOut)
@_problems(404, 409, 422)
@public
def take_ticket(args: dict[str, Any]) -> Any:
    """Take a ticket (手机取号): its number, its place in line and the tracking link. Keep `tracking_id`."""
    ticket = queue.issue_ticket(
        service_code=args["service"],
        channel=args["channel"],
        surname=args["surname"],
        honorific=args["honorific"],
        actor=None,
    )
    return ticket_view(ticket)


@blp.route("/tickets/<string:tracking_id>", methods=["GET"])
@blp.response(200, schemas.TicketOut)
@_problems(404)
@public
def get_ticket(tracking_id: str) -> Any:
    """A ticket's state, the number of tickets before it and when it should be called (from measured times)."""
    return ticket_view(queue.get_ticket(tracking_id))


@blp.route("/hall", methods=["GET"])
@blp.response(200, schemas.HallOut)
@public
def hall() -> Any:
    """What the hall display shows: the latest calls (names masked) and how many wait in each group."""
    return queue.hall_snapshot()


@blp.route("/windows", methods=["GET"])
@blp.response(200, schemas.WindowOut(many=True))
@requires(WINDOW_OPERATE)
def my_windows() -> Any:
    """The windows the caller is assigned to, with the ticket each has called and how many wait for it."""
    user = me()
    return [window_view(w, user) for w in services.windows_of(user)]


def _window_action(window_id: int, action: str) -> Any:
    user = me()
    if action in ("sign-on", "sign-off"):
        (services.sign_on if action == "sign-on" else services.sign_off)(actor=user, window_id=window_id)
        return window_view(services.get_window(window_id), user)
    ticket = {"call": queue.call_next, "recall": queue.recall, "serve": queue.serve, "miss": queue.miss}[action](
        actor=user, window_id=window_id
    )
    # The service found the caller signed on at the window (its row locked) and left `ticket` called there or not:
    # the answer reads neither again (a peak day's 10,000 calls and serves).
    window = ticket.window
    if window is None or window.id != window_id:
        window = services.get_window(window_id)
    called_here = ticket.status is TicketStatus.CALLED and ticket.window_id == window.id
    return window_view(window, user, current=ticket if called_here else None, signed_on=True)


@blp.route("/windows/<int:window_id>/<any('sign-on','sign-off',call,recall,serve,miss):action>", methods=["POST"])
@blp.response(200, schemas.WindowOut)
@_problems(403, 404, 409)
@requires(WINDOW_OPERATE)
def window_action(window_id: int, action: str) -> Any:
    """At a window: `sign-on`, `sign-off`, `call` (the next ticket), `recall`, `serve` or `miss` (the first miss
    re-queues the ticket at the back, the second makes it a no-show). Only the staff member signed on there acts."""
    return _window_action(window_id, action)


@blp.route("/windows/<int:window_id>/transfer", methods=["POST"])
@blp.arguments(schemas.TransferArgs)
@blp.response(200, schemas.WindowOut)
@_problems(403, 404, 409, 422)
@requires(WINDOW_OPERATE)
def transfer(args: dict[str, Any], window_id: int) -> Any:
    """Send the window's called ticket to another window; it keeps its place in line there."""
    queue.transfer(actor=me(), window_id=window_id, to_window_id=args["to_window"])
    return window_view(services.get_window(window_id), me())


# --- appointments ---------------------------------------------------------------------------------------


def appointment_view(row: Appointment) -> dict[str, Any]:
    ticket = row.ticket
    return {
        "reference": row.reference,
        "service": row.service.code,
        "service_name": row.service.name,
        "window": row.window.number,
        "location": row.window.location,
        "starts_at": row.starts_at,
        "ends_at": row.ends_at,
        "status": row.status.value,
        "reschedule_count": row.reschedule_count,
        "check_in_opens_at": appointments.checkin_opens(row),
        "check_in_closes_at": appointments.checkin_closes(row),
        "ics_url": url_for("convenience.appointment_ics", reference=row.reference),
        "ticket": None
        if ticket is None
        else {"number": ticket.number, "tracking_url": url_for("convenience.my_ticket", public_id=ticket.public_id)},
    }


@blp.route("/appointments/slots", methods=["GET"])
@blp.arguments(schemas.SlotQuery, location="query")
@blp.response(200, schemas.SlotOut(many=True))
@_problems(404, 422)
@public
def appointment_slots(args: dict[str, Any]) -> Any:
    """The slots of a bookable service on a day (from the working plans, within the lead time and the horizon),
    with the places each still has. Pass a slot's `slot` to book it."""
    service = services.get_service(args["service"])
    return [
        {"slot": s.key, "window": s.window_number, "starts_at": s.starts_at, "ends_at": s.ends_at, "places": s.places}
        for s in appointments.slots_for(service, args["day"])
    ]


@blp.route("/appointments", methods=["GET"])
@blp.response(200, schemas.AppointmentOut(many=True))
@authenticated(APPOINTMENTS)
def my_appointments() -> Any:
    """The caller's appointments, latest first."""
    return [appointment_view(r) for r in appointments.my_appointments(me())]


@blp.route("/appointments", methods=["POST"])
@blp.arguments(schemas.BookArgs)
@blp.response(201, schemas.AppointmentOut)
@_problems(403, 409, 422)
@authenticated(APPOINTMENTS)
def book_appointment(args: dict[str, Any]) -> Any:
    """Book a slot. 409 `appointment-slot-taken` when its last place went to someone else; 403
    `appointment-restricted` after repeated no-shows (the detail says until when)."""
    row = appointments.book(
        actor=me(), service_code=args["service"], slot=args["slot"], phone=args["phone"], email=args["email"]
    )
    return appointment_view(row)


@blp.route("/appointments/<string:reference>", methods=["GET"])
@blp.response(200, schemas.AppointmentOut)
@_problems(404)
@authenticated(APPOINTMENTS)
def get_appointment(reference: str) -> Any:
    """One of the caller's appointments (another citizen's is not found)."""
    return appointment_view(appointments.own_appointment(me(), reference))


@blp.route("/appointments/<string:reference>/reschedule", methods=["POST"])
@blp.arguments(schemas.RescheduleArgs)
@blp.response(200, schemas.AppointmentOut)
@_problems(403, 404, 409, 422)
@authenticated(APPOINTMENTS)
def reschedule_appointment(args: dict[str, Any], reference: str) -> Any:
    """Move the caller's booked appointment to another slot of the same service, before it begins."""
    return appointment_view(appointments.reschedule(actor=me(), reference=reference, slot=args["slot"]))


@blp.route("/appointments/<string:reference>/cancel", methods=["POST"])
@blp.response(200, schemas.AppointmentOut)
@_problems(404, 409)
@authenticated(APPOINTMENTS)
def cancel_appointment(reference: str) -> Any:
    """Cancel the caller's booked appointment before it begins; the place is free again."""
    return appointment_view(appointments.cancel(actor=me(), reference=reference))


@blp.route("/appointments/<string:reference>/check-in", methods=["POST"])
@blp.response(200, schemas.AppointmentOut)
@_problems(404, 409)
@authenticated(APPOINTMENTS)
def check_in_mine(reference: str) -> Any:
    """Check in on arrival (from the slot's start less the early minutes to its end plus the grace): a queue
    ticket for booked visitors, which call-next interleaves with walk-ins."""
    return appointment_view(appointments.check_in(reference=reference, actor=me(), channel="phone"))


@blp.route("/appointments/check-in", methods=["POST"])
@blp.arguments(schemas.KioskCheckInArgs)
@blp.response(200, schemas.AppointmentOut)
@_problems(404, 409, 422)
@public
def check_in_kiosk(args: dict[str, Any]) -> Any:
    """The kiosk's check-in: the reference and the phone number given when booking."""
    return appointment_view(appointments.check_in(reference=args["reference"], phone=args["phone"]))


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)


def home_visit_view(visit: HomeVisit) -> dict[str, Any]:
    return {
        "reference": visit.reference,
        "tracking_id": visit.public_id,
        "tracking_url": url_for("convenience.home_visit", public_id=visit.public_id),
        "service": visit.service.code,
        "status": visit.status.value,
        "preferred_day": visit.preferred_day,
        "preferred_period": visit.preferred_period.value,
        "scheduled_day": visit.scheduled_day,
        "scheduled_period": visit.scheduled_period.value if visit.scheduled_period else None,
        "steps": [{"what": what, "at": when, "details": details} for what, when, details in home_visits.steps(visit)],
    }


@blp.route("/home-visits", methods=["POST"])
@blp.arguments(schemas.HomeVisitArgs)
@blp.response(201, schemas.HomeVisitOut)
@_problems(422)
@public
def request_home_visit(args: dict[str, Any]) -> Any:
    """Ask for a home visit (上门服务) for an elderly, disabled or ill citizen; keep `tracking_id` to follow it."""
    visit = home_visits.request_visit(
        service_code=args["service"],
        name=args["name"],
        phone=args["phone"],
        address=args["address"],
        reason=args["reason"],
        details=args["details"],
        preferred_day=args["preferred_day"],
        preferred_period=args["preferred_period"],
        actor=me(),
    )
    return home_visit_view(visit)


@blp.route("/home-visits/<string:tracking_id>", methods=["GET"])
@blp.response(200, schemas.HomeVisitOut)
@_problems(404)
@public
def get_home_visit(tracking_id: str) -> Any:
    """A home-visit request from request to closure: its state, the day scheduled, each step."""
    return home_visit_view(home_visits.by_public_id(tracking_id))
