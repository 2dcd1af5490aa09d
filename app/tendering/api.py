"""JSON API of the tendering floor (/api/v1): tenders, documents, questions, uploads, sealed bids, the opening.

Public without sign-in: the list and search of published tenders, a tender, its documents, versions and
answered questions. Sealed bids are uploaded in chunks (create → PUT with Content-Range → complete),
then submitted for a signed receipt.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask_login import current_user
from flask_smorest import Blueprint
from werkzeug.http import parse_content_range_header

from app.core.body import streams_body
from app.core.db import db
from app.core.errors import NotFound, ValidationFailed
from app.core.pages import me
from app.core.problems import N_
from app.core.security import authenticated, public, requires
from app.core.storage import DOCUMENTS, content_disposition, get_storage
from app.core.time import format_center_time
from app.tendering import custody, opening, schemas, services_bids, services_questions, services_tenders
from app.tendering.models import Tender, TenderStatus
from app.tendering.permissions import BID, CUSTODY, MANAGE, READ_OPENED

PROBLEM = "application/problem+json"
BINARY = {"schema": {"type": "string", "format": "binary"}}

blp = Blueprint(
    "tendering-api",
    __name__,
    url_prefix="/api/v1",
    description="Tenders, tender documents, questions, sealed bid upload and submission, the opening record.",
)


def problems(*statuses: int) -> Any:
    def deco(fn: Any) -> Any:
        for status in statuses:
            fn = blp.alt_response(status, schema=schemas.TenderingProblem, content_type=PROBLEM)(fn)
        return fn

    return deco


def _viewer() -> Any:
    return me() if current_user.is_authenticated else None


def tender_view(tender: Tender) -> dict[str, Any]:
    zone = current_app.config["CENTER_TIMEZONE"]
    hide_budget = tender.budget_secret and tender.status in (TenderStatus.DRAFT, TenderStatus.PUBLISHED)
    if hide_budget and _viewer() is not None and services_tenders.is_manager_of(_viewer(), tender):
        hide_budget = False
    return {
        "id": tender.id,
        "reference": tender.reference,
        "title": tender.title,
        "buyer": tender.buyer,
        "agency": tender.agency,
        "category": tender.category,
        "description": tender.description,
        "budget_amount": None if hide_budget else tender.budget_amount,
        "budget_currency": tender.budget_currency,
        "budget_secret": tender.budget_secret,
        "submission_deadline_at": tender.submission_deadline_at,
        "submission_deadline_local": format_center_time(tender.submission_deadline_at, zone),
        "opening_at": tender.opening_at,
        "opening_local": format_center_time(tender.opening_at, zone),
        "time_zone": zone,
        "min_bids": tender.min_bids,
        "evaluation_method": tender.evaluation_method.value,
        "criteria": tender.criteria,
        "envelopes": tender.envelopes,
        "bid_form_schema": tender.bid_form_schema,
        "custody_mode": tender.custody_mode.value,
        "custody_threshold": tender.custody_threshold,
        "custody_total": tender.escrow_total,
        "max_bid_size": tender.max_bid_size,
        "status": tender.status.value,
        "open_for_bids": services_tenders.is_open_for_bids(tender),
        "version": tender.version,
        "published_at": tender.published_at,
        "recipient": tender.recipient,
        "current_stage": tender.current_stage,
        "cancel_reason": tender.cancel_reason,
        "failure_reason": tender.failure_reason if tender.status is TenderStatus.FAILED else None,
        "documents": list(tender.documents),
    }


def _tender(tender_id: int) -> Tender:
    return services_tenders.get_tender(tender_id, _viewer())


# --- public ------------------------------------------------------------------------------------------


@blp.route("/tenders", methods=["GET"])
@blp.arguments(schemas.TenderListArgs, location="query")
@blp.response(200, schemas.TenderPage)
@problems(422)
@public
def list_tenders(args: dict[str, Any]) -> Any:
    """Published tenders, newest first; search by text (`q`), category and status."""
    rows, total = services_tenders.list_tenders(
        q=args.get("q"),
        category=args.get("category"),
        status=args.get("status"),
        page=args["page"],
        per_page=args["per_page"],
    )
    return {"items": [tender_view(t) for t in rows], "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/tenders/<int:tender_id>", methods=["GET"])
@blp.response(200, schemas.TenderOut)
@problems(404)
@public
def get_tender(tender_id: int) -> Any:
    """One tender (a draft only for its own agency). Times in UTC and in the center's zone, named."""
    return tender_view(_tender(tender_id))


