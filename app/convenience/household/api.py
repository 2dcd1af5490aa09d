"""JSON API of the 8188890 platform (/api/v1/convenience/household…): categories and districts, a citizen's (or
the hotline's) request and its tracking, rating and complaint by the tracking token; the provider's portal
(acknowledge, decline, complete); the center's directory (register, suspend, reinstate, withdraw), orders with
their dispatch history, hand dispatch of unassigned orders, complaints."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint

from app.convenience.household import schemas, services
from app.convenience.household.models import Complaint, Dispatch, Order, Provider
from app.convenience.household.permissions import INTAKE, MANAGE, PROVIDE
from app.convenience.rating.api import rating_view
from app.convenience.rating.schemas import RatingOut
from app.core.api import problem_responses
from app.core.errors import field_error
from app.core.forms import parse_yuan
from app.core.pages import me
from app.core.problems import N_
from app.core.security import caller_has, public, requires

blp = Blueprint(
    "convenience-household-api",
    __name__,
    url_prefix="/api/v1/convenience/household",
    description="The 8188890 social-service platform: household-service requests dispatched to providers in "
    "rotation, the providers' portal, the center's provider directory.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def order_view(order: Order) -> dict[str, Any]:
    rating = services.rating_of(order)
    return {
        "reference": order.reference,
        "status": order.status.value,
        "channel": order.channel.value,
        "category": order.category.code,
        "district": order.district.code,
        "address": order.address,
        "preferred_time": order.preferred_time,
        "description": order.description,
        "provider": order.provider_id,
        "provider_name": order.provider.name if order.provider is not None else None,
        "ack_due_at": order.ack_due_at,
        "created_at": order.created_at,
        "accepted_at": order.accepted_at,
        "completed_at": order.completed_at,
        "work_done": order.work_done,
        "price_fen": order.price_fen,
        "rating": rating.level.value if rating is not None else None,
    }


def dispatch_view(d: Dispatch) -> dict[str, Any]:
    return {
        "provider": d.provider_id,
        "provider_name": d.provider.name,
        "mode": d.mode.value,
        "slot": d.slot,
        "dispatched_at": d.dispatched_at,
        "ack_due_at": d.ack_due_at,
        "outcome": d.outcome.value,
        "outcome_at": d.outcome_at,
        "reason": d.reason,
    }


def staff_order_view(order: Order) -> dict[str, Any]:
    return {
        **order_view(order),
        "contact_name": order.contact_name,
        "contact_phone": order.contact_phone,
        "failures": order.failures,
        "dispatches": [dispatch_view(d) for d in order.dispatches],
    }


def provider_view(p: Provider, standing: services.Standing | None = None) -> dict[str, Any]:
    standing = standing or services.standing(p)
    return {
        "id": p.id,
        "name": p.name,
        "uscc": p.uscc,
        "contact_name": p.contact_name,
        "contact_phone": p.contact_phone,
        "status": p.status.value,
        "status_reason": p.status_reason,
        "categories": [c.code for c in p.categories],
        "districts": [d.code for d in p.districts],
        "rating": standing.average,
        "rating_count": standing.count,
    }


def complaint_view(c: Complaint) -> dict[str, Any]:
    return {
        "id": c.id,
        "provider": c.provider_id,
        "reference": c.order.reference if c.order is not None else None,
        "text": c.text,
        "filed_at": c.filed_at,
    }


# --- public ------------------------------------------------------------------------------------------------------


@blp.route("/categories", methods=["GET"])
@blp.response(200, schemas.CategoryOut(many=True))
@public
def list_categories() -> Any:
    """The 22 household-service categories."""
    return services.categories()


@blp.route("/districts", methods=["GET"])
@blp.response(200, schemas.DistrictOut(many=True))
@public
def list_districts() -> Any:
    """The districts of 邯郸 the platform dispatches to."""
    return services.districts()


@blp.route("/orders", methods=["POST"])
@blp.arguments(schemas.OrderArgs)
@blp.response(201, schemas.TrackedOrderOut)
@_problems(422)
@public
def request_order(args: dict[str, Any]) -> Any:
    """Request a household service: a citizen without an account, or a hotline operator on the citizen's behalf
    (signed in with the intake permission). Dispatched at once to the next provider of the rotation; the answer
    carries the tracking token, the only key to the order afterwards."""
    user = me()
    actor = user if getattr(user, "is_authenticated", False) and caller_has(INTAKE) else None
    order = services.request_order(actor=actor, **args)
    return {
        **order_view(order),
        "token": order.token,
        "tracking_url": url_for("household.track", reference=order.reference, token=order.token),
    }


@blp.route("/orders/<string:reference>", methods=["GET"])
@blp.arguments(schemas.TrackQuery, location="query")
@blp.response(200, schemas.OrderOut)
@_problems(404, 422)
@public
def track(args: dict[str, Any], reference: str) -> Any:
    """Follow an order with its tracking token."""
    return order_view(services.tracked(reference, args["token"]))


@blp.route("/orders/<string:reference>/rating", methods=["POST"])
@blp.arguments(schemas.RateArgs)
@blp.response(201, RatingOut)
@_problems(404, 409, 422)
@public
def rate(args: dict[str, Any], reference: str) -> Any:
    """Rate the completed order once (好差评; never required). The provider's rating follows."""
    return rating_view(
        services.rate(reference=reference, token=args["token"], level=args["level"], comment=args["comment"])
    )


