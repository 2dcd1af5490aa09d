"""JSON API of the evaluation report, publicity, objections and award (/api/v1/tenders/<id>/evaluation/…).

Membership, the chair and bidder status are checked object by object in services_report, so those endpoints are
`@authenticated`; publishing, answering objections and awarding need evaluation.run (the tender's agency).
The list of candidates in publicity is public.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, Response
from flask_smorest import Blueprint
from marshmallow import validate

from app.core.api import problem_responses
from app.core.fields import Float, Instant, Integer
from app.core.pages import me
from app.core.security import authenticated, public, requires
from app.core.storage import content_disposition
from app.evaluation.permissions import COMMITTEE, OVERSEE, RUN
from app.evaluation.report import services as services_report
from app.evaluation.report.pdf import render_report_pdf
from app.tendering.permissions import BID
from app.tendering.schemas import PlainText
from app.tendering.services_tenders import get_tender

blp = Blueprint(
    "evaluation-report",
    __name__,
    url_prefix="/api/v1",
    description="The evaluation report and its signatures, publicity of candidates, objections, the award.",
)
BASE = "/tenders/<int:tender_id>/evaluation"
PDF = {"schema": {"type": "string", "format": "binary"}}


def problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


# --- schemas ---------------------------------------------------------------------------------------------


class EvaluationDrawUpArgs(ma.Schema):
    recommended = Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=services_report.MAX_RECOMMENDED),
        metadata={"description": "How many candidates to recommend (EVALUATION_RECOMMENDED_CANDIDATES, 3)"},
    )


class EvaluationSignArgs(ma.Schema):
    report_sha256 = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$"),
        metadata={"description": "The SHA-256 of the report the member read and signs"},
    )
    password = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=256))
    totp = ma.fields.String(load_default=None, allow_none=True, validate=validate.Length(min=6, max=8))
    dissent = PlainText(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class EvaluationSignedDocument(ma.Schema):
    payload = ma.fields.Dict(required=True)
    signature = ma.fields.Dict(required=True)


class EvaluationReportOut(ma.Schema):
    tender_id = Integer(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(["signing", "final"]))
    drawn_up_at = Instant(required=True)
    finalised_at = Instant(allow_none=True)
    waiting_seats = ma.fields.List(Integer(), required=True)
    publicity_started_at = Instant(allow_none=True)
    publicity_ends_at = Instant(allow_none=True)
    publicity_ended_at = Instant(allow_none=True)
    names_redacted = ma.fields.Boolean(
        required=True, metadata={"description": "Members' names hidden (the agency, before publication)"}
    )
    report = ma.fields.Dict(required=True, metadata={"description": "The canonical-JSON report document"})
    report_sha256 = ma.fields.String(required=True)
    signatures = ma.fields.List(ma.fields.Nested(EvaluationSignedDocument), required=True)


class EvaluationPublishArgs(ma.Schema):
    days = Float(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0, max=60),
        metadata={"description": "Publicity period in days; never shorter than EVALUATION_PUBLICITY_DAYS"},
    )


class EvaluationPublicityOut(ma.Schema):
    tender_id = Integer(required=True)
    reference = ma.fields.String(allow_none=True)
    title = ma.fields.String(required=True)
    started_at = Instant(required=True)
    ends_at = Instant(required=True)
    suspended = ma.fields.Boolean(required=True)
    report_sha256 = ma.fields.String(required=True)
    committee = ma.fields.List(ma.fields.Dict(), required=True)
    candidates = ma.fields.List(ma.fields.Dict(), required=True)


class EvaluationObjectionArgs(ma.Schema):
    text = PlainText(required=True, validate=validate.Length(min=1, max=10000))


class EvaluationAnswerArgs(ma.Schema):
    answer = PlainText(required=True, validate=validate.Length(min=1, max=10000))


class EvaluationObjectionOut(ma.Schema):
    id = Integer(required=True)
    tender_id = Integer(required=True)
    bidder = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(["open", "answered"]))
    filed_at = Instant(required=True)
    answer_due_at = Instant(required=True)
    overdue = ma.fields.Boolean(required=True)
    answer = ma.fields.String(allow_none=True)
    answered_at = Instant(allow_none=True)


class EvaluationAwardOut(ma.Schema):
    tender_id = Integer(required=True)
    issued_at = Instant(required=True)
    your_notice = ma.fields.Dict(allow_none=True)
    document = ma.fields.Nested(EvaluationSignedDocument, required=True)


# --- routes ----------------------------------------------------------------------------------------------


@blp.route(f"{BASE}/report", methods=["POST"])
@blp.arguments(EvaluationDrawUpArgs)
@blp.response(201, EvaluationReportOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def draw_up(args: dict[str, Any], tender_id: int) -> Any:
    """The chair of the last room draws the report up from the aggregated result."""
    tender = get_tender(tender_id, me())
    services_report.draw_up(actor=me(), tender=tender, recommended=args["recommended"])
    return services_report.report_view(me(), tender)


@blp.route(f"{BASE}/report", methods=["GET"])
@blp.response(200, EvaluationReportOut)
@problems(401, 403, 404)
@authenticated(COMMITTEE, RUN, OVERSEE, BID)
def get_report(tender_id: int) -> Any:
    """The report, its hash and the platform-signed signature entries (verifiable offline with the platform key)."""
    tender = get_tender(tender_id, me())
    return services_report.report_view(me(), tender)


@blp.route(f"{BASE}/report.pdf", methods=["GET"])
@blp.doc(responses={"200": {"description": "The report as PDF", "content": {"application/pdf": PDF}}})
@problems(401, 403, 404)
@authenticated(COMMITTEE, RUN, OVERSEE, BID)
def report_pdf(tender_id: int) -> Any:
    """The report as a PDF with Chinese text, printing its SHA-256 and the signature entries (same access as the
    JSON report; names withheld for the agency until publication)."""
    tender = get_tender(tender_id, me())
    pdf = render_report_pdf(services_report.report_view(me(), tender))
    filename = f"{tender.reference or tender.id}-evaluation-report.pdf"
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": content_disposition(filename)})


@blp.route(f"{BASE}/report/signatures", methods=["POST"])
@blp.arguments(EvaluationSignArgs)
@blp.response(201, EvaluationSignedDocument)
@problems(401, 403, 404, 409, 422, 429)
@authenticated(COMMITTEE)
def sign_report(args: dict[str, Any], tender_id: int) -> Any:
    """A seated member signs: confirms the report's hash and re-authenticates (password or TOTP code)."""
    tender = get_tender(tender_id, me())
    signature = services_report.sign(actor=me(), tender=tender, **args)
    return signature.signed


