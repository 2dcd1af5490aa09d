"""Sealed bid submission: resumable chunked uploads, age-header checks, signed receipts, withdrawal, access rules.

Before the opening nobody but the bidder itself can list, count, read or download a bid: every other
attempt raises AccessRefused, which is logged as `access.denied`. Evidence-log entries of bidders'
actions name no bidder, no tender and no bid count: a receipt's hiding commitment becomes one leaf of the
constant-rate, fixed-size batches of app.audit.batches, which only the receipt holder can connect to its batch
until the opening record publishes the link. Bids are named outside by a random public id, never by the
internal (sequential) key.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.audit import batches
from app.audit.services import format_instant
from app.core.db import after_commit, db
from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from app.core.keys import platform_signing_key
from app.core.problems import N_
from app.core.storage import SEALED_BIDS, UPLOADS, WriteOnceViolation, get_storage
from app.core.tasks import claim
from app.core.time import now_utc
from app.tendering.common import (
    AccessRefused,
    DeadlinePassed,
    config_value,
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
from crypto.age.header import MAX_HEADER_SIZE, SCRYPT_TYPE, X25519_TYPE
from crypto.errors import AgeError
from crypto.receipt import RECEIPT_FORMAT, commitment, receipt_core, sign_receipt

# Chunks are appended to a storage assembly (app.core.storage: an S3 multipart upload in the staging bucket,
# or one file on the filesystem) that becomes the write-once sealed-bids object at completion. Uploads
# started before assemblies existed kept each chunk as an object under this prefix; expiry still removes them.
PARTS_BUCKET = UPLOADS
PARTS_PREFIX = "upload-parts"
SEALED_ACTOR = "sealed-bidder"
# Nor do they name the tender: entries per tender would count its bids before the opening. The opening record
# links each bid to its entry (log index).
SEALED_SUBJECT = batches.BATCH_SUBJECT
_PUBLIC_ID = re.compile(r"^[a-z2-7]{26}$")
log = logging.getLogger(__name__)
OPENED_STATUSES = (TenderStatus.OPENING, TenderStatus.OPENED, TenderStatus.FAILED, TenderStatus.AWARDED)


def _bidder_org(actor: User) -> int:
    if actor.organisation_id is None or not actor.has_permission("tendering.bid"):
        raise PermissionDenied(N_("Only a bidder's user, on behalf of its organisation, may do this."))
    return actor.organisation_id


def _require_open(actor: User, tender: Tender, step: str) -> None:
    """Raise DeadlinePassed (logged) once the deadline is reached by the server clock; Conflict when not published."""
    if tender.status is TenderStatus.PUBLISHED and now_utc() < tender.submission_deadline_at:
        return
    if tender.status in (TenderStatus.PUBLISHED, *OPENED_STATUSES):
        raise DeadlinePassed(
            N_("The submission deadline has passed: nothing was received."),
            actor=actor,
            subject=tender.audit_ref,
            data={"step": step, "deadline": format_instant(tender.submission_deadline_at)},
        )
    raise Conflict(N_("The tender is not open for bids."))


# --- uploads -----------------------------------------------------------------------------------------


def start_upload(*, actor: User, tender: Tender, envelope: str, size: int) -> UploadSession:
    """Open a resumable upload of one sealed envelope of `size` bytes (at most the tender's maximum bid size)."""
    org = _bidder_org(actor)
    _require_open(actor, tender, "start-upload")
    if envelope not in tender.envelope_names():
        raise ValidationFailed(N_("The tender has no such envelope."), errors={"envelope": tender.envelope_names()})
    if not 1 <= size <= tender.max_bid_size:
        raise ValidationFailed(
            N_("An envelope has 1 to %(limit)s bytes for this tender."),
            params={"limit": tender.max_bid_size},
            errors={"size": ["range"]},
        )
    now = now_utc()
    upload = UploadSession(
        assembly=get_storage().begin_assembly(),
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
        raise NotFound(N_("No such upload."))
    if upload.organisation_id != actor.organisation_id:
        raise AccessRefused(
            N_("This upload belongs to another party."),
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


def chunk_limits() -> tuple[int, int]:
    """(smallest, largest) chunk in bytes; the smallest binds every chunk but the last (5 MiB on S3)."""
    storage = get_storage()
    return storage.min_chunk_size, min(int(config_value("TENDER_UPLOAD_MAX_CHUNK")), storage.max_chunk_size)


class UploadBusy(DomainError):
    """409 with the upload's committed offset and Retry-After: the client waits, then resumes at the offset."""

    status = 409
    code = "upload-busy"
    title = N_("Another request is writing this upload")
    description = N_(
        "Another request (often a retry of the same chunk) is writing this upload right now. Wait until it has "
        "finished, ask the upload's offset with HEAD, and continue from there."
    )
    retry_after = 1


@contextlib.contextmanager
def upload_writer(upload_id: str, actor: User | None = None) -> Iterator[None]:
    """Let one request at a time write to an upload (a chunk or the completion); others get UploadBusy (409 with
    the committed offset and Retry-After).

    A chunk streams to storage with no database lock held, and a retry may arrive while the first attempt
    is still sending: both would write the same bytes range of the same assembly. A claim named after the
    upload serialises them across threads and processes (core.tasks.claim: a session advisory lock on
    PostgreSQL, a lock on a file of the instance folder on SQLite; released if the process dies); another
    upload never holds it. Wrap the service call and the commit, so the next writer sees the committed offset.
    The offset is named to `actor` when the upload is their organisation's.
    """
    with claim("tender-upload:" + upload_id) as got:
        if not got:
            upload = db.session.get(UploadSession, upload_id) if len(upload_id) <= 32 else None
            mine = upload is not None and actor is not None and upload.organisation_id == actor.organisation_id
            raise UploadBusy(
                N_("Another request is writing this upload; retry in a moment."),
                offset=upload.received if mine and upload is not None else None,
            )
        yield


def _hash_body(stream: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(256 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class _Recorder(io.RawIOBase):
    """Reads at most `limit` bytes of `stream`, keeping a copy of everything it read in `consumed`."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._left = limit
        self.consumed = bytearray()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self._left)
        data = self._stream.read(want) if want else b""
        n = len(data)
        buffer[:n] = data
        self.consumed += data
        self._left -= n
        return n

    @property
    def exhausted(self) -> bool:
        """True when the limit stopped the reading (the stream may hold more)."""
        return self._left == 0


class _Prefixed(io.RawIOBase):
    """`head` (already read, e.g. to check the age header) followed by the rest of `stream`."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head.nbytes:
            n = self._head.nbytes if size is None or size < 0 else min(size, self._head.nbytes)
            out = bytes(self._head[:n])
            self._head = self._head[n:]
            return out
        return self._stream.read(size)


def receive_chunk(*, actor: User, upload_id: str, start: int, end: int, total: int, stream: IO[bytes]) -> UploadSession:
    """Append bytes [start, end] (inclusive, like Content-Range) of an upload to its storage assembly.

    A chunk at the current offset is appended and the whole file's SHA-256 advanced (its state is kept with
    the upload, so any worker continues it). Every chunk but the last must have at least the storage's
    minimum (5 MiB on S3, where each chunk is one part of a multipart upload; the upload's `chunk_min`).
    The first chunk must hold the whole age header, which is checked before anything is stored. Resending a
    chunk already stored (same offset and length) is a harmless retry when its bytes are identical, a
    Conflict otherwise; any other offset is a Conflict that names the offset to resume from. The body streams
    to storage with no database lock held; call inside upload_writer().
    """
    upload = get_upload(actor=actor, upload_id=upload_id)
    tender = db.session.get(Tender, upload.tender_id)
    assert tender is not None
    _require_open(actor, tender, "chunk")
    if upload.status is not UploadStatus.OPEN:
        raise Conflict(N_("This upload is already complete."), offset=upload.received)
    length = end - start + 1
    if total != upload.size or start < 0 or length < 1 or end >= total:
        raise ValidationFailed(
            N_("The range must lie within the announced %(size)s bytes."),
            params={"size": upload.size},
            errors={"content_range": ["range"]},
        )
    storage = get_storage()
    smallest, largest = chunk_limits()
    if length > largest:
        raise ValidationFailed(N_("The chunk is too large."), errors={"content_range": ["chunk-too-large"]})
    last = end + 1 == total
    if start < upload.received:
        previous = next((p for p in upload.parts if p.offset == start and p.size == length), None)
        if previous is None:
            raise Conflict(
                N_("Bytes from %(start)s were stored differently; resume at %(received)s."),
                params={"start": start, "received": upload.received},
                offset=upload.received,
            )
        stored_sha, stored_size = previous.sha256, previous.size
        release_read_transaction()  # no body byte is read inside a transaction
        sha, size = _hash_body(stream)
        if (sha, size) != (stored_sha, stored_size):
            raise Conflict(N_("This chunk differs from the one already stored at that offset."), offset=upload.received)
        return get_upload(actor=actor, upload_id=upload_id)
    if start != upload.received:
        raise Conflict(N_("Resume at byte %(received)s."), params={"received": upload.received}, offset=upload.received)
    if not last and length < smallest:
        raise ValidationFailed(
            N_("Every chunk but the last must have at least %(smallest)s bytes."),
            params={"smallest": smallest},
            errors={"content_range": ["chunk-too-small"]},
        )
    if upload.assembly is None:
        raise Conflict(N_("This upload was started before a server update; start a new one."), offset=upload.received)
    handle, hash_state, parts = upload.assembly, upload.hash_state, [p.part or "" for p in upload.parts]
    # From here on the body is read: no transaction may be open (on SQLite it would hold the write lock for as
    # long as the client takes to send). Everything read before is checked again once the bytes are in.
    release_read_transaction()
    body: IO[bytes] = stream
    if start == 0:
        recorder = _Recorder(stream, min(length, MAX_HEADER_SIZE))
        try:
            check_age_header(io.BufferedReader(recorder, 16 * 1024))  # type: ignore[arg-type]
        except ValidationFailed as exc:
            if recorder.exhausted and not last and exc.extra.get("errors") == {"file": ["not-age"]}:
                raise ValidationFailed(
                    N_("%(reason)s (If the header is longer than the first chunk, send a larger first chunk.)"),
                    params={"reason": exc.detail},
                    **exc.extra,
                ) from None
            raise
        # What the check pulled from the request (the header and a little read-ahead) goes first.
        body = _Prefixed(bytes(recorder.consumed), stream)  # type: ignore[assignment]
    stored = storage.append_chunk(
        handle, body, offset=start, length=length, last=last, hash_state=hash_state, parts=parts
    )
    upload = _locked_upload(upload_id)
    tender = db.session.get(Tender, upload.tender_id)
    assert tender is not None
    _require_open(actor, tender, "chunk")  # an upload still in flight at the deadline is not a bid
    if upload.status is not UploadStatus.OPEN or upload.received != start:
        raise Conflict(
            N_("Another request stored these bytes; resume at %(received)s."),
            params={"received": upload.received},
            offset=upload.received,
        )
    try:
        db.session.add(
            UploadPart(
                upload_id=upload_id,
                offset=start,
                size=stored.size,
                sha256=stored.sha256,
                object_key=handle,
                part=stored.part,
            )
        )
        upload.received = start + stored.size
        upload.hash_state = stored.hash_state
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(N_("Another request stored a chunk at this offset; ask for the offset and resume.")) from None
    return upload


def check_age_header(stream: IO[bytes]) -> int:
    """Refuse anything but an age v1 file sealed to at least one X25519 recipient; returns the stanza count.

    X25519 stanzas cannot be matched to a recipient without its private key, so the tender's recipient
    cannot be checked here: the opening records a bid it cannot open as the bidder's fault.
    """
    try:
        header = parse_header(stream)  # type: ignore[arg-type]  # a BufferedReader is a binary stream
    except AgeError as exc:
        raise ValidationFailed(
            N_("Not a sealed age v1 file: %(reason)s"), params={"reason": exc}, errors={"file": ["not-age"]}
        ) from None
    types = header.stanza_types
    if SCRYPT_TYPE in types:
        raise ValidationFailed(
            N_("A passphrase-sealed (scrypt) file cannot be opened by the tender's key."), errors={"file": ["scrypt"]}
        )
    if X25519_TYPE not in types:
        raise ValidationFailed(N_("The file is not sealed to any X25519 recipient."), errors={"file": ["no-x25519"]})
    return len(types)


def complete_upload(*, actor: User, upload_id: str) -> UploadSession:
    """Place the assembled file once in the write-once sealed-bids bucket, with the SHA-256 computed on the way.

    The bytes are not read again: the storage completes its assembly (S3: the multipart upload and a
    server-side copy; filesystem: a link). The age header was checked with the first chunk. Idempotent:
    completing a completed upload returns it unchanged, and a retry after a crash between storing and
    committing finds the same object. Raises ValidationFailed for a missing byte range, DeadlinePassed
    (logged) after the deadline. Call inside upload_writer().
    """
    upload = get_upload(actor=actor, upload_id=upload_id)
    if upload.status in (UploadStatus.COMPLETED, UploadStatus.USED):
        return upload
    tender = db.session.get(Tender, upload.tender_id)
    assert tender is not None
    _require_open(actor, tender, "complete")
    if upload.status is not UploadStatus.OPEN:
        raise Conflict(N_("This upload has expired; start a new one."))
    if upload.received != upload.size:
        raise ValidationFailed(
            N_("%(received)s of %(size)s bytes received; send the rest first."),
            params={"received": upload.received, "size": upload.size},
            errors={"offset": [upload.received]},
        )
    if upload.assembly is None or upload.hash_state is None:
        raise Conflict(N_("This upload was started before a server update; start a new one."))
    handle, hash_state, parts = upload.assembly, upload.hash_state, [p.part or "" for p in upload.parts]
    size, tender_id = upload.size, upload.tender_id
    release_read_transaction()
    sealed_key = f"{tender_id}/{upload_id}.age"
    try:
        info = get_storage().complete_assembly(
            handle, SEALED_BIDS, sealed_key, size=size, hash_state=hash_state, parts=parts
        )
    except WriteOnceViolation:
        raise Conflict(N_("A different sealed file is stored under this upload.")) from None
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
        bid={"id": bid.public_id, "version": number},
        bidder=_bidder_ref(bid),
        envelopes=envelopes,
        received_at=format_instant(received_at),
        nonce=secrets.token_hex(32),
    )
    # Not a log entry of its own (their number would count bids): a leaf of the next constant-rate batch.
    batches.commit(bytes.fromhex(commitment(core)))
    receipt = sign_receipt(core, key=platform_signing_key())
    version = BidVersion(
        bid=bid,
        number=number,
        kind=kind,
        user_id=actor.id,
        received_at=received_at,
        audit_index=None,
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
        raise ValidationFailed(N_("Give one upload for each envelope of the tender."), errors={"uploads": names})
    bid = _own_bid(tender, org)
    if bid is not None and bid.current_version is not None and not bid.withdrawn:
        current = {e.name: e.upload_id for e in bid.current_version.envelopes}
        if current == uploads:
            return bid.current_version  # a retried submission: same receipt
    rows: list[UploadSession] = []
    for name in names:
        upload = get_upload(actor=actor, upload_id=uploads[name])
        if upload.tender_id != tender.id or upload.envelope != name:
            raise ValidationFailed(
                N_("Upload for %(name)s belongs to another tender or envelope."), params={"name": repr(name)}
            )
        if upload.status is not UploadStatus.COMPLETED:
            raise ValidationFailed(
                N_("Upload for %(name)s is not completed (or already used)."), params={"name": repr(name)}
            )
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
        raise NotFound(N_("Your organisation has no bid on this tender."))
    if bid.withdrawn:
        return bid.current_version
    return _issue_receipt(actor=actor, tender=tender, bid=bid, kind="withdrawal", envelopes=[])


def receipt_proof(version: BidVersion) -> dict[str, Any] | None:
    """The receipt's two-level inclusion proof (crypto.receipt.verify_inclusion_proof) once its batch is logged under
    a checkpoint; None before (at most one batch interval after submission), and for a version 1 receipt, whose
    own log entry (`audit_index`) has its proof at /api/v1/audit/entries/{index}."""
    payload = version.receipt.get("payload", {})
    if payload.get("format") != RECEIPT_FORMAT:
        return None
    return batches.proof_for(bytes.fromhex(payload["commitment"]))


def receipt_location(version: BidVersion) -> tuple[int | None, int | None]:
    """(log index of the entry, leaf index in its batch or None) of a version's receipt; (None, None) while pending."""
    payload = version.receipt.get("payload", {})
    if payload.get("format") != RECEIPT_FORMAT:
        return version.audit_index, None
    found = batches.location(bytes.fromhex(payload["commitment"]))
    return found if found is not None else (None, None)


def list_own_bids(actor: User) -> list[Bid]:
    """Every bid of the actor's organisation, newest first (none without an organisation)."""
    if actor.organisation_id is None:
        return []
    return list(
        db.session.scalars(select(Bid).where(Bid.organisation_id == actor.organisation_id).order_by(Bid.id.desc()))
    )


def get_own_bid(*, actor: User, tender: Tender) -> Bid:
    org = _bidder_org(actor)
    bid = _own_bid(tender, org)
    if bid is None:
        raise NotFound(N_("Your organisation has no bid on this tender."))
    return bid


# --- access by others --------------------------------------------------------------------------------


def is_opened(tender: Tender) -> bool:
    return tender.status in OPENED_STATUSES and tender.current_stage >= 1


def may_read_opened(actor: Any, tender: Tender) -> bool:
    from app.tendering.services_tenders import is_manager_of

    return bool(getattr(actor, "is_authenticated", False)) and (
        is_manager_of(actor, tender) or actor.has_permission("tendering.read_opened")
    )


def _refusal_reason(tender: Tender, after_opening: str, before_opening: str) -> str:
    """Why a read of others' bids is refused, in the words of the tender's phase (both N_-marked)."""
    return after_opening if is_opened(tender) else before_opening


def list_bids(*, actor: Any, tender: Tender) -> list[Bid]:
    """Bids of a tender for its agency and overseers, only once its opening has begun; otherwise refused and logged."""
    if not is_opened(tender) or not may_read_opened(actor, tender):
        raise AccessRefused(
            _refusal_reason(
                tender,
                N_("Bids cannot be listed or counted by anyone outside the tender's agency and oversight."),
                N_("Bids cannot be listed or counted before the opening."),
            ),
            actor=actor,
            subject=tender.audit_ref,
            data={"attempt": "list-bids"},
        )
    return list(db.session.scalars(select(Bid).where(Bid.tender_id == tender.id).order_by(Bid.id)))


def find_bid(public_id: str) -> Bid | None:
    if not isinstance(public_id, str) or not _PUBLIC_ID.match(public_id):
        return None
    return db.session.scalar(select(Bid).where(Bid.public_id == public_id))


def get_bid(*, actor: Any, tender: Tender, bid_id: str) -> Bid:
    """A bid by its public id: its own organisation always; the agency and overseers after the opening; refused and
    logged otherwise. The refusal does not say whether the bid exists.
    """
    bid = find_bid(bid_id)
    own = (
        bid is not None
        and bid.tender_id == tender.id
        and actor.organisation_id == bid.organisation_id
        and actor.has_permission("tendering.bid")
    )
    if own:
        return bid  # type: ignore[return-value]
    if is_opened(tender) and may_read_opened(actor, tender):
        if bid is None or bid.tender_id != tender.id:
            raise NotFound(N_("No such bid."))
        return bid
    raise AccessRefused(
        _refusal_reason(
            tender,
            N_("Another party's bid cannot be read by anyone outside the tender's agency and oversight."),
            N_("Another party's bid cannot be read before the opening."),
        ),
        actor=actor,
        subject=tender.audit_ref,
        data={"attempt": "read-bid", "bid_id": bid_id[:40]},
    )


def open_sealed_envelope(*, actor: Any, tender: Tender, bid_id: str, envelope: str) -> tuple[BidEnvelope, IO[bytes]]:
    """The ciphertext of an envelope of the bid's current version, for its owner (or overseers after the opening)."""
    bid = get_bid(actor=actor, tender=tender, bid_id=bid_id)
    version = bid.current_version
    env = next((e for e in (version.envelopes if version else []) if e.name == envelope), None)
    if env is None:
        raise NotFound(N_("No such envelope."))
    return env, get_storage().open(SEALED_BIDS, env.object_key)


def expire_uploads() -> int:
    """Expire uploads past their time; abort their storage assemblies after commit. Returns how many expired."""
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
    assemblies: list[str] = []
    legacy_keys: list[str] = []  # chunks stored one object each, by uploads started before assemblies
    for upload in stale:
        if upload.status is UploadStatus.OPEN and upload.assembly:
            assemblies.append(upload.assembly)
        legacy_keys.extend(p.object_key for p in upload.parts if p.object_key.startswith(f"{PARTS_PREFIX}/"))
        for part in list(upload.parts):
            db.session.delete(part)
        upload.status = UploadStatus.EXPIRED
    db.session.flush()
    if assemblies or legacy_keys:
        storage = get_storage()

        def drop() -> None:
            for handle in assemblies:
                try:
                    storage.abort_assembly(handle)
                except Exception:
                    log.warning("could not abort upload assembly %s", handle, exc_info=True)
            for key in legacy_keys:
                with contextlib.suppress(Exception):
                    storage.delete(PARTS_BUCKET, key)

        after_commit(drop)
    return len(stale)
