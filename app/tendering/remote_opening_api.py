"""JSON API of the remote opening (不见面开标), on the tendering API blueprint (/api/v1): what a bidder or the host
does in the live page, for programs — read the opening's state, raise an objection or a question, answer it (the
host), list them with their answers, confirm or dispute a stage's record by its SHA-256 (re-authenticating in the
request), read the signed answers.

Thin, like the page (app/tendering/remote_opening_views.py): both call app/tendering/remote_opening.py, which
decides who may watch (the tender's bidders and its overseers; anyone else 403, logged), logs the viewers and
signs the answers.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Integer
from app.core.pages import me
from app.core.security import authenticated, requires
from app.tendering import remote_opening as ro
from app.tendering import services_tenders
from app.tendering.api import blp, problems
from app.tendering.models import Tender
from app.tendering.permissions import BID, MANAGE, READ_OPENED
from app.tendering.schemas import PlainText, SignedDocumentOut

INSTANT = {"description": "An instant in UTC (ISO 8601, 'Z')", "format": "date-time"}
WATCHERS = (BID, MANAGE, READ_OPENED)


# --- schemas -----------------------------------------------------------------------------------------


class OpeningEnvelopeStateOut(ma.Schema):
    name = ma.fields.String(required=True)
    outcome = ma.fields.String(required=True, metadata={"description": "sealed, opened, failed …"})
    at = ma.fields.String(required=True, allow_none=True, metadata=INSTANT)


class OpeningBidStateOut(ma.Schema):
    bid_id = ma.fields.String(required=True, metadata={"description": "The bid's public id"})
    bidder = ma.fields.String(required=True)
    outcome = ma.fields.String(required=True)
    envelopes = ma.fields.List(ma.fields.Nested(OpeningEnvelopeStateOut), required=True)


class OpeningRecordAnswerOut(ma.Schema):
    organisation_id = Integer(required=True)
    bidder = ma.fields.String(required=True)
    verdict = ma.fields.String(
        required=True, allow_none=True, validate=validate.OneOf(ro.VERDICTS), metadata={"description": "null: none"}
    )
    reason = ma.fields.String(required=True, allow_none=True)
    at = ma.fields.String(required=True, allow_none=True, metadata=INSTANT)


class OpeningRecordStateOut(ma.Schema):
    stage = Integer(required=True)
    published_at = ma.fields.String(required=True, metadata=INSTANT)
    record_sha256 = ma.fields.String(
        required=True, metadata={"description": "What a bidder names when it confirms or disputes the record"}
    )
    result = ma.fields.String(required=True)
    valid_bids = Integer(required=True)
    answers = ma.fields.List(ma.fields.Nested(OpeningRecordAnswerOut), required=True)


class OpeningMessageOut(ma.Schema):
    id = Integer(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(ro.KINDS))
    bidder = ma.fields.String(required=True, metadata={"description": "The organisation that raised it"})
    text = ma.fields.String(required=True)
    raised_at = ma.fields.String(required=True, metadata=INSTANT)
    answer = ma.fields.String(required=True, allow_none=True)
    answered_at = ma.fields.String(required=True, allow_none=True, metadata=INSTANT)


class OpeningStateOut(ma.Schema):
    """The same state the live page and its stream show. Before the opening starts it names and counts no bid."""

    tender = Integer(required=True)
    status = ma.fields.String(required=True)
    opening_at = ma.fields.String(required=True, metadata=INSTANT)
    started_at = ma.fields.String(metadata=INSTANT)
    stage = Integer(required=True, metadata={"description": "The stage being opened (0 before the opening)"})
    stages = Integer(required=True)
    bids = ma.fields.List(ma.fields.Nested(OpeningBidStateOut), required=True)
    records = ma.fields.List(ma.fields.Nested(OpeningRecordStateOut), required=True)
    messages = ma.fields.List(ma.fields.Nested(OpeningMessageOut), required=True)
    filming = ma.fields.Boolean(required=True, metadata={"description": "The room's live playlist can be played"})
    channel_open = ma.fields.Boolean(metadata={"description": "Objections and answers to the record are taken"})
    channel_closes_at = ma.fields.String(allow_none=True, metadata=INSTANT)
    version = ma.fields.String(required=True, metadata={"description": "Changes whenever the state changes"})
    viewer_role = ma.fields.String(required=True, validate=validate.OneOf(["host", "bidder", "overseer"]))


class OpeningMessageArgs(ma.Schema):
    kind = ma.fields.String(required=True, validate=validate.OneOf(ro.KINDS))
    text = PlainText(required=True, validate=validate.Length(min=1, max=ro.MAX_TEXT))


class OpeningMessageAnswerArgs(ma.Schema):
    answer = PlainText(required=True, validate=validate.Length(min=1, max=ro.MAX_TEXT))


class OpeningRecordAnswerArgs(ma.Schema):
    verdict = ma.fields.String(required=True, validate=validate.OneOf(ro.VERDICTS))
    record_sha256 = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$"),
        metadata={"description": "The SHA-256 of the record the bidder read (records[].record_sha256 of the state)"},
    )
    reason = PlainText(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=ro.MAX_TEXT),
        metadata={"description": "Required when disputing, refused when confirming"},
    )
    password = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=256))
    totp = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(min=6, max=8))


class OpeningSignedAnswersOut(ma.Schema):
    stage = Integer(required=True)
    record_sha256 = ma.fields.String(required=True)
    answers = ma.fields.List(ma.fields.Nested(SignedDocumentOut), required=True)


# --- routes ------------------------------------------------------------------------------------------


def _tender(tender_id: int) -> Tender:
    return services_tenders.get_tender(tender_id, me())


@blp.route("/tenders/<int:tender_id>/opening/live", methods=["GET"])
@blp.response(200, OpeningStateOut)
@problems(401, 403, 404)
@authenticated(*WATCHERS)
def remote_opening_state(tender_id: int) -> Any:
    """The opening as the live page shows it: each bid's envelopes and their decryption outcome, each stage's
    published record with every bidder's answer, the objections and questions with the host's answers. For the
    tender's bidders and its overseers only (anyone else 403, logged); the viewer is logged (a polling program once
    per few minutes). Poll it, comparing `version`."""
    tender = _tender(tender_id)
    role = ro.watch(me(), tender, via="api")
    state = ro.snapshot(tender)
    return {**state, "version": ro.version(state), "viewer_role": role}


@blp.route("/tenders/<int:tender_id>/opening/messages", methods=["GET"])
@blp.response(200, OpeningMessageOut(many=True))
@problems(401, 403, 404)
@authenticated(*WATCHERS)
def list_remote_opening_messages(tender_id: int) -> Any:
    """The objections and questions raised during the opening, oldest first, each with the host's answer."""
    tender = _tender(tender_id)
    ro.watch(me(), tender, via="api")
    return [ro.message_view(m) for m in ro.list_messages(tender)]


