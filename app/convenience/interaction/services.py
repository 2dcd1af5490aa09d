"""政民互动: take in a request from any channel, classify and route it, and walk the closed loop with working-day
limits: 受理 → 调度 → 办理 → 回复 → 督办 → 办结 → 回访 → 评价 (the rating through 好差评, app/convenience/rating).

- **Intake.** `submit()` checks and cleans every field (app.core.errors.clean_text), refuses a request without a
  way to reach the citizen where the channel needs one, and stores nothing on bad input. A forum post or an
  e-mail is taken once: a second delivery of the same post id / Message-ID returns the stored request.
- **Due instants.** The limit in working days comes from the settings (`INTERACTION_LIMIT_DAYS`: consultation 1,
  help and suggestion 5, complaint 10; urgent 0 = the same day), counted on the platform's calendar from the day
  received (app.permits.calendar, as permit cases count theirs). The instant is the end of the due day in the
  center's zone. A calendar that does not reach the date leaves the due date unknown (None), never guessed.
- **Routing.** The first active rule by priority whose kind, category and keyword all match names the
  department; the request is then dispatched to it at once. No match: the dispatch office (department NULL)
  holds it and a dispatcher assigns it.
- **Overdue.** `mark_overdue()` (a locked, idempotent sweep) marks each open request past its due instant once
  and writes `convenience.interaction.overdue`: the domain event supervision reads from the evidence log.

Services flush and never commit; every state change writes its evidence-log entry in the same transaction.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.convenience.interaction.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    Channel,
    InteractionCallBack,
    InteractionCategory,
    InteractionPress,
    InteractionRequest,
    InteractionRoutingRule,
    Kind,
    Status,
)
from app.convenience.interaction.permissions import DISPATCH, HANDLE, INTAKE
from app.core.db import db, is_postgresql
from app.core.errors import Conflict, NotFound, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.permits.calendar.deadlines import CalendarNotLoaded, Counting, Rule
from app.permits.catalogue.models import Department

DEFAULT_LIMITS = {"consultation": 1, "help": 5, "suggestion": 5, "complaint": 10}
DEFAULTS: dict[str, Any] = {"INTERACTION_LIMIT_DAYS": DEFAULT_LIMITS}

BODY_MAX = 5000
TITLE_MAX = 200
NAME_MAX = 100
ADDRESS_MAX = 300
EXTERNAL_MAX = 200
NOTE_MAX = 2000
REPLY_MAX = 5000
PHONE = re.compile(r"^\+?[0-9][0-9\- ]{5,18}[0-9]$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,180}\.[A-Za-z]{2,24}$")
REFERENCE = re.compile(r"^HD[0-9]{8}-[A-HJ-NP-Z2-9]{6}$")
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DISPATCH_OFFICE = N_("The center's dispatch office")
DISPATCH_OFFICE_ZH = "中心调度室"


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _user(actor: Any) -> Any:
    return actor if actor is not None and not isinstance(actor, str) else None


def _has(actor: Any, permission: str) -> bool:
    user = _user(actor)
    return user is not None and bool(user.has_permission(permission))


# --- due instants --------------------------------------------------------------------------------------------


def limit_days(kind: Kind, urgent: bool) -> int:
    """The working days a request of `kind` has (0 for an urgent one: the same day)."""
    if urgent:
        return 0
    limits = current_app.config.get("INTERACTION_LIMIT_DAYS") or DEFAULT_LIMITS
    return int(limits.get(kind.value, DEFAULT_LIMITS[kind.value]))


def due_for(kind: Kind, urgent: bool, received_at: datetime) -> tuple[date | None, datetime | None]:
    """The due day counted on the platform's working-day calendar from the day received, and its instant (the
    end of that day in the center's zone); (None, None) when the calendar does not reach it."""
    from app.permits.calendar import services as calendar

    zone = _zone()
    received_on = received_at.astimezone(zone).date()
    try:
        due_on = calendar.compute_due_dates(
            received_on, Rule(days=limit_days(kind, urgent), counting=Counting.WORKING)
        ).statutory
    except CalendarNotLoaded:
        return None, None
    if due_on is None:
        return None, None
    return due_on, datetime.combine(due_on + timedelta(days=1), time.min, zone)


