"""Sealed bid submission: resumable chunked uploads, age-header checks, signed receipts, withdrawal, access rules.

Before the opening nobody but the bidder itself can list, count, read or download a bid: every other
attempt raises AccessRefused, which is logged as `access.denied`. Evidence-log entries of bidders'
actions name no bidder (actor "sealed-bidder"): they carry the receipt's commitment, which only the
receipt holder can connect to the entry until the opening record publishes the link.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.audit import record
from app.audit.services import checkpoint_document, format_instant, latest_checkpoint
from app.core.db import after_commit, db
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.keys import platform_signing_key
from app.core.storage import SEALED_BIDS, UPLOADS, WriteOnceViolation, get_storage
from app.core.time import now_utc
from app.tendering.common import (
    AccessRefused,
    DeadlinePassed,
    config_value,
    is_valid_id,
    release_read_transaction,
)
from app.tendering.models import (
    Bid,
    BidEnvelope,
    BidVersion,
    Tender,
    TenderStatus,
    UploadPart,
    UploadSession,
    UploadStatus,
)
from crypto.age import parse_header
from crypto.age.header import SCRYPT_TYPE, X25519_TYPE
from crypto.errors import AgeError
from crypto.receipt import commitment, receipt_core, sign_receipt

# Chunks of unfinished uploads are ciphertext; they wait in the documents bucket under this prefix and
# are deleted once the upload is assembled into the write-once sealed-bids bucket or expires.
PARTS_BUCKET = UPLOADS
PARTS_PREFIX = "upload-parts"
SEALED_ACTOR = "sealed-bidder"
OPENED_STATUSES = (TenderStatus.OPENING, TenderStatus.OPENED, TenderStatus.FAILED)


def _bidder_org(actor: User) -> int:
    if actor.organisation_id is None or not actor.has_permission("tendering.bid"):
        raise PermissionDenied("Only a bidder's user, on behalf of its organisation, may do this.")
    return actor.organisation_id


def _require_open(actor: User, tender: Tender, step: str) -> None:
    """Raise DeadlinePassed (logged) once the deadline is reached by the server clock; Conflict when not published."""
    if tender.status is TenderStatus.PUBLISHED and now_utc() < tender.submission_deadline_at:
        return
    if tender.status in (TenderStatus.PUBLISHED, *OPENED_STATUSES):
        raise DeadlinePassed(
            "The submission deadline has passed: nothing was received.",
            actor=actor,
            subject=tender.audit_ref,
            data={"step": step, "deadline": format_instant(tender.submission_deadline_at)},
        )
    raise Conflict("The tender is not open for bids.")


# --- uploads -----------------------------------------------------------------------------------------


def start_upload(*, actor: User, tender: Tender, envelope: str, size: int) -> UploadSession:
    """Open a resumable upload of one sealed envelope of `size` bytes (at most the tender's maximum bid size)."""
    org = _bidder_org(actor)
    _require_open(actor, tender, "start-upload")
    if envelope not in tender.envelope_names():
        raise ValidationFailed("The tender has no such envelope.", errors={"envelope": tender.envelope_names()})
    if not 1 <= size <= tender.max_bid_size:
        raise ValidationFailed(
            f"An envelope has 1 to {tender.max_bid_size} bytes for this tender.", errors={"size": ["range"]}
        )
    now = now_utc()
    upload = UploadSession(
        id=uuid.uuid4().hex,
        tender_id=tender.id,
        organisation_id=org,
        user_id=actor.id,
        envelope=envelope,
        size=size,
        received=0,
        status=UploadStatus.OPEN,
        created_at=now,
        expires_at=now + config_value("TENDER_UPLOAD_TTL"),
    )
    db.session.add(upload)
    db.session.flush()
    return upload


def get_upload(*, actor: User, upload_id: str) -> UploadSession:
    """The caller's own upload. Another organisation's is refused and logged; an unknown id is NotFound."""
    upload = db.session.get(UploadSession, upload_id) if len(upload_id) <= 32 else None
    if upload is None:
        raise NotFound("No such upload.")
    if upload.organisation_id != actor.organisation_id:
        raise AccessRefused(
            "This upload belongs to another party.",
            actor=actor,
            subject=f"tender:{upload.tender_id}",
            data={"attempt": "upload", "upload_id": upload_id},
        )
    return upload


def _locked_upload(upload_id: str) -> UploadSession:
    stmt = (
        select(UploadSession)
        .where(UploadSession.id == upload_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.execute(stmt).scalar_one()


def _hash_body(stream: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(256 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def receive_chunk(*, actor: User, upload_id: str, start: int, end: int, total: int, stream: IO[bytes]) -> UploadSession:
    """Store bytes [start, end] (inclusive, like Content-Range) of an upload.

    A chunk at the current offset is appended. Resending a chunk already stored (same offset and length)
    is a harmless retry when its bytes are identical, a Conflict otherwise; any other offset is a Conflict
    that names the offset to resume from. The body streams to storage with no database lock held.
    """
    upload = get_upload(actor=actor, upload_id=upload_id)
    tender = db.session.get(Tender, upload.tender_id)
    assert tender is not None
    _require_open(actor, tender, "chunk")
    if upload.status is not UploadStatus.OPEN:
        raise Conflict("This upload is already complete.", offset=upload.received)
    length = end - start + 1
    if total != upload.size or start < 0 or length < 1 or end >= total:
        raise ValidationFailed(
            f"The range must lie within the announced {upload.size} bytes.", errors={"content_range": ["range"]}
        )
    if length > int(config_value("TENDER_UPLOAD_MAX_CHUNK")):
        raise ValidationFailed("The chunk is too large.", errors={"content_range": ["chunk-too-large"]})
    if start < upload.received:
        previous = next((p for p in upload.parts if p.offset == start and p.size == length), None)
        if previous is None:
            raise Conflict(
                f"Bytes from {start} were stored differently; resume at {upload.received}.", offset=upload.received
            )
        sha, size = _hash_body(stream)
        if (sha, size) != (previous.sha256, previous.size):
            raise Conflict("This chunk differs from the one already stored at that offset.", offset=upload.received)
        return upload
    if start != upload.received:
        raise Conflict(f"Resume at byte {upload.received}.", offset=upload.received)

    key = f"{PARTS_PREFIX}/{upload_id}/{start:016d}-{uuid.uuid4().hex[:8]}"
    release_read_transaction()
    info = get_storage().put(PARTS_BUCKET, key, stream, length=length)

    def drop_part() -> None:
        with contextlib.suppress(Exception):
            get_storage().delete(PARTS_BUCKET, key)

    try:
        upload = _locked_upload(upload_id)
        tender = db.session.get(Tender, upload.tender_id)
        assert tender is not None
        _require_open(actor, tender, "chunk")  # an upload still in flight at the deadline is not a bid
        if upload.status is not UploadStatus.OPEN or upload.received != start:
            raise Conflict(f"Another request stored these bytes; resume at {upload.received}.", offset=upload.received)
        db.session.add(
            UploadPart(upload_id=upload_id, offset=start, size=info.size, sha256=info.sha256, object_key=key)
        )
        upload.received = start + info.size
        db.session.flush()
    except IntegrityError:
        drop_part()
        db.session.rollback()
        raise Conflict("Another request stored a chunk at this offset; ask for the offset and resume.") from None
    except Exception:
        drop_part()
        raise
    return upload


class _PartsRaw(io.RawIOBase):
    """The stored chunks of an upload read back as one stream, opening one part at a time."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__()
        self._keys: Iterator[str] = iter(keys)
        self._current: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._current is None:
                key = next(self._keys, None)
                if key is None:
                    return 0
                self._current = get_storage().open(PARTS_BUCKET, key)
            data = self._current.read(len(buffer))
            if data:
                buffer[: len(data)] = data
                return len(data)
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def _parts_stream(keys: list[str]) -> io.BufferedReader:
    return io.BufferedReader(_PartsRaw(keys), 256 * 1024)


def check_age_header(stream: IO[bytes]) -> int:
    """Refuse anything but an age v1 file sealed to at least one X25519 recipient; returns the stanza count.

    X25519 stanzas cannot be matched to a recipient without its private key, so the tender's recipient
    cannot be checked here: the opening records a bid it cannot open as the bidder's fault.
    """
    try:
        header = parse_header(stream)  # type: ignore[arg-type]  # a BufferedReader is a binary stream
    except AgeError as exc:
        raise ValidationFailed(f"Not a sealed age v1 file: {exc}", errors={"file": ["not-age"]}) from None
    types = header.stanza_types
    if SCRYPT_TYPE in types:
        raise ValidationFailed(
            "A passphrase-sealed (scrypt) file cannot be opened by the tender's key.", errors={"file": ["scrypt"]}
        )
    if X25519_TYPE not in types:
        raise ValidationFailed("The file is not sealed to any X25519 recipient.", errors={"file": ["no-x25519"]})
    return len(types)


def complete_upload(*, actor: User, upload_id: str) -> UploadSession:
    """Check the assembled bytes are an age v1 file, then store them once in the write-once sealed-bids bucket.

    Idempotent: completing a completed upload returns it unchanged. Raises ValidationFailed for a missing
    byte range or a file that is not sealed, DeadlinePassed (logged) after the deadline.
    """
    upload = get_upload(actor=actor, upload_id=upload_id)
    if upload.status in (UploadStatus.COMPLETED, UploadStatus.USED):
        return upload
    tender = db.session.get(Tender, upload.tender_id)
    assert tender is not None
    _require_open(actor, tender, "complete")
    if upload.status is not UploadStatus.OPEN:
        raise Conflict("This upload has expired; start a new one.")
    if upload.received != upload.size:
        raise ValidationFailed(
            f"{upload.received} of {upload.size} bytes received; send the rest first.",
            errors={"offset": [upload.received]},
        )
    keys = [p.object_key for p in upload.parts]
    size, tender_id = upload.size, upload.tender_id
    release_read_transaction()
    with _parts_stream(keys) as head:
        check_age_header(head)
    sealed_key = f"{tender_id}/{upload_id}.age"
    storage = get_storage()
    try:
        with _parts_stream(keys) as body:
            info = storage.put(SEALED_BIDS, sealed_key, body, length=size)
    except WriteOnceViolation:
        # A retry after a crash between storing and committing: the stored object must be these very bytes.
        info = storage.stat(SEALED_BIDS, sealed_key)
        with _parts_stream(keys) as body:
            sha, n = _hash_body(body)
        if (info.sha256, info.size) != (sha, n):
            raise Conflict("A different sealed file is stored under this upload.") from None
    upload = _locked_upload(upload_id)
    tender = db.session.get(Tender, tender_id)
    assert tender is not None
    _require_open(actor, tender, "complete")
    if upload.status is not UploadStatus.OPEN:
        return upload
    upload.status = UploadStatus.COMPLETED
    upload.completed_at = now_utc()
    upload.object_key = sealed_key
    upload.sha256 = info.sha256
    for part in list(upload.parts):
        db.session.delete(part)
    db.session.flush()

    def drop_parts() -> None:
        for key in keys:
            with contextlib.suppress(Exception):
                storage.delete(PARTS_BUCKET, key)

    after_commit(drop_parts)
    return upload


# --- submission, withdrawal, receipts ----------------------------------------------------------------


def _bidder_ref(bid: Bid) -> dict[str, Any]:
    org = bid.organisation
    return {"organisation_id": org.id, "name": org.name, "uscc": org.uscc}


def _tender_ref(tender: Tender) -> dict[str, Any]:
    return {"id": tender.id, "reference": tender.reference, "recipient": tender.recipient}


def _issue_receipt(*, actor: User, tender: Tender, bid: Bid, kind: str, envelopes: list[dict[str, Any]]) -> BidVersion:
    received_at = now_utc()
    if received_at >= tender.submission_deadline_at:  # the last check before the commit
        _require_open(actor, tender, kind)
    number = len(bid.versions) + 1
    core = receipt_core(
        kind=kind,
        tender=_tender_ref(tender),
        bid={"id": bid.id, "version": number},
        bidder=_bidder_ref(bid),
        envelopes=envelopes,
        received_at=format_instant(received_at),
    )
    entry = record(
        "tendering.bid.sealed", actor=SEALED_ACTOR, subject=tender.audit_ref, data={"commitment": commitment(core)}
    )
    cp = latest_checkpoint()
    receipt = sign_receipt(
        core,
        log_index=entry.index,
        checkpoint=checkpoint_document(cp) if cp is not None else None,
        key=platform_signing_key(),
    )
    version = BidVersion(
        bid=bid,
        number=number,
        kind=kind,
        user_id=actor.id,
        received_at=received_at,
        audit_index=entry.index,
        receipt=receipt,
    )
    db.session.add(version)
    db.session.flush()
    bid.current_version = version
    bid.withdrawn = kind == "withdrawal"
    db.session.flush()
    return version


def _own_bid(tender: Tender, org: int) -> Bid | None:
    return db.session.scalar(select(Bid).where(Bid.tender_id == tender.id, Bid.organisation_id == org))


def submit_bid(*, actor: User, tender: Tender, uploads: dict[str, str]) -> BidVersion:
    """Submit (or replace) the organisation's bid: one completed upload per envelope; returns the signed receipt.

    Every earlier version's hashes stay on record; only the latest counts. Submitting the same uploads
    again returns the same receipt. Raises DeadlinePassed (logged) at or after the deadline.
    """
    org = _bidder_org(actor)
    _require_open(actor, tender, "submit")
    names = tender.envelope_names()
    if sorted(uploads) != sorted(names):
        raise ValidationFailed("Give one upload for each envelope of the tender.", errors={"uploads": names})
    bid = _own_bid(tender, org)
    if bid is not None and bid.current_version is not None and not bid.withdrawn:
        current = {e.name: e.upload_id for e in bid.current_version.envelopes}
        if current == uploads:
            return bid.current_version  # a retried submission: same receipt
    rows: list[UploadSession] = []
    for name in names:
        upload = get_upload(actor=actor, upload_id=uploads[name])
        if upload.tender_id != tender.id or upload.envelope != name:
            raise ValidationFailed(f"Upload for {name!r} belongs to another tender or envelope.")
        if upload.status is not UploadStatus.COMPLETED:
            raise ValidationFailed(f"Upload for {name!r} is not completed (or already used).")
        rows.append(upload)
    if bid is None:
        bid = Bid(tender_id=tender.id, organisation_id=org, created_at=now_utc(), withdrawn=False)
        db.session.add(bid)
        db.session.flush()
    envelopes = [{"name": u.envelope, "sha256": u.sha256, "size": u.size} for u in rows]
    version = _issue_receipt(actor=actor, tender=tender, bid=bid, kind="submission", envelopes=envelopes)
    for upload in rows:
        version.envelopes.append(
            BidEnvelope(
                name=upload.envelope,
                stage=tender.stage_of(upload.envelope),
                upload_id=upload.id,
                object_key=upload.object_key,
                sha256=upload.sha256,
                size=upload.size,
            )
        )
        upload.status = UploadStatus.USED
    db.session.flush()
    return version


def withdraw_bid(*, actor: User, tender: Tender) -> BidVersion:
    """Withdraw the organisation's bid before the deadline; a signed withdrawal receipt. Idempotent."""
    org = _bidder_org(actor)
    _require_open(actor, tender, "withdraw")
    bid = _own_bid(tender, org)
    if bid is None or bid.current_version is None:
        raise NotFound("Your organisation has no bid on this tender.")
    if bid.withdrawn:
        return bid.current_version
    return _issue_receipt(actor=actor, tender=tender, bid=bid, kind="withdrawal", envelopes=[])


def get_own_bid(*, actor: User, tender: Tender) -> Bid:
    org = _bidder_org(actor)
    bid = _own_bid(tender, org)
    if bid is None:
        raise NotFound("Your organisation has no bid on this tender.")
    return bid


# --- access by others --------------------------------------------------------------------------------


def is_opened(tender: Tender) -> bool:
    return tender.status in OPENED_STATUSES and tender.current_stage >= 1


def may_read_opened(actor: Any, tender: Tender) -> bool:
    from app.tendering.services_tenders import is_manager_of

    return bool(getattr(actor, "is_authenticated", False)) and (
        is_manager_of(actor, tender) or actor.has_permission("tendering.read_opened")
    )


def list_bids(*, actor: Any, tender: Tender) -> list[Bid]:
    """Bids of a tender for its agency and overseers, only once its opening has begun; otherwise refused and logged."""
    if not is_opened(tender) or not may_read_opened(actor, tender):
        raise AccessRefused(
            "Bids cannot be listed or counted before the opening, nor by anyone outside the tender's oversight.",
            actor=actor,
            subject=tender.audit_ref,
            data={"attempt": "list-bids"},
        )
    return list(db.session.scalars(select(Bid).where(Bid.tender_id == tender.id).order_by(Bid.id)))


def get_bid(*, actor: Any, tender: Tender, bid_id: int) -> Bid:
    """A bid: its own organisation always; the agency and overseers after the opening; refused and logged otherwise.

    The refusal does not say whether the bid exists.
    """
    bid = db.session.get(Bid, bid_id) if is_valid_id(bid_id) else None
    own = bid is not None and bid.tender_id == tender.id and actor.organisation_id == bid.organisation_id
    if own:
        return bid  # type: ignore[return-value]
    if is_opened(tender) and may_read_opened(actor, tender):
        if bid is None or bid.tender_id != tender.id:
            raise NotFound("No such bid.")
        return bid
    raise AccessRefused(
        "Another party's bid cannot be read before the opening.",
        actor=actor,
        subject=tender.audit_ref,
        data={"attempt": "read-bid", "bid_id": bid_id},
    )


def open_sealed_envelope(*, actor: Any, tender: Tender, bid_id: int, envelope: str) -> tuple[BidEnvelope, IO[bytes]]:
    """The ciphertext of an envelope of the bid's current version, for its owner (or overseers after the opening)."""
    bid = get_bid(actor=actor, tender=tender, bid_id=bid_id)
    version = bid.current_version
    env = next((e for e in (version.envelopes if version else []) if e.name == envelope), None)
    if env is None:
        raise NotFound("No such envelope.")
    return env, get_storage().open(SEALED_BIDS, env.object_key)


def expire_uploads() -> int:
    """Expire uploads past their time; delete their chunks after commit. Returns how many expired."""
    now = now_utc()
    stale = list(
        db.session.scalars(
            select(UploadSession)
            .where(
                UploadSession.status.in_((UploadStatus.OPEN, UploadStatus.COMPLETED)), UploadSession.expires_at < now
            )
            .with_for_update(skip_locked=True)
        )
    )
    keys: list[str] = []
    for upload in stale:
        keys.extend(p.object_key for p in upload.parts)
        for part in list(upload.parts):
            db.session.delete(part)
        upload.status = UploadStatus.EXPIRED
    db.session.flush()
    if keys:
        storage = get_storage()

        def drop() -> None:
            for key in keys:
                with contextlib.suppress(Exception):
                    storage.delete(PARTS_BUCKET, key)

        after_commit(drop)
    return len(stale)
