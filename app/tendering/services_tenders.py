"""Tender lifecycle: draft, documents, publication with key custody, clarifications, questions, cancellation.

Every function flushes and never commits; every change writes an evidence-log entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import IO, Any

from sqlalchemy import func, or_, select

from app.accounts.models import Organisation, User
from app.audit import record
from app.audit.services import format_instant
from app.core.db import LIKE_ESCAPE, db, is_valid_id, like_pattern
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.fields import require_instant
from app.core.keys import master_key
from app.core.problems import N_
from app.core.time import now_utc
from app.tendering import terms
from app.tendering.common import (
    AccessRefused,
    config_days,
    config_value,
    store_document,
)
from app.tendering.models import (
    CustodyMode,
    CustodyShare,
    EvaluationMethod,
    Tender,
    TenderDocument,
    TenderInterest,
    TenderNotification,
    TenderStatus,
    TenderVersion,
)
from crypto.age import X25519Identity
from crypto.canonical import canonicalize
from crypto.custody import MAX_SHARES, seal_secret, wrap_share

EDITABLE_FIELDS = (
    "title",
    "buyer_id",
    "category",
    "description",
    "budget_amount",
    "budget_currency",
    "budget_secret",
    "submission_deadline_at",
    "opening_at",
    "min_bids",
    "evaluation_method",
    "criteria",
    "envelopes",
    "bid_form_schema",
    "custody_mode",
    "custody_threshold",
    "custodian_ids",
    "platform_holds_share",
    "max_bid_size",
)
PUBLIC_STATUSES = (
    TenderStatus.PUBLISHED,
    TenderStatus.OPENING,
    TenderStatus.OPENED,
    TenderStatus.FAILED,
    TenderStatus.CANCELLED,
    TenderStatus.AWARDED,
)


def _instant(value: datetime | None) -> str | None:
    return format_instant(value) if value is not None else None


def is_open_for_bids(tender: Tender, at: datetime | None = None) -> bool:
    """Derived, never stored: published and the deadline not reached by the server clock."""
    return tender.status is TenderStatus.PUBLISHED and (at or now_utc()) < tender.submission_deadline_at


def is_manager_of(user: Any, tender: Tender) -> bool:
    org = getattr(user, "organisation_id", None)
    return bool(org is not None and org == tender.agency_id and user.has_permission("tendering.manage"))


def _require_manager(actor: User, tender: Tender) -> None:
    if not is_manager_of(actor, tender):
        raise AccessRefused(
            N_("Only the tendering agency that drafted this tender may manage it."),
            actor=actor,
            subject=tender.audit_ref,
            data={"attempt": "manage"},
        )


# --- reading -----------------------------------------------------------------------------------------


def get_tender(tender_id: int, viewer: Any = None) -> Tender:
    """A tender the viewer may see: any published one; a draft only for its own agency. Raises NotFound."""
    tender = db.session.get(Tender, tender_id) if is_valid_id(tender_id) else None
    if tender is None:
        raise NotFound(N_("No such tender."))
    if tender.status is TenderStatus.DRAFT and not (
        viewer is not None and getattr(viewer, "is_authenticated", False) and is_manager_of(viewer, tender)
    ):
        raise NotFound(N_("No such tender."))
    return tender


def managed_tender(actor: User, tender_id: int) -> Tender:
    """A tender of the actor's agency: drafts of others are not found, others' tenders are refused (logged)."""
    tender = get_tender(tender_id, actor)
    _require_manager(actor, tender)
    return tender


def list_tenders(
    *, q: str | None = None, category: str | None = None, status: str | None = None, page: int = 1, per_page: int = 20
) -> tuple[list[Tender], int]:
    """Published (and later) tenders, newest first, filtered by text, category and status; with the total."""
    stmt = select(Tender).where(Tender.status.in_(PUBLIC_STATUSES))
    if q:
        pattern = like_pattern(q.lower())
        stmt = stmt.where(
            or_(
                func.lower(Tender.title).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Tender.description).like(pattern, escape=LIKE_ESCAPE),
                func.lower(Tender.reference).like(pattern, escape=LIKE_ESCAPE),
            )
        )
    if category:
        stmt = stmt.where(Tender.category == category)
    if status:
        stmt = stmt.where(Tender.status == TenderStatus(status))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Tender.published_at.desc(), Tender.id.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    return list(rows), int(total)


def list_agency_tenders(actor: User) -> list[Tender]:
    if actor.organisation_id is None:
        return []
    return list(db.session.scalars(select(Tender).where(Tender.agency_id == actor.organisation_id).order_by(Tender.id)))


# --- drafting ----------------------------------------------------------------------------------------


def _check_custodians(ids: Any) -> list[int]:
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValidationFailed(N_("custodians are a list of user ids"), errors={"custodian_ids": ["invalid"]})
    if len(set(ids)) != len(ids):
        raise ValidationFailed(N_("a custodian is named twice"), errors={"custodian_ids": ["duplicate"]})
    if ids:
        found = set(db.session.scalars(select(User.id).where(User.id.in_(ids), User.active.is_(True))))
        missing = sorted(set(ids) - found)
        if missing:
            raise ValidationFailed(N_("unknown or inactive custodians"), errors={"custodian_ids": missing})
    return list(ids)


def _apply(tender: Tender, data: dict[str, Any]) -> None:
    """Set the given fields, then check the whole draft for consistency."""
    previous_buyer = tender.buyer_id
    for key in EDITABLE_FIELDS:
        if key in data:
            setattr(tender, key, data[key])
    buyer = db.session.get(Organisation, tender.buyer_id)
    if buyer is None:
        raise ValidationFailed(N_("unknown buyer organisation"), errors={"buyer_id": ["unknown"]})
    if not buyer.active and tender.buyer_id != previous_buyer:  # a draft may keep a buyer deactivated since
        raise ValidationFailed(N_("the buyer organisation is deactivated"), errors={"buyer_id": ["inactive"]})
    method = EvaluationMethod(tender.evaluation_method)
    tender.evaluation_method = method
    tender.custody_mode = CustodyMode(tender.custody_mode)
    if "criteria" in data or tender.criteria is None:
        tender.criteria = terms.validate_criteria(method, data.get("criteria"))
    elif "evaluation_method" in data:
        tender.criteria = terms.validate_criteria(method, tender.criteria)
    if "envelopes" in data or tender.envelopes is None:
        tender.envelopes = terms.validate_envelopes(data.get("envelopes"))
    if "bid_form_schema" in data or tender.bid_form_schema is None:
        tender.bid_form_schema = terms.validate_bid_form_schema(data.get("bid_form_schema"))
    if tender.max_bid_size is None:
        tender.max_bid_size = int(config_value("TENDER_DEFAULT_MAX_BID_SIZE"))
    limit = int(config_value("TENDER_MAX_BID_SIZE_LIMIT"))
    if not 1024 <= tender.max_bid_size <= limit:
        raise ValidationFailed(
            N_("the maximum bid size must be between 1 KiB and %(limit)s bytes"),
            params={"limit": limit},
            errors={"max_bid_size": ["range"]},
        )
    for field in ("submission_deadline_at", "opening_at"):
        value = getattr(tender, field)
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationFailed(N_("times need a time zone"), errors={field: ["naive"]})
        setattr(tender, field, require_instant(value, field))
    if tender.opening_at < tender.submission_deadline_at:
        raise ValidationFailed(N_("the opening cannot come before the deadline"), errors={"opening_at": ["early"]})
    if not 1 <= tender.min_bids <= 100:
        raise ValidationFailed(N_("the minimum number of bids is 1 to 100"), errors={"min_bids": ["range"]})
    if tender.budget_amount is not None and tender.budget_amount < 0:
        raise ValidationFailed(N_("the budget cannot be negative"), errors={"budget_amount": ["negative"]})
    tender.custodian_ids = _check_custodians(tender.custodian_ids or [])
    if tender.custody_mode is CustodyMode.COMMITTEE:
        n = len(tender.custodian_ids) + (1 if tender.platform_holds_share else 0)
        k = tender.custody_threshold
        if not tender.custodian_ids or n > MAX_SHARES:
            raise ValidationFailed(
                N_("committee custody needs 1 to %(limit)s named custodians"),
                params={"limit": MAX_SHARES - 1},
                errors={"custodian_ids": ["count"]},
            )
        if not 1 <= k <= n or (tender.platform_holds_share and k < 2):
            raise ValidationFailed(
                N_("k must be between 1 and n, and at least 2 when the platform holds a share"),
                errors={"custody_threshold": ["range"]},
            )
    else:
        tender.custodian_ids = []
        tender.custody_threshold = 1


def create_tender(*, actor: User, data: dict[str, Any]) -> Tender:
    """Draft a tender for the actor's agency. Raises ValidationFailed for inconsistent terms."""
    if actor.organisation_id is None:
        raise ValidationFailed(N_("Your account belongs to no agency organisation."), errors={"organisation": ["none"]})
    tender = Tender(
        agency_id=actor.organisation_id,
        created_by_id=actor.id,
        status=TenderStatus.DRAFT,
        created_at=now_utc(),
        description="",
        budget_currency="CNY",
        budget_secret=False,
        min_bids=3,
        evaluation_method=EvaluationMethod.COMPREHENSIVE,
        custody_mode=CustodyMode.TIMED,
        custody_threshold=1,
        custodian_ids=[],
        platform_holds_share=True,
        version=0,
        current_stage=0,
    )
    _apply(tender, data)
    db.session.add(tender)
    db.session.flush()
    tender.reference = f"ZB{tender.created_at:%Y}{tender.id:06d}"
    db.session.flush()
    record("tendering.tender.drafted", actor=actor, subject=tender.audit_ref, data={"title": tender.title})
    return tender