# --- categories, routing and templates ---------------------------------------------------------------------------


def categories(active_only: bool = True) -> list[InteractionCategory]:
    stmt = select(InteractionCategory).order_by(InteractionCategory.position, InteractionCategory.code)
    if active_only:
        stmt = stmt.where(InteractionCategory.active.is_(True))
    return list(db.session.scalars(stmt))


def category_by_code(code: Any, field: str = "category") -> InteractionCategory:
    found = (
        db.session.scalar(
            select(InteractionCategory).where(InteractionCategory.code == code, InteractionCategory.active.is_(True))
        )
        if isinstance(code, str) and 0 < len(code) <= 32
        else None
    )
    if found is None:
        raise field_error(field, N_("Choose one of the categories."))
    return found  # type: ignore[no-any-return]


def route(kind: Kind, category: InteractionCategory, text: str) -> InteractionRoutingRule | None:
    """The first active rule (by priority, then id) whose kind, category and keyword all match; None when none
    does (the dispatch office holds the request)."""
    lowered = text.lower()
    rules = db.session.scalars(
        select(InteractionRoutingRule)
        .where(InteractionRoutingRule.active.is_(True))
        .order_by(InteractionRoutingRule.priority, InteractionRoutingRule.id)
    )
    for rule in rules:
        if rule.kind is not None and rule.kind is not kind:
            continue
        if rule.category_id is not None and rule.category_id != category.id:
            continue
        if rule.keyword and rule.keyword.lower() not in lowered:
            continue
        return rule
    return None


def department_name(request: InteractionRequest, english: bool = False) -> str:
    if request.department is None:
        return str(DISPATCH_OFFICE) if english else DISPATCH_OFFICE_ZH
    return str(request.department.name_en or request.department.name) if english else str(request.department.name)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"  # an unknown placeholder stays as written


def fill_template(request: InteractionRequest, template: str | None = None) -> str:
    """The category's reply template with {reference} {name} {category} {department} {due} filled in."""
    text = request.category.reply_template if template is None else template
    values = _Blank(
        reference=request.reference,
        name=request.contact_name or "市民",
        category=request.category.name,
        department=department_name(request),
        due=request.due_on.isoformat() if request.due_on else "",
    )
    try:
        return text.format_map(values)
    except (ValueError, IndexError, AttributeError):  # a stray brace in a hand-written template
        return text


PLACEHOLDER_LABELS = {"reference": "【编号】", "name": "【姓名】", "department": "【承办部门】", "due": "【期限】"}


def template_preview(category: InteractionCategory) -> str:
    """The category's template as an operator reads it: the placeholders named in words, the category filled."""
    values = _Blank(category=category.name, **PLACEHOLDER_LABELS)
    try:
        return category.reply_template.format_map(values)
    except (ValueError, IndexError, AttributeError):
        return category.reply_template


# --- intake ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intake:
    request: InteractionRequest
    created: bool  # False: the same forum post or e-mail was taken in before


def _kind(value: Any) -> Kind:
    if not isinstance(value, str) or value not in {k.value for k in Kind}:
        raise field_error("kind", N_("Choose complaint, suggestion, consultation or help request."))
    return Kind(value)


def _phone(value: Any, *, required: bool) -> str:
    text = clean_text(value, "phone", 40, required=required)
    if text and not PHONE.match(text):
        raise field_error("phone", N_("Enter a telephone number of digits (a hyphen or spaces allowed)."))
    return text


def _email(value: Any, *, required: bool) -> str:
    text = clean_text(value, "email", 200, required=required)
    if text and not EMAIL.match(text):
        raise field_error("email", N_("Enter an e-mail address like name@example.com."))
    return text


def _coordinate(value: Any, name: str, bound: float) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= float(value) <= bound:
        raise field_error(name, N_("A coordinate in decimal degrees (WGS84)."))
    return float(value)


