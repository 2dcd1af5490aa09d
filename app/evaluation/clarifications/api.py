"""JSON API of clarifications during the evaluation (评标澄清).

The room's side (/api/v1/tenders/<id>/rooms/<stage>/clarifications): the chair requests, the members (and the
agency and overseers) read every request and answer, members download an attached file (logged). Membership
and the chair are checked object by object in the services, so these endpoints are `@authenticated`.

The bidder's side (/api/v1/my/clarifications) needs the bidding permission and shows only the requests
addressed to the caller's organisation. An answer is a multipart form: `text`, `confirm` (the bidder's signed
statement that the answer does not change the substance of the bid) and an optional `file`.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, Response, request
from flask_smorest import Blueprint
from marshmallow import validate

from app.core.api import problem_responses
from app.core.fields import Float, Instant, Integer
from app.core.pages import me
from app.core.security import authenticated, requires
from app.core.storage import content_disposition
from app.core.time import now_utc
from app.evaluation import schemas
from app.evaluation.clarifications import services as services_clarifications
from app.evaluation.models import Clarification, Room
from app.evaluation.permissions import COMMITTEE, OVERSEE, RUN
from app.evaluation.room import services as services_room
from app.tendering.models import Tender
from app.tendering.permissions import BID
from app.tendering.schemas import PlainText
from app.tendering.services_tenders import get_tender

blp = Blueprint(
    "evaluation-clarifications",
    __name__,
    url_prefix="/api/v1",
    description="Clarifications during the evaluation: the committee asks a bidder, the bidder answers in writing.",
)
ID = validate.Range(min=1, max=2**31 - 1)
OCTETS = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


class RequestArgs(ma.Schema):
    bid_id = ma.fields.String(required=True, validate=schemas.BID_ID, metadata=schemas.BID_ID_DOC)
    question = PlainText(required=True, validate=validate.Length(min=1, max=services_clarifications.MAX_QUESTION))
    hours = Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=services_clarifications.MAX_HOURS, min_inclusive=False),
        metadata={"description": "Hours to answer; EVALUATION_CLARIFICATION_HOURS (24) when left out"},
    )


class AnswerForm(ma.Schema):
    text = PlainText(required=True, validate=validate.Length(min=1, max=services_clarifications.MAX_ANSWER))
    confirm = ma.fields.Boolean(
        required=True,
        metadata={"description": "The bidder signs: the answer does not change the substance of the bid"},
    )


class AnswerFiles(ma.Schema):
    file = ma.fields.Raw(metadata={"type": "string", "format": "binary", "description": "Optional attachment"})


class FileOut(ma.Schema):
    name = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True)
    size = Integer(required=True)


class _Common(ma.Schema):
    id = Integer(required=True)
    stage = Integer(required=True)
    bid_id = ma.fields.String(required=True, metadata=schemas.BID_ID_DOC)
    question = ma.fields.String(required=True)
    asked_at = Instant(required=True)
    due_at = Instant(required=True)
    status = ma.fields.String(required=True, metadata={"enum": ["open", "answered", "expired"]})
    answer = ma.fields.String(allow_none=True)
    answered_at = Instant(allow_none=True)
    file = ma.fields.Nested(FileOut, allow_none=True)


class ClarificationOut(_Common):
    bidder = ma.fields.String(required=True)
    asked_by_seat = Integer(allow_none=True, metadata={"description": "The seat of the chair who asked"})


class MyClarificationOut(_Common):
    tender_id = Integer(required=True)
    tender_reference = ma.fields.String(required=True)
    tender_title = ma.fields.String(required=True)


class MyArgs(ma.Schema):
    open_only = ma.fields.Boolean(load_default=False)


def problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def _room(tender_id: int, stage: int) -> tuple[Tender, Room]:
    tender = get_tender(tender_id, me())
    return tender, services_room.get_room(tender, stage)


ROOM = "/tenders/<int:tender_id>/rooms/<int:stage>/clarifications"


def _member_view(room: Room, c: Clarification) -> dict[str, Any]:
    seats = {m.id: m.seat for m in room.committee.members}
    return services_clarifications.member_view(c, seats, now_utc())


@blp.route(ROOM, methods=["POST"])
@blp.arguments(RequestArgs)
@blp.response(201, ClarificationOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def request_clarification(args: dict[str, Any], tender_id: int, stage: int) -> Any:
    """The chair asks a bidder of the room to clarify (review or scoring phase); the deadline starts now."""
    tender, room = _room(tender_id, stage)
    c = services_clarifications.issue(actor=me(), tender=tender, room=room, **args)
    return _member_view(room, c)


@blp.route(ROOM, methods=["GET"])
@blp.response(200, ClarificationOut(many=True))
@problems(401, 403, 404)
@authenticated(COMMITTEE, RUN, OVERSEE)
def room_clarifications(tender_id: int, stage: int) -> Any:
    """Every request of the room with its answer (members, the agency, overseers)."""
    tender, room = _room(tender_id, stage)
    return services_clarifications.list_for_room(actor=me(), tender=tender, room=room)


@blp.route(f"{ROOM}/<int:clarification_id>/file", methods=["GET"])
@blp.doc(responses={"200": {"description": "The file attached to the answer", "content": OCTETS}})
@problems(401, 403, 404)
@authenticated(COMMITTEE)
def answer_file(tender_id: int, stage: int, clarification_id: int) -> Any:
    """Download the file attached to an answer (members); its SHA-256 is the ETag; the download is logged."""
    tender, room = _room(tender_id, stage)
    c, fh = services_clarifications.open_answer_file(
        actor=me(), tender=tender, room=room, clarification_id=clarification_id
    )
    headers = {
        "Content-Disposition": content_disposition(c.answer_file_name or "clarification"),
        "Content-Length": str(c.answer_file_size),
        "ETag": f'"{c.answer_file_sha256}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(services_room.iter_file(fh), headers=headers, content_type="application/octet-stream")


@blp.route("/my/clarifications", methods=["GET"])
@blp.arguments(MyArgs, location="query")
@blp.response(200, MyClarificationOut(many=True))
@problems(401, 403, 422)
@requires(BID)
def my_clarifications(args: dict[str, Any]) -> Any:
    """The clarification requests addressed to the caller's organisation, newest first (nothing of others)."""
    return services_clarifications.list_for_bidder(actor=me(), open_only=args["open_only"])


@blp.route("/my/clarifications/<int:clarification_id>/answer", methods=["POST"])
@blp.arguments(AnswerForm, location="form")
@blp.arguments(AnswerFiles, location="files")
@blp.response(200, MyClarificationOut)
@problems(400, 401, 403, 404, 409, 413, 422)
@requires(BID)
def answer_clarification(form: dict[str, Any], files: dict[str, Any], clarification_id: int) -> Any:
    """Answer once, before the deadline (multipart: text, confirm, optional file); a late answer is refused."""
    upload = files.get("file") or request.files.get("file")
    attached = None
    if upload is not None and upload.filename:
        attached = services_clarifications.AnswerFile(
            name=upload.filename,
            stream=upload.stream,
            length=upload.content_length or None,
            content_type=upload.mimetype or "application/octet-stream",
        )
    c = services_clarifications.answer(
        actor=me(), clarification_id=clarification_id, text=form["text"], confirmed=form["confirm"], file=attached
    )
    return services_clarifications.bidder_view(c, now_utc())


def init_app(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
