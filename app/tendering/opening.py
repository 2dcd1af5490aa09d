"""The opening (开标): the steps of the sweep that starts due openings, decrypts each stage's envelopes,
validates the bid form, and publishes the signed opening record (开标记录); 流标 when too few bids are valid.

The sweep itself (app/tendering/tasks.py) commits after each step, so no transaction is open while an
envelope decrypts: `plan_stage` turns the stage into plain `EnvelopeJob`s, `open_job` decrypts one of them
from storage into the quarantine (opened-bids) without touching the database, `record_outcome` commits its
outcome, `finish_stage` publishes the record; `plan_envelope` gives one envelope of the stage to a worker's
`tendering.open_envelope` task, and `envelope_claim` keeps two processes from decrypting the same one. Each
step is idempotent: an envelope with an outcome is never opened again, a plaintext already in the quarantine
under the envelope's deterministic key is reused rather than decrypted a second time, and a worker killed
anywhere and restarted finishes with the same result. One
failing bid never blocks the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.models import User
from app.audit import batches, record
from app.audit.services import format_instant
from app.core.db import db
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.keys import platform_signing_key
from app.core.problems import N_
from app.core.storage import OPENED_BIDS, SEALED_BIDS, ObjectInfo, StorageUnavailable, get_storage
from app.core.tasks import claim, enqueue_after_commit
from app.core.time import now_utc
from app.tendering import terms
from app.tendering.common import AccessRefused, config_value, open_small
from app.tendering.custody import SYSTEM, envelope_label, rebuild_identity
from app.tendering.decryption import DecryptionFailed, HashingRaw, decrypt_into_storage
from app.tendering.models import (
    Bid,
    BidEnvelope,
    BidOutcome,
    BidVersion,
    EnvelopeOutcome,
    OpeningRecord,
    Tender,
    TenderStatus,
)
from app.tendering.services_bids import receipt_location
from crypto.age import NoIdentityMatchError, X25519Identity, decrypt, decrypt_with_file_key
from crypto.canonical import CanonicalError, canonicalize
from crypto.envelope import EnvelopeError, read_envelope
from crypto.errors import AgeError
from crypto.signing import sign_document

RECORD_FORMAT = "platform-opening-record/v1"


class _Failure(Exception):
    def __init__(self, cause: str, *, bidder_fault: bool) -> None:
        super().__init__(cause)
        self.cause = cause
        self.bidder_fault = bidder_fault


@dataclass(frozen=True)
class EnvelopeJob:
    """What opening one envelope needs, as plain values: no ORM object is touched while it decrypts, so no
    database transaction (on SQLite: the single write lock) is open meanwhile."""

    envelope_id: int
    label: str  # custody.envelope_label: what the revealed file key is sealed under
    tender_id: int
    bid_id: int
    version_number: int
    name: str
    object_key: str
    sha256: str
    size: int
    revealed_key: bytes | None
    form_schema: dict[str, Any] | None  # the tender's bid form when this envelope carries it

    @property
    def plaintext_key(self) -> str:
        """Deterministic: a rerun finds what an earlier, killed run stored, and never stores a second result."""
        return f"{self.tender_id}/{self.bid_id}/{self.version_number}/{self.name}.tar"


@dataclass(frozen=True)
class Opened:
    """The outcome of one envelope, computed outside any transaction and committed on its own."""

    outcome: EnvelopeOutcome
    method: str | None = None
    plaintext_key: str | None = None
    plaintext_sha256: str | None = None
    plaintext_size: int | None = None
    files: list[dict[str, Any]] | None = None
    form: dict[str, Any] | None = None
    failure_cause: str | None = None
    bidder_fault: bool | None = None


@dataclass(frozen=True)
class StagePlan:
    stage: int
    identity: X25519Identity | None
    window_closed: bool
    jobs: list[EnvelopeJob]


def _stored_hash(object_key: str) -> tuple[str, int]:
    with get_storage().open(SEALED_BIDS, object_key) as fh:
        digest, size = hashlib.sha256(), 0
        while chunk := fh.read(256 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _decrypt(job: EnvelopeJob, identity: X25519Identity | None) -> tuple[str, ObjectInfo] | None:
    """Decrypt into opened-bids (the quarantine) and return (method, stored plaintext); None when no key is
    available yet. A plaintext already stored under the envelope's key is reused, never decrypted again.

    Raises _Failure with its cause; DecryptionFailed for a file not sealed to the tender's key;
    StorageUnavailable propagates (retry on the next sweep).
    """
    if job.revealed_key is not None:
        file_key = open_small(job.revealed_key, job.label)

        def run(src: IO[bytes], dst: IO[bytes]) -> Any:
            return decrypt_with_file_key(src, dst, file_key)  # type: ignore[arg-type]

        method = "file-key"
    elif identity is not None:
        ident = identity

        def run(src: IO[bytes], dst: IO[bytes]) -> Any:
            return decrypt(src, dst, [ident])  # type: ignore[arg-type]

        method = "tender-key"
    else:
        return None
    storage, plaintext_key = get_storage(), job.plaintext_key
    if storage.exists(OPENED_BIDS, plaintext_key):
        # A run stopped after storing this plaintext and before committing its outcome. `put` never leaves a
        # partial object and is reached only when the whole stream verified, so the object is the plaintext;
        # the sealed file is checked against the receipt again, as after a decryption.
        if (job.sha256, job.size) != _stored_hash(job.object_key):
            with contextlib.suppress(Exception):
                storage.delete(OPENED_BIDS, plaintext_key)
            raise _Failure("the stored file differs from the receipted one", bidder_fault=False)
        return method, storage.stat(OPENED_BIDS, plaintext_key)
    try:
        raw = HashingRaw(storage.open(SEALED_BIDS, job.object_key))
    except NotFound:
        raise _Failure("the sealed file is missing from storage", bidder_fault=False) from None
    with io.BufferedReader(raw) as src:
        try:
            info = decrypt_into_storage(run, src, OPENED_BIDS, plaintext_key)
        except DecryptionFailed as failed:
            cause = failed.cause
            if isinstance(cause, StorageUnavailable | DomainError):
                raise cause from None
            if isinstance(cause, NoIdentityMatchError):
                raise
            while src.read(256 * 1024):
                pass  # hash the rest: the receipt check needs no second read of the sealed file
            if (raw.digest.hexdigest(), raw.size) != (job.sha256, job.size):
                raise _Failure("the stored file differs from the receipted one", bidder_fault=False) from None
            if isinstance(cause, AgeError):
                raise _Failure(f"the envelope does not decrypt: {cause}", bidder_fault=True) from None
            raise _Failure(f"decryption failed: {type(cause).__name__}", bidder_fault=False) from None
        while src.read(256 * 1024):
            pass  # hash whatever the decryptor left unread
    if (raw.digest.hexdigest(), raw.size) != (job.sha256, job.size):
        with contextlib.suppress(Exception):
            storage.delete(OPENED_BIDS, plaintext_key)
        raise _Failure("the stored file differs from the receipted one", bidder_fault=False)
    return method, info


def _read_contents(job: EnvelopeJob) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Parse the decrypted archive and validate the bid form: (files, form); raises _Failure (the bidder's fault)."""
    try:
        with get_storage().open(OPENED_BIDS, job.plaintext_key) as fh:
            contents = read_envelope(fh)
    except EnvelopeError as exc:
        raise _Failure(f"the envelope is not a valid bid archive: {exc}", bidder_fault=True) from None
    files = [{"name": name, "size": size} for name, size in contents.files]
    if job.form_schema is None:
        return files, None
    if contents.form is None:
        raise _Failure("the envelope has no form.json", bidder_fault=True)
    errors = terms.form_errors(job.form_schema, contents.form)
    if errors:
        raise _Failure("the bid form is not valid: " + "; ".join(errors), bidder_fault=True)
    try:
        canonicalize(contents.form)
    except CanonicalError as exc:
        raise _Failure(f"the bid form cannot be recorded exactly: {exc}", bidder_fault=True) from None
    return files, contents.form