def _new_reference(on: date) -> str:
    while True:
        reference = f"HD{on.strftime('%Y%m%d')}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        if db.session.scalar(select(InteractionRequest.id).where(InteractionRequest.reference == reference)) is None:
            return reference


def _existing(channel: Channel, external_id: str) -> InteractionRequest | None:
    found: InteractionRequest | None = db.session.scalar(
        select(InteractionRequest).where(
            InteractionRequest.channel == channel, InteractionRequest.external_id == external_id
        )
    )
    return found


def submit(
    *,
    channel: Channel,
    kind: Any,
    category: Any,
    body: Any,
    title: Any = "",
    name: Any = "",
    phone: Any = "",
    email: Any = "",
    address: Any = "",
    lat: Any = None,
    long: Any = None,
    urgent: Any = False,
    external_id: Any = None,
    actor: Any = None,
    citizen: Any = None,
) -> Intake:
    """受理: check, store and route one request. The web form needs a phone number or an e-mail address (an
    account links it), the hotline the caller's number, e-mail its sender; a forum post its post id. A post or
    e-mail taken in before is returned as it is (`created` False). Raises ValidationFailed (nothing stored)."""
    chosen = _kind(kind)
    found = category_by_code(category)
    text = clean_text(body, "body", BODY_MAX)
    heading = clean_text(title, "title", TITLE_MAX, required=False)
    who = clean_text(name, "name", NAME_MAX, required=False)
    number = _phone(phone, required=channel is Channel.HOTLINE)
    mail = _email(email, required=channel is Channel.EMAIL)
    where = clean_text(address, "address", ADDRESS_MAX, required=False)
    latitude, longitude = _coordinate(lat, "lat", 90.0), _coordinate(long, "long", 180.0)
    if (latitude is None) != (longitude is None):
        raise field_error("long", N_("Give both the latitude and the longitude, or neither."))
    if not isinstance(urgent, bool):
        raise field_error("urgent", N_("Say yes or no."))
    account = _user(citizen)
    if channel is Channel.WEB and not (number or mail or account is not None):
        raise field_error("phone", N_("Give a telephone number or an e-mail address so that we can answer you."))
    external: str | None = None
    if channel in (Channel.EMAIL, Channel.FORUM):
        external = clean_text(external_id, "external_id", EXTERNAL_MAX)
        earlier = _existing(channel, external)
        if earlier is not None:
            return Intake(earlier, False)
    now = now_utc()
    due_on, due_at = due_for(chosen, urgent, now)
    request = InteractionRequest(
        reference=_new_reference(now.astimezone(_zone()).date()),
        tracking_token=secrets.token_urlsafe(16),
        kind=chosen,
        urgent=urgent,
        category_id=found.id,
        channel=channel,
        external_id=external,
        title=heading,
        body=text,
        contact_name=who or ((account.display_name or "") if account is not None else ""),
        contact_phone=number or ((account.phone or "") if account is not None else ""),
        contact_email=mail or ((account.email or "") if account is not None else ""),
        user_id=account.id if account is not None else None,
        address=where,
        lat=latitude,
        long=longitude,
        status=Status.RECEIVED,
        received_at=now,
        received_by_id=_user(actor).id if _user(actor) is not None else None,
        due_on=due_on,
        due_at=due_at,
    )
    if external is not None:
        try:
            with db.session.begin_nested():  # the unique pair decides between two deliveries at once
                db.session.add(request)
        except IntegrityError:
            again = _existing(channel, external)
            if again is None:
                raise
            return Intake(again, False)
    else:
        db.session.add(request)
        db.session.flush()
    audit.record(
        "convenience.interaction.received",
        actor=actor if actor is not None else "citizen",
        subject=request.audit_ref,
        data={
            "kind": chosen.value,
            "category": found.code,
            "channel": channel.value,
            "urgent": int(urgent),
            "due_on": due_on.isoformat() if due_on else "",
            "external_id": external or "",
        },
    )
    rule = route(chosen, found, f"{heading}\n{text}")
    if rule is not None and rule.department_id is not None:
        _assign(request, rule.department, actor="system:routing", rule=rule)
    return Intake(request, True)


# --- finding requests ------------------------------------------------------------------------------------------


