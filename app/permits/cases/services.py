"""Unified acceptance: submit, attach materials, the desk's decision (accept, refuse, one-time notice), resubmit,
deemed acceptance after 5 working days. Every function flushes and records its state change in the evidence log;
the caller commits.

Rules:
- The applicant is a citizen (name and 18-character resident ID number, GB 11643 check digit) or an enterprise
  (name and unified social credit code, GB 32100 check digit). The answers must satisfy the item's form schema;
  the materials the item asks for are the required ones and the conditional ones whose condition the answers
  meet.
- The first member of staff who handles an application is recorded as responsible (首问负责人), once.
- Accept: every material that applies must have been received; one case number per year (YYYY-NNNN, a
  counter row incremented under its lock) and the statutory and promised due dates from the deadline service.
- The correction notice lists every missing material and every material the desk marks defective, at once.
  A second notice for the same application is refused (409) unless a supervisor overrides it with a reason;
  the override is recorded and the notice flagged.
- No decision within 5 working days of the (re)submission → accepted from that day, marked deemed with the
  rule (行政许可法 第三十二条). The sweep skips (and records) an application the calendar cannot count yet.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from flask import current_app
from sqlalchemy import select, update

from app.accounts.common import actor_name
from app.accounts.uscc import InvalidUSCC, parse_uscc
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, clean_text, field_error
from app.core.problems import N_
from app.core.storage import DOCUMENTS, CappedStream, get_storage, validate_filename
from app.core.time import now_utc, to_center_time
from app.permits.calendar import services as calendar_services
from app.permits.calendar.deadlines import Calendar, CalendarNotLoaded, Counting, DueDates, Rule
from app.permits.cases import messages
from app.permits.cases.models import (
    OPEN_STATUSES,
    ApplicantKind,
    Application,
    ApplicationChannel,
    ApplicationStatus,
    ApplicationStep,
    CaseCounter,
    CorrectionNotice,
    Holder,
    ReceivedMaterial,
    StepKind,
)
from app.permits.catalogue import conditions, form_schema
from app.permits.catalogue.models import Channel, Item, ItemMaterial, MaterialRequirement
from app.permits.permissions import DESK, SUPERVISE
from app.tendering.common import store_document

log = logging.getLogger(__name__)

DEEMED_RULE = "行政许可法第三十二条：五个工作日内未告知补正，自收到申请材料之日起即为受理"
MAX_MATERIAL_SIZE = 20 * 1024 * 1024
# The accepted kinds of file and how each one starts (its magic bytes): a declared type must match the content.
MATERIAL_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/ofd": (b"PK\x03\x04",),  # 版式文档 OFD (GB/T 33190) is a ZIP container
}
MAX_TEXT = 2000
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID = re.compile(r"^[1-9]\d{16}[\dX]$")


# --- applicants ------------------------------------------------------------------------------------------


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of a resident ID number's first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalise_resident_id(raw: str) -> str:
    """A valid 18-character resident ID number (upper-case X), or ValidationFailed on `applicant.code`."""
    code = "".join(str(raw).split()).upper()
    if not _ID.match(code):
        raise field_error("applicant.code", N_("A resident ID number has 17 digits and a check digit or X."))
    try:
        date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        raise field_error("applicant.code", N_("The resident ID number does not hold a valid birth date.")) from None
    if resident_id_check_char(code[:17]) != code[17]:
        raise field_error("applicant.code", N_("The resident ID number's check digit is wrong."))
    return code


def normalise_uscc(raw: str) -> str:
    try:
        return parse_uscc(str(raw)).code
    except InvalidUSCC as exc:
        if exc.reason == "check":
            raise field_error(
                "applicant.code", N_("The unified social credit code's check character (18th) is wrong.")
            ) from None
        raise field_error(
            "applicant.code", N_("This is not a valid unified social credit code (GB 32100-2015).")
        ) from None


@dataclass(frozen=True)
class Applicant:
    kind: ApplicantKind
    name: str
    code: str
    phone: str = ""


def check_applicant(kind: Any, name: Any, code: Any, phone: Any = "") -> Applicant:
    try:
        which = ApplicantKind(kind)
    except ValueError:
        raise field_error("applicant.kind", N_("The applicant is a citizen or an enterprise.")) from None
    clean_name = clean_text(name, "applicant.name", 200)
    clean_code = normalise_resident_id(code) if which is ApplicantKind.CITIZEN else normalise_uscc(code)
    return Applicant(which, clean_name, clean_code, clean_text(phone, "applicant.phone", 40, required=False))


# --- reading ---------------------------------------------------------------------------------------------


def _is_desk(actor: Any) -> bool:
    return bool(getattr(actor, "is_authenticated", False) and actor.has_permission(DESK))


def get_application(application_id: int) -> Application:
    row = db.session.get(Application, application_id) if 0 < application_id < 2**31 else None
    if row is None:
        raise NotFound(N_("No such application."))
    return row


def get_by_number(number: str) -> Application:
    row = db.session.execute(
        select(Application).where((Application.number == number) | (Application.case_number == number))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(N_("No such application."))
    return row


def tracked(number: str, token: str) -> Application:
    """The application a tracking address names: its number (or case number) and its secret token."""
    try:
        row = get_by_number(number)
    except NotFound:
        row = None
    if row is None or not secrets.compare_digest(row.tracking_token.encode(), str(token).encode()):
        raise NotFound(N_("No such application."))
    return row


def visible_to(actor: Any, application: Application) -> Application:
    """The application if `actor` is its online applicant or desk staff; 404 otherwise (nothing revealed)."""
    if _is_desk(actor) or (application.submitted_by_id is not None and application.submitted_by_id == actor.id):
        return application
    raise NotFound(N_("No such application."))


def list_queue(status: str | None = None) -> list[Application]:
    """The desk's queue: applications waiting for a decision first (oldest first), then the others."""
    query = select(Application).order_by(Application.clock_started_at, Application.id)
    if status:
        query = query.where(Application.status == ApplicationStatus(status))
    else:
        query = query.where(Application.status.in_(OPEN_STATUSES))
    return list(db.session.execute(query.limit(500)).scalars())


