"""JSON API of 政民互动 (/api/v1/convenience/interaction/…): the citizen's form and tracking, the hotline, the
mail gateway's and the forum importer's intake (API tokens scoped to `convenience.interaction.intake`), and the
loop's steps for dispatchers, departments and operators."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.convenience.interaction import schemas, services
from app.convenience.interaction.models import Channel, InteractionRequest
from app.convenience.interaction.permissions import DISPATCH, HANDLE, INTAKE
from app.core.api import problem_responses
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.pages import me
from app.core.problems import N_
from app.core.security import authenticated, caller_has, public, requires

blp = Blueprint(
    "convenience-interaction-api",
    __name__,
    url_prefix="/api/v1/convenience/interaction",
    description="政民互动: complaints, suggestions, consultations and help requests from every channel, and their "
    "closed loop (受理 → 调度 → 办理 → 回复 → 督办 → 办结 → 回访 → 评价).",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def _caller() -> Any:
    user = me()
    return user if getattr(user, "is_authenticated", False) else None


def _name(user: Any) -> str:
    return str(user.display_name) if user is not None else ""


def receipt(intake: services.Intake) -> dict[str, Any]:
    r = intake.request
    return {
        "reference": r.reference,
        "tracking_token": r.tracking_token,
        "status": r.status.value,
        "created": intake.created,
        "due_on": r.due_on,
    }


def request_view(r: InteractionRequest) -> dict[str, Any]:
    rating = services.rating_of(r)
    return {
        "reference": r.reference,
        "kind": r.kind.value,
        "urgent": r.urgent,
        "category": r.category.code,
        "channel": r.channel.value,
        "title": r.title,
        "body": r.body,
        "address": r.address,
        "lat": r.lat,
        "long": r.long,
        "status": r.status.value,
        "open311_status": r.open311_status,
        "received_at": r.received_at,
        "due_on": r.due_on,
        "due_at": r.due_at,
        "overdue": r.is_overdue,
        "department": services.department_name(r),
        "department_code": r.department.code if r.department is not None else None,
        "reply": r.reply,
        "replied_at": r.replied_at,
        "closed_at": r.closed_at,
        "rating": rating.level.value if rating is not None else None,
    }


def staff_view(r: InteractionRequest) -> dict[str, Any]:
    return {
        **request_view(r),
        "contact_name": r.contact_name,
        "contact_phone": r.contact_phone,
        "contact_email": r.contact_email,
        "template_reply": services.fill_template(r),
        "presses": [
            {"pressed_at": p.pressed_at, "pressed_by": _name(p.pressed_by), "note": p.note, "reopened": p.reopened}
            for p in r.presses
        ],
        "callbacks": [
            {
                "called_at": c.called_at,
                "called_by": _name(c.called_by),
                "reached": c.reached,
                "satisfied": c.satisfied,
                "note": c.note,
            }
            for c in r.callbacks
        ],
    }


# --- citizens ------------------------------------------------------------------------------------------------


@blp.route("/categories", methods=["GET"])
@blp.response(200, schemas.InteractionCategoryOut(many=True))
@public
def categories() -> Any:
    """The categories a request is classified by (their codes are Open311's service codes)."""
    return [
        {"code": c.code, "name": c.name, "name_en": c.name_en, "description": c.description}
        for c in services.categories()
    ]


@blp.route("/requests", methods=["POST"])
@blp.arguments(schemas.WebRequestArgs)
@blp.response(201, schemas.InteractionReceiptOut)
@_problems(422)
@public
def submit(args: dict[str, Any]) -> Any:
    """A citizen's request (the web form): no account needed, but a telephone number or an e-mail address is;
    signed in, the account is linked. Answers the reference and the tracking token."""
    return receipt(services.submit(channel=Channel.WEB, citizen=_caller(), actor=_caller(), **args))


@blp.route("/requests/<string:reference>", methods=["GET"])
@blp.arguments(schemas.InteractionTrackQuery, location="query")
@blp.response(200, schemas.InteractionRequestOut)
@_problems(404, 422)
@public
def track(args: dict[str, Any], reference: str) -> Any:
    """Follow a request with its reference and tracking token (no account needed)."""
    return request_view(services.tracked(reference, args["token"]))


# --- intake ----------------------------------------------------------------------------------------------------


@blp.route("/hotline", methods=["POST"])
@blp.arguments(schemas.HotlineArgs)
@blp.response(201, schemas.InteractionReceiptOut)
@_problems(401, 403, 422)
@requires(INTAKE)
def hotline(args: dict[str, Any]) -> Any:
    """A call typed in by a hotline operator (the caller's number is required)."""
    return receipt(services.submit(channel=Channel.HOTLINE, actor=me(), **args))


@blp.route("/email", methods=["POST"])
@blp.arguments(schemas.EmailArgs)
@blp.response(201, schemas.InteractionReceiptOut)
@_problems(401, 403, 413, 422)
@requires(INTAKE)
def email(args: dict[str, Any]) -> Any:
    """One e-mail from the mail gateway (an API token scoped to `convenience.interaction.intake`). The text is
    cleaned and bounded; an e-mail delivered twice (same Message-ID) answers the request stored the first time."""
    intake = services.submit(
        channel=Channel.EMAIL,
        actor=me(),
        kind=args["kind"],
        category=args["category"],
        title=args["subject"],
        body=args["body"],
        name=args["name"],
        email=args["sender"],
        external_id=args["message_id"],
    )
    return receipt(intake)


@blp.route("/forum/import", methods=["POST"])
@blp.arguments(schemas.ForumImportArgs)
@blp.response(200, schemas.InteractionImportOut)
@_problems(401, 403, 413, 422)
@requires(INTAKE)
def forum_import(args: dict[str, Any]) -> Any:
    """A batch of forum posts (at most 100): each post once, by its post id; a bad post refuses the whole batch
    and nothing is stored."""
    out = []
    for i, post in enumerate(args["posts"]):
        try:
            intake = services.submit(
                channel=Channel.FORUM,
                actor=me(),
                kind=post["kind"],
                category=post["category"],
                title=post["title"],
                body=post["body"],
                name=post["author"],
                external_id=post["post_id"],
            )
        except ValidationFailed as exc:
            exc.extra["errors"] = {f"posts.{i}.{k}": v for k, v in (exc.extra.get("errors") or {}).items()}
            raise
        out.append(intake)
    return {
        "created": sum(1 for i in out if i.created),
        "existing": sum(1 for i in out if not i.created),
        "requests": [receipt(i) for i in out],
    }


# --- staff -------------------------------------------------------------------------------------------------------


@blp.route("/staff/requests", methods=["GET"])
@blp.arguments(schemas.InteractionListQuery, location="query")
@blp.response(200, schemas.InteractionStaffRequestOut(many=True))
@_problems(401, 403, 422)
@authenticated(DISPATCH, HANDLE, INTAKE)
def staff_list(args: dict[str, Any]) -> Any:
    """open: every request not closed, overdue first (dispatchers); inbox: your department's (handlers);
    callbacks: closed requests to call back (operators)."""
    scope = args["scope"]
    if scope == "open" and caller_has(DISPATCH):
        return [staff_view(r) for r in services.open_requests()]
    if scope == "inbox" and caller_has(HANDLE):
        return [staff_view(r) for r in services.inbox(me())]
    if scope == "callbacks" and caller_has(INTAKE):
        return [staff_view(r) for r in services.to_call_back()]
    raise PermissionDenied(
        N_("Your roles do not show this list: open is for dispatchers, inbox for departments, callbacks for operators.")
    )


@blp.route("/staff/requests/<string:reference>", methods=["GET"])
@blp.response(200, schemas.InteractionStaffRequestOut)
@_problems(401, 403, 404)
@authenticated(DISPATCH, HANDLE, INTAKE)
def staff_get(reference: str) -> Any:
    return staff_view(services.visible(reference, me()))


@blp.route("/staff/requests/<string:reference>/dispatch", methods=["POST"])
@blp.arguments(schemas.InteractionDispatchArgs)
@blp.response(200, schemas.InteractionStaffRequestOut)
@_problems(401, 403, 404, 409, 422)
@requires(DISPATCH)
def dispatch(args: dict[str, Any], reference: str) -> Any:
    """调度: assign (or reassign) to a department by its code, or back to the dispatch office."""
    return staff_view(services.dispatch(actor=me(), reference=reference, department=args["department"]))


@blp.route("/staff/requests/<string:reference>/take-up", methods=["POST"])
@blp.response(200, schemas.InteractionStaffRequestOut)
@_problems(401, 403, 404, 409)
@requires(HANDLE)
def take_up(reference: str) -> Any:
    """办理: the department takes the request up."""
    return staff_view(services.take_up(actor=me(), reference=reference))


@blp.route("/staff/requests/<string:reference>/reply", methods=["POST"])
@blp.arguments(schemas.InteractionReplyArgs)
@blp.response(200, schemas.InteractionStaffRequestOut)
@_problems(401, 403, 404, 409, 422)
@requires(HANDLE)
def reply(args: dict[str, Any], reference: str) -> Any:
    """回复: the department's answer (start from `template_reply`)."""
    return staff_view(services.reply(actor=me(), reference=reference, text=args["reply"]))


@blp.route("/staff/requests/<string:reference>/press", methods=["POST"])
@blp.arguments(schemas.InteractionPressArgs)
@blp.response(200, schemas.InteractionStaffRequestOut)
@_problems(401, 403, 404, 409, 422)
@requires(DISPATCH)
def press(args: dict[str, Any], reference: str) -> Any:
    """督办: press with a note; `reopen` sends a reply back to the department."""
    services.press(actor=me(), reference=reference, note=args["note"], reopen=args["reopen"])
    return staff_view(services.get(reference))


@blp.route("/staff/requests/<string:reference>/close", methods=["POST"])
@blp.response(200, schemas.InteractionStaffRequestOut)
@_problems(401, 403, 404, 409)
@requires(DISPATCH)
def close(reference: str) -> Any:
    """办结: close a replied request."""
    return staff_view(services.close(actor=me(), reference=reference))


@blp.route("/staff/requests/<string:reference>/callbacks", methods=["POST"])
@blp.arguments(schemas.InteractionCallBackArgs)
@blp.response(201, schemas.InteractionStaffRequestOut)
@_problems(401, 403, 404, 409, 422)
@requires(INTAKE)
def call_back(args: dict[str, Any], reference: str) -> Any:
    """回访: the operator's call to the citizen after 办结 (reached or not, satisfied or not)."""
    services.call_back(
        actor=me(), reference=reference, reached=args["reached"], satisfied=args["satisfied"], note=args["note"]
    )
    return staff_view(services.get(reference))


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