def update_tender(*, actor: User, tender: Tender, data: dict[str, Any]) -> Tender:
    """Edit a draft. Published terms are frozen: they change only through clarify_tender (Conflict)."""
    _require_manager(actor, tender)
    if tender.status is not TenderStatus.DRAFT:
        raise Conflict(N_("Published terms are frozen; issue a clarification instead."))
    _apply(tender, data)
    db.session.flush()
    record("tendering.tender.updated", actor=actor, subject=tender.audit_ref, data={"fields": sorted(data)})
    return tender


def add_document(
    *, actor: User, tender: Tender, name: str, stream: IO[bytes], length: int | None, content_type: str, text: str = ""
) -> TenderDocument:
    """Store a tender document under a fresh key (never overwritten) with its SHA-256.

    On a published tender this is an amendment: a new version, pushing a late deadline like any clarification.
    """
    _require_manager(actor, tender)
    if tender.status not in (TenderStatus.DRAFT, TenderStatus.PUBLISHED) or (
        tender.status is TenderStatus.PUBLISHED and not is_open_for_bids(tender)
    ):
        raise Conflict(N_("Documents can be added to a draft, or to a published tender before its deadline."))
    limit = int(config_value("TENDER_MAX_DOCUMENT_SIZE"))
    key = f"tenders/{tender.id}/{uuid.uuid4().hex}"
    tender_id, version = tender.id, tender.version
    info = store_document(
        key,
        name=name,
        stream=stream,
        length=length,
        content_type=content_type,
        limit=limit,
        too_large=ValidationFailed(N_("a tender document may have at most %(limit)s bytes"), params={"limit": limit}),
    )
    db.session.refresh(tender)
    if tender.version != version or tender.status not in (TenderStatus.DRAFT, TenderStatus.PUBLISHED):
        raise Conflict(N_("The tender changed while the document was uploading; upload it again."))
    doc = TenderDocument(
        tender_id=tender_id,
        name=name,
        object_key=key,
        sha256=info.sha256,
        size=info.size,
        content_type=content_type,
        uploaded_at=now_utc(),
        added_in_version=tender.version,
    )
    db.session.add(doc)
    db.session.flush()
    record(
        "tendering.tender.document_added",
        actor=actor,
        subject=tender.audit_ref,
        data={"document_id": doc.id, "name": name, "sha256": info.sha256, "size": info.size},
    )
    if tender.status is TenderStatus.PUBLISHED:
        clarify_tender(
            actor=actor, tender=tender, text=text or f"Document added: {name}", kind="amendment", documents=[doc]
        )
    return doc


