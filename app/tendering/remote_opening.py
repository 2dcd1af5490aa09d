"""The remote opening (不见面开标): bidders who are not in the room take part in the opening from their browser.

- Watching: the tender's bidders and its overseers (the agency running the opening, auditors, supervisors) follow
  the opening live — each envelope's outcome as the sweep records it and, once a stage is done, its record.
  Everyone else is refused and the refusal logged (access.denied); every page view is logged
  (`tendering.opening.watched`), so the evidence log says who watched.
- Objections and questions: a bidder raises one during the opening; the host (the agency) answers it in the page.
  Both are evidence-log entries under `tender:<id>/opening`, so the replay of the opening room's recording shows
  them on its timeline (app/recordings/replay.timeline_events takes the tender's entries and those under it).
- Answering the record: each bidder confirms or disputes (with its reasons) a stage's published record, the way
  members sign the evaluation report: the bidder re-authenticates in the request (password or TOTP code) and names
  the record by its SHA-256 (the hash the `tendering.opening.record_published` entry carries); the platform logs the
  answer, then issues a confirmation document signed with its own key that cites that entry. The platform holds
  no bidder's private key.

The channel and the answers stay open from the start of the opening until TENDER_REMOTE_OPENING_WINDOW after the
last record was published. Services flush, never commit. The live page (remote_opening_views.py) and the JSON API
(remote_opening_api.py) are thin over these: one rule for who may do what, one way of logging and signing.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.accounts.services_passwords import verify_password
from app.accounts.services_totp import verify_totp
from app.audit import record
from app.audit.models import AuditEntry
from app.audit.services import actor_ref, format_instant
from app.core.db import db
from app.core.errors import (
    Conflict,
    NotFound,
    TooManyRequests,
    clean_text,
    field_error,
)
from app.core.keys import platform_signing_key
from app.core.problems import N_
from app.core.time import now_utc
from app.recordings.models import RecordingSegment, RecordingSession
from app.tendering import common, opening
from app.tendering.common import AccessRefused, config_value
from app.tendering.models import (
    Bid,
    BidOutcome,
    OpeningConfirmation,
    OpeningMessage,
    OpeningRecord,
    Tender,
    TenderStatus,
)
from app.tendering.services_tenders import is_manager_of
from crypto.canonical import canonicalize
from crypto.signing import sign_document

CONFIRMATION_FORMAT = "platform-opening-confirmation/v1"
KINDS = ("objection", "question")
VERDICTS = ("confirmed", "disputed")
MAX_TEXT = 2000
MAX_REAUTH_FAILURES = 5
REAUTH_WINDOW = timedelta(minutes=15)
API_WATCH_GAP = timedelta(minutes=5)
MAX_STAGE = 999


class ReauthenticationFailed(common.ReauthenticationFailed):
    """The bidder's password or TOTP code was wrong: nothing is signed, the attempt is logged."""

    audit_action = "tendering.opening.answer_refused"


def subject(tender: Tender) -> str:
    return f"{tender.audit_ref}/opening"


def window() -> timedelta:
    value = config_value("TENDER_REMOTE_OPENING_WINDOW")
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


def sha256_of(rec: OpeningRecord) -> str:
    """The record's hash as its `tendering.opening.record_published` entry carries it."""
    return hashlib.sha256(canonicalize(rec.document["payload"])).hexdigest()


# --- who is who --------------------------------------------------------------------------------------


def role_of(actor: Any, tender: Tender) -> str | None:
    """'host' (the tender's agency), 'bidder' (a user of a bidding organisation), 'overseer', or None."""
    if not getattr(actor, "is_authenticated", False):
        return None
    if is_manager_of(actor, tender):
        return "host"
    if _bidder_org(actor, tender) is not None:
        return "bidder"
    if actor.has_permission("tendering.read_opened"):
        return "overseer"
    return None


def _bidder_org(actor: Any, tender: Tender) -> int | None:
    org = getattr(actor, "organisation_id", None)
    if org is None or not actor.has_permission("tendering.bid"):
        return None
    found = db.session.scalar(select(Bid.id).where(Bid.tender_id == tender.id, Bid.organisation_id == org))
    return int(org) if found is not None else None