def open_job(job: EnvelopeJob, identity: X25519Identity | None, window_closed: bool) -> Opened | None:
    """Open one sealed envelope from storage into the quarantine; touches no database row.

    Returns its outcome (opened, or failed with the cause), or None to retry on a later sweep: no key yet, a
    file sealed to the bidder only while the reveal window is open, storage unreachable.
    """
    decrypted: tuple[str, ObjectInfo] | None = None
    try:
        try:
            decrypted = _decrypt(job, identity)
            if decrypted is None:
                return None
        except DecryptionFailed as failed:
            if isinstance(failed.cause, NoIdentityMatchError):
                if not window_closed:
                    return None  # sealed to the bidder only: wait for the file key until the window closes
                raise _Failure(
                    "the envelope is not sealed to the tender's key and its file key was not revealed",
                    bidder_fault=True,
                ) from None
            raise
        files, form = _read_contents(job)
    except _Failure as failure:
        method, info = decrypted if decrypted is not None else (None, None)
        return Opened(
            EnvelopeOutcome.FAILED,
            method=method,
            plaintext_key=job.plaintext_key if info else None,
            plaintext_sha256=info.sha256 if info else None,
            plaintext_size=info.size if info else None,
            failure_cause=failure.cause[:2000],
            bidder_fault=failure.bidder_fault,
        )
    except StorageUnavailable:
        return None
    method, info = decrypted
    return Opened(
        EnvelopeOutcome.OPENED,
        method=method,
        plaintext_key=job.plaintext_key,
        plaintext_sha256=info.sha256,
        plaintext_size=info.size,
        files=files,
        form=form,
    )


