"""JSON API of the evaluation room (/api/v1/tenders/<id>/rooms/<stage>): bids, review, score sheets, live status.

Membership is checked object by object (services_room.require_member), so the member endpoints are
`@authenticated`; opening the room and advancing the stage need evaluation.run (the tender's agency).
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, current_app, stream_with_context
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.db import db
from app.core.errors import Conflict
from app.core.pages import me
from app.core.problems import N_
from app.core.security import authenticated, requires
from app.evaluation import schemas
from app.evaluation.models import Room
from app.evaluation.permissions import COMMITTEE, OVERSEE, RUN
from app.evaluation.room import chair as services_chair
from app.evaluation.room import services as services_room
from app.evaluation.room import sheets as services_sheets
from app.tendering import opening
from app.tendering.common import release_read_transaction
from app.tendering.models import Tender
from app.tendering.services_tenders import get_tender

blp = Blueprint(
    "evaluation-room",
    __name__,
    url_prefix="/api/v1",
    description="The evaluation room: opened bids, compliance review, score sheets, aggregation, live status.",
)
OCTETS = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
SSE = {
    "text/event-stream": {
        "schema": {
            "type": "object",
            "description": "One event: `status` (data: the room status as JSON, as GET on the room) or `end`",
            "properties": {"event": {"type": "string", "enum": ["status", "end"]}, "data": {"type": "string"}},
        }
    }
}


def problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def _room(tender_id: int, stage: int) -> tuple[Tender, Room]:
    tender = get_tender(tender_id, me())
    return tender, services_room.get_room(tender, stage)


ROOM = "/tenders/<int:tender_id>/rooms/<int:stage>"


@blp.route("/tenders/<int:tender_id>/rooms", methods=["POST"])
@blp.arguments(schemas.EvaluationRoomArgs)
@blp.response(201, schemas.EvaluationRoomOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def open_room(args: dict[str, Any], tender_id: int) -> Any:
    """Open the room of a stage (after its opening record, the committee complete): appoint the chair, or omit
    chair_seat and the members elect theirs (POST …/chair/votes)."""
    tender = get_tender(tender_id, me())
    room = services_room.open_room(actor=me(), tender=tender, **args)
    return services_sheets.status_payload(room, "manager")


@blp.route(ROOM, methods=["GET"])
@blp.response(200, schemas.EvaluationRoomOut)
@problems(401, 403, 404)
@authenticated(COMMITTEE, RUN, OVERSEE)
def room_status(tender_id: int, stage: int) -> Any:
    """The room's status (phase, who has submitted, never the scores): the polling fallback of /events."""
    tender, room = _room(tender_id, stage)
    return services_sheets.status(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/events", methods=["GET"])
@blp.arguments(schemas.EventArgs, location="query")
@blp.doc(responses={"200": {"description": "Server-sent events: `status` on change, then `end`", "content": SSE}})
@problems(401, 403, 404, 422)
@authenticated(COMMITTEE, RUN, OVERSEE)
def room_events(args: dict[str, Any], tender_id: int, stage: int) -> Any:
    """The room's status as server-sent events; the stream ends after `max_seconds` (reconnect or poll)."""
    tender, room = _room(tender_id, stage)
    first = services_sheets.status(actor=me(), tender=tender, room=room)
    role, room_id = first["viewer"], room.id
    limit = min(args["max_seconds"], int(current_app.config.get("EVALUATION_SSE_MAX_SECONDS", 60)))
    # The boundary commits (reads only) before the stream starts: no transaction is held while it is open.

    def events() -> Any:
        deadline = time.monotonic() + limit
        last = None
        payload = first
        while True:
            text = json.dumps(schemas.EvaluationRoomOut().dump(payload), sort_keys=True, ensure_ascii=False)
            if text != last:
                yield f"event: status\ndata: {text}\n\n"
                last = text
            if time.monotonic() >= deadline:
                break
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
            fresh = db.session.get(Room, room_id)
            payload = services_sheets.status_payload(fresh, role) if fresh is not None else payload
            release_read_transaction()  # the stream runs after the boundary: end each poll's read (SQLite lock)
        yield "event: end\ndata: {}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(stream_with_context(events()), headers=headers, content_type="text/event-stream")


@blp.route(f"{ROOM}/chair", methods=["GET"])
@blp.response(200, schemas.ChairBallotOut)
@problems(401, 403, 404)
@authenticated(COMMITTEE)
def chair_ballot(tender_id: int, stage: int) -> Any:
    """The chair's election as the calling member sees it: counts per seat, their own vote, the chair once decided."""
    tender, room = _room(tender_id, stage)
    return services_chair.ballot(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/chair/votes", methods=["POST"])
@blp.arguments(schemas.ChairVoteArgs)
@blp.response(200, schemas.ChairBallotOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def vote_chair(args: dict[str, Any], tender_id: int, stage: int) -> Any:
    """A seated member votes for the chair (or changes the vote); a strict majority of the seats elects."""
    tender, room = _room(tender_id, stage)
    out = services_chair.cast_vote(actor=me(), tender=tender, room=room, seat=args["seat"])
    return out


@blp.route(f"{ROOM}/chair", methods=["POST"])
@blp.arguments(schemas.ChairVoteArgs)
@blp.response(200, schemas.EvaluationRoomOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def appoint_chair(args: dict[str, Any], tender_id: int, stage: int) -> Any:
    """The agency appoints the chair of a room that has none (closing an open election)."""
    tender, room = _room(tender_id, stage)
    room = services_chair.appoint_chair(actor=me(), tender=tender, room=room, seat=args["seat"])
    return services_sheets.status_payload(room, "manager")


@blp.route(f"{ROOM}/bids", methods=["GET"])
@blp.response(200, schemas.RoomBidOut(many=True))
@problems(401, 403, 404)
@authenticated(COMMITTEE)
def room_bids(tender_id: int, stage: int) -> Any:
    """The bids before the committee with their opened envelopes (seated, declared members)."""
    tender, room = _room(tender_id, stage)
    return services_room.list_room_bids(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/bids/<bid_id>/envelopes/<name>", methods=["GET"])
@blp.doc(responses={"200": {"description": "The opened envelope (archive)", "content": OCTETS}})
@problems(401, 403, 404)
@authenticated(COMMITTEE)
def download_opened(tender_id: int, stage: int, bid_id: str, name: str) -> Any:
    """Stream an opened envelope (the bid named by its public id) from the opened-bids bucket; every download is an
    evidence-log entry."""
    tender, room = _room(tender_id, stage)
    env, fh = services_room.open_envelope_file(actor=me(), tender=tender, room=room, bid_id=bid_id, envelope=name)
    size, sha = env.plaintext_size, env.plaintext_sha256
    headers = {
        "Content-Disposition": f'attachment; filename="bid-{bid_id}-{env.name}.tar"',
        "Content-Length": str(size),
        "ETag": f'"{sha}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(services_room.iter_file(fh), headers=headers, content_type="application/octet-stream")


@blp.route(f"{ROOM}/review", methods=["GET"])
@blp.response(200, schemas.ReviewOut)
@problems(401, 403, 404)
@authenticated(COMMITTEE)
def own_review(tender_id: int, stage: int) -> Any:
    """The caller's own review sheet (draft or submitted)."""
    tender, room = _room(tender_id, stage)
    return services_room.own_review(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/review", methods=["PUT"])
@blp.arguments(schemas.ReviewArgs)
@blp.response(200, schemas.ReviewOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def save_review(args: dict[str, Any], tender_id: int, stage: int) -> Any:
    """Save the review draft: pass/fail per bid and requirement, with reasons (replaces the previous draft)."""
    tender, room = _room(tender_id, stage)
    out = services_room.save_review(actor=me(), tender=tender, room=room, verdicts=args["verdicts"])
    return out


@blp.route(f"{ROOM}/review/submit", methods=["POST"])
@blp.response(200, schemas.ReviewOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def submit_review(tender_id: int, stage: int) -> Any:
    """Submit and lock the review."""
    tender, room = _room(tender_id, stage)
    out = services_room.submit_review(actor=me(), tender=tender, room=room)
    return out


@blp.route(f"{ROOM}/review/close", methods=["POST"])
@blp.response(200, schemas.EvaluationRoomOut)
@problems(401, 403, 404, 409)
@authenticated(COMMITTEE)
def close_review(tender_id: int, stage: int) -> Any:
    """The chair closes the review (all submitted): the majority decides; failed bids leave the evaluation."""
    tender, room = _room(tender_id, stage)
    services_room.close_review(actor=me(), tender=tender, room=room)
    return services_sheets.status(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/advance", methods=["POST"])
@blp.arguments(schemas.RoomAdvanceArgs)
@blp.response(200, schemas.RoomAdvanceOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def advance(args: dict[str, Any], tender_id: int, stage: int) -> Any:
    """The agency advances the opening to the next stage, eliminating the bids the committee failed here."""
    tender, _ = _room(tender_id, stage)
    if tender.current_stage != stage:
        raise Conflict(N_("The opening is not at this stage."))
    failed = services_room.failed_bids(tender, stage)
    eliminated = {b.public_id: why for b, why in failed}
    reason = args["reason"].strip() or "; ".join(f"bid {k}: {v}" for k, v in eliminated.items())[:2000]
    opening.advance_stage(actor=me(), tender=tender, eliminated=[b.id for b, _ in failed], reason=reason)
    return {"tender_id": tender.id, "current_stage": tender.current_stage, "eliminated": eliminated}


@blp.route(f"{ROOM}/sheets", methods=["GET"])
@blp.response(200, schemas.SheetOut(many=True))
@problems(401, 403, 404)
@authenticated(COMMITTEE)
def own_sheets(tender_id: int, stage: int) -> Any:
    """The caller's own score sheets (one per bid in evaluation); nobody else's."""
    tender, room = _room(tender_id, stage)
    return services_sheets.own_sheets(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/sheets/<bid_id>", methods=["PUT"])
@blp.arguments(schemas.SheetArgs)
@blp.response(200, schemas.SheetOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def save_sheet(args: dict[str, Any], tender_id: int, stage: int, bid_id: str) -> Any:
    """Save a draft score sheet for a bid (idempotent); scores outside a criterion's range are refused."""
    tender, room = _room(tender_id, stage)
    out = services_sheets.save_draft(actor=me(), tender=tender, room=room, bid_id=bid_id, **args)
    return out


@blp.route(f"{ROOM}/sheets/<bid_id>/submit", methods=["POST"])
@blp.response(200, schemas.SheetOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def submit_sheet(tender_id: int, stage: int, bid_id: str) -> Any:
    """Submit and lock the sheet; outlying scores need a written reason first."""
    tender, room = _room(tender_id, stage)
    out = services_sheets.submit_sheet(actor=me(), tender=tender, room=room, bid_id=bid_id)
    return out


@blp.route(f"{ROOM}/sheets/<bid_id>/corrections", methods=["POST"])
@blp.arguments(schemas.CorrectionArgs)
@blp.response(201, schemas.SheetOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def correct_sheet(args: dict[str, Any], tender_id: int, stage: int, bid_id: str) -> Any:
    """Correct a submitted sheet (listed error kinds only, with the reason) as a new version."""
    tender, room = _room(tender_id, stage)
    out = services_sheets.correct_sheet(actor=me(), tender=tender, room=room, bid_id=bid_id, **args)
    return out


@blp.route(f"{ROOM}/aggregate", methods=["POST"])
@blp.response(200, schemas.ResultOut)
@problems(401, 403, 404, 409)
@authenticated(COMMITTEE)
def aggregate(tender_id: int, stage: int) -> Any:
    """The chair aggregates once every sheet is in: the ranking by total points."""
    tender, room = _room(tender_id, stage)
    services_sheets.aggregate(actor=me(), tender=tender, room=room)
    return services_sheets.get_result(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/result", methods=["GET"])
@blp.response(200, schemas.ResultOut)
@problems(401, 403, 404, 409)
@authenticated(COMMITTEE, RUN, OVERSEE)
def result(tender_id: int, stage: int) -> Any:
    """The aggregated result, with every member's sheets (only once all were in)."""
    tender, room = _room(tender_id, stage)
    return services_sheets.get_result(actor=me(), tender=tender, room=room)


def init_app(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