def get_document(tender: Tender, document_id: int) -> TenderDocument:
    doc = db.session.get(TenderDocument, document_id) if is_valid_id(document_id) else None
    if doc is None or doc.tender_id != tender.id:
        raise NotFound(N_("No such document."))
    return doc


# --- publication and custody -------------------------------------------------------------------------


def terms_snapshot(tender: Tender) -> dict[str, Any]:
    """The frozen terms as canonical-JSON-ready data: what a version's hash covers."""
    return {
        "reference": tender.reference,
        "title": tender.title,
        "buyer_id": tender.buyer_id,
        "agency_id": tender.agency_id,
        "category": tender.category,
        "description": tender.description,
        "budget_amount": tender.budget_amount,
        "budget_currency": tender.budget_currency,
        "budget_secret": tender.budget_secret,
        "submission_deadline_at": _instant(tender.submission_deadline_at),
        "opening_at": _instant(tender.opening_at),
        "min_bids": tender.min_bids,
        "evaluation_method": tender.evaluation_method.value,
        "criteria": tender.criteria,
        "envelopes": tender.envelopes,
        "bid_form_schema": tender.bid_form_schema,
        "custody_mode": tender.custody_mode.value,
        "custody_threshold": tender.custody_threshold,
        "custodian_ids": tender.custodian_ids,
        "platform_holds_share": tender.platform_holds_share,
        "max_bid_size": tender.max_bid_size,
        "recipient": tender.recipient,
        "documents": [{"id": d.id, "name": d.name, "sha256": d.sha256, "size": d.size} for d in tender.documents],
    }