@blp.route("/orders/<string:reference>/complaints", methods=["POST"])
@blp.arguments(schemas.CitizenComplaintArgs)
@blp.response(201, schemas.ComplaintOut)
@_problems(404, 409, 422)
@public
def citizen_complaint(args: dict[str, Any], reference: str) -> Any:
    """Complain about the order's provider."""
    order = services.tracked(reference, args["token"])
    return complaint_view(services.complain(actor=None, text=args["text"], order=order))


# --- provider portal --------------------------------------------------------------------------------------------


@blp.route("/portal/orders", methods=["GET"])
@blp.response(200, schemas.ProviderOrderOut(many=True))
@_problems(401, 403)
@requires(PROVIDE)
def portal_orders() -> Any:
    """The caller's company's orders: waiting for its acknowledgement, accepted, completed."""
    return [staff_order_view(o) for o in services.orders_of(services.provider_of(me()))]


@blp.route("/portal/orders/<string:reference>/accept", methods=["POST"])
@blp.response(200, schemas.ProviderOrderOut)
@_problems(401, 403, 404, 409)
@requires(PROVIDE)
def accept(reference: str) -> Any:
    """Acknowledge the order within the time limit and take the job."""
    return staff_order_view(services.accept(actor=me(), reference=reference))


@blp.route("/portal/orders/<string:reference>/decline", methods=["POST"])
@blp.arguments(schemas.HouseholdDeclineArgs)
@blp.response(200, schemas.OrderOut)
@_problems(401, 403, 404, 409, 422)
@requires(PROVIDE)
def decline(args: dict[str, Any], reference: str) -> Any:
    """Decline with a reason: the order goes to the next provider."""
    return order_view(services.decline(actor=me(), reference=reference, reason=args["reason"]))


@blp.route("/portal/orders/<string:reference>/complete", methods=["POST"])
@blp.arguments(schemas.CompleteArgs)
@blp.response(200, schemas.ProviderOrderOut)
@_problems(401, 403, 404, 409, 422)
@requires(PROVIDE)
def complete(args: dict[str, Any], reference: str) -> Any:
    """Record what was done and the price (in 元)."""
    try:
        price = parse_yuan(args["price"], max_fen=services.MAX_PRICE_FEN)
    except ValueError:
        raise field_error("price", N_("Enter the price in yuan, from 0 to 100,000.")) from None
    return staff_order_view(
        services.complete(actor=me(), reference=reference, work_done=args["work_done"], price_fen=price)
    )


# --- center ------------------------------------------------------------------------------------------------------


@blp.route("/admin/orders", methods=["GET"])
@blp.arguments(schemas.OrdersQuery, location="query")
@blp.response(200, schemas.StaffOrderOut(many=True))
@_problems(401, 403, 422)
@requires(MANAGE)
def admin_orders(args: dict[str, Any]) -> Any:
    """Orders (newest first, at most 500), optionally of one state (`unassigned`: escalated to the center)."""
    return [staff_order_view(o) for o in services.list_orders(args["status"])]


