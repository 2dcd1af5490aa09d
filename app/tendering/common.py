"""Shared pieces of the tendering services: configured periods, logged refusals, secrets under the master key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from flask import Flask, current_app

from app.core.db import db
from app.core.errors import Conflict, DomainError, PermissionDenied, error_page, problem, wants_json
from app.core.keys import master_key
from app.core.problems import N_
from app.core.storage import DOCUMENTS, CappedStream, ObjectInfo, get_storage, validate_content_type, validate_filename

DEFAULTS: dict[str, Any] = {
    "TENDER_MIN_DAYS_TO_DEADLINE": 20,  # publication to deadline (招标投标法: at least 20 days)
    "TENDER_LATE_CLARIFICATION_DAYS": 15,  # a later clarification pushes the deadline to keep this many
    "TENDER_DEFAULT_MAX_BID_SIZE": 512 * 1024 * 1024,
    "TENDER_MAX_BID_SIZE_LIMIT": 5 * 1024**3,  # the object store's largest single object
    "TENDER_MAX_DOCUMENT_SIZE": 256 * 1024 * 1024,
    "TENDER_UPLOAD_MAX_CHUNK": 32 * 1024 * 1024,
    "TENDER_UPLOAD_TTL": timedelta(days=2),
    # How long after a stage starts bidders may reveal file keys before unopenable envelopes are recorded as failed.
    "TENDER_REVEAL_WINDOW": timedelta(minutes=30),
    # The remote opening: objections, questions and answers to the record are taken until this long after the last
    # record; its Server-Sent Events stream lasts this many seconds (the browser reconnects) and polls this often.
    "TENDER_REMOTE_OPENING_WINDOW": timedelta(hours=2),
    "TENDER_LIVE_STREAM_SECONDS": 55,
    "TENDER_LIVE_STREAM_POLL_SECONDS": 1.0,
}


def configure(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)


def config_days(name: str) -> timedelta:
    """A period configured in days (int or float, so demos and tests may shorten it to seconds)."""
    value = current_app.config.get(name, DEFAULTS.get(name))
    if isinstance(value, timedelta):
        return value
    return timedelta(days=float(str(value)))


def config_value(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS.get(name))


class LoggedRefusal(DomainError):
    """A refusal that must stay detectable: the request rolls back, then the refusal alone is logged and committed."""

    audit_action = "tendering.refused"

    def __init__(
        self,
        detail: str,
        params: Mapping[str, Any] | None = None,
        *,
        actor: Any,
        subject: str,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, params)
        from app.audit.services import actor_ref

        self.actor = actor_ref(actor)  # a string now: the object may be expired by the rollback
        self.subject = subject
        self.data = dict(data or {})


class ReauthenticationFailed(LoggedRefusal, PermissionDenied):
    """A signature that needs the person's password (and TOTP code) got a wrong one: refused, nothing signed, the
    attempt logged under the subclass's `audit_action` (the evaluation report's signing, a bidder's answer to the
    opening record)."""

    code = "reauthentication-failed"
    title = N_("Re-authentication failed")
    description = N_(
        "Signing needs your password (and your TOTP code when two-step verification is on); what was sent was "
        "wrong. Nothing was signed, and the attempt is recorded. After too many failures signing is held back for "
        "a while."
    )


class AccessRefused(LoggedRefusal, PermissionDenied):
    """Reading, listing or counting another party's bids; logged as access.denied."""

    audit_action = "access.denied"


class DeadlinePassed(LoggedRefusal, Conflict):
    code = "deadline-passed"
    title = N_("The submission deadline has passed")
    description = N_(
        "Bids, changes and withdrawals are accepted only until the tender's submission deadline, by the platform's "
        "clock. Nothing was submitted; the refused attempt is recorded in the evidence log."
    )
    audit_action = "tendering.bid.refused"


def log_refusal(err: LoggedRefusal) -> None:
    """Roll the request back, then log the refusal alone and commit (also for a form that answers with its page)."""
    from flask import request

    from app.audit import record

    db.session.rollback()
    data = {**err.data, "reason": err.detail, "method": request.method, "path": request.path}
    record(err.audit_action, actor=err.actor, subject=err.subject, data=data)
    db.session.commit()


def _handle_refusal(err: LoggedRefusal) -> Any:
    try:
        log_refusal(err)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("could not log refusal %s on %s", err.audit_action, err.subject)
    if wants_json():
        return problem(err.status, err.title, err.detail, err.code, **err.extra)
    return error_page(err.status, err.translated, err.code)


def init_app(app: Flask) -> None:
    configure(app)
    app.register_error_handler(LoggedRefusal, _handle_refusal)


def seal_small(secret: bytes, label: str) -> bytes:
    """Encrypt a small secret (a revealed file key, a submitted share) under the master key, bound to `label`."""
    nonce = os.urandom(12)
    return nonce + ChaCha20Poly1305(master_key()).encrypt(nonce, secret, label.encode())


def open_small(blob: bytes, label: str) -> bytes:
    try:
        return ChaCha20Poly1305(master_key()).decrypt(blob[:12], blob[12:], label.encode())
    except (InvalidTag, ValueError) as exc:
        raise RuntimeError(f"a secret under the master key does not open ({label})") from exc


def release_read_transaction() -> None:
    """End the request's transaction before streaming a large body to storage.

    Every SQLite transaction here starts with BEGIN IMMEDIATE, so an open one holds the database's single
    write lock; an upload over a slow line must not block every other writer. Only reads may have happened.
    """
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release_read_transaction() with pending writes")
    session.rollback()


def store_document(
    key: str, *, name: str, stream: IO[bytes], length: int | None, content_type: str, limit: int, too_large: DomainError
) -> ObjectInfo:
    """Store an uploaded file write-once in the documents bucket under a fresh key, with its SHA-256 and size.

    The name and type are checked first; a declared length over `limit` is refused before any byte is read, and a
    body that runs past it while streaming (`too_large` either way). Only reads may have happened in the request:
    its transaction is released while the body streams (release_read_transaction), so reload what you hold after.
    """
    validate_filename(name)
    validate_content_type(content_type)
    if length is not None and length > limit:
        raise too_large
    release_read_transaction()
    return get_storage().put(
        DOCUMENTS, key, CappedStream(stream, limit, too_large), length=length, content_type=content_type
    )
