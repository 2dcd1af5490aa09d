"""Supervision recommendation letters (监察建议书): issued by a supervisor for a signal or a department, numbered per
year (监建〔2026〕1号), rendered as a Chinese PDF (WeasyPrint, Noto CJK) with a QR code (segno) to its public
verification page, sealed by the platform's Sealer (app.core.sealing) and kept in the write-once store under its
SHA-256 — the path the permits certificates and decisions take. The department's reply is recorded once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, timedelta
from typing import Any

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, or_, select, text

from app import audit
from app.core.db import db, is_postgresql, is_valid_id
from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, clean_text, field_error
from app.core.problems import N_
from app.core.sealing.documents import qr_data_uri, render_pdf, seal_or_refuse
from app.core.storage import DOCUMENTS, get_storage
from app.core.time import now_utc, to_center_time
from app.supervision.duty import number_like as _number
from app.supervision.escalation import center_today
from app.supervision.models import Letter, LetterState, Signal
from app.supervision.services import departments_of, get_signal, is_supervisor

MAX_TEXT = 4000
REPLY_MAX_DAYS = 180


class LetterSealUnavailable(DomainError):
    status = 503
    code = "letter-seal-unavailable"
    title = N_("The electronic seal is unavailable")
    description = N_("The letter could not be sealed just now; nothing was issued. Try again later.")


def number_of(year: int, serial: int) -> str:
    return f"监建〔{year}〕{serial}号"


def _reply_due(value: Any) -> date:
    try:
        due = date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise field_error("reply_due", N_("Give the date as year-month-day, such as 2026-12-07.")) from None
    today = center_today()
    if due <= today or due > today + timedelta(days=REPLY_MAX_DAYS):
        raise field_error("reply_due", N_("The reply is due after today and within 180 days."))
    return due


def verify_url(token: str) -> str:
    """The public verification address printed under the QR code. Outside a request (the demo seeder, a worker) it
    is built on SUPERVISION_PUBLIC_BASE_URL (default: `make run`'s http://localhost:5000)."""
    endpoint = "supervision_oversight.letter_verify"
    if has_request_context():
        return url_for(endpoint, token=token, _external=True)
    base = current_app.config.get("SUPERVISION_PUBLIC_BASE_URL") or "http://localhost:5000"
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, token=token, _external=True)


def _render_and_seal(facts: dict[str, Any]) -> tuple[bytes, str]:
    pdf = render_pdf("supervision/letter_pdf.html", f=facts, qr=qr_data_uri(facts["verify_url"]))
    return seal_or_refuse(
        pdf, reason=f"监察建议书 {facts['number']}", location=facts["issuer"], unavailable=LetterSealUnavailable
    )