@blp.route("/tenders/<int:tender_id>/opening/messages", methods=["POST"])
@blp.arguments(OpeningMessageArgs)
@blp.response(201, OpeningMessageOut)
@problems(401, 403, 404, 409, 422)
@authenticated(BID)
def raise_remote_opening_message(args: dict[str, Any], tender_id: int) -> Any:
    """A bidder of the tender raises an objection or a question, from the start of the opening until
    TENDER_REMOTE_OPENING_WINDOW after its last record (409 otherwise); logged in the evidence log."""
    msg = ro.raise_message(actor=me(), tender=_tender(tender_id), kind=args["kind"], text=args["text"])
    return ro.message_view(msg)


@blp.route("/tenders/<int:tender_id>/opening/messages/<int:message_id>/answer", methods=["POST"])
@blp.arguments(OpeningMessageAnswerArgs)
@blp.response(200, OpeningMessageOut)
@problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def answer_remote_opening_message(args: dict[str, Any], tender_id: int, message_id: int) -> Any:
    """The host (the agency running the opening) answers an objection or a question, once (409 again)."""
    msg = ro.answer_message(actor=me(), tender=_tender(tender_id), message_id=message_id, text=args["answer"])
    return ro.message_view(msg)


@blp.route("/tenders/<int:tender_id>/opening-records/<int:stage>/answers", methods=["GET"])
@blp.response(200, OpeningSignedAnswersOut)
@problems(401, 403, 404)
@authenticated(*WATCHERS)
def list_opening_record_answers(tender_id: int, stage: int) -> Any:
    """The bidders' answers to a stage's record, each signed by the platform (verify with its public key)."""
    return ro.signed_answers(me(), _tender(tender_id), stage)


@blp.route("/tenders/<int:tender_id>/opening-records/<int:stage>/answers", methods=["POST"])
@blp.arguments(OpeningRecordAnswerArgs)
@blp.response(201, SignedDocumentOut)
@problems(401, 403, 404, 409, 422, 429)
@authenticated(BID)
def answer_opening_record(args: dict[str, Any], tender_id: int, stage: int) -> Any:
    """A bidder named in the stage's record confirms it, or disputes it with reasons, naming the record by its
    SHA-256 (422 for another hash) and re-authenticating in the request with its password or a TOTP code, as in
    the page (a wrong one: 403, logged; too many: 429). Once per organisation and record (409); not after the
    window (409). The answer is a confirmation signed by the platform, citing the evidence-log entry."""
    answer = ro.answer_record(actor=me(), tender=_tender(tender_id), stage=stage, **args)
    return answer.signed