def get(reference: Any, *, lock: bool = False) -> InteractionRequest:
    found: InteractionRequest | None = None
    if isinstance(reference, str) and REFERENCE.match(reference):
        stmt = select(InteractionRequest).where(InteractionRequest.reference == reference)
        if lock and is_postgresql():
            stmt = stmt.with_for_update()
        found = db.session.scalar(stmt)
    if found is None:
        raise NotFound(N_("No such request."))
    return found


def tracked(reference: Any, token: Any) -> InteractionRequest:
    """The request whose reference and tracking token the caller holds (no account needed); 404 otherwise."""
    try:
        request = get(reference)
    except NotFound:
        request = None
    if (
        request is None
        or not isinstance(token, str)
        or not hmac.compare_digest(request.tracking_token.encode(), token.encode())  # bytes: any text compares
    ):
        raise NotFound(N_("No such request."))
    return request


def department_ids(actor: Any) -> list[int]:
    """The departments the actor is on the staff of (app.permits.cases: permit_department_staff)."""
    from app.permits.cases.authorisations import departments_of

    return [d.id for d in departments_of(_user(actor))]


def can_handle(actor: Any, request: InteractionRequest) -> bool:
    """The department's staff handle its requests; the dispatch office's (no department) go to dispatchers."""
    if not _has(actor, HANDLE):
        return False
    if request.department_id is None:
        return _has(actor, DISPATCH)
    return request.department_id in department_ids(actor)


def visible(reference: Any, actor: Any) -> InteractionRequest:
    """A request as staff see it: dispatchers and operators every one, a department its own; 404 otherwise."""
    request = get(reference)
    if _has(actor, DISPATCH) or _has(actor, INTAKE) or can_handle(actor, request):
        return request
    raise NotFound(N_("No such request."))


def _order_due() -> tuple[Any, ...]:
    # Overdue first, then by due instant (unknown last), then oldest first.
    return (
        InteractionRequest.overdue_at.is_(None),
        InteractionRequest.due_at.is_(None),
        InteractionRequest.due_at,
        InteractionRequest.id,
    )