def terms_sha256(tender: Tender) -> str:
    return hashlib.sha256(canonicalize(terms_snapshot(tender))).hexdigest()


def publish_tender(*, actor: User, tender: Tender) -> Tender:
    """Freeze the terms, generate the opening identity and seal it under k-of-n custody; publish.

    Timed custody: one share, held by the platform under the master key until the opening time.
    Committee custody: one share per named custodian (each downloadable once), plus the platform's when asked.
    Raises Conflict when not a draft, ValidationFailed when the deadline is too close.
    """
    _require_manager(actor, tender)
    if tender.status is not TenderStatus.DRAFT:
        raise Conflict(N_("Only a draft can be published."))
    now = now_utc()
    minimum = now + config_days("TENDER_MIN_DAYS_TO_DEADLINE")
    if tender.submission_deadline_at < minimum:
        raise ValidationFailed(
            N_("the deadline must be at least %(days)s days after publication"),
            params={"days": config_value("TENDER_MIN_DAYS_TO_DEADLINE")},
            errors={"submission_deadline_at": ["too-soon"]},
        )
    if not tender.documents:
        raise ValidationFailed(N_("publish the tender documents with the tender"), errors={"documents": ["none"]})
    identity = X25519Identity.generate()
    recipient = str(identity.recipient)
    context = f"{tender.reference}.{recipient}"
    if tender.custody_mode is CustodyMode.TIMED:
        holders: list[tuple[str, int | None]] = [("platform", None)]
        threshold = 1
    else:
        holders = [("custodian", uid) for uid in tender.custodian_ids]
        if tender.platform_holds_share:
            holders.append(("platform", None))
        threshold = tender.custody_threshold
    escrow, shares = seal_secret(
        identity.secret_string().encode(), context=context, threshold=threshold, total=len(holders)
    )
    del identity  # the secret now exists only sealed
    for (holder, user_id), share in zip(holders, shares, strict=True):
        db.session.add(
            CustodyShare(
                tender_id=tender.id,
                share_index=share.index,
                holder=holder,
                user_id=user_id,
                share_sha256=hashlib.sha256(share.to_text().encode()).hexdigest(),
                wrapped=wrap_share(share, master_key()),
            )
        )
    tender.recipient = recipient
    tender.escrow_context = escrow.context
    tender.escrow_total = escrow.total
    tender.custody_threshold = escrow.threshold
    tender.escrow_nonce = escrow.nonce
    tender.escrow_ciphertext = escrow.ciphertext
    tender.status = TenderStatus.PUBLISHED
    tender.published_at = now
    tender.version = 1
    db.session.flush()
    digest = terms_sha256(tender)
    entry = record(
        "tendering.tender.published",
        actor=actor,
        subject=tender.audit_ref,
        data={
            "reference": tender.reference,
            "recipient": recipient,
            "terms_sha256": digest,
            "submission_deadline_at": _instant(tender.submission_deadline_at),
            "opening_at": _instant(tender.opening_at),
            "custody": {"mode": tender.custody_mode.value, "k": escrow.threshold, "n": escrow.total},
        },
    )
    db.session.add(
        TenderVersion(
            tender_id=tender.id,
            number=1,
            kind="publication",
            text="",
            changes={"terms_sha256": digest},
            created_at=now,
            audit_index=entry.index,
        )
    )
    db.session.flush()
    return tender


# --- clarifications, cancellation, interest, questions -----------------------------------------------


def notify_interested(tender: Tender, kind: str, message: str) -> int:
    users = list(db.session.scalars(select(TenderInterest.user_id).where(TenderInterest.tender_id == tender.id)))
    for user_id in users:
        db.session.add(
            TenderNotification(user_id=user_id, tender_id=tender.id, kind=kind, message=message, created_at=now_utc())
        )
    return len(users)