def issue_letter(
    *,
    actor: Any,
    signal_id: Any = None,
    department: Any = None,
    facts: Any,
    rules_broken: Any,
    recommendation: Any,
    reply_due: Any,
) -> Letter:
    """Issue a letter (supervisors only). For a signal the department is the signal's; else it is given."""
    if not is_supervisor(actor):
        raise PermissionDenied(N_("Only supervisors issue recommendation letters."))
    signal: Signal | None = None
    if signal_id not in (None, ""):
        sid = int(signal_id) if _number(signal_id) else 0
        if not is_valid_id(sid):
            raise field_error("signal", N_("No such signal."))
        try:
            signal = get_signal(actor, sid)
        except NotFound:
            raise field_error("signal", N_("No such signal.")) from None
    name = (
        signal.department
        if signal is not None
        else str(department or "").strip()
        if isinstance(department, str | None)
        else ""
    )
    if not name or len(name) > 200:
        raise field_error("department", N_("Give the department's name (at most 200 characters)."))
    clean = {
        "facts": clean_text(facts, "facts", MAX_TEXT),
        "rules_broken": clean_text(rules_broken, "rules_broken", MAX_TEXT),
        "recommendation": clean_text(recommendation, "recommendation", MAX_TEXT),
    }
    due = _reply_due(reply_due)
    today = center_today()
    if is_postgresql():  # one number at a time (the unique key would refuse a race, with a 500)
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('supervision.letter.number'))"))
    last = db.session.scalar(select(func.max(Letter.serial)).where(Letter.year == today.year))
    serial = (last or 0) + 1
    number = number_of(today.year, serial)
    token = secrets.token_urlsafe(18)
    issuer = current_app.config.get("SEAL_ORGANISATION") or current_app.config["CENTER_NAME"]
    data = {
        **clean,
        "number": number,
        "department": name,
        "signal": signal,
        "fired_on": (
            to_center_time(signal.fired_at, current_app.config["CENTER_TIMEZONE"]).strftime("%Y年%m月%d日%H时%M分")
            if signal is not None
            else ""
        ),
        "reply_due": due,
        "issued_on": today,
        "issuer": issuer,
        "verify_url": verify_url(token),
    }
    sealed, backend = _render_and_seal(data)
    sha256 = hashlib.sha256(sealed).hexdigest()
    key = f"supervision/letters/{sha256}.pdf"
    storage = get_storage()
    if not storage.exists(DOCUMENTS, key):
        storage.put(DOCUMENTS, key, sealed, length=len(sealed), content_type="application/pdf")
    letter = Letter(
        year=today.year,
        serial=serial,
        number=number,
        token=token,
        signal_id=signal.id if signal is not None else None,
        department=name,
        reply_due=due,
        issued_at=now_utc(),
        issued_by_id=actor.id,
        pdf_key=key,
        pdf_sha256=sha256,
        pdf_size=len(sealed),
        seal_backend=backend,
        state=LetterState.ISSUED,
        **clean,
    )
    db.session.add(letter)
    db.session.flush()
    audit.record(
        "supervision.letter.issued",
        actor=actor,
        subject=f"supervision.letter:{letter.id}",
        data={
            "number": number,
            "department": name,
            "signal": letter.signal_id,
            "reply_due": due.isoformat(),
            "pdf_sha256": sha256,
            "sealed_by": backend,
        },
    )
    return letter


def _scope(user: Any) -> Any:
    """None: every letter; else a filter (the departments headed, and letters about signals naming the user)."""
    if is_supervisor(user):
        return None
    own = Letter.signal_id.in_(select(Signal.id).where(Signal.person_id == user.id))
    heads = departments_of(user)
    return or_(own, Letter.department.in_(heads)) if heads else own


def list_letters(user: Any) -> list[Letter]:
    stmt = select(Letter)
    scope = _scope(user)
    if scope is not None:
        stmt = stmt.where(scope)
    return list(db.session.scalars(stmt.order_by(Letter.id.desc()).limit(200)))


def get_letter(user: Any, letter_id: int) -> Letter:
    if not is_valid_id(letter_id):
        raise NotFound(N_("No such letter."))
    stmt = select(Letter).where(Letter.id == letter_id)
    scope = _scope(user)
    if scope is not None:
        stmt = stmt.where(scope)
    found: Letter | None = db.session.scalar(stmt)
    if found is None:
        raise NotFound(N_("No such letter."))
    return found


def by_token(token: str) -> Letter:
    found: Letter | None = (
        db.session.scalar(select(Letter).where(Letter.token == token)) if 0 < len(token) <= 40 else None
    )
    if found is None:
        raise NotFound(N_("No such letter."))
    return found


def may_reply(user: Any, letter: Letter) -> bool:
    return letter.state is LetterState.ISSUED and (is_supervisor(user) or letter.department in departments_of(user))


def reply_letter(*, actor: Any, letter: Letter, reply: Any) -> Letter:
    """Record the department's reply (by its head, or a supervisor entering the reply received on paper)."""
    if not (is_supervisor(actor) or letter.department in departments_of(actor)):
        raise PermissionDenied(N_("Only a head of the department or a supervisor records the reply."))
    if letter.state is LetterState.REPLIED:
        raise Conflict(N_("The reply to this letter is already recorded."))
    letter.reply = clean_text(reply, "reply", MAX_TEXT)
    letter.replied_at = now_utc()
    letter.replied_by_id = actor.id
    letter.state = LetterState.REPLIED
    db.session.flush()
    audit.record(
        "supervision.letter.replied",
        actor=actor,
        subject=f"supervision.letter:{letter.id}",
        data={"number": letter.number, "late": center_today() > letter.reply_due, "chars": len(letter.reply)},
    )
    return letter


def pdf_bytes(letter: Letter) -> bytes:
    return b"".join(get_storage().get(DOCUMENTS, letter.pdf_key))
