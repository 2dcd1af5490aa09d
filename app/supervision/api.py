"""JSON API of supervision (/api/v1/supervision): the wall's figures, signals, explanations and reviews."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import authenticated
from app.supervision import escalation, people, schemas, services
from app.supervision.models import Signal
from app.supervision.permissions import SIGNALS

blp = Blueprint(
    "supervision-api",
    __name__,
    url_prefix="/api/v1/supervision",
    description="Electronic supervision (电子监察): lights per department, signals, explanations and reviews.",
)
SCOPE = SIGNALS


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def signal_view(signal: Signal) -> dict[str, Any]:
    return {
        "id": signal.id,
        "colour": signal.colour.value,
        "rule": signal.rule.code,
        "rule_name": signal.rule.name,
        "floor": signal.floor.value,
        "kind": signal.kind,
        "reference": signal.reference,
        "subject": signal.subject,
        "department": signal.department,
        "person_id": signal.person_id,
        "person": signal.person.display_name if signal.person is not None else None,
        "fired_at": signal.fired_at,
        "log_index": signal.log_index,
        "detail": dict(signal.detail),
        "status": services.status_of(signal).value,
        "escalations": [
            {
                "level": e.level,
                "addressee": e.addressee,
                "workdays_unresolved": e.workdays_unresolved,
                "escalated_at": e.escalated_at,
            }
            for e in escalation.escalations_of(signal)
        ],
        "answers": [
            {
                "id": a.id,
                "kind": a.kind.value,
                "author": a.author.display_name,
                "text": a.text,
                "created_at": a.created_at,
            }
            for a in signal.answers
        ],
    }


@blp.route("/wall", methods=["GET"])
@blp.response(200, schemas.SupervisionWallOut)
@_problems(403)
@authenticated(SCOPE)
def wall() -> Any:
    """Per department: open steps by light, tickets waiting, today's intake and signals (supervisors and heads)."""
    tiles = services.wall(me())
    return {
        "tiles": [
            {
                "department": t.department,
                "light": t.light,
                "green": t.green,
                "yellow": t.yellow,
                "red": t.red,
                "waiting_tickets": t.waiting_tickets,
                "intake_today": t.intake_today,
                "signals_today": t.signals_today,
                "escalated": t.escalated,
                "completed_today": t.completed_today,
                "on_time_rate": t.on_time_rate,
            }
            for t in tiles
        ],
        "totals": services.totals(tiles),
    }


@blp.route("/signals", methods=["GET"])
@blp.arguments(schemas.SignalListQuery, location="query")
@blp.response(200, schemas.SignalPage)
@_problems(422)
@authenticated(SCOPE)
def list_signals(args: dict[str, Any]) -> Any:
    """The signals the caller may see, newest first: all for supervisors, the department's for its heads, one's
    own for anybody else."""
    filt = services.SignalFilter(colour=args.get("colour"), floor=args.get("floor"), page=args["page"])
    rows, more = services.list_signals(me(), filt)
    return {"signals": [signal_view(s) for s in rows], "next_page": filt.page + 1 if more else None}


@blp.route("/signals/<int:signal_id>", methods=["GET"])
@blp.response(200, schemas.SignalOut)
@_problems(404)
@authenticated(SCOPE)
def get_signal(signal_id: int) -> Any:
    """One signal with its explanations and decisions (a signal naming a person: the view is in the evidence log)."""
    signal = services.get_signal(me(), signal_id)
    if signal.person_id is not None:
        people.log_view(me(), signal.person_id, "signal", signal=signal.id, via="api")
    return signal_view(signal)


@blp.route("/signals/<int:signal_id>/answers", methods=["POST"])
@blp.arguments(schemas.SignalAnswerArgs)
@blp.response(201, schemas.SignalOut)
@_problems(403, 404, 409, 422)
@authenticated(SCOPE)
def answer(args: dict[str, Any], signal_id: int) -> Any:
    """The responsible person's explanation (情况说明); the signal itself never changes."""
    signal = services.get_signal(me(), signal_id)
    services.answer_signal(actor=me(), signal=signal, text=args["text"])
    return signal_view(signal)


@blp.route("/signals/<int:signal_id>/reviews", methods=["POST"])
@blp.arguments(schemas.SignalReviewArgs)
@blp.response(201, schemas.SignalOut)
@_problems(403, 404, 409, 422)
@authenticated(SCOPE)
def review(args: dict[str, Any], signal_id: int) -> Any:
    """A supervisor accepts the explanation, or rejects it with the reason (`text` required then)."""
    signal = services.get_signal(me(), signal_id)
    services.review_signal(actor=me(), signal=signal, accept=args["decision"] == "accept", text=args["text"])
    return signal_view(signal)


def init_app(app: Any) -> None:
    from app.extensions import api
    from app.supervision import api_reads

    del api_reads  # its routes are on this blueprint: the person record, presence, statistics

    api.register_blueprint(blp)