def list_own(actor: Any) -> list[Application]:
    return list(
        db.session.execute(
            select(Application).where(Application.submitted_by_id == actor.id).order_by(Application.id.desc())
        ).scalars()
    )


def applicable_materials(item: Item, answers: dict[str, Any]) -> list[ItemMaterial]:
    """The item's materials this application needs: the required ones and the conditional ones that apply."""
    out = []
    for material in item.materials:
        if material.requirement is MaterialRequirement.REQUIRED or (
            material.condition_tree is not None and conditions.evaluate(material.condition_tree, answers)
        ):
            out.append(material)
    return out


def missing_materials(application: Application) -> list[ItemMaterial]:
    """Applicable materials with no file received (the computed part of a correction notice)."""
    received = {m.item_material_id for m in application.materials}
    return [m for m in applicable_materials(application.item, application.answers) if m.id not in received]


# --- steps -----------------------------------------------------------------------------------------------


def _step(application: Application, kind: StepKind, actor: Any, holder: Holder, **data: Any) -> None:
    db.session.add(
        ApplicationStep(
            application=application, kind=kind, at=now_utc(), actor_name=actor_name(actor), holder=holder, data=data
        )
    )


def _handled_by(application: Application, actor: Any) -> None:
    """首问负责: the first member of staff who handles the application becomes responsible for it (once)."""
    if application.first_handler_id is not None or not _is_desk(actor):
        return
    application.first_handler_id = actor.id
    application.first_handled_at = now_utc()
    _step(application, StepKind.FIRST_HANDLED, actor, Holder.DESK)
    record(
        "permits.application.first_handled",
        actor=actor,
        subject=application.audit_ref,
        data={"first_handler_id": actor.id},
    )


def claim_application(*, actor: Any, application: Application) -> Application:
    """Record the desk member as responsible (首问负责人) if nobody is yet; refused for anyone else."""
    if not _is_desk(actor):
        raise PermissionDenied(N_("Only desk staff handle applications."))
    _handled_by(application, actor)
    db.session.flush()
    return application


# --- submitting ------------------------------------------------------------------------------------------


def _item(code: str) -> Item:
    item = db.session.execute(select(Item).where(Item.code == str(code))).scalar_one_or_none()
    if item is None:
        raise NotFound(N_("No such item in the catalogue."))
    return item