def record_outcome(job: EnvelopeJob, opened: Opened) -> None:
    """Write one envelope's outcome (flush); when another run already recorded one, the first stands."""
    env = db.session.execute(
        select(BidEnvelope)
        .where(BidEnvelope.id == job.envelope_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if env.outcome is not EnvelopeOutcome.SEALED:
        return
    env.outcome = opened.outcome
    env.opened_with = opened.method
    env.plaintext_key = opened.plaintext_key
    env.plaintext_sha256 = opened.plaintext_sha256
    env.plaintext_size = opened.plaintext_size
    env.files = opened.files
    env.form = opened.form
    env.failure_cause = opened.failure_cause
    env.bidder_fault = opened.bidder_fault
    env.opened_at = now_utc()
    db.session.flush()


# --- stages and the opening record -------------------------------------------------------------------


def _current_envelopes(bid: Bid, stage: int) -> list[BidEnvelope]:
    version = bid.current_version
    return [e for e in (version.envelopes if version else []) if e.stage == stage]


def _bids(tender: Tender) -> list[Bid]:
    """The tender's bids with their current envelopes and organisation: a few queries, not a few per bid."""
    return list(
        db.session.scalars(
            select(Bid)
            .where(Bid.tender_id == tender.id)
            .order_by(Bid.id)
            .options(
                selectinload(Bid.current_version).selectinload(BidVersion.envelopes), selectinload(Bid.organisation)
            )
        )
    )


def start_opening(tender: Tender) -> None:
    """The opening time has come: stage 1 begins; bids withdrawn before the deadline are recorded as such."""
    now = now_utc()
    tender.status = TenderStatus.OPENING
    tender.current_stage = 1
    tender.opening_started_at = now
    tender.stage_started_at = now
    # Every receipt of the tender is logged before its record links bids to batches: pending commitments (of any
    # tender) are sealed now, out of turn. That reveals only that an opening happened, which is public.
    batches.seal_pending()
    bids = _bids(tender)
    for bid in bids:
        if bid.withdrawn:
            bid.outcome = BidOutcome.WITHDRAWN
            bid.outcome_cause = "withdrawn by the bidder before the deadline"
            bid.outcome_stage = 0
    db.session.flush()
    record(
        "tendering.opening.started",
        actor=SYSTEM,
        subject=tender.audit_ref,
        data={"bids": sum(1 for b in bids if not b.withdrawn), "withdrawn": sum(1 for b in bids if b.withdrawn)},
    )


def _stage_participants(tender: Tender, stage: int) -> list[Bid]:
    return [b for b in _bids(tender) if not b.withdrawn and b.outcome in (BidOutcome.PENDING, BidOutcome.VALID)]


def _record_exists(tender_id: int, stage: int) -> bool:
    return bool(
        db.session.scalar(
            select(OpeningRecord.id).where(OpeningRecord.tender_id == tender_id, OpeningRecord.stage == stage)
        )
    )


def _locked_tender(tender_id: int, *, wait: bool = False) -> Tender | None:
    """The tender row, locked for this transaction; None when another worker holds it (SKIP LOCKED), unless
    `wait`: then it waits for the holder's transaction to end (None only when there is no such tender)."""
    return db.session.scalar(
        select(Tender)
        .where(Tender.id == tender_id)
        .with_for_update(skip_locked=not wait)
        .execution_options(populate_existing=True)
    )


def _job(tender: Tender, env: BidEnvelope, form_envelope: str | None) -> EnvelopeJob:
    return EnvelopeJob(
        envelope_id=env.id,
        label=envelope_label(env),
        tender_id=tender.id,
        bid_id=env.version.bid_id,
        version_number=env.version.number,
        name=env.name,
        object_key=env.object_key,
        sha256=env.sha256,
        size=env.size,
        revealed_key=env.revealed_key,
        form_schema=dict(tender.bid_form_schema) if env.name == form_envelope else None,
    )


def _window_closed(tender: Tender) -> bool:
    window = config_value("TENDER_REVEAL_WINDOW")
    return bool(now_utc() >= (tender.stage_started_at or tender.opening_at) + window)


def plan_stage(tender_id: int) -> StagePlan | None:
    """The current stage's work (flushes the custody release): the rebuilt key and the envelopes still sealed.

    None when the tender is not being opened, is busy in another worker, or its stage record is published.
    Raises OpeningKeyMismatch or CustodyError when the key cannot be rebuilt correctly.
    """
    tender = _locked_tender(tender_id)
    if tender is None or tender.status is not TenderStatus.OPENING:
        return None
    stage = tender.current_stage
    if _record_exists(tender.id, stage):
        return None
    identity = rebuild_identity(tender)
    form_envelope = tender.form_envelope()
    jobs = [
        _job(tender, env, form_envelope)
        for bid in _stage_participants(tender, stage)
        for env in _current_envelopes(bid, stage)
        if env.outcome is EnvelopeOutcome.SEALED
    ]
    return StagePlan(stage=stage, identity=identity, window_closed=_window_closed(tender), jobs=jobs)


def plan_envelope(envelope_id: int) -> StagePlan | None:
    """The work of one envelope of a current stage, for a worker's task (flushes nothing new: the sweep that
    enqueued it released the custody already); None when the envelope has an outcome, is not of the tender's
    current stage or current bid version, or the stage's record is published. Raises like `plan_stage`.
    """
    env = db.session.get(BidEnvelope, envelope_id, populate_existing=True)
    if env is None or env.outcome is not EnvelopeOutcome.SEALED:
        return None
    bid = db.session.get(Bid, env.version.bid_id)
    tender = db.session.get(Tender, bid.tender_id) if bid is not None else None
    if bid is None or tender is None or tender.status is not TenderStatus.OPENING:
        return None
    stage = tender.current_stage
    if env.stage != stage or bid.current_version_id != env.version_id or _record_exists(tender.id, stage):
        return None
    if bid.withdrawn or bid.outcome not in (BidOutcome.PENDING, BidOutcome.VALID):
        return None
    identity = rebuild_identity(tender)
    job = _job(tender, env, tender.form_envelope())
    return StagePlan(stage=stage, identity=identity, window_closed=_window_closed(tender), jobs=[job])


def still_sealed(envelope_id: int) -> bool:
    """Whether the envelope still has no outcome (read afresh: another worker may have recorded one)."""
    outcome = db.session.scalar(select(BidEnvelope.outcome).where(BidEnvelope.id == envelope_id))
    return outcome is EnvelopeOutcome.SEALED


def envelope_claim(envelope_id: int) -> contextlib.AbstractContextManager[bool]:
    """Held by the one worker decrypting the envelope (see app.core.tasks.claim): others skip it meanwhile."""
    return claim(f"tendering.opening.envelope:{envelope_id}")


def finish_stage(tender_id: int, stage: int) -> OpeningRecord | None:
    """Publish the stage's record once every envelope of it has an outcome (flushes); None otherwise.

    Waits for the tender's row lock rather than skipping it: two workers recording the stage's last two outcomes
    at once then publish it exactly once, in whichever comes second, which sees both outcomes (the unique
    (tender, stage) constraint of the records stands behind the check).
    """
    tender = _locked_tender(tender_id, wait=True)
    if tender is None or tender.status is not TenderStatus.OPENING or tender.current_stage != stage:
        return None
    if _record_exists(tender.id, stage):
        return None
    participants = _stage_participants(tender, stage)
    for bid in participants:
        if any(e.outcome is EnvelopeOutcome.SEALED for e in _current_envelopes(bid, stage)):
            return None
    return _finish_stage(tender, stage, participants)


def _finish_stage(tender: Tender, stage: int, participants: list[Bid]) -> OpeningRecord:
    for bid in participants:
        envs = _current_envelopes(bid, stage)
        failed = [e for e in envs if e.outcome is EnvelopeOutcome.FAILED]
        if failed:
            bid.outcome = BidOutcome.REVOKED if any(e.bidder_fault for e in failed) else BidOutcome.WITHDRAWN
            bid.outcome_cause = "; ".join(f"{e.name}: {e.failure_cause}" for e in failed)[:2000]
            bid.outcome_stage = stage
        else:
            bid.outcome = BidOutcome.VALID
            bid.outcome_stage = stage
    db.session.flush()
    valid = sum(1 for b in _bids(tender) if b.outcome is BidOutcome.VALID)
    last = stage >= tender.stage_count
    if valid < tender.min_bids:
        result = "failed"
    elif last:
        result = "opened"
    else:
        result = "next-stage"
    now = now_utc()
    payload = opening_record_payload(tender, stage, valid=valid, result=result, published_at=now)
    document = sign_document(payload, platform_signing_key())
    entry = record(
        "tendering.opening.record_published",
        actor=SYSTEM,
        subject=tender.audit_ref,
        data={
            "stage": stage,
            "record_sha256": hashlib.sha256(canonicalize(payload)).hexdigest(),
            "valid_bids": valid,
            "result": result,
        },
    )
    rec = OpeningRecord(tender_id=tender.id, stage=stage, published_at=now, document=document, audit_index=entry.index)
    db.session.add(rec)
    if result == "failed":
        tender.status = TenderStatus.FAILED
        tender.failure_reason = f"{valid} valid bid(s), at least {tender.min_bids} required (流标)"
        tender.closed_at = now
        record(
            "tendering.tender.failed", actor=SYSTEM, subject=tender.audit_ref, data={"reason": tender.failure_reason}
        )
    elif result == "opened":
        tender.status = TenderStatus.OPENED
        tender.closed_at = now
    db.session.flush()
    return rec


def opening_record_payload(
    tender: Tender, stage: int, *, valid: int, result: str, published_at: datetime
) -> dict[str, Any]:
    bids = []
    for bid in _bids(tender):
        if bid.withdrawn and stage > 1:
            continue
        if bid.outcome is BidOutcome.ELIMINATED and (bid.outcome_stage or 0) < stage - 1:
            continue
        version = bid.current_version
        where = receipt_location(version) if version is not None else (None, None)
        envs = _current_envelopes(bid, stage) if not bid.withdrawn else []
        form_env = next((e for e in envs if e.form is not None), None)
        bids.append(
            {
                "bid_id": bid.public_id,
                "bidder": {
                    "organisation_id": bid.organisation.id,
                    "name": bid.organisation.name,
                    "uscc": bid.organisation.uscc,
                },
                "receipt": None
                if version is None
                else {
                    "version": version.number,
                    "kind": version.kind,
                    "received_at": format_instant(version.received_at),
                    # The evidence-log entry of the receipt's batch (v1 receipts: its own entry) and its leaf there.
                    "log_index": where[0],
                    "leaf_index": where[1],
                    "commitment": version.receipt["payload"]["commitment"],
                },
                "outcome": bid.outcome.value,
                "cause": bid.outcome_cause,
                "envelopes": [
                    {
                        "name": e.name,
                        "sha256": e.sha256,
                        "size": e.size,
                        "outcome": e.outcome.value,
                        "opened_with": e.opened_with,
                        "cause": e.failure_cause,
                        "plaintext_sha256": e.plaintext_sha256 if e.outcome is EnvelopeOutcome.OPENED else None,
                        "files": e.files or [],
                    }
                    for e in envs
                ],
                "form": form_env.form if form_env is not None else None,
            }
        )
    form_stage = tender.stage_of(tender.form_envelope())
    budget = None
    if tender.budget_amount is not None and (not tender.budget_secret or stage >= form_stage):
        budget = {"amount": tender.budget_amount, "currency": tender.budget_currency}
    return {
        "format": RECORD_FORMAT,
        "tender": {
            "id": tender.id,
            "reference": tender.reference,
            "title": tender.title,
            "recipient": tender.recipient,
            "opening_at": format_instant(tender.opening_at),
        },
        "stage": stage,
        "stages": tender.stage_count,
        "envelopes": tender.envelope_names(stage),
        "custody": {
            "mode": tender.custody_mode.value,
            "released_at": format_instant(tender.custody_released_at) if tender.custody_released_at else None,
        },
        "budget": budget,
        "bids": bids,
        "valid_bids": valid,
        "min_bids": tender.min_bids,
        "result": result,
        "published_at": format_instant(published_at),
    }


def advance_stage(*, actor: User, tender: Tender, eliminated: list[int], reason: str) -> Tender:
    """After the stage review, admit the remaining valid bids to the next stage; eliminated ones stay sealed forever."""
    from app.tendering.services_tenders import _require_manager

    _require_manager(actor, tender)
    if tender.status is not TenderStatus.OPENING:
        raise Conflict(N_("The tender is not being opened."))
    stage = tender.current_stage
    if not db.session.scalar(
        select(OpeningRecord.id).where(OpeningRecord.tender_id == tender.id, OpeningRecord.stage == stage)
    ):
        raise Conflict(N_("The current stage is still being opened."))
    if stage >= tender.stage_count:
        raise Conflict(N_("This is the last stage."))
    valid = {b.id: b for b in _bids(tender) if b.outcome is BidOutcome.VALID}
    unknown = sorted(set(eliminated) - set(valid))
    if unknown:
        raise ValidationFailed(N_("Only valid bids of this tender can be eliminated."), errors={"eliminated": unknown})
    if eliminated and not reason.strip():
        raise ValidationFailed(N_("Give the reason for eliminating bids."), errors={"reason": ["required"]})
    for bid_id in eliminated:
        bid = valid[bid_id]
        bid.outcome = BidOutcome.ELIMINATED
        bid.outcome_cause = reason
        bid.outcome_stage = stage
    tender.current_stage = stage + 1
    tender.stage_started_at = now_utc()
    db.session.flush()
    record(
        "tendering.opening.stage_advanced",
        actor=actor,
        subject=tender.audit_ref,
        data={"from_stage": stage, "eliminated": sorted(valid[i].public_id for i in eliminated), "reason": reason},
    )
    enqueue_after_commit("tendering.open_due")
    return tender


def due_tender_ids() -> list[int]:
    """Published tenders whose opening time has come."""
    return list(
        db.session.scalars(
            select(Tender.id)
            .where(Tender.status == TenderStatus.PUBLISHED, Tender.opening_at <= now_utc())
            .order_by(Tender.id)
        )
    )


def imminent_openings(within: timedelta) -> list[tuple[int, datetime]]:
    """Published tenders opening after now and within `within`: (id, opening_at), soonest first."""
    now = now_utc()
    rows = db.session.execute(
        select(Tender.id, Tender.opening_at)
        .where(Tender.status == TenderStatus.PUBLISHED, Tender.opening_at > now, Tender.opening_at <= now + within)
        .order_by(Tender.opening_at)
    )
    return [(int(tid), at) for tid, at in rows]


def start_due(tender_id: int) -> bool:
    """Start one due opening (flushes); False when it is not due any more or another worker holds it."""
    tender = _locked_tender(tender_id)
    if tender is None or tender.status is not TenderStatus.PUBLISHED or now_utc() < tender.opening_at:
        return False
    start_opening(tender)
    return True


def active_tender_ids() -> list[int]:
    """Tenders whose opening is in progress."""
    return list(db.session.scalars(select(Tender.id).where(Tender.status == TenderStatus.OPENING).order_by(Tender.id)))


def note_key_problem(tender_id: int, exc: Exception) -> None:
    """Never decrypt with a wrong key: keep the tender waiting and make the problem visible (once per cause)."""
    tender = db.session.get(Tender, tender_id)
    if tender is None:
        return
    problem = f"opening key: {exc}"
    if tender.failure_reason != problem:
        tender.failure_reason = problem
        db.session.flush()
        record("tendering.opening.key_problem", actor=SYSTEM, subject=tender.audit_ref, data={"error": str(exc)})


# --- reading the record ------------------------------------------------------------------------------


def is_participant(actor: Any, tender: Tender) -> bool:
    if not getattr(actor, "is_authenticated", False):
        return False
    from app.tendering.services_bids import may_read_opened

    if may_read_opened(actor, tender):
        return True
    org = getattr(actor, "organisation_id", None)
    return (
        org is not None
        and actor.has_permission("tendering.bid")
        and db.session.scalar(select(Bid.id).where(Bid.tender_id == tender.id, Bid.organisation_id == org)) is not None
    )


def list_records(*, actor: Any, tender: Tender) -> list[OpeningRecord]:
    """The published opening records, for participants, the agency and overseers (refused and logged otherwise)."""
    if not is_participant(actor, tender):
        raise AccessRefused(
            N_("The opening record is published to the tender's participants."),
            actor=actor,
            subject=tender.audit_ref,
            data={"attempt": "opening-record"},
        )
    return list(
        db.session.scalars(
            select(OpeningRecord).where(OpeningRecord.tender_id == tender.id).order_by(OpeningRecord.stage)
        )
    )


def render_record_pdf(document: dict[str, Any], zone: str, schema: dict[str, Any] | None = None) -> bytes:
    """The opening record as a PDF (WeasyPrint, Noto CJK fonts for the Chinese text).

    `schema` is the tender's bid-form JSON Schema: the bid-form fields are shown by their titles.
    """
    from flask import render_template
    from weasyprint import HTML

    html = render_template(
        "tendering/opening_record_pdf.html",
        record=document["payload"],
        signature=document["signature"],
        zone=zone,
        schema=schema or {},
    )
    return bytes(HTML(string=html).write_pdf())