@blp.route("/tenders/<int:tender_id>/documents/<int:document_id>", methods=["GET"])
@blp.doc(responses={"200": {"description": "The document", "content": {"application/octet-stream": BINARY}}})
@problems(404)
@public
def download_document(tender_id: int, document_id: int) -> Any:
    """Download a tender document; its SHA-256 is in the ETag and the tender's document list."""
    doc = services_tenders.get_document(_tender(tender_id), document_id)
    chunks = get_storage().get(DOCUMENTS, doc.object_key)
    headers = {
        "Content-Disposition": content_disposition(doc.name),
        "ETag": f'"{doc.sha256}"',
        "Content-Length": str(doc.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(stream_with_context(chunks), headers=headers, content_type="application/octet-stream")


@blp.route("/tenders/<int:tender_id>/versions", methods=["GET"])
@blp.response(200, schemas.VersionOut(many=True))
@problems(404)
@public
def list_versions(tender_id: int) -> Any:
    """The publication and every clarification, amendment or cancellation, in order."""
    return _tender(tender_id).versions


@blp.route("/tenders/<int:tender_id>/questions", methods=["GET"])
@blp.response(200, schemas.QuestionOut(many=True))
@problems(404)
@public
def list_questions(tender_id: int) -> Any:
    """Answered questions, without who asked."""
    return services_questions.list_questions(_tender(tender_id), answered_only=True)


# --- agency ------------------------------------------------------------------------------------------


@blp.route("/tenders", methods=["POST"])
@blp.arguments(schemas.TenderTermsArgs)
@blp.response(201, schemas.TenderOut)
@problems(401, 403, 422)
@requires(MANAGE)
def create_tender(args: dict[str, Any]) -> Any:
    """Draft a tender for the caller's agency."""
    tender = services_tenders.create_tender(actor=me(), data=args)
    return tender_view(tender)


@blp.route("/tenders/mine", methods=["GET"])
@blp.response(200, schemas.TenderOut(many=True))
@problems(401, 403)
@requires(MANAGE)
def my_tenders() -> Any:
    """The tenders of the caller's agency, drafts included."""
    return [tender_view(t) for t in services_tenders.list_agency_tenders(me())]


@blp.route("/tenders/<int:tender_id>", methods=["PATCH"])
@blp.arguments(schemas.TenderUpdateArgs(partial=True))
@blp.response(200, schemas.TenderOut)
@problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def update_tender(args: dict[str, Any], tender_id: int) -> Any:
    """Edit a draft; published terms change only through clarifications."""
    tender = services_tenders.update_tender(actor=me(), tender=_tender(tender_id), data=args)
    return tender_view(tender)


@blp.route("/tenders/<int:tender_id>/documents", methods=["POST"])
@blp.arguments(schemas.DocumentQuery, location="query")
@blp.doc(requestBody={"required": True, "content": {"application/octet-stream": BINARY}})
@blp.response(201, schemas.DocumentOut)
@problems(400, 401, 403, 404, 408, 409, 413, 422)
@requires(MANAGE)
@streams_body
def add_document(args: dict[str, Any], tender_id: int) -> Any:
    """Upload a tender document (the raw body); on a published tender it is an amendment."""
    doc = services_tenders.add_document(
        actor=me(),
        tender=_tender(tender_id),
        name=args["name"],
        stream=request.stream,
        length=request.content_length,
        content_type=args["content_type"],
        text=args.get("text", ""),
    )
    return doc


@blp.route("/tenders/<int:tender_id>/publish", methods=["POST"])
@blp.response(200, schemas.TenderOut)
@problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def publish_tender(tender_id: int) -> Any:
    """Publish: generate the opening key, seal it under custody, freeze the terms.

    Publishing needs at least one tender document (招标文件): add it first with POST
    /tenders/{tender_id}/documents; without one the answer is 422 with errors.documents. The tender must be a
    draft of the caller's agency whose deadlines satisfy the legal periods (422 otherwise).
    """
    tender = services_tenders.publish_tender(actor=me(), tender=_tender(tender_id))
    return tender_view(tender)


@blp.route("/tenders/<int:tender_id>/clarifications", methods=["POST"])
@blp.arguments(schemas.ClarificationArgs)
@blp.response(201, schemas.VersionOut)
@problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def clarify_tender(args: dict[str, Any], tender_id: int) -> Any:
    """Issue a clarification; a late one pushes the deadline and the opening."""
    version = services_tenders.clarify_tender(actor=me(), tender=_tender(tender_id), **args)
    return version


@blp.route("/tenders/<int:tender_id>/cancel", methods=["POST"])
@blp.arguments(schemas.CancelArgs)
@blp.response(200, schemas.TenderOut)
@problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def cancel_tender(args: dict[str, Any], tender_id: int) -> Any:
    """Cancel before the opening, with a reason."""
    tender = services_tenders.cancel_tender(actor=me(), tender=_tender(tender_id), reason=args["reason"])
    return tender_view(tender)


@blp.route("/tenders/<int:tender_id>/questions/all", methods=["GET"])
@blp.response(200, schemas.QuestionOut(many=True))
@problems(401, 403, 404)
@requires(MANAGE)
def list_all_questions(tender_id: int) -> Any:
    """Every question, answered or not, for the agency (still without who asked)."""
    tender = services_tenders.managed_tender(me(), tender_id)
    return services_questions.list_questions(tender, answered_only=False)


@blp.route("/tenders/<int:tender_id>/questions/<int:question_id>/answer", methods=["POST"])
@blp.arguments(schemas.AnswerArgs)
@blp.response(200, schemas.QuestionOut)
@problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def answer_question(args: dict[str, Any], tender_id: int, question_id: int) -> Any:
    """Answer a question publicly."""
    question = services_questions.answer_question(
        actor=me(), tender=_tender(tender_id), question_id=question_id, answer=args["answer"]
    )
    return question


@blp.route("/tenders/<int:tender_id>/stages/advance", methods=["POST"])
@blp.arguments(schemas.AdvanceArgs)
@blp.response(200, schemas.TenderOut)
@problems(401, 403, 404, 409, 422)
@requires(MANAGE)
def advance_stage(args: dict[str, Any], tender_id: int) -> Any:
    """After reviewing a stage, eliminate bids (by public id, with a reason) and open the next stage's envelopes."""
    tender = _tender(tender_id)
    found = {pid: services_bids.find_bid(pid) for pid in args["eliminated"]}
    unknown = sorted(pid for pid, bid in found.items() if bid is None or bid.tender_id != tender.id)
    if unknown:
        raise ValidationFailed(N_("Only valid bids of this tender can be eliminated."), errors={"eliminated": unknown})
    eliminated = [bid.id for bid in found.values() if bid is not None]
    tender = opening.advance_stage(actor=me(), tender=tender, eliminated=eliminated, reason=args["reason"])
    return tender_view(tender)


# --- bidders -----------------------------------------------------------------------------------------


@blp.route("/tenders/<int:tender_id>/interest", methods=["POST"])
@blp.response(200, schemas.InterestOut)
@problems(401, 403, 404, 409)
@requires(BID)
def register_interest(tender_id: int) -> Any:
    """Register interest: be notified of clarifications, answers and cancellation."""
    interest = services_questions.register_interest(actor=me(), tender=_tender(tender_id))
    return interest


@blp.route("/tenders/<int:tender_id>/questions", methods=["POST"])
@blp.arguments(schemas.QuestionArgs)
@blp.response(201, schemas.QuestionOut)
@problems(401, 403, 404, 409, 422)
@requires(BID)
def ask_question(args: dict[str, Any], tender_id: int) -> Any:
    """Ask a question; the answer will be public and will not name the asker."""
    question = services_questions.ask_question(actor=me(), tender=_tender(tender_id), text=args["text"])
    return question


@blp.route("/notifications", methods=["GET"])
@blp.response(200, schemas.NotificationOut(many=True))
@problems(401, 403)
@authenticated(BID)
def list_notifications() -> Any:
    """The caller's tendering notifications."""
    return services_questions.list_notifications(me())


@blp.route("/tenders/<int:tender_id>/uploads", methods=["POST"])
@blp.arguments(schemas.UploadCreateArgs)
@blp.response(201, schemas.UploadOut)
@problems(401, 403, 404, 409, 422)
@requires(BID)
def start_upload(args: dict[str, Any], tender_id: int) -> Any:
    """Start a resumable upload of one sealed envelope (an age v1 file) of the given size."""
    upload = services_bids.start_upload(
        actor=me(), tender=_tender(tender_id), envelope=args["envelope"], size=args["size"]
    )
    return upload


@blp.route("/uploads/<upload_id>", methods=["GET"])
@blp.response(200, schemas.UploadOut)
@problems(401, 403, 404)
@requires(BID)
def get_upload(upload_id: str) -> Any:
    """The upload's state; `offset` is where to resume after a broken connection."""
    return services_bids.get_upload(actor=me(), upload_id=upload_id)


@blp.route("/uploads/<upload_id>", methods=["PUT"])
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Content-Range",
            "required": True,
            "schema": {"type": "string", "pattern": r"^bytes \d+-\d+/\d+$"},
            "description": "bytes START-END/TOTAL (END inclusive); TOTAL is the announced size",
        }
    ],
    requestBody={"required": True, "content": {"application/octet-stream": BINARY}},
)
@blp.response(200, schemas.UploadOut)
@problems(400, 401, 403, 404, 408, 409, 413, 422)
@requires(BID)
@streams_body
def put_chunk(upload_id: str) -> Any:
    """Store one chunk at its offset. Resending a stored chunk is harmless; a wrong offset answers 409 with
    the offset to resume from, also while another request writes the same upload (then with Retry-After: wait,
    ask the offset, resume). Every chunk but the
    last must have at least `chunk_min` bytes (from the upload's state: 5 MiB on S3), none more than
    `chunk_max`; the first chunk must hold the whole age header."""
    header = request.headers.get("Content-Range", "")
    parsed = parse_content_range_header(header)
    if (
        parsed is None
        or parsed.units != "bytes"
        or parsed.start is None
        or parsed.stop is None
        or parsed.length is None
    ):
        raise ValidationFailed(N_("Send Content-Range: bytes START-END/TOTAL."), errors={"content_range": ["required"]})
    if request.content_length != parsed.stop - parsed.start:
        raise ValidationFailed(
            N_("Content-Length must equal the length of the range."), errors={"content_range": ["length-mismatch"]}
        )
    with services_bids.upload_writer(upload_id, me()):
        upload = services_bids.receive_chunk(
            actor=me(),
            upload_id=upload_id,
            start=parsed.start,
            end=parsed.stop - 1,
            total=parsed.length,
            stream=request.stream,
        )
        # Mid-request on purpose: inside the upload's writer lock, so the next writer sees the committed offset.
        db.session.commit()
    return upload