def _refuse(actor: Any, tender: Tender, attempt: str, detail: str) -> AccessRefused:
    return AccessRefused(detail, actor=actor, subject=subject(tender), data={"attempt": attempt})


def require_watcher(actor: Any, tender: Tender) -> str:
    role = role_of(actor, tender)
    if role is None:
        raise _refuse(
            actor, tender, "watch-opening", N_("Only the tender's bidders and its overseers may follow the opening.")
        )
    return role


def watch(actor: Any, tender: Tender, *, via: str = "page") -> str:
    """A viewer opens the page, or reads the state through the API: checked (a refusal is logged), then the viewer
    logged. Returns the viewer's role.

    Every page visit is an entry. A program polls the API every few seconds, so through the API a viewer is logged
    when it starts reading and again after API_WATCH_GAP without an entry of its own for this opening: the log
    still says who watched and when, without an entry per poll."""
    role = require_watcher(actor, tender)
    if via == "api":
        recent = db.session.scalar(
            select(AuditEntry.index)
            .where(
                AuditEntry.action == "tendering.opening.watched",
                AuditEntry.actor == actor_ref(actor),
                AuditEntry.subject == subject(tender),
                AuditEntry.created_at >= now_utc() - API_WATCH_GAP,
            )
            .limit(1)
        )
        if recent is not None:
            return role
        record("tendering.opening.watched", actor=actor, subject=subject(tender), data={"role": role, "via": "api"})
        return role
    record("tendering.opening.watched", actor=actor, subject=subject(tender), data={"role": role})
    return role


def bidders_present(tender: Tender) -> list[str]:
    """For the host and overseers: the bidding organisations whose users have opened the page (签到), by name, in
    the order they first came. Read from the evidence log's `tendering.opening.watched` entries.

    Nobody before the opening starts: a bidder watching the page early would name (and count) a bid."""
    from app.accounts.models import Organisation, User

    if tender.opening_started_at is None:
        return []
    refs = db.session.scalars(
        select(AuditEntry.actor)
        .where(AuditEntry.subject == subject(tender), AuditEntry.action == "tendering.opening.watched")
        .order_by(AuditEntry.index)
    )
    user_ids = list(dict.fromkeys(int(r[5:]) for r in refs if r.startswith("user:") and r[5:].isdigit()))
    if not user_ids:
        return []
    bidding = set(db.session.scalars(select(Bid.organisation_id).where(Bid.tender_id == tender.id)))
    orgs = {
        uid: org for uid, org in db.session.execute(select(User.id, User.organisation_id).where(User.id.in_(user_ids)))
    }
    present = [orgs[u] for u in user_ids if orgs.get(u) in bidding]
    names = {
        oid: name
        for oid, name in db.session.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(present))
        )
    }
    return [names[o] for o in dict.fromkeys(present) if o in names]


# --- the live state ----------------------------------------------------------------------------------


def _records(tender: Tender) -> list[OpeningRecord]:
    return list(
        db.session.scalars(
            select(OpeningRecord).where(OpeningRecord.tender_id == tender.id).order_by(OpeningRecord.stage)
        )
    )


def channel_closes_at(tender: Tender, records: list[OpeningRecord] | None = None) -> datetime | None:
    """When objections, questions and answers to the record stop being taken; None while the opening runs."""
    if tender.status is TenderStatus.OPENING:
        return None
    records = _records(tender) if records is None else records
    if not records:
        return None
    return max(r.published_at for r in records) + window()


def channel_open(tender: Tender, records: list[OpeningRecord] | None = None) -> bool:
    if tender.opening_started_at is None:
        return False
    if tender.status is TenderStatus.OPENING:
        return True
    closes = channel_closes_at(tender, records)
    return closes is not None and now_utc() < closes