def open_requests(limit: int = 500) -> list[InteractionRequest]:
    """Every request not yet closed: overdue first, then by due instant (the dispatcher's view)."""
    stmt = (
        select(InteractionRequest)
        .where(InteractionRequest.status.in_((*OPEN_STATUSES, Status.REPLIED)))
        .order_by(*_order_due())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def inbox(actor: Any, limit: int = 500) -> list[InteractionRequest]:
    """The requests the actor's departments hold (and the dispatch office's, for a dispatcher), not closed yet."""
    ids = department_ids(actor)
    held = [InteractionRequest.department_id.in_(ids)] if ids else []
    if _has(actor, DISPATCH):
        held.append(InteractionRequest.department_id.is_(None))
    if not held:
        return []
    stmt = (
        select(InteractionRequest)
        .where(or_(*held), InteractionRequest.status.in_((*OPEN_STATUSES, Status.REPLIED)))
        .order_by(*_order_due())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def to_call_back(limit: int = 500) -> list[InteractionRequest]:
    """Closed requests whose citizen has not been reached yet (the operators' call-back list), oldest first."""
    stmt = (
        select(InteractionRequest)
        .where(InteractionRequest.status == Status.CLOSED)
        .order_by(InteractionRequest.closed_at, InteractionRequest.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


# --- the loop ----------------------------------------------------------------------------------------------------


def _expect(request: InteractionRequest, allowed: tuple[Status, ...], message: str) -> None:
    if request.status not in allowed:
        raise Conflict(message, params={"status": request.status.value})


def _assign(
    request: InteractionRequest, department: Department, *, actor: Any, rule: InteractionRoutingRule | None
) -> None:
    previous = request.department_id
    was = request.status
    request.department_id = department.id if department is not None else None
    request.department = department
    request.status = Status.DISPATCHED if department is not None else Status.RECEIVED
    request.dispatched_at = now_utc()
    request.dispatched_by_id = _user(actor).id if _user(actor) is not None else None
    request.handler_id = None
    request.handling_at = None
    request.routing_rule_id = rule.id if rule is not None else None
    db.session.flush()
    audit.record(
        "convenience.interaction.reassigned" if was is not Status.RECEIVED else "convenience.interaction.dispatched",
        actor=actor,
        subject=request.audit_ref,
        data={
            "department": department.code if department is not None else "",
            "previous_department": previous or 0,
            "rule": rule.id if rule is not None else 0,
        },
    )


def dispatch(*, actor: Any, reference: Any, department: Any) -> InteractionRequest:
    """调度: assign to a department (its code) or back to the dispatch office (""), before it is replied."""
    from app.permits.cases.authorisations import department_by_code

    request = get(reference, lock=True)
    _expect(request, OPEN_STATUSES, N_("Only a request not yet replied to can be dispatched."))
    target = department_by_code(department) if department else None
    if target is None and request.department_id is None:
        raise field_error("department", N_("Choose the department to handle it."))
    if target is not None and target.id == request.department_id:
        raise Conflict(N_("The request is with this department already."))
    _assign(request, target, actor=actor, rule=None)  # type: ignore[arg-type]
    return request


def take_up(*, actor: Any, reference: Any) -> InteractionRequest:
    """办理: the department (or, for its own, the dispatch office) takes the request up."""
    request = get(reference, lock=True)
    if not can_handle(actor, request):
        raise NotFound(N_("No such request."))
    _expect(request, (Status.DISPATCHED, Status.RECEIVED), N_("This request has been taken up already."))
    request.status = Status.HANDLING
    request.handling_at = now_utc()
    request.handler_id = actor.id
    db.session.flush()
    audit.record("convenience.interaction.handling", actor=actor, subject=request.audit_ref, data={})
    return request


def reply(*, actor: Any, reference: Any, text: Any) -> InteractionRequest:
    """回复: the department's answer to the citizen (shown on the tracking page)."""
    request = get(reference, lock=True)
    if not can_handle(actor, request):
        raise NotFound(N_("No such request."))
    _expect(request, OPEN_STATUSES, N_("This request cannot be replied to now."))
    answer = clean_text(text, "reply", REPLY_MAX)
    if len(answer) < 4:
        raise field_error("reply", N_("Write at least %(n)s characters."), params={"n": 4})
    now = now_utc()
    request.status = Status.REPLIED
    request.reply = answer
    request.replied_at = now
    request.replied_by_id = actor.id
    request.handler_id = request.handler_id or actor.id
    request.handling_at = request.handling_at or now
    db.session.flush()
    audit.record(
        "convenience.interaction.replied",
        actor=actor,
        subject=request.audit_ref,
        data={"on_time": int(request.due_at is None or now < request.due_at), "length": len(answer)},
    )
    return request


def press(*, actor: Any, reference: Any, note: Any, reopen: Any = False) -> InteractionPress:
    """督办: press for handling with a note; on a replied request `reopen` sends the reply back to be redone."""
    request = get(reference, lock=True)
    _expect(request, (*OPEN_STATUSES, Status.REPLIED), N_("A closed request is not pressed any more."))
    text = clean_text(note, "note", NOTE_MAX)
    if not isinstance(reopen, bool):
        raise field_error("reopen", N_("Say yes or no."))
    if reopen and request.status is not Status.REPLIED:
        raise Conflict(N_("Only a replied request can be sent back for more handling."))
    row = InteractionPress(
        request_id=request.id, pressed_by_id=actor.id, pressed_at=now_utc(), note=text, reopened=reopen
    )
    db.session.add(row)
    if reopen:
        request.status = Status.HANDLING
    db.session.flush()
    audit.record(
        "convenience.interaction.pressed",
        actor=actor,
        subject=request.audit_ref,
        data={"press": row.id, "reopened": int(reopen), "overdue": int(request.is_overdue)},
    )
    return row


def close(*, actor: Any, reference: Any) -> InteractionRequest:
    """办结: the dispatcher closes a replied request."""
    request = get(reference, lock=True)
    _expect(request, (Status.REPLIED,), N_("Only a replied request can be closed."))
    request.status = Status.CLOSED
    request.closed_at = now_utc()
    request.closed_by_id = actor.id
    db.session.flush()
    audit.record("convenience.interaction.closed", actor=actor, subject=request.audit_ref, data={})
    return request


def call_back(
    *, actor: Any, reference: Any, reached: Any, satisfied: Any = None, note: Any = ""
) -> InteractionCallBack:
    """回访: the operator's call after 办结. Reached: the loop moves on to 评价; not reached: try again later."""
    request = get(reference, lock=True)
    _expect(request, (Status.CLOSED,), N_("A request is called back once it is closed, until the citizen is reached."))
    if not isinstance(reached, bool):
        raise field_error("reached", N_("Say whether the citizen was reached."))
    if satisfied is not None and not isinstance(satisfied, bool):
        raise field_error("satisfied", N_("Say whether the citizen was satisfied."))
    text = clean_text(note, "note", NOTE_MAX, required=False)
    row = InteractionCallBack(
        request_id=request.id,
        called_by_id=actor.id,
        called_at=now_utc(),
        reached=reached,
        satisfied=satisfied if reached else None,
        note=text,
    )
    db.session.add(row)
    if reached:
        request.status = Status.CALLED_BACK
    db.session.flush()
    audit.record(
        "convenience.interaction.called_back",
        actor=actor,
        subject=request.audit_ref,
        data={
            "callback": row.id,
            "reached": int(reached),
            "satisfied": "" if row.satisfied is None else int(row.satisfied),
        },
    )
    return row


# --- overdue sweep ------------------------------------------------------------------------------------------------

SWEEP_BATCH = 500


def mark_overdue(now: datetime | None = None) -> dict[str, int]:
    """Mark each request not replied by its due instant, once, with `convenience.interaction.overdue` in the
    evidence log (what supervision reads). Idempotent: a marked request is never marked again. Flushes."""
    now = now or now_utc()
    stmt = (
        select(InteractionRequest)
        .where(
            InteractionRequest.status.in_(OPEN_STATUSES),
            InteractionRequest.overdue_at.is_(None),
            InteractionRequest.due_at.is_not(None),
            InteractionRequest.due_at <= now,
        )
        .order_by(InteractionRequest.due_at, InteractionRequest.id)
        .limit(SWEEP_BATCH)
    )
    if is_postgresql():
        stmt = stmt.with_for_update(skip_locked=True)
    marked = 0
    for request in db.session.scalars(stmt):
        request.overdue_at = now
        audit.record(
            "convenience.interaction.overdue",
            actor="system:sweep",
            subject=request.audit_ref,
            data={
                "kind": request.kind.value,
                "urgent": int(request.urgent),
                "status": request.status.value,
                "department": request.department.code if request.department is not None else "",
                "department_id": request.department_id or 0,
                "due_at": request.due_at.isoformat() if request.due_at else "",
            },
        )
        marked += 1
    db.session.flush()
    return {"overdue": marked}


# --- 评价 through 好差评 ------------------------------------------------------------------------------------------


def rating_subject(request: InteractionRequest) -> Any:
    """The request as a subject of 好差评: rateable once closed (办结), by whoever holds its tracking token."""
    from app.convenience.rating.models import SubjectKind
    from app.convenience.rating.services import Subject

    department = request.department
    return Subject(
        kind=SubjectKind.INTERACTION,
        id=request.id,
        reference=request.reference,
        closed_at=request.closed_at if request.status in DONE_STATUSES else None,
        staff_id=request.replied_by_id,
        department=department.name if department is not None else DISPATCH_OFFICE_ZH,
        department_en=(department.name_en if department is not None else str(DISPATCH_OFFICE)) or "",
        contact_user_id=request.user_id,
        contact_phone=request.contact_phone,
        link_args=(("reference", request.reference), ("token", request.tracking_token)),
    )


def rating_of(request: InteractionRequest) -> Any:
    from app.convenience.rating.models import SubjectKind
    from app.convenience.rating.services import rating_of as _rating_of

    return _rating_of(SubjectKind.INTERACTION, request.id)