@blp.route("/uploads/<upload_id>/complete", methods=["POST"])
@blp.response(200, schemas.UploadOut)
@problems(401, 403, 404, 409, 422)
@requires(BID)
def complete_upload(upload_id: str) -> Any:
    """Store the uploaded sealed file once (write-once) with its SHA-256; repeat-safe."""
    with services_bids.upload_writer(upload_id, me()):
        upload = services_bids.complete_upload(actor=me(), upload_id=upload_id)
        # Mid-request on purpose: inside the upload's writer lock, so the next writer sees the committed offset.
        db.session.commit()
    return upload


def _version_view(version: Any) -> dict[str, Any]:
    log_index, leaf_index = services_bids.receipt_location(version)
    return {
        "number": version.number,
        "kind": version.kind,
        "received_at": version.received_at,
        "audit_index": log_index,
        "leaf_index": leaf_index,
        "receipt": version.receipt,
        "proof": services_bids.receipt_proof(version),
        "envelopes": list(version.envelopes),
    }


def _bid_view(bid: Any) -> dict[str, Any]:
    return {
        "id": bid.public_id,
        "tender_id": bid.tender_id,
        "organisation": bid.organisation,
        "withdrawn": bid.withdrawn,
        "outcome": bid.outcome.value,
        "outcome_cause": bid.outcome_cause,
        "versions": [_version_view(v) for v in bid.versions],
    }