def clarify_tender(
    *,
    actor: User,
    tender: Tender,
    text: str,
    submission_deadline_at: datetime | None = None,
    opening_at: datetime | None = None,
    description: str | None = None,
    kind: str = "clarification",
    documents: list[TenderDocument] | None = None,
) -> TenderVersion:
    """Issue a clarification or amendment as a new version; notify interested bidders.

    A late one pushes the deadline (and the opening by as much) so that at least TENDER_LATE_CLARIFICATION_DAYS
    remain. Deadlines may be extended, never shortened. Raises Conflict outside the bidding period.
    """
    _require_manager(actor, tender)
    if not is_open_for_bids(tender):
        raise Conflict(N_("Clarifications are issued while the tender is open for bids."))
    if not text.strip():
        raise ValidationFailed(N_("a clarification needs its text"), errors={"text": ["required"]})
    now = now_utc()
    old_deadline, old_opening = tender.submission_deadline_at, tender.opening_at
    if submission_deadline_at is not None:
        submission_deadline_at = require_instant(submission_deadline_at, "submission_deadline_at")
    if opening_at is not None:
        opening_at = require_instant(opening_at, "opening_at")
    deadline = submission_deadline_at or old_deadline
    if deadline < old_deadline:
        raise ValidationFailed(
            N_("a deadline can be extended, not shortened"), errors={"submission_deadline_at": ["early"]}
        )
    minimum = now + config_days("TENDER_LATE_CLARIFICATION_DAYS")
    pushed = deadline < minimum
    if pushed:
        deadline = minimum
    opening = opening_at or (old_opening + (deadline - old_deadline))
    if opening < deadline or opening < old_opening:
        raise ValidationFailed(N_("the opening cannot come before the deadline"), errors={"opening_at": ["early"]})
    changes: dict[str, Any] = {}
    if deadline != old_deadline:
        changes["submission_deadline_at"] = [_instant(old_deadline), _instant(deadline)]
        tender.submission_deadline_at = deadline
    if opening != old_opening:
        changes["opening_at"] = [_instant(old_opening), _instant(opening)]
        tender.opening_at = opening
    if description is not None and description != tender.description:
        changes["description"] = hashlib.sha256(description.encode()).hexdigest()
        tender.description = description
    if documents:
        changes["documents"] = [{"id": d.id, "name": d.name, "sha256": d.sha256} for d in documents]
    tender.version += 1
    db.session.flush()
    changes["terms_sha256"] = terms_sha256(tender)
    entry = record(
        f"tendering.tender.{kind}",
        actor=actor,
        subject=tender.audit_ref,
        data={"version": tender.version, "text": text, "changes": changes, "deadline_pushed": pushed},
    )
    version = TenderVersion(
        tender_id=tender.id,
        number=tender.version,
        kind=kind,
        text=text,
        changes=changes,
        deadline_pushed=pushed,
        created_at=now,
        audit_index=entry.index,
    )
    db.session.add(version)
    notify_interested(tender, kind, f"{tender.reference}: {kind} {tender.version}: {text[:500]}")
    db.session.flush()
    return version


def cancel_tender(*, actor: User, tender: Tender, reason: str) -> Tender:
    """Cancel a published tender before its opening time, with a reason; bids stay sealed. Raises Conflict after."""
    _require_manager(actor, tender)
    if not reason.strip():
        raise ValidationFailed(N_("a cancellation needs its reason"), errors={"reason": ["required"]})
    if tender.status not in (TenderStatus.DRAFT, TenderStatus.PUBLISHED) or now_utc() >= tender.opening_at:
        raise Conflict(N_("A tender can be cancelled only before its opening."))
    tender.status = TenderStatus.CANCELLED
    tender.cancelled_at = now_utc()
    tender.cancel_reason = reason
    tender.closed_at = tender.cancelled_at
    tender.version += 1
    db.session.flush()
    entry = record("tendering.tender.cancelled", actor=actor, subject=tender.audit_ref, data={"reason": reason})
    db.session.add(
        TenderVersion(
            tender_id=tender.id,
            number=tender.version,
            kind="cancellation",
            text=reason,
            changes={},
            created_at=tender.cancelled_at,
            audit_index=entry.index,
        )
    )
    notify_interested(tender, "cancellation", f"{tender.reference}: cancelled: {reason[:500]}")
    db.session.flush()
    return tender
