"""JSON API of the convenience floor (/api/v1/convenience): the service list, tickets from a phone and their
tracking, the hall's state, and the window staff's calls (sign on, call next, recall, serve, miss, transfer)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint

from app.convenience import queue, schemas, services
from app.convenience.models import Service, Ticket, Window
from app.convenience.permissions import WINDOW_OPERATE
from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import public, requires

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
    progress = queue.progress(ticket)
    return {
        "number": ticket.number,
        "tracking_id": ticket.public_id,
        "tracking_url": url_for("convenience.my_ticket", public_id=ticket.public_id),
        "service": ticket.service.code,
        "status": ticket.status.value,
        "issued_at": ticket.issued_at,
        "ahead": progress.ahead,
        "eta": progress.eta,
        "window": ticket.window.number if ticket.window is not None else None,
        "call_count": ticket.call_count,
        "is_requeued": ticket.is_requeued,
    }


def window_view(window: Window, user: Any) -> dict[str, Any]:
    session = services.open_session(window_id=window.id)
    current = queue.current_ticket(window)
    return {
        "id": window.id,
        "number": window.number,
        "name": window.name,
        "group": window.group.name,
        "is_open": services.is_open(window),
        "signed_on": session is not None and session.user_id == user.id,
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
    if action == "sign-on":
        services.sign_on(actor=user, window_id=window_id)
    elif action == "sign-off":
        services.sign_off(actor=user, window_id=window_id)
    else:
        {"call": queue.call_next, "recall": queue.recall, "serve": queue.serve, "miss": queue.miss}[action](
            actor=user, window_id=window_id
        )
    return window_view(services.get_window(window_id), user)


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


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
