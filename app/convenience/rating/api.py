"""JSON API of 好差评 (/api/v1/convenience/ratings…): rate a served ticket or a decided application, the
rectification tasks with their call-backs, appeals and their decisions, and the results."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.convenience.rating import schemas, services
from app.convenience.rating.models import Appeal, CallBack, Rating, RectificationTask
from app.convenience.rating.permissions import RECTIFY, SUPERVISE
from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import public, requires

blp = Blueprint(
    "convenience-ratings-api",
    __name__,
    url_prefix="/api/v1/convenience/ratings",
    description="好差评: rate a visit or a matter once (never required); rectifying bad ratings, appeals, results.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def _name(user: Any) -> str | None:
    return user.display_name if user is not None else None


def _caller() -> Any:
    user = me()
    return user if getattr(user, "is_authenticated", False) else None


def rating_view(r: Rating) -> dict[str, Any]:
    return {
        "id": r.id,
        "kind": r.subject_kind.value,
        "reference": r.reference,
        "level": r.level.value,
        "comment": r.comment,
        "rated_at": r.rated_at,
        "window": r.window.number if r.window is not None else None,
        "department": r.department,
        "is_excluded": r.is_excluded,
        "rectification": r.task.id if r.task is not None else None,
    }


def callback_view(c: CallBack) -> dict[str, Any]:
    return {
        "id": c.id,
        "called_by": _name(c.called_by),
        "called_at": c.called_at,
        "outcome": c.outcome.value,
        "note": c.note,
    }


def task_view(t: RectificationTask) -> dict[str, Any]:
    return {
        "id": t.id,
        "rating": rating_view(t.rating),
        "responsible": _name(t.responsible),
        "status": t.status.value,
        "opened_at": t.opened_at,
        "due_on": t.due_on,
        "closed_at": t.closed_at,
        "action_taken": t.action_taken,
        "callbacks": [callback_view(c) for c in t.callbacks],
    }


def appeal_view(a: Appeal) -> dict[str, Any]:
    return {
        "id": a.id,
        "rating": a.rating_id,
        "reasons": a.reasons,
        "filed_by": _name(a.filed_by),
        "filed_at": a.filed_at,
        "status": a.status.value,
        "decided_by": _name(a.decided_by),
        "decided_at": a.decided_at,
        "decision_note": a.decision_note,
    }


def tally_view(t: services.Tally) -> dict[str, Any]:
    return {
        "key": t.key,
        "name": t.label,
        "counts": dict(t.counts),
        "total": t.total,
        "satisfied": t.satisfied,
        "rate": t.rate,
    }


@blp.route("", methods=["POST"])
@blp.arguments(schemas.RatingArgs)
@blp.response(201, schemas.RatingOut)
@_problems(404, 409, 422)
@public
def rate(args: dict[str, Any]) -> Any:
    """Rate a served ticket (its holder: the tracking id) or a decided application (its applicant: number and
    tracking token, or signed in as the applicant). Once per visit or matter: a second rating is refused (409).
    A bad rating (dissatisfied, very dissatisfied) opens a rectification task."""
    caller = _caller()
    subject = services.resolve(args["kind"], args["reference"], args["token"], caller)
    return rating_view(services.rate(subject, level=args["level"], comment=args["comment"], actor=caller))


@blp.route("/tasks", methods=["GET"])
@blp.response(200, schemas.RectificationTaskOut(many=True))
@_problems(401, 403)
@requires(RECTIFY)
def list_tasks() -> Any:
    """Rectification tasks: the caller's own, or every one for a supervisor."""
    return [task_view(t) for t in services.list_tasks(me())]


@blp.route("/tasks/<int:task_id>", methods=["GET"])
@blp.response(200, schemas.RectificationTaskOut)
@_problems(401, 403, 404)
@requires(RECTIFY)
def get_task(task_id: int) -> Any:
    return task_view(services.get_task(task_id, me()))


@blp.route("/tasks/<int:task_id>/callbacks", methods=["POST"])
@blp.arguments(schemas.CallBackArgs)
@blp.response(201, schemas.RectificationTaskOut)
@_problems(401, 403, 404, 409, 422)
@requires(RECTIFY)
def record_callback(args: dict[str, Any], task_id: int) -> Any:
    """Record a call-back (回访): when the citizen was called and whether they were reached (the caller called)."""
    services.record_callback(
        actor=me(), task_id=task_id, called_at=args["called_at"], outcome=args["outcome"], note=args["note"]
    )
    return task_view(services.get_task(task_id, me()))


@blp.route("/tasks/<int:task_id>/close", methods=["POST"])
@blp.arguments(schemas.CloseArgs)
@blp.response(200, schemas.RectificationTaskOut)
@_problems(401, 403, 404, 409, 422)
@requires(RECTIFY)
def close_task(args: dict[str, Any], task_id: int) -> Any:
    """Close the task with what was done (after at least one call-back)."""
    return task_view(services.close_task(actor=me(), task_id=task_id, action_taken=args["action_taken"]))


@blp.route("/<int:rating_id>/appeals", methods=["POST"])
@blp.arguments(schemas.AppealArgs)
@blp.response(201, schemas.AppealOut)
@_problems(401, 403, 404, 409, 422)
@requires(RECTIFY)
def file_appeal(args: dict[str, Any], rating_id: int) -> Any:
    """Appeal a mistaken or malicious rating (the rated staff member, or a supervisor), with reasons."""
    return appeal_view(services.file_appeal(actor=me(), rating_id=rating_id, reasons=args["reasons"]))


@blp.route("/appeals", methods=["GET"])
@blp.response(200, schemas.AppealOut(many=True))
@_problems(401, 403)
@requires(SUPERVISE)
def list_appeals() -> Any:
    return [appeal_view(a) for a in services.list_appeals()]


@blp.route("/appeals/<int:appeal_id>/decision", methods=["POST"])
@blp.arguments(schemas.DecisionArgs)
@blp.response(200, schemas.AppealOut)
@_problems(401, 403, 404, 409, 422)
@requires(SUPERVISE)
def decide_appeal(args: dict[str, Any], appeal_id: int) -> Any:
    """Uphold (the rating is kept, marked and left out of results) or reject an appeal, with the reasons."""
    return appeal_view(
        services.decide_appeal(actor=me(), appeal_id=appeal_id, uphold=args["decision"] == "uphold", note=args["note"])
    )


@blp.route("/results", methods=["GET"])
@blp.arguments(schemas.ResultsQuery, location="query")
@blp.response(200, schemas.ResultsOut)
@_problems(401, 403, 422)
@requires(SUPERVISE)
def results(args: dict[str, Any]) -> Any:
    """Counts per level and the satisfaction rate ((非常满意+满意+基本满意)/all) per window, staff member and
    department, for the ratings given from `start` to `end`; appealed-and-upheld ratings are left out."""
    res = services.results(args["start"], args["end"])
    return {
        "start": res.start,
        "end": res.end,
        "windows": [tally_view(t) for t in res.windows],
        "staff": [tally_view(t) for t in res.staff],
        "departments": [tally_view(t) for t in res.departments],
        "overall": tally_view(res.overall),
        "excluded": res.excluded,
    }


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