def snapshot(tender: Tender) -> dict[str, Any]:
    """What every watcher sees (the same for all): progress, records with their answers, messages.

    Before the opening starts it names no bid and counts none: bids stay sealed and uncounted until then.
    """
    state: dict[str, Any] = {
        "tender": tender.id,
        "status": tender.status.value,
        "opening_at": format_instant(tender.opening_at),
        "stage": tender.current_stage,
        "stages": tender.stage_count,
        "bids": [],
        "records": [],
        "messages": [],
        "filming": _filmed(tender),  # the page plays the room's live playlist meanwhile
    }
    if tender.opening_started_at is None:
        return state
    state["started_at"] = format_instant(tender.opening_started_at)
    stage = max(tender.current_stage, 1)
    for bid in opening._bids(tender):
        if bid.outcome is BidOutcome.ELIMINATED:
            continue
        envs = [] if bid.withdrawn else opening._current_envelopes(bid, stage)
        state["bids"].append(
            {
                "bid_id": bid.public_id,
                "bidder": bid.organisation.name,
                "outcome": bid.outcome.value,
                "envelopes": [
                    {
                        "name": e.name,
                        "outcome": e.outcome.value,
                        "at": format_instant(e.opened_at) if e.opened_at else None,
                    }
                    for e in envs
                ],
            }
        )
    records = _records(tender)
    answers = {
        (c.record_id, c.organisation_id): c
        for c in db.session.scalars(select(OpeningConfirmation).where(OpeningConfirmation.tender_id == tender.id))
    }
    for rec in records:
        payload = rec.document["payload"]
        rows = []
        for b in payload["bids"]:
            org = b["bidder"]["organisation_id"]
            answer = answers.get((rec.id, org))
            rows.append(
                {
                    "organisation_id": org,
                    "bidder": b["bidder"]["name"],
                    "verdict": answer.verdict if answer else None,
                    "reason": answer.reason if answer else None,
                    "at": format_instant(answer.signed_at) if answer else None,
                }
            )
        state["records"].append(
            {
                "stage": rec.stage,
                "published_at": format_instant(rec.published_at),
                "record_sha256": sha256_of(rec),
                "result": payload["result"],
                "valid_bids": payload["valid_bids"],
                "answers": rows,
            }
        )
    state["messages"] = [message_view(m) for m in list_messages(tender)]
    closes = channel_closes_at(tender, records)
    state["channel_open"] = channel_open(tender, records)
    state["channel_closes_at"] = format_instant(closes) if closes else None
    return state


def live_session(tender: Tender) -> RecordingSession | None:
    """The recording of the opening room filming this tender now (its subject is the tender), if any."""
    return db.session.scalar(
        select(RecordingSession)
        .where(
            RecordingSession.subject == tender.audit_ref,
            RecordingSession.started_at.is_not(None),
            RecordingSession.ended_at.is_(None),
        )
        .order_by(RecordingSession.id.desc())
        .limit(1)
    )


