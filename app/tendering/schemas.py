"""Marshmallow schemas of the tendering API: every request and response is documented in the OpenAPI spec."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from app.core.api import ProblemSchema
from app.core.fields import Instant, Integer, QueryInteger
from app.tendering.models import CustodyMode, EvaluationMethod, TenderStatus

MAX_AMOUNT = 2**53 - 1  # amounts are signed as canonical JSON integers


CRITERIA_RULES = (
    "Evaluation criteria of `evaluation_method`; omitted: the method's defaults. "
    "`comprehensive` (综合评估法): {items: [{name, category: price|technical|commercial, weight: 1-100, "
    "description?}] (1-50 items), outlier_percent?: 1-100, drop_extremes?: boolean}; the weights add up to 100 "
    "and one item has category `price`. "
    "`lowest_evaluated_price` (经评审的最低投标价法): {items: [{name, description?}] (1-50 pass/fail items), "
    "adjustments?: [{name, kind: percent|amount, min, max, description?}] (at most 20 price adjustments; "
    "min <= max, a percentage above -100; amounts in fen)}. "
    "Item names and adjustment names are unique; no other keys are allowed. A violation answers 422 with "
    "errors.criteria (the rules are app/tendering/terms.py's validate_criteria)."
)


class PlainText(ma.fields.String):
    """Text without control characters other than line breaks and tabs."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if any((not c.isprintable() and c not in "\n\r\t") or 0xD800 <= ord(c) <= 0xDFFF for c in text):
            raise ma.ValidationError("Control characters are not allowed.")
        return text


TenderingProblem = ProblemSchema  # one RFC 9457 shape for the whole API (app/core/api.py)


class OrgRef(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)


class TenderTermsArgs(ma.Schema):
    title = PlainText(required=True, validate=validate.Length(min=1, max=300))
    buyer_id = Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))
    category = PlainText(required=True, validate=validate.Length(min=1, max=100))
    description = PlainText(validate=validate.Length(max=100_000))
    budget_amount = Integer(
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_AMOUNT),
        metadata={"description": "In the currency's minor unit (fen)"},
    )
    budget_currency = ma.fields.String(validate=validate.OneOf(["CNY"]))
    budget_secret = ma.fields.Boolean(metadata={"description": "Hidden until the stage that opens the bid form"})
    submission_deadline_at = Instant(required=True)
    opening_at = Instant(required=True)
    min_bids = Integer(validate=validate.Range(min=1, max=100))
    evaluation_method = ma.fields.String(validate=validate.OneOf([m.value for m in EvaluationMethod]))
    criteria = ma.fields.Dict(metadata={"description": CRITERIA_RULES})
    envelopes = ma.fields.List(
        ma.fields.Dict(),
        validate=validate.Length(min=1, max=4),
        metadata={"description": "[{name, stage, form}]: default one envelope 'bid' at stage 1 carrying the form"},
    )
    bid_form_schema = ma.fields.Dict(metadata={"description": "JSON Schema 2020-12 (safe subset) of the bid form"})
    custody_mode = ma.fields.String(validate=validate.OneOf([m.value for m in CustodyMode]))
    custody_threshold = Integer(validate=validate.Range(min=1, max=16))
    custodian_ids = ma.fields.List(
        Integer(validate=validate.Range(min=1, max=2**31 - 1)), validate=validate.Length(max=15)
    )
    platform_holds_share = ma.fields.Boolean()
    max_bid_size = Integer(validate=validate.Range(min=1024, max=2**53 - 1))


class TenderUpdateArgs(TenderTermsArgs):
    """The same fields as a draft; only those given change (loaded with partial=True)."""


class DocumentOut(ma.Schema):
    id = Integer(required=True)
    name = ma.fields.String(required=True)
    sha256 = ma.fields.String(required=True)
    size = Integer(required=True)
    content_type = ma.fields.String(required=True)
    added_in_version = Integer(required=True)
    uploaded_at = Instant(required=True)


