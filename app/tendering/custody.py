"""Custody of a tender's opening key at the opening: the time-gated release of the platform's shares,
custodians bringing theirs, rebuilding and checking the identity, and bidders revealing their own file keys."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from app.accounts.models import User
from app.audit import record
from app.audit.services import format_instant
from app.core.db import db
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.keys import master_key
from app.core.problems import N_
from app.core.security import token_allows
from app.core.storage import SEALED_BIDS, get_storage
from app.core.tasks import enqueue_after_commit
from app.core.time import now_utc
from app.tendering.common import AccessRefused, open_small, seal_small
from app.tendering.models import (
    Bid,
    BidEnvelope,
    CustodyMode,
    CustodyShare,
    EnvelopeOutcome,
    Tender,
    TenderStatus,
)
from app.tendering.permissions import CUSTODY
from crypto.age import FILE_KEY_SIZE, X25519Identity, parse_header, verify_header_mac
from crypto.custody import CustodyError, Escrow, Share, recover_secret, unwrap_share
from crypto.errors import HeaderMACError

SYSTEM = "system:opening"


class OpeningKeyMismatch(RuntimeError):
    """The rebuilt key is not the published recipient's: nothing may be decrypted with it."""


# --- custody -----------------------------------------------------------------------------------------


def release_timed_shares(tender: Tender) -> list[Share]:
    """The platform's escrowed shares, unwrapped — only when now_utc() >= opening_at.

    The one place the time lock is enforced. The first release writes an evidence entry.
    Raises Conflict before the opening time.
    """
    now = now_utc()
    if now < tender.opening_at:
        raise Conflict(N_("The opening key is time-locked until the opening time."))
    rows = list(
        db.session.scalars(
            select(CustodyShare).where(CustodyShare.tender_id == tender.id, CustodyShare.holder == "platform")
        )
    )
    shares = [
        unwrap_share(row.wrapped, master_key(), context=tender.escrow_context or "", index=row.share_index)
        for row in rows
        if row.wrapped is not None
    ]
    if tender.custody_released_at is None:
        tender.custody_released_at = now
        record(
            "tendering.custody.released",
            actor=SYSTEM,
            subject=tender.audit_ref,
            data={
                "indices": [row.share_index for row in rows],
                "opening_at": format_instant(tender.opening_at),
                "released_at": format_instant(now),
            },
        )
    return shares


def _share_label(tender: Tender, index: int) -> str:
    return f"custody-share:{tender.id}:{index}"


def _submitted_shares(tender: Tender) -> list[Share]:
    rows = db.session.scalars(
        select(CustodyShare).where(CustodyShare.tender_id == tender.id, CustodyShare.submitted.is_not(None))
    )
    return [
        Share.from_text(open_small(row.submitted, _share_label(tender, row.share_index)).decode())
        for row in rows
        if row.submitted is not None
    ]


def rebuild_identity(tender: Tender) -> X25519Identity | None:
    """The tender's opening identity from the released and submitted shares; None while fewer than k are present.

    Raises OpeningKeyMismatch when the rebuilt key is not the published recipient's.
    """
    shares = release_timed_shares(tender) + _submitted_shares(tender)
    if len({s.index for s in shares}) < tender.custody_threshold:
        return None
    escrow = Escrow(
        context=tender.escrow_context or "",
        threshold=tender.custody_threshold,
        total=tender.escrow_total or 0,
        nonce=tender.escrow_nonce or b"",
        ciphertext=tender.escrow_ciphertext or b"",
    )
    identity = X25519Identity.parse(recover_secret(escrow, shares).decode())
    if str(identity.recipient) != tender.recipient:
        raise OpeningKeyMismatch(f"the rebuilt key of {tender.reference} is not its published recipient")
    return identity


def _custodian_share(actor: User, tender: Tender) -> CustodyShare:
    """The actor's custody row; refused (and logged) for non-custodians and for tokens without the custody scope."""
    if not token_allows(actor, CUSTODY):
        raise AccessRefused(
            N_("This token's scopes do not cover key custody (%(scope)s)."),
            params={"scope": repr(CUSTODY)},
            actor=actor,
            subject=tender.audit_ref,
            data={"attempt": "share", "scope": CUSTODY},
        )
    row: CustodyShare | None = db.session.scalar(
        select(CustodyShare).where(CustodyShare.tender_id == tender.id, CustodyShare.user_id == actor.id)
    )
    if row is None:
        raise AccessRefused(
            N_("You are not a custodian of this tender."),
            actor=actor,
            subject=tender.audit_ref,
            data={"attempt": "share"},
        )
    return row