def _filmed(tender: Tender) -> bool:
    """Whether the room is being filmed for this tender and a first segment is stored (the playlist can play)."""
    session = live_session(tender)
    return session is not None and (
        db.session.scalar(
            select(RecordingSegment.id)
            .where(RecordingSegment.session_id == session.id, RecordingSegment.uploaded_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def version(state: dict[str, Any]) -> str:
    """A short fingerprint of a snapshot: the stream sends a snapshot only when it changed."""
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]


# --- objections and questions ------------------------------------------------------------------------


def list_messages(tender: Tender) -> list[OpeningMessage]:
    return list(
        db.session.scalars(
            select(OpeningMessage).where(OpeningMessage.tender_id == tender.id).order_by(OpeningMessage.id)
        )
    )


def message_view(m: OpeningMessage) -> dict[str, Any]:
    """An objection or a question with its answer, as every watcher sees it (the page, the stream, the API)."""
    return {
        "id": m.id,
        "kind": m.kind,
        "bidder": m.organisation.name,
        "text": m.text,
        "raised_at": format_instant(m.raised_at),
        "answer": m.answer,
        "answered_at": format_instant(m.answered_at) if m.answered_at else None,
    }


def _text(value: Any, field: str, missing: str) -> str:
    if not (isinstance(value, str) and value.strip()):
        raise field_error(field, missing)
    return clean_text(value, field, MAX_TEXT)


def raise_message(*, actor: Any, tender: Tender, kind: Any, text: Any) -> OpeningMessage:
    """A bidder raises an objection or a question during the opening (flush)."""
    org = _bidder_org(actor, tender)
    if org is None:
        raise _refuse(actor, tender, "raise-objection", N_("Only the tender's bidders raise objections and questions."))
    if kind not in KINDS:
        raise field_error("kind", N_("Choose an objection or a question."))
    body = _text(text, "text", N_("Write the objection or the question."))
    if not channel_open(tender):
        raise Conflict(N_("Objections and questions are taken only during the opening."))
    now = now_utc()
    entry = record(
        "tendering.opening.objection_raised" if kind == "objection" else "tendering.opening.question_raised",
        actor=actor,
        subject=subject(tender),
        data={"organisation_id": org, "text": body, "text_sha256": hashlib.sha256(body.encode()).hexdigest()},
    )
    msg = OpeningMessage(
        tender_id=tender.id,
        kind=kind,
        organisation_id=org,
        author_id=actor.id,
        text=body,
        raised_at=now,
        audit_index=entry.index,
    )
    db.session.add(msg)
    db.session.flush()
    return msg


def answer_message(*, actor: Any, tender: Tender, message_id: int, text: Any) -> OpeningMessage:
    """The host (the tender's agency) answers an objection or a question, once (flush)."""
    if not is_manager_of(actor, tender):
        raise _refuse(actor, tender, "answer-objection", N_("Only the agency running the opening answers."))
    msg = db.session.get(OpeningMessage, message_id) if 0 < message_id < 2**31 else None
    if msg is None or msg.tender_id != tender.id:
        raise NotFound(N_("No such objection or question."))
    body = _text(text, "answer", N_("Write the answer."))
    if msg.answer is not None:
        raise Conflict(N_("This has already been answered."))
    now = now_utc()
    entry = record(
        "tendering.opening.objection_answered" if msg.kind == "objection" else "tendering.opening.question_answered",
        actor=actor,
        subject=subject(tender),
        data={
            "message_index": msg.audit_index,
            "organisation_id": msg.organisation_id,
            "answer": body,
            "answer_sha256": hashlib.sha256(body.encode()).hexdigest(),
        },
    )
    msg.answer, msg.answered_by_id, msg.answered_at, msg.answer_audit_index = body, actor.id, now, entry.index
    db.session.flush()
    return msg


# --- answering the record ----------------------------------------------------------------------------


def _reauthenticate(actor: Any, tender: Tender, password: Any, totp: Any) -> str:
    """Check the fresh credential(s) sent with the answer; returns how the bidder re-authenticated."""
    password = password if isinstance(password, str) else ""
    totp = totp.strip() if isinstance(totp, str) else ""
    if not password and not totp:
        raise field_error("password", N_("Confirm your identity with your password or a TOTP code."))
    refused = db.session.scalar(
        select(func.count(AuditEntry.index)).where(
            AuditEntry.action == ReauthenticationFailed.audit_action,
            AuditEntry.actor == actor_ref(actor),
            AuditEntry.created_at >= now_utc() - REAUTH_WINDOW,
        )
    )
    if (refused or 0) >= MAX_REAUTH_FAILURES:
        raise TooManyRequests(N_("Too many wrong credentials: try again later."))
    via = []
    if password:
        if not verify_password(actor, password):
            raise ReauthenticationFailed(
                N_("The password is not correct."),
                actor=actor,
                subject=subject(tender),
                data={"attempt": "answer-record", "via": "password"},
            )
        via.append("password")
    if totp:
        if not actor.totp_enabled or not verify_totp(actor, totp):
            raise ReauthenticationFailed(
                N_("The TOTP code is not correct."),
                actor=actor,
                subject=subject(tender),
                data={"attempt": "answer-record", "via": "totp"},
            )
        via.append("totp")
    return "+".join(via)


def answer_record(
    *,
    actor: Any,
    tender: Tender,
    stage: int,
    verdict: Any,
    record_sha256: Any,
    reason: Any = None,
    password: Any = None,
    totp: Any = None,
) -> OpeningConfirmation:
    """A bidder named in the stage's record confirms it, or disputes it with reasons; signed by the platform."""
    org = _bidder_org(actor, tender)
    if org is None:
        raise _refuse(actor, tender, "answer-record", N_("Only the tender's bidders confirm the opening record."))
    rec = get_record(tender, stage)
    payload = rec.document["payload"]
    bidder = next((b["bidder"] for b in payload["bids"] if b["bidder"]["organisation_id"] == org), None)
    if bidder is None:
        raise _refuse(actor, tender, "answer-record", N_("Your bid is not in this stage's record."))
    if verdict not in VERDICTS:
        raise field_error("verdict", N_("Choose whether you confirm or dispute the record."))
    note = None
    if verdict == "disputed":
        note = _text(reason, "reason", N_("Give the reasons for disputing the record."))
    elif isinstance(reason, str) and reason.strip():
        raise field_error("reason", N_("Reasons are given only when disputing the record."))
    digest = sha256_of(rec)
    if record_sha256 != digest:
        raise field_error("record_sha256", N_("This is not the hash of the record as published."))
    if db.session.scalar(
        select(OpeningConfirmation.id).where(
            OpeningConfirmation.record_id == rec.id, OpeningConfirmation.organisation_id == org
        )
    ):
        raise Conflict(N_("Your organisation has already answered this record."))
    closes = channel_closes_at(tender)
    if closes is not None and now_utc() >= closes:
        raise Conflict(N_("The time to answer the opening record has passed."))
    via = _reauthenticate(actor, tender, password, totp)
    now = now_utc()
    entry = record(
        "tendering.opening.record_confirmed" if verdict == "confirmed" else "tendering.opening.record_disputed",
        actor=actor,
        subject=subject(tender),
        data={
            "stage": stage,
            "record_sha256": digest,
            "organisation_id": org,
            "reason": note,
            "reauthenticated_with": via,
        },
    )
    document = sign_document(
        {
            "format": CONFIRMATION_FORMAT,
            "tender_id": tender.id,
            "stage": stage,
            "record_sha256": digest,
            "record_log_index": rec.audit_index,
            "bidder": bidder,
            "user_id": actor.id,
            "verdict": verdict,
            "reason": note,
            "signed_at": format_instant(now),
            "audit_index": entry.index,
            "reauthenticated_with": via,
        },
        platform_signing_key(),
    )
    answer = OpeningConfirmation(
        tender_id=tender.id,
        record_id=rec.id,
        stage=stage,
        organisation_id=org,
        user_id=actor.id,
        verdict=verdict,
        reason=note,
        record_sha256=digest,
        signed_at=now,
        audit_index=entry.index,
        signed=document,
    )
    db.session.add(answer)
    db.session.flush()
    return answer


def get_record(tender: Tender, stage: int) -> OpeningRecord:
    """The published opening record of a stage; NotFound before it is published (or for no such stage)."""
    rec: OpeningRecord | None = None
    if 0 < stage <= MAX_STAGE:
        rec = db.session.scalar(
            select(OpeningRecord).where(OpeningRecord.tender_id == tender.id, OpeningRecord.stage == stage)
        )
    if rec is None:
        raise NotFound(N_("The opening record of this stage is not published."))
    return rec


def signed_answers(actor: Any, tender: Tender, stage: int) -> dict[str, Any]:
    """For watchers: the bidders' platform-signed answers to a stage's record, each verifiable with the platform's
    public key, beside the record's SHA-256."""
    require_watcher(actor, tender)
    rec = get_record(tender, stage)
    answers = db.session.scalars(
        select(OpeningConfirmation).where(OpeningConfirmation.record_id == rec.id).order_by(OpeningConfirmation.id)
    )
    return {"stage": rec.stage, "record_sha256": sha256_of(rec), "answers": [a.signed for a in answers]}


def answers_of(rec: OpeningRecord) -> list[dict[str, Any]]:
    """For the record page: every bidder of the record with its answer (None: not answered)."""
    found = {
        c.organisation_id: c
        for c in db.session.scalars(select(OpeningConfirmation).where(OpeningConfirmation.record_id == rec.id))
    }
    rows = []
    for b in rec.document["payload"]["bids"]:
        answer = found.get(b["bidder"]["organisation_id"])
        rows.append({"bidder": b["bidder"]["name"], "answer": answer})
    return rows