def _check_answers(item: Item, answers: Any) -> dict[str, Any]:
    if not isinstance(answers, dict):
        raise field_error("answers", N_("The answers are a JSON object."))
    errors = form_schema.answer_errors(item.form_schema, answers)
    if errors:
        raise ValidationFailed(N_("The application form is not filled in correctly."), errors={"answers": errors})
    return answers


def _new_number(at: datetime) -> str:
    stamp = to_center_time(at, current_app.config["CENTER_TIMEZONE"]).strftime("%Y%m%d")
    return f"SQ{stamp}-{secrets.token_hex(4).upper()}"


def submit_application(
    *,
    actor: Any,
    item_code: str,
    applicant: Applicant,
    answers: Any,
    channel: ApplicationChannel,
) -> Application:
    """Receive an application (status received): online by the signed-in applicant, or entered at the desk.

    Raises NotFound (item), Conflict (channel the item does not offer), PermissionDenied (desk entry by
    someone who is not desk staff), ValidationFailed (answers against the form schema).
    """
    item = _item(item_code)
    if channel is ApplicationChannel.ONLINE and item.channel is Channel.DESK:
        raise Conflict(N_("This item is handled at the service desk only."))
    if channel is ApplicationChannel.DESK:
        if item.channel is Channel.ONLINE:
            raise Conflict(N_("This item is handled online only."))
        if not _is_desk(actor):
            raise PermissionDenied(N_("Only desk staff enter applications at the desk."))
    clean = _check_answers(item, answers)
    at = now_utc()
    application = Application(
        number=_new_number(at),
        tracking_token=secrets.token_urlsafe(24),
        item=item,
        applicant_kind=applicant.kind,
        applicant_name=applicant.name,
        applicant_code=applicant.code,
        contact_phone=applicant.phone,
        answers=clean,
        channel=channel,
        submitted_by_id=actor.id if channel is ApplicationChannel.ONLINE else None,
        received_at=at,
        clock_started_at=at,
        status=ApplicationStatus.RECEIVED,
    )
    db.session.add(application)
    _step(application, StepKind.RECEIVED, actor, Holder.DESK, channel=channel.value)
    db.session.flush()
    record(
        "permits.application.submitted",
        actor=actor,
        subject=application.audit_ref,
        data={"number": application.number, "item": item.code, "channel": channel.value},
    )
    _handled_by(application, actor)
    db.session.flush()
    return application


# --- materials -------------------------------------------------------------------------------------------


class _Sniffed:
    """A body whose first bytes must match the declared content type (checked on the first read)."""

    def __init__(self, stream: IO[bytes], magic: tuple[bytes, ...], wrong: Exception) -> None:
        self._stream, self._magic, self._wrong = stream, magic, wrong
        self._head = b""
        self._checked = False

    def read(self, size: int = -1) -> bytes:
        if not self._checked:
            need = max(len(m) for m in self._magic)
            while len(self._head) < need:
                chunk = self._stream.read(need - len(self._head))
                if not chunk:
                    break
                self._head += chunk
            if not any(self._head.startswith(m) for m in self._magic):
                raise self._wrong
            self._checked = True
        if self._head:
            if 0 <= size < len(self._head):
                out, self._head = self._head[:size], self._head[size:]
                return out
            out, self._head = self._head, b""
            more = self._stream.read(size - len(out) if size >= 0 else -1) if size != len(out) else b""
            return out + more
        return self._stream.read(size)