def submit_custody_share(*, actor: User, tender: Tender, text: str) -> int:
    """A custodian brings its share to the opening. Returns how many shares are now present (of k needed).

    A share that is not the one issued to this custodian is refused with a clear error and changes nothing.
    """
    row = _custodian_share(actor, tender)
    if tender.custody_mode is not CustodyMode.COMMITTEE:
        raise Conflict(N_("This tender opens with timed custody; no shares are brought."))
    if tender.status not in (TenderStatus.PUBLISHED, TenderStatus.OPENING) or now_utc() < tender.opening_at:
        raise Conflict(N_("Shares are brought to the opening, not before it."))
    try:
        share = Share.from_text(text)
    except CustodyError as exc:
        raise ValidationFailed(
            N_("This is not a valid key share: %(reason)s"), params={"reason": exc}, errors={"share": ["invalid"]}
        ) from None
    if share.context != tender.escrow_context:
        raise ValidationFailed(N_("This share belongs to another tender."), errors={"share": ["other-tender"]})
    if hashlib.sha256(share.to_text().encode()).hexdigest() != row.share_sha256:
        raise ValidationFailed(N_("This is not the share issued to you for this tender."), errors={"share": ["wrong"]})
    if row.submitted is None:
        row.submitted = seal_small(share.to_text().encode(), _share_label(tender, row.share_index))
        row.submitted_at = now_utc()
        db.session.flush()
        record(
            "tendering.custody.share_submitted", actor=actor, subject=tender.audit_ref, data={"index": row.share_index}
        )
        enqueue_after_commit("tendering.open_due")
    present = db.session.scalar(
        select(func.count())
        .select_from(CustodyShare)
        .where(CustodyShare.tender_id == tender.id, CustodyShare.submitted.is_not(None))
    )
    return int(present or 0)


# --- bidder self-decryption --------------------------------------------------------------------------


def envelope_label(env: BidEnvelope) -> str:
    return f"bid-envelope:{env.id}"


def reveal_file_key(*, actor: User, tender: Tender, envelope: str, file_key: bytes) -> BidEnvelope:
    """The bidder reveals the 16-byte file key of its envelope at the opening; the platform opens with it.

    The key is checked against the envelope's header MAC first: a wrong key is refused and changes nothing.
    """
    if len(file_key) != FILE_KEY_SIZE:
        raise ValidationFailed(N_("A file key has 16 bytes."), errors={"file_key": ["length"]})
    if tender.status is not TenderStatus.OPENING:
        raise Conflict(N_("File keys are revealed during the opening."))
    org = actor.organisation_id
    bid = db.session.scalar(select(Bid).where(Bid.tender_id == tender.id, Bid.organisation_id == org))
    if bid is None or bid.current_version is None or bid.withdrawn:
        raise NotFound(N_("Your organisation has no bid on this tender."))
    env: BidEnvelope | None = next((e for e in bid.current_version.envelopes if e.name == envelope), None)
    if env is None:
        raise NotFound(N_("No such envelope."))
    if env.stage != tender.current_stage:
        raise Conflict(N_("This envelope is not opened at the current stage."))
    if env.outcome is not EnvelopeOutcome.SEALED:
        raise Conflict(N_("This envelope is already opened."))
    with get_storage().open(SEALED_BIDS, env.object_key) as src:
        header = parse_header(src)
    try:
        verify_header_mac(header, file_key)
    except HeaderMACError:
        raise ValidationFailed(
            N_("This file key does not open the envelope."), errors={"file_key": ["wrong"]}
        ) from None
    env.revealed_key = seal_small(file_key, envelope_label(env))
    db.session.flush()
    record(
        "tendering.envelope.key_revealed",
        actor=actor,
        subject=tender.audit_ref,
        data={"bid_id": bid.public_id, "envelope": envelope},
    )
    enqueue_after_commit("tendering.open_due")
    return env


def list_custody_duties(user: User) -> list[tuple[CustodyShare, Tender]]:
    """The key shares a named custodian holds, with their tenders (newest tender first)."""
    rows = db.session.execute(
        select(CustodyShare, Tender)
        .join(Tender, Tender.id == CustodyShare.tender_id)
        .where(CustodyShare.user_id == user.id)
        .order_by(Tender.id.desc())
    )
    return [(share, tender) for share, tender in rows]


def download_custody_share(*, actor: User, tender: Tender) -> str:
    """The actor's custodian share as text, exactly once; the platform's copy is erased. Raises Conflict after."""
    share_row = _custodian_share(actor, tender)
    if share_row.wrapped is None:
        raise Conflict(N_("Your share was already downloaded; the platform kept no copy."))
    share = unwrap_share(
        share_row.wrapped, master_key(), context=tender.escrow_context or "", index=share_row.share_index
    )
    share_row.wrapped = None
    share_row.downloaded_at = now_utc()
    db.session.flush()
    record(
        "tendering.custody.share_downloaded",
        actor=actor,
        subject=tender.audit_ref,
        data={"index": share_row.share_index},
    )
    return share.to_text()