@blp.route("/tenders/<int:tender_id>/bid", methods=["POST"])
@blp.arguments(schemas.SubmitArgs)
@blp.response(201, schemas.BidVersionOut)
@problems(401, 403, 404, 409, 422)
@requires(BID)
def submit_bid(args: dict[str, Any], tender_id: int) -> Any:
    """Submit or replace the organisation's bid; the answer carries the signed receipt."""
    version = services_bids.submit_bid(actor=me(), tender=_tender(tender_id), uploads=args["uploads"])
    return _version_view(version)


@blp.route("/tenders/<int:tender_id>/bid", methods=["DELETE"])
@blp.response(200, schemas.BidVersionOut)
@problems(401, 403, 404, 409)
@requires(BID)
def withdraw_bid(tender_id: int) -> Any:
    """Withdraw the organisation's bid before the deadline; the answer carries the signed withdrawal receipt."""
    version = services_bids.withdraw_bid(actor=me(), tender=_tender(tender_id))
    return _version_view(version)


@blp.route("/tenders/<int:tender_id>/bid", methods=["GET"])
@blp.response(200, schemas.BidOut)
@problems(401, 403, 404)
@requires(BID)
def own_bid(tender_id: int) -> Any:
    """The organisation's own bid: every version with its receipt and the receipt's inclusion proof (null until the
    next batch of commitments is logged, at most one AUDIT_BATCH_INTERVAL after submission)."""
    return _bid_view(services_bids.get_own_bid(actor=me(), tender=_tender(tender_id)))


