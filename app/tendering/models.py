"""Tenders, their versions, documents, questions and custody shares; sealed bids, uploads and the opening record."""

from __future__ import annotations

import base64
import enum
import re
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc


def new_public_id() -> str:
    """26 characters of lowercase base32: 128 random bits, unrelated to anything else on the platform."""
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


PUBLIC_ID_LENGTH = 26
_PUBLIC_ID = re.compile(r"[a-z2-7]{26}")


def is_public_id(value: object) -> bool:
    """Whether `value` is spelled like a public id (26 characters [a-z2-7]): anything else names no bid."""
    return isinstance(value, str) and _PUBLIC_ID.fullmatch(value) is not None


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class TenderStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"  # open for bids until the deadline (derived), then waiting for the opening
    OPENING = "opening"  # opening time reached: envelopes are being decrypted stage by stage
    OPENED = "opened"  # every stage opened, enough valid bids: evaluation may start
    FAILED = "failed"  # 流标: fewer valid bids than the minimum
    CANCELLED = "cancelled"
    AWARDED = "awarded"  # the award notice is issued (app.evaluation): closed


class EvaluationMethod(enum.StrEnum):
    COMPREHENSIVE = "comprehensive"  # 综合评估法
    LOWEST_EVALUATED_PRICE = "lowest_evaluated_price"  # 经评审的最低投标价法


class CustodyMode(enum.StrEnum):
    TIMED = "timed"  # the platform's escrowed share opens automatically at the opening time
    COMMITTEE = "committee"  # k-of-n named custodians bring their shares to the opening


class Tender(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "tenders"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Amounts are integers in the currency's minor unit (fen): floats are never signed or compared.
    budget_amount: Mapped[int | None] = mapped_column(BigInteger)
    budget_currency: Mapped[str] = mapped_column(String(3), default="CNY")
    budget_secret: Mapped[bool] = mapped_column(Boolean, default=False)
    submission_deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opening_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    min_bids: Mapped[int] = mapped_column(Integer, default=3)
    evaluation_method: Mapped[EvaluationMethod] = mapped_column(_enum(EvaluationMethod))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    envelopes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    bid_form_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    custody_mode: Mapped[CustodyMode] = mapped_column(_enum(CustodyMode), default=CustodyMode.TIMED)
    custody_threshold: Mapped[int] = mapped_column(Integer, default=1)
    custodian_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    platform_holds_share: Mapped[bool] = mapped_column(Boolean, default=True)
    max_bid_size: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[TenderStatus] = mapped_column(_enum(TenderStatus), default=TenderStatus.DRAFT, index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)  # terms version; 1 at publication
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The opening identity: public recipient, and the secret sealed under a k-of-n split key (crypto.custody).
    recipient: Mapped[str | None] = mapped_column(String(100))
    escrow_context: Mapped[str | None] = mapped_column(String(200))
    escrow_total: Mapped[int | None] = mapped_column(Integer)
    escrow_nonce: Mapped[bytes | None] = mapped_column(LargeBinary(12))
    escrow_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    custody_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Opening progress: the stage being opened (0 before the opening) and when it started.
    current_stage: Mapped[int] = mapped_column(Integer, default=0)
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opening_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str | None] = mapped_column(Text)

    buyer: Mapped[Any] = relationship("Organisation", foreign_keys=[buyer_id])
    agency: Mapped[Any] = relationship("Organisation", foreign_keys=[agency_id])
    documents: Mapped[list[TenderDocument]] = relationship(back_populates="tender", order_by="TenderDocument.id")
    versions: Mapped[list[TenderVersion]] = relationship(back_populates="tender", order_by="TenderVersion.number")

    @property
    def audit_ref(self) -> str:
        return f"tender:{self.id}"

    @property
    def stage_count(self) -> int:
        return max((int(e["stage"]) for e in self.envelopes), default=1)

    def envelope_names(self, stage: int | None = None) -> list[str]:
        return [str(e["name"]) for e in self.envelopes if stage is None or int(e["stage"]) == stage]

    def form_envelope(self) -> str:
        return next(str(e["name"]) for e in self.envelopes if e.get("form"))

    def stage_of(self, envelope: str) -> int:
        return next(int(e["stage"]) for e in self.envelopes if e["name"] == envelope)