class TenderOut(ma.Schema):
    id = Integer(required=True)
    reference = ma.fields.String(required=True, allow_none=True)
    title = ma.fields.String(required=True)
    buyer = ma.fields.Nested(OrgRef, required=True)
    agency = ma.fields.Nested(OrgRef, required=True)
    category = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    budget_amount = Integer(required=True, allow_none=True, metadata={"description": "null when secret"})
    budget_currency = ma.fields.String(required=True)
    budget_secret = ma.fields.Boolean(required=True)
    submission_deadline_at = Instant(required=True)
    submission_deadline_local = ma.fields.String(required=True, metadata={"description": "In the center's zone"})
    opening_at = Instant(required=True)
    opening_local = ma.fields.String(required=True)
    time_zone = ma.fields.String(required=True)
    min_bids = Integer(required=True)
    evaluation_method = ma.fields.String(required=True)
    criteria = ma.fields.Dict(required=True)
    envelopes = ma.fields.List(ma.fields.Dict(), required=True)
    bid_form_schema = ma.fields.Dict(required=True)
    custody_mode = ma.fields.String(required=True)
    custody_threshold = Integer(required=True)
    custody_total = Integer(required=True, allow_none=True)
    max_bid_size = Integer(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf([s.value for s in TenderStatus]))
    open_for_bids = ma.fields.Boolean(required=True)
    version = Integer(required=True)
    published_at = Instant(required=True, allow_none=True)
    recipient = ma.fields.String(required=True, allow_none=True, metadata={"description": "age1… opening key"})
    current_stage = Integer(required=True)
    cancel_reason = ma.fields.String(required=True, allow_none=True)
    failure_reason = ma.fields.String(required=True, allow_none=True)
    documents = ma.fields.List(ma.fields.Nested(DocumentOut), required=True)


class TenderListArgs(ma.Schema):
    q = PlainText(validate=validate.Length(max=200))
    category = PlainText(validate=validate.Length(max=100))
    status = ma.fields.String(validate=validate.OneOf([s.value for s in TenderStatus if s is not TenderStatus.DRAFT]))
    page = QueryInteger(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = QueryInteger(load_default=20, validate=validate.Range(min=1, max=100))


class TenderPage(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TenderOut), required=True)
    total = Integer(required=True)
    page = Integer(required=True)
    per_page = Integer(required=True)


class DocumentQuery(ma.Schema):
    name = PlainText(required=True, validate=validate.Length(min=1, max=255))
    content_type = ma.fields.String(load_default="application/octet-stream", validate=validate.Length(max=255))
    text = PlainText(validate=validate.Length(max=5000), metadata={"description": "Amendment text (published)"})


class VersionOut(ma.Schema):
    number = Integer(required=True)
    kind = ma.fields.String(required=True)
    text = ma.fields.String(required=True)
    changes = ma.fields.Dict(required=True)
    deadline_pushed = ma.fields.Boolean(required=True)
    created_at = Instant(required=True)
    audit_index = Integer(required=True, allow_none=True)


class ClarificationArgs(ma.Schema):
    text = PlainText(required=True, validate=validate.Length(min=1, max=20_000))
    submission_deadline_at = Instant()
    opening_at = Instant()
    description = PlainText(validate=validate.Length(max=100_000))


class CancelArgs(ma.Schema):
    reason = PlainText(required=True, validate=validate.Length(min=1, max=5000))


class QuestionArgs(ma.Schema):
    text = PlainText(required=True, validate=validate.Length(min=1, max=5000))


class AnswerArgs(ma.Schema):
    answer = PlainText(required=True, validate=validate.Length(min=1, max=20_000))


class QuestionOut(ma.Schema):
    """A question and its answer; never who asked."""

    id = Integer(required=True)
    text = ma.fields.String(required=True)
    asked_at = Instant(required=True)
    answer = ma.fields.String(required=True, allow_none=True)
    answered_at = Instant(required=True, allow_none=True)


class InterestOut(ma.Schema):
    tender_id = Integer(required=True)
    registered_at = Instant(required=True)


class NotificationOut(ma.Schema):
    id = Integer(required=True)
    tender_id = Integer(required=True)
    kind = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    created_at = Instant(required=True)


class UploadCreateArgs(ma.Schema):
    envelope = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    size = Integer(required=True, validate=validate.Range(min=1, max=2**53 - 1))