def attach_material(
    *,
    actor: Any,
    application: Application,
    material_id: int,
    name: str,
    stream: IO[bytes],
    length: int | None,
    content_type: str,
    release_transaction: bool = False,
) -> ReceivedMaterial:
    """Store a file for one of the item's materials, write-once under a fresh key, with its SHA-256 and size.

    By the online applicant or desk staff, while the application is received or under correction. Raises
    NotFound, Conflict (state), ValidationFailed (material, type, content, size). The declared type must be an
    accepted one and the content must start as that type does. `release_transaction`: a raw body still arriving
    over the network (the API) is streamed with the request's read transaction released (only reads may have
    happened), so a slow line never holds SQLite's write lock; a form's files are already spooled.
    """
    if not _is_desk(actor) and application.submitted_by_id != getattr(actor, "id", None):
        raise NotFound(N_("No such application."))
    if application.status not in (ApplicationStatus.RECEIVED, ApplicationStatus.CORRECTION_REQUESTED):
        raise Conflict(N_("Materials are received before the desk's decision, or to answer a correction notice."))
    material = next((m for m in application.item.materials if m.id == material_id), None)
    if material is None:
        raise field_error("material", N_("This item asks for no such material."))
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in MATERIAL_TYPES:
        raise field_error(
            "file", N_("Send the material as PDF, JPEG, PNG or OFD (got %(type)s)."), params={"type": kind or "?"}
        )
    limit = int(current_app.config.get("PERMITS_MAX_MATERIAL_SIZE", MAX_MATERIAL_SIZE))
    too_large = field_error("file", N_("A material may have at most %(limit)s bytes."), params={"limit": limit})
    wrong = field_error("file", N_("The file's content is not of its declared type %(type)s."), params={"type": kind})
    if length == 0:
        raise field_error("file", N_("The file is empty."))
    application_id, status = application.id, application.status
    key = f"permits/applications/{application_id}/{uuid.uuid4().hex}"
    clean_name = clean_text(name, "name", 200)
    body = _Sniffed(stream, MATERIAL_TYPES[kind], wrong)
    if release_transaction:
        info = store_document(
            key,
            name=clean_name,
            stream=body,  # type: ignore[arg-type]  # read() is all a stored body needs
            length=length,
            content_type=kind,
            limit=limit,
            too_large=too_large,
        )
        application = get_application(application_id)  # the transaction was released while the body streamed
        if application.status is not status:
            raise Conflict(N_("The application changed while the file was uploading; send it again."))
    else:
        validate_filename(clean_name)
        if length is not None and length > limit:
            raise too_large
        info = get_storage().put(
            DOCUMENTS,
            key,
            CappedStream(body, limit, too_large),  # type: ignore[arg-type]  # read() is all it needs
            length=length,
            content_type=kind,
        )
    row = ReceivedMaterial(
        application=application,
        item_material_id=material_id,
        name=clean_name,
        content_type=kind,
        size=info.size,
        sha256=info.sha256,
        object_key=key,
        received_at=now_utc(),
        received_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    holder = Holder.APPLICANT if application.status is ApplicationStatus.CORRECTION_REQUESTED else Holder.DESK
    _step(application, StepKind.MATERIAL, actor, holder, material=material.name, sha256=info.sha256, size=info.size)
    db.session.flush()
    record(
        "permits.application.material_received",
        actor=actor,
        subject=application.audit_ref,
        data={"material_id": material_id, "received_id": row.id, "sha256": info.sha256, "size": info.size},
    )
    _handled_by(application, actor)
    db.session.flush()
    return row


def get_material(application: Application, received_id: int) -> ReceivedMaterial:
    row = next((m for m in application.materials if m.id == received_id), None)
    if row is None:
        raise NotFound(N_("No such material."))
    return row


# --- the desk's decision ---------------------------------------------------------------------------------


def _require_desk(actor: Any) -> None:
    if not _is_desk(actor):
        raise PermissionDenied(N_("Only desk staff decide on acceptance."))


def _require_open(application: Application) -> None:
    if application.status not in OPEN_STATUSES:
        raise Conflict(N_("This application is not waiting for the desk's decision."))


def allocate_case_number(year: int) -> str:
    """The next case number of `year` (YYYY-NNNN): the counter row is incremented in place under its row lock,
    so concurrent acceptances on PostgreSQL wait for each other and never share or skip a number."""
    table = CaseCounter.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    db.session.execute(insert(table).values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"]))
    last = db.session.execute(
        update(table).where(table.c.year == year).values(last=table.c.last + 1).returning(table.c.last)
    ).scalar_one()
    return f"{year}-{last:04d}"


def _rules(item: Item) -> tuple[Rule, Rule]:
    counting = Counting(item.day_count.value)
    return (
        Rule(item.statutory_limit_days, counting, item.acceptance_day_counts),
        Rule(item.promised_limit_days, counting, item.acceptance_day_counts),
    )


def _zone() -> str:
    return str(current_app.config["CENTER_TIMEZONE"])


def local_date(at: datetime) -> date:
    return to_center_time(at, _zone()).date()


def _due_dates(item: Item, accepted_on: date, calendar: Calendar | None = None) -> DueDates:
    from app.permits.cases.clock import case_due_dates

    return case_due_dates(item, accepted_on, calendar=calendar)


def _accept(application: Application, accepted_on: date, dues: DueDates, *, at: datetime) -> None:
    application.case_number = allocate_case_number(accepted_on.year)
    application.status = ApplicationStatus.ACCEPTED
    application.accepted_on = accepted_on
    application.statutory_due = dues.statutory
    application.promised_due = dues.promised
    application.decided_at = at


def accept_application(
    *, actor: Any, application: Application, co_departments: Any = None, joint_mode: Any = None
) -> Application:
    """Accept (受理): a case number and the due dates, from today in the center's zone; the case's steps and, for
    a joint case, a task for every co-department the desk names (department codes; processing.py), handled by
    notification (抄告制) or joint meeting (联审制): `joint_mode`, the item's default without one (joint.py).

    Raises PermissionDenied, Conflict (not waiting; materials missing), ValidationFailed (co-departments),
    CalendarNotLoaded (nothing stored).
    """
    from app.permits.cases import joint, processing

    _require_desk(actor)
    _require_open(application)
    missing = missing_materials(application)
    if missing:
        raise Conflict(
            N_("Materials are missing (%(names)s): send the one-time correction notice instead."),
            params={"names": "、".join(m.name for m in missing)},
        )
    at = now_utc()
    accepted_on = local_date(at)
    dues = _due_dates(application.item, accepted_on)  # CalendarNotLoaded before anything changes
    plan = processing.plan_case(
        application.item, accepted_on, processing.co_departments_from(application.item, co_departments)
    )
    mode = joint.mode_for(application.item, plan.co_departments, joint_mode)
    _handled_by(application, actor)
    _accept(application, accepted_on, dues, at=at)
    application.decided_by_id = actor.id
    application.joint_mode = mode.value
    _step(application, StepKind.ACCEPTED, actor, Holder.DEPARTMENT, case_number=application.case_number)
    db.session.flush()
    processing.open_case(application, plan, actor=actor, at=at)  # its entries first: "accepted" stays the last
    record(
        "permits.application.accepted",
        actor=actor,
        subject=application.audit_ref,
        data={
            "case_number": application.case_number,
            "accepted_on": accepted_on.isoformat(),
            "statutory_due": dues.statutory.isoformat() if dues.statutory else None,
            "promised_due": dues.promised.isoformat() if dues.promised else None,
            "co_departments": [d.code for d in plan.co_departments],
            "joint_mode": mode.value,
        },
    )
    messages.acceptance(application)
    return application


def refuse_acceptance(*, actor: Any, application: Application, reason: str, remedies: str) -> Application:
    """Refuse acceptance (不予受理) with the reason and the applicant's remedies (复议、诉讼 or where to apply)."""
    _require_desk(actor)
    _require_open(application)
    clean_reason = clean_text(reason, "reason", MAX_TEXT)
    clean_remedies = clean_text(remedies, "remedies", MAX_TEXT)
    _handled_by(application, actor)
    application.status = ApplicationStatus.REFUSED
    application.refusal_reason = clean_reason
    application.refusal_remedies = clean_remedies
    application.decided_at = now_utc()
    application.decided_by_id = actor.id
    _step(application, StepKind.REFUSED, actor, Holder.NOBODY)
    db.session.flush()
    record(
        "permits.application.refused",
        actor=actor,
        subject=application.audit_ref,
        data={"reason": clean_reason, "remedies": clean_remedies},
    )
    return application


def correction_entries(application: Application, defective: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Every material to correct: the applicable ones not received, then those the desk marks defective."""
    entries = [
        {"material_id": m.id, "name": m.name, "problem": "missing", "reason": ""}
        for m in missing_materials(application)
    ]
    listed = {e["material_id"] for e in entries}
    by_id = {m.id: m for m in application.item.materials}
    for i, mark in enumerate(defective):
        material_id = mark.get("material_id") if isinstance(mark, dict) else None
        if not isinstance(material_id, int) or material_id not in by_id:
            raise field_error(f"defective.{i}", N_("This item asks for no such material."))
        reason = clean_text(mark.get("reason"), f"defective.{i}.reason", 500)
        if material_id in listed:
            raise field_error(f"defective.{i}", N_("A material is listed once."))
        listed.add(material_id)
        entries.append(
            {"material_id": material_id, "name": by_id[material_id].name, "problem": "defective", "reason": reason}
        )
    return entries


def request_correction(
    *,
    actor: Any,
    application: Application,
    defective: Sequence[dict[str, Any]] = (),
    note: str = "",
    override_reason: str | None = None,
) -> CorrectionNotice:
    """The one-time correction notice (一次性告知): every missing or defective material at once.

    A second notice is refused (Conflict, 409) unless `override_reason` is given by someone holding
    permits.supervise (PermissionDenied otherwise); it is then recorded with the override and flagged.
    """
    _require_desk(actor)
    _require_open(application)
    is_override = bool(application.notices)
    if is_override:
        if override_reason is None or not str(override_reason).strip():
            raise Conflict(
                N_(
                    "A correction notice was already sent for this application: everything must be asked for "
                    "at once. A second notice needs a supervisor's override with a reason."
                )
            )
        if not actor.has_permission(SUPERVISE):
            raise PermissionDenied(N_("Only a supervisor can allow a second correction notice."))
    clean_override = clean_text(override_reason, "override_reason", MAX_TEXT) if is_override else ""
    entries = correction_entries(application, defective)
    if not entries:
        raise ValidationFailed(
            N_("Nothing to correct: every material was received and none is marked defective. Accept instead.")
        )
    clean_note = clean_text(note, "note", MAX_TEXT, required=False)
    _handled_by(application, actor)
    notice = CorrectionNotice(
        application=application,
        sequence=len(application.notices) + 1,
        issued_at=now_utc(),
        issued_by_id=actor.id,
        entries=entries,
        note=clean_note,
        is_override=is_override,
        override_by_id=actor.id if is_override else None,
        override_reason=clean_override,
    )
    db.session.add(notice)
    application.status = ApplicationStatus.CORRECTION_REQUESTED
    _step(
        application,
        StepKind.CORRECTION,
        actor,
        Holder.APPLICANT,
        sequence=notice.sequence,
        materials=[e["name"] for e in entries],
        override=is_override,
    )
    db.session.flush()
    record(
        "permits.application.correction_requested",
        actor=actor,
        subject=application.audit_ref,
        data={
            "notice": notice.sequence,
            "entries": entries,
            "override": is_override,
            "override_reason": clean_override or None,
        },
    )
    messages.correction(application, entries)
    return notice


def resubmit_application(*, actor: Any, application: Application) -> Application:
    """After a correction notice: every listed material has a file received since the notice, and the
    application goes back to the desk (the 5-working-day clock starts again from now)."""
    if not _is_desk(actor) and application.submitted_by_id != getattr(actor, "id", None):
        raise NotFound(N_("No such application."))
    if application.status is not ApplicationStatus.CORRECTION_REQUESTED:
        raise Conflict(N_("Only an application under a correction notice can be resubmitted."))
    notice = application.notices[-1]
    fresh = {m.item_material_id for m in application.materials if m.received_at >= notice.issued_at}
    still = [e["name"] for e in notice.entries if e["material_id"] not in fresh]
    if still:
        raise ValidationFailed(
            N_("These materials of the correction notice are still to be sent: %(names)s."),
            params={"names": "、".join(still)},
        )
    at = now_utc()
    notice.answered_at = at
    application.status = ApplicationStatus.RESUBMITTED
    application.clock_started_at = at
    _step(application, StepKind.RESUBMITTED, actor, Holder.DESK, notice=notice.sequence)
    db.session.flush()
    record(
        "permits.application.resubmitted",
        actor=actor,
        subject=application.audit_ref,
        data={"notice": notice.sequence},
    )
    _handled_by(application, actor)
    return application


# --- deemed acceptance -----------------------------------------------------------------------------------


def acceptance_deadline(calendar: Calendar, received_on: date) -> date:
    """The last day the desk may decide: the 5th working day after the day of receipt (deadlines.py)."""
    from app.permits.calendar.deadlines import acceptance_deadline as deadline

    return deadline(calendar, received_on)


def decision_due(application: Application) -> date | None:
    """The desk's deadline for an application waiting for it; None when the calendar cannot tell yet."""
    if application.status not in OPEN_STATUSES:
        return None
    try:
        return acceptance_deadline(calendar_services.load_calendar(), local_date(application.clock_started_at))
    except CalendarNotLoaded:
        return None


def deem_overdue(limit: int = 500) -> dict[str, int]:
    """Accept every application left without a decision past its 5th working day, from the day of receipt.

    Idempotent (only waiting applications are taken, each locked, SKIP LOCKED on PostgreSQL). An application
    the calendar cannot count (CalendarNotLoaded) is skipped, logged and recorded once per problem.
    """
    from app.permits.cases import processing

    today = local_date(now_utc())
    calendar = calendar_services.load_calendar()
    rows = db.session.execute(
        select(Application)
        .where(Application.status.in_(OPEN_STATUSES))
        .order_by(Application.clock_started_at, Application.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).scalars()
    deemed = skipped = 0
    for application in list(rows):
        received_on = local_date(application.clock_started_at)
        try:
            deadline = acceptance_deadline(calendar, received_on)
            if today <= deadline:
                continue
            dues = _due_dates(application.item, received_on, calendar)
            plan = processing.plan_case(application.item, received_on, calendar=calendar)
        except CalendarNotLoaded as exc:
            skipped += 1
            log.warning("permits deemed acceptance: %s skipped: %s", application.number, exc.detail)
            if application.sweep_problem != exc.detail[:500]:
                application.sweep_problem = exc.detail[:500]
                _step(application, StepKind.SWEEP_SKIPPED, "system", Holder.DESK, problem=exc.detail)
                record(
                    "permits.application.deemed_skipped",
                    actor="system:permits.deem_overdue",
                    subject=application.audit_ref,
                    data={"problem": exc.detail},
                )
            continue
        _accept(application, received_on, dues, at=now_utc())
        application.is_deemed = True
        application.deemed_rule = DEEMED_RULE
        application.sweep_problem = ""
        _step(
            application,
            StepKind.DEEMED,
            "system",
            Holder.DEPARTMENT,
            case_number=application.case_number,
            deadline=deadline.isoformat(),
        )
        db.session.flush()
        processing.open_case(application, plan, actor="system:permits.deem_overdue", at=now_utc())
        record(
            "permits.application.deemed_accepted",
            actor="system:permits.deem_overdue",
            subject=application.audit_ref,
            data={
                "case_number": application.case_number,
                "accepted_on": received_on.isoformat(),
                "deadline": deadline.isoformat(),
                "rule": DEEMED_RULE,
            },
        )
        messages.acceptance(application)
        deemed += 1
    db.session.flush()
    return {"deemed": deemed, "skipped": skipped}


# --- what the tracking page and the API show --------------------------------------------------------------

_HOLDERS = {
    ApplicationStatus.RECEIVED: Holder.DESK,
    ApplicationStatus.RESUBMITTED: Holder.DESK,
    ApplicationStatus.CORRECTION_REQUESTED: Holder.APPLICANT,
    ApplicationStatus.ACCEPTED: Holder.DEPARTMENT,
    ApplicationStatus.REFUSED: Holder.NOBODY,
}


def holder(application: Application) -> Holder:
    """Whose move it is now (the applicant's while a site inspection's rectification is waiting)."""
    if application.status is ApplicationStatus.ACCEPTED:
        from app.permits.cases import joint

        if joint.expected_rectification(application):
            return Holder.APPLICANT
    return _HOLDERS[application.status]


def expected_of_applicant(application: Application) -> list[dict[str, Any]]:
    """The entries of the current correction notice the applicant has not answered with a file yet."""
    if application.status is not ApplicationStatus.CORRECTION_REQUESTED or not application.notices:
        return []
    notice = application.notices[-1]
    fresh = {m.item_material_id for m in application.materials if m.received_at >= notice.issued_at}
    return [dict(e) for e in notice.entries if e["material_id"] not in fresh]


def first_handler_name(application: Application) -> str | None:
    from app.accounts.models import User

    if application.first_handler_id is None:
        return None
    handler = db.session.get(User, application.first_handler_id)
    return handler.display_name if handler is not None else None