@blp.route("/admin/orders/<string:reference>", methods=["GET"])
@blp.response(200, schemas.StaffOrderOut)
@_problems(401, 403, 404)
@requires(MANAGE)
def admin_order(reference: str) -> Any:
    """An order with its dispatch history."""
    return staff_order_view(services.get_order(reference))


@blp.route("/admin/orders/<string:reference>/assign", methods=["POST"])
@blp.arguments(schemas.AssignArgs)
@blp.response(200, schemas.StaffOrderOut)
@_problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def assign(args: dict[str, Any], reference: str) -> Any:
    """Dispatch an unassigned order to an active provider by hand."""
    return staff_order_view(services.assign(actor=me(), reference=reference, provider_id=args["provider"]))


@blp.route("/admin/providers", methods=["GET"])
@blp.response(200, schemas.ProviderOut(many=True))
@_problems(401, 403)
@requires(MANAGE)
def providers() -> Any:
    """The provider directory with each provider's rating."""
    rows = services.list_providers()
    standings = services.standings([p.id for p in rows])
    return [provider_view(p, standings.get(p.id, services.Standing(None, 0))) for p in rows]


@blp.route("/admin/providers", methods=["POST"])
@blp.arguments(schemas.ProviderArgs)
@blp.response(201, schemas.ProviderOut)
@_problems(401, 403, 409, 422)
@requires(MANAGE)
def register_provider(args: dict[str, Any]) -> Any:
    """Add a company (its unified social credit code is checked), with the categories and districts it serves."""
    return provider_view(services.register_provider(actor=me(), **args))


@blp.route("/admin/providers/<int:provider_id>", methods=["GET"])
@blp.response(200, schemas.ProviderOut)
@_problems(401, 403, 404)
@requires(MANAGE)
def provider(provider_id: int) -> Any:
    return provider_view(services.get_provider(provider_id))


@blp.route("/admin/providers/<int:provider_id>", methods=["PUT"])
@blp.arguments(schemas.ProviderAmendArgs)
@blp.response(200, schemas.ProviderOut)
@_problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def amend_provider(args: dict[str, Any], provider_id: int) -> Any:
    """Change a provider's name, contact, categories and districts (not its code); an order waiting for it that it
    no longer serves goes to the next provider."""
    return provider_view(services.amend_provider(actor=me(), provider_id=provider_id, **args))


@blp.route("/admin/providers/<int:provider_id>/suspend", methods=["POST"])
@blp.arguments(schemas.ReasonArgs)
@blp.response(200, schemas.ProviderOut)
@_problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def suspend(args: dict[str, Any], provider_id: int) -> Any:
    """Suspend with a reason: skipped by dispatch from now on; an order waiting for it goes to the next one."""
    return provider_view(services.suspend_provider(actor=me(), provider_id=provider_id, reason=args["reason"]))


@blp.route("/admin/providers/<int:provider_id>/reinstate", methods=["POST"])
@blp.arguments(schemas.ReasonArgs)
@blp.response(200, schemas.ProviderOut)
@_problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def reinstate(args: dict[str, Any], provider_id: int) -> Any:
    return provider_view(services.reinstate_provider(actor=me(), provider_id=provider_id, reason=args["reason"]))


@blp.route("/admin/providers/<int:provider_id>/withdraw", methods=["POST"])
@blp.arguments(schemas.ReasonArgs)
@blp.response(200, schemas.ProviderOut)
@_problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def withdraw(args: dict[str, Any], provider_id: int) -> Any:
    """The provider leaves the platform for good."""
    return provider_view(services.withdraw_provider(actor=me(), provider_id=provider_id, reason=args["reason"]))


@blp.route("/admin/complaints", methods=["GET"])
@blp.response(200, schemas.ComplaintOut(many=True))
@_problems(401, 403)
@requires(MANAGE)
def list_complaints() -> Any:
    return [complaint_view(c) for c in services.complaints()]


@blp.route("/admin/complaints", methods=["POST"])
@blp.arguments(schemas.ComplaintArgs)
@blp.response(201, schemas.ComplaintOut)
@_problems(401, 403, 404, 422)
@requires(MANAGE)
def record_complaint(args: dict[str, Any]) -> Any:
    """Record a complaint about a provider received by the center (e.g. by telephone)."""
    return complaint_view(services.complain(actor=me(), text=args["text"], provider_id=args["provider"]))


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