@blp.route(f"{BASE}/publicity", methods=["POST"])
@blp.arguments(EvaluationPublishArgs)
@blp.response(200, EvaluationReportOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def publish(args: dict[str, Any], tender_id: int) -> Any:
    """The agency publishes the candidates of the final report; the committee's names become public."""
    tender = get_tender(tender_id, me())
    services_report.publish(actor=me(), tender=tender, days=args["days"])
    return services_report.report_view(me(), tender)


@blp.route("/evaluation/publicity", methods=["GET"])
@blp.response(200, EvaluationPublicityOut(many=True))
@public
def list_publicity() -> Any:
    """Candidates of the tenders now in publicity (公示), with the committee's names."""
    return services_report.list_publicity()


@blp.route(f"{BASE}/objections", methods=["POST"])
@blp.arguments(EvaluationObjectionArgs)
@blp.response(201, EvaluationObjectionOut)
@problems(401, 403, 404, 409, 422)
@authenticated(BID)
def file_objection(args: dict[str, Any], tender_id: int) -> Any:
    """A bidder of the tender objects during publicity; the process is suspended until the agency answers."""
    tender = get_tender(tender_id, me())
    objection = services_report.file_objection(actor=me(), tender=tender, text=args["text"])
    return services_report.objection_view(objection)


@blp.route(f"{BASE}/objections", methods=["GET"])
@blp.response(200, EvaluationObjectionOut(many=True))
@problems(401, 403, 404)
@authenticated(RUN, OVERSEE, BID)
def list_objections(tender_id: int) -> Any:
    """Objections: all for the agency and overseers, their own for a bidder."""
    tender = get_tender(tender_id, me())
    return [services_report.objection_view(o) for o in services_report.list_objections(me(), tender)]


@blp.route(f"{BASE}/objections/<int:objection_id>/answer", methods=["POST"])
@blp.arguments(EvaluationAnswerArgs)
@blp.response(200, EvaluationObjectionOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def answer_objection(args: dict[str, Any], tender_id: int, objection_id: int) -> Any:
    """The agency answers an objection; with none left open the process resumes."""
    tender = get_tender(tender_id, me())
    objection = services_report.answer_objection(
        actor=me(), tender=tender, objection_id=objection_id, answer=args["answer"]
    )
    return services_report.objection_view(objection)


@blp.route(f"{BASE}/award", methods=["POST"])
@blp.response(201, EvaluationAwardOut)
@problems(401, 403, 404, 409)
@requires(RUN)
def issue_award(tender_id: int) -> Any:
    """After publicity, with no open objection: the award notice to the winner, result notices to the others."""
    tender = get_tender(tender_id, me())
    services_report.issue_award(actor=me(), tender=tender)
    return services_report.award_view(me(), tender)


class EvaluationReassignArgs(ma.Schema):
    reason = PlainText(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "Why the winner is replaced: declined the award, or failed to sign the contract"},
    )


@blp.route(f"{BASE}/award/reassign", methods=["POST"])
@blp.arguments(EvaluationReassignArgs)
@blp.response(201, EvaluationAwardOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def reassign_award(args: dict[str, Any], tender_id: int) -> Any:
    """The winner declined or failed to sign: the award goes to the next recommended candidate, in a new document."""
    tender = get_tender(tender_id, me())
    services_report.reassign_award(actor=me(), tender=tender, reason=args["reason"])
    return services_report.award_view(me(), tender)


@blp.route(f"{BASE}/award", methods=["GET"])
@blp.response(200, EvaluationAwardOut)
@problems(401, 403, 404)
@authenticated(RUN, OVERSEE, BID)
def get_award(tender_id: int) -> Any:
    """The platform-signed award document, with the caller's own notice when they bid."""
    tender = get_tender(tender_id, me())
    return services_report.award_view(me(), tender)


def init_app(app: Flask) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