class UploadOut(ma.Schema):
    id = ma.fields.String(required=True)
    tender_id = Integer(required=True)
    envelope = ma.fields.String(required=True)
    size = Integer(required=True)
    offset = Integer(required=True, attribute="received", metadata={"description": "Bytes stored so far"})
    status = ma.fields.Function(lambda u: u.status.value, required=True)
    expires_at = Instant(required=True)
    sha256 = ma.fields.String(required=True, allow_none=True)
    chunk_min = ma.fields.Function(
        lambda u: _chunk_limits()[0],
        required=True,
        metadata={"description": "Every chunk but the last must have at least this many bytes (5 MiB on S3)"},
    )
    chunk_max = ma.fields.Function(
        lambda u: _chunk_limits()[1], required=True, metadata={"description": "No chunk may have more bytes"}
    )


def _chunk_limits() -> tuple[int, int]:
    from app.tendering.services_bids import chunk_limits

    return chunk_limits()


class SubmitArgs(ma.Schema):
    uploads = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(min=1, max=40)),
        values=ma.fields.String(validate=validate.Length(min=1, max=32)),
        required=True,
        validate=validate.Length(min=1, max=4),
        metadata={"description": "Envelope name → completed upload id"},
    )


class SignatureOut(ma.Schema):
    alg = ma.fields.String(required=True)
    key_id = ma.fields.String(required=True)
    sig = ma.fields.String(required=True)


class SignedDocumentOut(ma.Schema):
    """A signed document: `sig` is Ed25519 over the canonical JSON of `payload`."""

    payload = ma.fields.Dict(required=True)
    signature = ma.fields.Nested(SignatureOut, required=True)


class EnvelopeOut(ma.Schema):
    name = ma.fields.String(required=True)
    stage = Integer(required=True)
    sha256 = ma.fields.String(required=True)
    size = Integer(required=True)
    outcome = ma.fields.Function(lambda e: e.outcome.value, required=True)
    failure_cause = ma.fields.String(required=True, allow_none=True)
    opened_with = ma.fields.String(required=True, allow_none=True)
    form = ma.fields.Dict(required=True, allow_none=True)
    files = ma.fields.List(ma.fields.Dict(), required=True, allow_none=True)


class BidVersionOut(ma.Schema):
    number = Integer(required=True)
    kind = ma.fields.String(required=True)
    received_at = Instant(required=True)
    audit_index = Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Evidence-log entry of the receipt's batch; null until the batch is logged"},
    )
    leaf_index = Integer(required=True, allow_none=True, metadata={"description": "The receipt's leaf in that batch"})
    receipt = ma.fields.Nested(SignedDocumentOut, required=True)
    proof = ma.fields.Dict(
        required=True,
        allow_none=True,
        metadata={
            "description": "Two-level inclusion proof (platform-bid-receipt-proof/v1): commitment → batch root → "
            "signed checkpoint; check with `python -m crypto verify-receipt`. Null until the next batch."
        },
    )
    envelopes = ma.fields.List(ma.fields.Nested(EnvelopeOut), required=True)


class BidOut(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "The bid's public id: 128 random bits"})
    tender_id = Integer(required=True)
    organisation = ma.fields.Nested(OrgRef, required=True)
    withdrawn = ma.fields.Boolean(required=True)
    outcome = ma.fields.String(required=True)
    outcome_cause = ma.fields.String(required=True, allow_none=True)
    versions = ma.fields.List(ma.fields.Nested(BidVersionOut), required=True)


class CustodyDutyOut(ma.Schema):
    tender_id = Integer(required=True)
    reference = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    opening_at = Instant(required=True)
    share_index = Integer(required=True)
    downloaded_at = Instant(required=True, allow_none=True)
    submitted_at = Instant(required=True, allow_none=True)


class ShareOut(ma.Schema):
    share = ma.fields.String(required=True, metadata={"description": "SCP-SHARE-1:… — shown this once"})


class ShareArgs(ma.Schema):
    share = ma.fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ShareStateOut(ma.Schema):
    present = Integer(required=True, metadata={"description": "Custodian shares brought so far"})
    threshold = Integer(required=True)


class FileKeyArgs(ma.Schema):
    envelope = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    file_key = ma.fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-fA-F]{32}$"),
        metadata={"description": "The envelope's 16-byte age file key, in hex"},
    )


class AdvanceArgs(ma.Schema):
    eliminated = ma.fields.List(
        ma.fields.String(validate=validate.Regexp(r"^[a-z2-7]{26}$", error="not a bid id")),
        load_default=list,
        validate=validate.Length(max=1000),
    )
    reason = PlainText(load_default="", validate=validate.Length(max=5000))