class TenderDocument(db.Model):  # type: ignore[name-defined,misc]
    """A tender document: stored once under a fresh key, never overwritten, identified by its SHA-256."""

    __tablename__ = "tender_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    added_in_version: Mapped[int] = mapped_column(Integer, default=0)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    tender: Mapped[Tender] = relationship(back_populates="documents")


class TenderVersion(db.Model):  # type: ignore[name-defined,misc]
    """Version 1 is the publication; each clarification or amendment is a new version with what it changed."""

    __tablename__ = "tender_versions"
    __table_args__ = (UniqueConstraint("tender_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # publication | clarification | amendment | cancellation
    text: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deadline_pushed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    audit_index: Mapped[int | None] = mapped_column(BigInteger)

    tender: Mapped[Tender] = relationship(back_populates="versions")


class TenderQuestion(db.Model):  # type: ignore[name-defined,misc]
    """A bidder's question. Who asked is kept for the record but never shown, not even to the agency."""

    __tablename__ = "tender_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TenderInterest(db.Model):  # type: ignore[name-defined,misc]
    """A bidder's user who registered interest: notified of clarifications, amendments and cancellation."""

    __tablename__ = "tender_interests"
    __table_args__ = (UniqueConstraint("tender_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # The batched evidence-log commitment SHA-256(nonce ‖ canonical {tender, user, organisation, registered_at}).
    commitment: Mapped[str | None] = mapped_column(String(64))
    nonce: Mapped[str | None] = mapped_column(String(64))


class TenderNotification(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "tender_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CustodyShare(db.Model):  # type: ignore[name-defined,misc]
    """One share of a tender's opening key: the platform's (time-gated) or a named custodian's.

    `wrapped` holds the share under the master key until it is released (platform) or downloaded once
    (custodian, then erased). `submitted` holds a custodian's share brought to the opening, again wrapped.
    """

    __tablename__ = "tender_custody_shares"
    __table_args__ = (UniqueConstraint("tender_id", "share_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    share_index: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(20))  # platform | custodian
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    share_sha256: Mapped[str] = mapped_column(String(64))  # of the share text: identifies a wrong share at once
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted: Mapped[bytes | None] = mapped_column(LargeBinary)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UploadStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"  # assembled into the write-once sealed-bids bucket
    USED = "used"  # part of a submitted bid version
    EXPIRED = "expired"


class UploadSession(db.Model):  # type: ignore[name-defined,misc]
    """A resumable upload of one sealed envelope: chunks at byte offsets, then assembled and checked."""

    __tablename__ = "tender_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    envelope: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[UploadStatus] = mapped_column(_enum(UploadStatus), default=UploadStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    object_key: Mapped[str | None] = mapped_column(String(300))
    sha256: Mapped[str | None] = mapped_column(String(64))
    # The storage assembly the chunks are appended to, and the SHA-256 state after `received` bytes.
    assembly: Mapped[str | None] = mapped_column(String(1100))
    hash_state: Mapped[str | None] = mapped_column(String(200))

    parts: Mapped[list[UploadPart]] = relationship(order_by="UploadPart.offset")


class UploadPart(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "tender_upload_parts"
    __table_args__ = (UniqueConstraint("upload_id", "offset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[str] = mapped_column(ForeignKey("tender_uploads.id"), index=True)
    offset: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300))
    part: Mapped[str | None] = mapped_column(String(300))  # the storage's receipt for the chunk (S3 part and ETag)


class BidOutcome(enum.StrEnum):
    PENDING = "pending"
    VALID = "valid"
    REVOKED = "revoked"  # 撤销: failed to open or validate through the bidder's fault
    WITHDRAWN = "withdrawn"  # 撤回: failed for a cause outside the bidder's control, or withdrawn by the bidder
    ELIMINATED = "eliminated"  # not admitted to a later stage by the stage review


class Bid(db.Model):  # type: ignore[name-defined,misc]
    """One organisation's bid on a tender. Versions keep every submission; only the current one counts."""

    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("tender_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # internal: a global sequence, never shown
    # The bid's only outside name (receipts, URLs, answers, records): 128 random bits, so it counts nothing.
    public_id: Mapped[str] = mapped_column(String(26), unique=True, default=new_public_id)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    current_version_id: Mapped[int | None] = mapped_column(ForeignKey("bid_versions.id", use_alter=True))
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    outcome: Mapped[BidOutcome] = mapped_column(_enum(BidOutcome), default=BidOutcome.PENDING)
    outcome_cause: Mapped[str | None] = mapped_column(Text)
    outcome_stage: Mapped[int | None] = mapped_column(Integer)

    organisation: Mapped[Any] = relationship("Organisation")
    versions: Mapped[list[BidVersion]] = relationship(
        back_populates="bid", order_by="BidVersion.number", foreign_keys="BidVersion.bid_id"
    )
    current_version: Mapped[BidVersion | None] = relationship(foreign_keys=[current_version_id], post_update=True)


class BidVersion(db.Model):  # type: ignore[name-defined,misc]
    """A submission (its envelopes) or a withdrawal, with the signed receipt the bidder got."""

    __tablename__ = "bid_versions"
    __table_args__ = (UniqueConstraint("bid_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # submission | withdrawal
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Version 1 receipts had an evidence-log entry of their own; later ones are a leaf of a batch (app.audit.batches).
    audit_index: Mapped[int | None] = mapped_column(BigInteger)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)

    bid: Mapped[Bid] = relationship(back_populates="versions", foreign_keys=[bid_id])
    envelopes: Mapped[list[BidEnvelope]] = relationship(back_populates="version", order_by="BidEnvelope.id")


class EnvelopeOutcome(enum.StrEnum):
    SEALED = "sealed"
    OPENED = "opened"
    FAILED = "failed"


class BidEnvelope(db.Model):  # type: ignore[name-defined,misc]
    """One sealed envelope of a bid version; after its stage's opening, where its plaintext went and what it held."""

    __tablename__ = "bid_envelopes"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("bid_versions.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    stage: Mapped[int] = mapped_column(Integer)
    upload_id: Mapped[str] = mapped_column(ForeignKey("tender_uploads.id"), index=True)
    object_key: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[EnvelopeOutcome] = mapped_column(_enum(EnvelopeOutcome), default=EnvelopeOutcome.SEALED)
    failure_cause: Mapped[str | None] = mapped_column(Text)
    bidder_fault: Mapped[bool | None] = mapped_column(Boolean)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_with: Mapped[str | None] = mapped_column(String(20))  # tender-key | file-key
    revealed_key: Mapped[bytes | None] = mapped_column(LargeBinary)  # the bidder's file key, under the master key
    plaintext_key: Mapped[str | None] = mapped_column(String(300))
    plaintext_sha256: Mapped[str | None] = mapped_column(String(64))
    plaintext_size: Mapped[int | None] = mapped_column(BigInteger)
    form: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    files: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    version: Mapped[BidVersion] = relationship(back_populates="envelopes")


class OpeningRecord(db.Model):  # type: ignore[name-defined,misc]
    """开标记录 of one stage: signed by the platform, published to participants once all decryption is done."""

    __tablename__ = "tender_opening_records"
    __table_args__ = (UniqueConstraint("tender_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    stage: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    audit_index: Mapped[int] = mapped_column(BigInteger)


class OpeningMessage(db.Model):  # type: ignore[name-defined,misc]
    """An objection (异议) or a question a bidder raises during the opening, and the host's answer (不见面开标)."""

    __tablename__ = "tender_opening_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # objection | question
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    audit_index: Mapped[int] = mapped_column(BigInteger)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_audit_index: Mapped[int | None] = mapped_column(BigInteger)

    organisation: Mapped[Any] = relationship("Organisation")


class OpeningConfirmation(db.Model):  # type: ignore[name-defined,misc]
    """A bidder's signed answer to a stage's opening record: confirmed, or disputed with its reasons."""

    __tablename__ = "tender_opening_confirmations"
    __table_args__ = (UniqueConstraint("record_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("tender_opening_records.id"), index=True)
    stage: Mapped[int] = mapped_column(Integer)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(20))  # confirmed | disputed
    reason: Mapped[str | None] = mapped_column(Text)
    record_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    audit_index: Mapped[int] = mapped_column(BigInteger)
    signed: Mapped[dict[str, Any]] = mapped_column(JSON)  # the platform-signed confirmation document

    organisation: Mapped[Any] = relationship("Organisation")