@blp.route("/my/bids", methods=["GET"])
@blp.response(200, schemas.BidOut(many=True))
@problems(401, 403)
@requires(BID)
def my_bids() -> Any:
    """Every bid of the caller's organisation, newest first, each with its versions and receipts."""
    return [_bid_view(b) for b in services_bids.list_own_bids(me())]


@blp.route("/tenders/<int:tender_id>/bid/file-keys", methods=["POST"])
@blp.arguments(schemas.FileKeyArgs)
@blp.response(200, schemas.EnvelopeOut)
@problems(401, 403, 404, 409, 422)
@requires(BID)
def reveal_file_key(args: dict[str, Any], tender_id: int) -> Any:
    """At the opening, reveal an envelope's file key so the platform opens it (bidder self-decryption)."""
    env = custody.reveal_file_key(
        actor=me(), tender=_tender(tender_id), envelope=args["envelope"], file_key=bytes.fromhex(args["file_key"])
    )
    return env


# --- bids of others, custody, the opening record -----------------------------------------------------


@blp.route("/tenders/<int:tender_id>/bids", methods=["GET"])
@blp.response(200, schemas.BidOut(many=True))
@problems(401, 403, 404)
@authenticated(MANAGE, READ_OPENED)
def list_bids(tender_id: int) -> Any:
    """After the opening has begun, for the agency and overseers. Before it, refused for everybody and logged."""
    return [_bid_view(b) for b in services_bids.list_bids(actor=me(), tender=_tender(tender_id))]


@blp.route("/tenders/<int:tender_id>/bids/<bid_id>", methods=["GET"])
@blp.response(200, schemas.BidOut)
@problems(401, 403, 404)
@authenticated(BID, MANAGE, READ_OPENED)
def get_bid(tender_id: int, bid_id: str) -> Any:
    """A bid by its public id: its own organisation's always (every version with its receipt and, once its batch is
    logged, the receipt's inclusion proof); anybody else's only after the opening, for the agency and overseers."""
    return _bid_view(services_bids.get_bid(actor=me(), tender=_tender(tender_id), bid_id=bid_id))


@blp.route("/tenders/<int:tender_id>/bids/<bid_id>/envelopes/<name>/sealed", methods=["GET"])
@blp.doc(responses={"200": {"description": "The sealed age file", "content": {"application/octet-stream": BINARY}}})
@problems(401, 403, 404)
@authenticated(BID, MANAGE, READ_OPENED)
def download_sealed(tender_id: int, bid_id: str, name: str) -> Any:
    """The sealed envelope as received (ciphertext), under the same rule as reading the bid."""
    env, fh = services_bids.open_sealed_envelope(actor=me(), tender=_tender(tender_id), bid_id=bid_id, envelope=name)

    def chunks() -> Any:
        with fh:
            while data := fh.read(256 * 1024):
                yield data

    headers = {
        "Content-Disposition": content_disposition(f"{name}.age"),
        "Content-Length": str(env.size),
        "ETag": f'"{env.sha256}"',
    }
    return Response(chunks(), headers=headers, content_type="application/octet-stream")


@blp.route("/my/custody-shares", methods=["GET"])
@blp.response(200, schemas.CustodyDutyOut(many=True))
@problems(401, 403)
@authenticated(CUSTODY)
def my_custody_shares() -> Any:
    """The opening-key shares the caller holds as a named custodian: downloaded yet, brought yet."""
    return [
        {
            "tender_id": tender.id,
            "reference": tender.reference,
            "title": tender.title,
            "status": tender.status.value,
            "opening_at": tender.opening_at,
            "share_index": share.share_index,
            "downloaded_at": share.downloaded_at,
            "submitted_at": share.submitted_at,
        }
        for share, tender in custody.list_custody_duties(me())
    ]


@blp.route("/tenders/<int:tender_id>/custody/share", methods=["POST"])
@blp.response(200, schemas.ShareOut)
@problems(401, 403, 404, 409)
@authenticated(CUSTODY)
def download_share(tender_id: int) -> Any:
    """A named custodian downloads its key share, once; the platform keeps no copy afterwards."""
    text = custody.download_custody_share(actor=me(), tender=_tender(tender_id))
    return {"share": text}


@blp.route("/tenders/<int:tender_id>/custody/shares", methods=["POST"])
@blp.arguments(schemas.ShareArgs)
@blp.response(200, schemas.ShareStateOut)
@problems(401, 403, 404, 409, 422)
@authenticated(CUSTODY)
def submit_share(args: dict[str, Any], tender_id: int) -> Any:
    """At the opening, a custodian brings its share; with k shares the opening proceeds."""
    tender = _tender(tender_id)
    present = custody.submit_custody_share(actor=me(), tender=tender, text=args["share"])
    return {"present": present, "threshold": tender.custody_threshold}


@blp.route("/tenders/<int:tender_id>/opening-records", methods=["GET"])
@blp.response(200, schemas.SignedDocumentOut(many=True))
@problems(401, 403, 404)
@authenticated(BID, MANAGE, READ_OPENED)
def list_opening_records(tender_id: int) -> Any:
    """The signed opening records (开标记录), one per stage, for participants, the agency and overseers."""
    return [r.document for r in opening.list_records(actor=me(), tender=_tender(tender_id))]


@blp.route("/tenders/<int:tender_id>/opening-records/<int:stage>.pdf", methods=["GET"])
@blp.doc(responses={"200": {"description": "The record as PDF", "content": {"application/pdf": BINARY}}})
@problems(401, 403, 404)
@authenticated(BID, MANAGE, READ_OPENED)
def opening_record_pdf(tender_id: int, stage: int) -> Any:
    """The opening record of one stage as a PDF, with its signature."""
    tender = _tender(tender_id)
    record = next((r for r in opening.list_records(actor=me(), tender=tender) if r.stage == stage), None)
    if record is None:
        raise NotFound(N_("No opening record for this stage."))
    pdf = opening.render_record_pdf(
        record.document, current_app.config["CENTER_TIMEZONE"], schema=tender.bid_form_schema
    )
    filename = f"{tender.reference}-opening-{stage}.pdf"
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": content_disposition(filename)})


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
