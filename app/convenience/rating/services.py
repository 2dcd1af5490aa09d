"""好差评: rate a served ticket or a decided permit application once, open and work the rectification task of a bad
rating (call-backs, closing), appeal a mistaken or malicious rating, invite the unrated, and count the results.

Who may rate: the holder of the ticket (whoever has its tracking id: the my-ticket page's secret, the only thing
that ties a visitor to a ticket) and the applicant of an application (its tracking token, or the signed-in account
that applied online). A rating is never required. One rating per subject: the pair (kind, id) is unique in the
table, so of two requests at once one is stored and the other is refused (409) with nothing written.

Services flush and never commit; every change writes its evidence-log entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.convenience import notify
from app.convenience.appointment_models import Appointment, OutboxMessage
from app.convenience.models import Ticket, TicketStatus, WindowSession
from app.convenience.rating.models import (
    BAD_LEVELS,
    GOOD_LEVELS,
    LEVELS,
    Appeal,
    AppealStatus,
    CallBack,
    CallOutcome,
    Invitation,
    Level,
    Rating,
    RectificationTask,
    SubjectKind,
    TaskStatus,
)
from app.convenience.rating.permissions import SUPERVISE
from app.core.db import db, is_postgresql
from app.core.errors import Conflict, NotFound, PermissionDenied, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.permits.calendar.deadlines import CalendarNotLoaded, Counting, Rule
from app.permits.cases.models import Application, ApplicationStatus

COMMENT_MAX = 500
TEXT_MAX = 2000
DECIDED = (ApplicationStatus.ACCEPTED, ApplicationStatus.REFUSED)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _valid(row_id: Any) -> bool:
    return isinstance(row_id, int) and 0 < row_id < 2**31


def _has(actor: Any, permission: str) -> bool:
    return actor is not None and not isinstance(actor, str) and bool(actor.has_permission(permission))


# --- subjects ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """A matter that can be rated, with who served it (copied onto the rating)."""

    kind: SubjectKind
    id: int
    reference: str  # A001 (2026-12-07), SQ20261207-7F3K2Q
    closed_at: datetime | None  # None: not closed yet (not rateable)
    window_id: int | None = None
    staff_id: int | None = None
    department: str = ""
    department_en: str = ""
    contact_user_id: int | None = None
    contact_phone: str = ""
    contact_email: str = ""  # the address the citizen gave with the matter (else the account's is used)
    link_args: tuple[tuple[str, str], ...] = ()  # the rating page's endpoint arguments (see `rate_link`)


# Where the holder rates each kind: 好差评's own pages for tickets and applications; a 政民互动 request and a
# household order are rated on their own tracking page (reference and token), which offers the rating once closed.
RATE_ENDPOINTS = {
    SubjectKind.TICKET: "convenience_rating.rate_ticket",
    SubjectKind.APPLICATION: "convenience_rating.rate_application",
    SubjectKind.INTERACTION: "convenience_interaction.track",
    SubjectKind.HOUSEHOLD: "household.track",
}


def rate_link(subject: Subject) -> str:
    """The rating page's path for the subject (also outside a request: the sweep runs in a worker)."""
    from flask import has_request_context, url_for

    endpoint = RATE_ENDPOINTS[subject.kind]
    values: dict[str, Any] = dict(subject.link_args)
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def _server_of(ticket: Ticket) -> int | None:
    """The staff member signed on at the ticket's window when it was served (from the window's sign-ons)."""
    if ticket.window_id is None or ticket.served_at is None:
        return None
    found = db.session.scalar(
        select(WindowSession.user_id)
        .where(
            WindowSession.window_id == ticket.window_id,
            WindowSession.signed_on_at <= ticket.served_at,
            (WindowSession.signed_off_at.is_(None)) | (WindowSession.signed_off_at >= ticket.served_at),
        )
        .order_by(WindowSession.signed_on_at.desc())
        .limit(1)
    )
    return int(found) if found is not None else None


def ticket_subject(ticket: Ticket) -> Subject:
    booked = db.session.scalar(select(Appointment).where(Appointment.ticket_id == ticket.id).limit(1))
    return Subject(
        kind=SubjectKind.TICKET,
        id=ticket.id,
        reference=f"{ticket.day.isoformat()} {ticket.number}",  # no brackets: read in either language
        closed_at=ticket.served_at if ticket.status is TicketStatus.SERVED else None,
        window_id=ticket.window_id,
        staff_id=_server_of(ticket),
        department=ticket.service.department,
        department_en=ticket.service.department_en,
        contact_user_id=booked.user_id if booked is not None else None,  # a booked visit knows its visitor
        contact_phone=booked.phone if booked is not None else "",
        link_args=(("tracking_id", ticket.public_id),),
    )


def application_subject(application: Application) -> Subject:
    department = application.item.department
    return Subject(
        kind=SubjectKind.APPLICATION,
        id=application.id,
        reference=application.number,
        closed_at=application.decided_at if application.status in DECIDED else None,
        staff_id=application.first_handler_id or application.decided_by_id,
        department=department.name,
        department_en=department.name_en,
        contact_user_id=application.submitted_by_id,
        contact_phone=application.contact_phone,
        link_args=(("number", application.number), ("token", application.tracking_token)),
    )


def held_ticket(tracking_id: str) -> Ticket:
    """The ticket whose tracking id the caller holds (the my-ticket page's secret)."""
    from app.convenience.queue import get_ticket

    return get_ticket(tracking_id)


def held_application(number: str, token: str, actor: Any = None) -> Application:
    """The application whose applicant the caller is: its tracking token, or the signed-in account that applied."""
    from app.permits.cases import services as cases

    if token:
        return cases.tracked(number, token)
    try:
        application = cases.get_by_number(number)
    except NotFound:
        application = None
    if (
        application is None
        or actor is None
        or isinstance(actor, str)
        or application.submitted_by_id is None
        or application.submitted_by_id != actor.id
    ):
        raise NotFound(N_("No such application."))
    return application


def resolve(kind: str, reference: str, token: str = "", actor: Any = None) -> Subject:
    """The subject the caller may rate: a ticket by its tracking id, an application by number and token."""
    if kind == SubjectKind.TICKET.value:
        return ticket_subject(held_ticket(reference))
    if kind == SubjectKind.APPLICATION.value:
        return application_subject(held_application(reference, token, actor))
    if kind == SubjectKind.INTERACTION.value:
        from app.convenience.interaction import services as interaction

        return interaction.rating_subject(interaction.tracked(reference, token))  # type: ignore[no-any-return]
    if kind == SubjectKind.HOUSEHOLD.value:
        from app.convenience.household import services as household

        subject: Subject = household.rating_subject(household.tracked(reference, token))
        return subject
    raise field_error("kind", N_("Choose a ticket, an application or a request."))


def rating_of(kind: SubjectKind, subject_id: int) -> Rating | None:
    found: Rating | None = db.session.scalar(
        select(Rating).where(Rating.subject_kind == kind, Rating.subject_id == subject_id)
    )
    return found


# --- rating ----------------------------------------------------------------------------------------------------


def check_level(level: Any) -> Level:
    if not isinstance(level, str) or level not in {lv.value for lv in LEVELS}:
        raise field_error("level", N_("Choose one of the five levels, from very satisfied to very dissatisfied."))
    return Level(level)


def check_comment(comment: Any) -> str:
    text = (comment or "").strip() if isinstance(comment, str | None) else None
    if text is None or len(text) > COMMENT_MAX:
        raise field_error("comment", N_("Write at most %(n)s characters."), params={"n": COMMENT_MAX})
    return text


def rate(subject: Subject, *, level: Any, comment: Any = "", actor: Any = None) -> Rating:
    """Store the one rating of `subject`. Refused: not closed yet (409), rated already (409), bad input (422).

    A bad rating (不满意, 非常不满意) opens a rectification task. Flushes; records `convenience.rating.submitted`.
    """
    chosen = check_level(level)
    text = check_comment(comment)
    if subject.closed_at is None:
        raise Conflict(N_("This can be rated once it has been served or decided."))
    if rating_of(subject.kind, subject.id) is not None:
        raise Conflict(N_("This has been rated already: one rating per visit or matter."))
    rating = Rating(
        subject_kind=subject.kind,
        subject_id=subject.id,
        reference=subject.reference,
        level=chosen,
        comment=text,
        rated_at=now_utc(),
        rated_by_id=actor.id if actor is not None and not isinstance(actor, str) else None,
        closed_at=subject.closed_at,
        window_id=subject.window_id,
        staff_id=subject.staff_id,
        department=subject.department,
        department_en=subject.department_en,
    )
    try:
        with db.session.begin_nested():  # the unique pair decides between two requests at once
            db.session.add(rating)
    except IntegrityError:
        raise Conflict(N_("This has been rated already: one rating per visit or matter.")) from None
    audit.record(
        "convenience.rating.submitted",
        actor=actor,
        subject=rating.audit_ref,
        data={
            "kind": subject.kind.value,
            "subject": subject.id,
            "reference": subject.reference,
            "level": chosen.value,
            "has_comment": 1 if text else 0,
        },
    )
    if chosen in BAD_LEVELS:
        open_task(rating)
    return rating


def rectification_due(opened_on: date) -> date | None:
    """`RATING_RECTIFY_WORKING_DAYS` working days after `opened_on` on the platform's calendar (None beyond it)."""
    from app.permits.calendar import services as calendar

    days = int(current_app.config.get("RATING_RECTIFY_WORKING_DAYS", 5))
    try:
        return calendar.compute_due_dates(opened_on, Rule(days=days, counting=Counting.WORKING)).statutory
    except CalendarNotLoaded:
        return None


def open_task(rating: Rating) -> RectificationTask:
    now = now_utc()
    task = RectificationTask(
        rating_id=rating.id,
        responsible_id=rating.staff_id,
        status=TaskStatus.OPEN,
        opened_at=now,
        due_on=rectification_due(now.astimezone(_zone()).date()),
    )
    db.session.add(task)
    db.session.flush()
    audit.record(
        "convenience.rating.rectification_opened",
        actor="system:rating",
        subject=task.audit_ref,
        data={
            "rating": rating.id,
            "responsible": rating.staff_id or 0,
            "due_on": task.due_on.isoformat() if task.due_on else "",
        },
    )
    return task


# --- rectification ---------------------------------------------------------------------------------------------


def get_task(task_id: int, actor: Any) -> RectificationTask:
    """The task if the actor is its responsible person or a supervisor; 404 otherwise (nothing revealed)."""
    task = db.session.get(RectificationTask, task_id) if _valid(task_id) else None
    if task is None or not (_has(actor, SUPERVISE) or task.responsible_id == getattr(actor, "id", None)):
        raise NotFound(N_("No such rectification task."))
    return task


def list_tasks(actor: Any, status: str | None = None) -> list[RectificationTask]:
    stmt = select(RectificationTask).order_by(
        RectificationTask.status.desc(), RectificationTask.due_on, RectificationTask.id
    )
    if not _has(actor, SUPERVISE):
        stmt = stmt.where(RectificationTask.responsible_id == actor.id)
    if status in {s.value for s in TaskStatus}:
        stmt = stmt.where(RectificationTask.status == TaskStatus(status))
    return list(db.session.scalars(stmt))


def _open(task: RectificationTask) -> None:
    if task.status is not TaskStatus.OPEN:
        raise Conflict(N_("This rectification task is closed."))


def _text(name: str, value: Any, *, required: bool, minimum: int = 1) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise field_error(name, N_("Write it as text."))
    if required and len(text) < minimum:
        raise field_error(name, N_("Write at least %(n)s characters."), params={"n": minimum})
    if len(text) > TEXT_MAX:
        raise field_error(name, N_("Write at most %(n)s characters."), params={"n": TEXT_MAX})
    return text


def record_callback(*, actor: Any, task_id: int, called_at: Any, outcome: Any, note: Any = "") -> CallBack:
    """回访: who called (the actor), when (not in the future, not before the rating) and the outcome."""
    task = get_task(task_id, actor)
    _open(task)
    if outcome not in {o.value for o in CallOutcome}:
        raise field_error("outcome", N_("Say whether the citizen was reached."))
    if not isinstance(called_at, datetime) or called_at.tzinfo is None:
        raise field_error("called_at", N_("Give the date and time of the call."))
    now = now_utc()
    if called_at > now + timedelta(minutes=5) or called_at < task.rating.rated_at - timedelta(minutes=5):
        raise field_error("called_at", N_("The call must be after the rating and not in the future."))
    text = _text("note", note, required=False)
    row = CallBack(
        task_id=task.id,
        called_by_id=actor.id,
        called_at=called_at,
        recorded_at=now,
        outcome=CallOutcome(outcome),
        note=text,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "convenience.rating.called_back",
        actor=actor,
        subject=task.audit_ref,
        data={"callback": row.id, "outcome": row.outcome.value, "called_at": called_at.isoformat()},
    )
    return row


def close_task(*, actor: Any, task_id: int, action_taken: Any) -> RectificationTask:
    """Close with what was done; a call-back must have been recorded first."""
    task = get_task(task_id, actor)
    _open(task)
    text = _text("action_taken", action_taken, required=True, minimum=4)
    if not task.callbacks:
        raise Conflict(N_("Record the call-back to the citizen before closing the task."))
    task.status = TaskStatus.CLOSED
    task.action_taken = text
    task.closed_at = now_utc()
    task.closed_by_id = actor.id
    db.session.flush()
    audit.record(
        "convenience.rating.rectification_closed",
        actor=actor,
        subject=task.audit_ref,
        data={"rating": task.rating_id, "callbacks": len(task.callbacks), "on_time": int(_on_time(task))},
    )
    return task


def _on_time(task: RectificationTask) -> bool:
    if task.due_on is None or task.closed_at is None:
        return True
    return task.closed_at.astimezone(_zone()).date() <= task.due_on


# --- appeals ---------------------------------------------------------------------------------------------------


def get_rating(rating_id: int) -> Rating:
    found = db.session.get(Rating, rating_id) if _valid(rating_id) else None
    if found is None:
        raise NotFound(N_("No such rating."))
    return found


def visible_rating(rating_id: int, actor: Any) -> Rating:
    """A rating as staff sees it: the rated staff member, the task's responsible person, or a supervisor."""
    rating = get_rating(rating_id)
    mine = getattr(actor, "id", None)
    if _has(actor, SUPERVISE) or rating.staff_id == mine or (rating.task and rating.task.responsible_id == mine):
        return rating
    raise NotFound(N_("No such rating."))


def file_appeal(*, actor: Any, rating_id: int, reasons: Any) -> Appeal:
    """申诉 by the rated staff member (or a supervisor): reasons required; one appeal per rating."""
    rating = visible_rating(rating_id, actor)
    text = _text("reasons", reasons, required=True, minimum=10)
    if rating.appeals:
        raise Conflict(N_("This rating has been appealed already."))
    appeal = Appeal(rating_id=rating.id, filed_by_id=actor.id, filed_at=now_utc(), reasons=text)
    db.session.add(appeal)
    db.session.flush()
    audit.record(
        "convenience.rating.appeal_filed",
        actor=actor,
        subject=appeal.audit_ref,
        data={"rating": rating.id, "level": rating.level.value},
    )
    return appeal


def get_appeal(appeal_id: int) -> Appeal:
    found = db.session.get(Appeal, appeal_id) if _valid(appeal_id) else None
    if found is None:
        raise NotFound(N_("No such appeal."))
    return found


def list_appeals(status: str | None = None) -> list[Appeal]:
    stmt = select(Appeal).order_by(Appeal.status, Appeal.filed_at, Appeal.id)
    if status in {s.value for s in AppealStatus}:
        stmt = stmt.where(Appeal.status == AppealStatus(status))
    return list(db.session.scalars(stmt))


def decide_appeal(*, actor: Any, appeal_id: int, uphold: Any, note: Any) -> Appeal:
    """A supervisor upholds (the rating stays, marked and excluded from results) or rejects the appeal."""
    if not _has(actor, SUPERVISE):
        raise PermissionDenied(N_("Only a supervisor decides appeals."))
    if not isinstance(uphold, bool):
        raise field_error("decision", N_("Uphold or reject the appeal."))
    appeal = get_appeal(appeal_id)
    if appeal.status is not AppealStatus.PENDING:
        raise Conflict(N_("This appeal has been decided already."))
    if appeal.filed_by_id == actor.id:
        raise Conflict(N_("An appeal is decided by someone other than who filed it."))
    text = _text("note", note, required=True, minimum=4)
    now = now_utc()
    appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.REJECTED
    appeal.decided_by_id = actor.id
    appeal.decided_at = now
    appeal.decision_note = text
    if uphold:
        appeal.rating.is_excluded = True
        appeal.rating.excluded_at = now
    db.session.flush()
    audit.record(
        "convenience.rating.appeal_upheld" if uphold else "convenience.rating.appeal_rejected",
        actor=actor,
        subject=appeal.audit_ref,
        data={"rating": appeal.rating_id},
    )
    return appeal


# --- invitations ------------------------------------------------------------------------------------------------

SWEEP_BATCH = 200


INVITATION_SUBJECT = "请评价我们的服务"


def _addresses(subject: Subject) -> tuple[str, str]:
    """How the matter's holder is reached: a phone number and an e-mail address (each the one given with the matter,
    else the account's); "" where there is none."""
    from app.accounts.models import User

    user = db.session.get(User, subject.contact_user_id) if subject.contact_user_id is not None else None
    phone = subject.contact_phone or ((user.phone or "") if user is not None else "")
    return phone, subject.contact_email or ((user.email or "") if user is not None else "")


def queue_invitation(subject: Subject) -> OutboxMessage:
    """The invitation's message in the floor's outbox (delivered by its sweep; with no address for the configured
    channel, written for the citizen's own page, which no adapter sends)."""
    body = (
        f"您于近日办理的事项（{subject.reference}）已办结，欢迎对我们的服务进行评价（自愿，不强制）："
        f"{rate_link(subject)}"
    )
    phone, email = _addresses(subject)
    return notify.queue_to(
        phone=phone,
        email=email,
        page=subject.reference,
        subject=INVITATION_SUBJECT,
        body=body,
        kind="rating_invitation",
    )


def _closed_unrated(newest: datetime, oldest: datetime, untouched: Any) -> list[tuple[Any, Any]]:
    """Each kind's query of matters closed in (oldest, newest] with neither rating nor invitation, and how a row
    becomes a subject: served tickets, decided applications, closed (办结, or called back since) 政民互动 requests and
    household orders a provider completed."""
    from app.convenience.household import services as household
    from app.convenience.household.models import Order, OrderStatus
    from app.convenience.interaction import services as interaction
    from app.convenience.interaction.models import DONE_STATUSES, InteractionRequest

    def interaction_subject(request: InteractionRequest) -> Subject:
        subject: Subject = interaction.rating_subject(request)
        return replace(subject, contact_email=request.contact_email)  # the address given with the request

    return [
        (
            select(Ticket).where(
                Ticket.status == TicketStatus.SERVED,
                Ticket.served_at <= newest,
                Ticket.served_at > oldest,
                untouched(SubjectKind.TICKET, Ticket.id),
            ),
            ticket_subject,
        ),
        (
            select(Application).where(
                Application.status.in_(DECIDED),
                Application.decided_at <= newest,
                Application.decided_at > oldest,
                untouched(SubjectKind.APPLICATION, Application.id),
            ),
            application_subject,
        ),
        (
            select(InteractionRequest).where(
                InteractionRequest.status.in_(DONE_STATUSES),
                InteractionRequest.closed_at <= newest,
                InteractionRequest.closed_at > oldest,
                untouched(SubjectKind.INTERACTION, InteractionRequest.id),
            ),
            interaction_subject,
        ),
        (
            select(Order).where(
                Order.status == OrderStatus.COMPLETED,
                Order.completed_at <= newest,
                Order.completed_at > oldest,
                untouched(SubjectKind.HOUSEHOLD, Order.id),
            ),
            household.rating_subject,
        ),
    ]


def invite_unrated(now: datetime | None = None) -> dict[str, int]:
    """Invite the matters that closed `RATING_INVITE_AFTER_DAYS` (3) days ago or more, within the last
    `RATING_INVITE_WITHIN_DAYS` (30), and have neither a rating nor an invitation: tickets, applications, 政民互动
    requests and household orders (counted per kind). Idempotent (one invitation per matter, by a unique pair); each
    one is recorded. Flushes."""
    now = now or now_utc()
    after = timedelta(days=int(current_app.config.get("RATING_INVITE_AFTER_DAYS", 3)))
    within = timedelta(days=int(current_app.config.get("RATING_INVITE_WITHIN_DAYS", 30)))
    newest, oldest = now - after, now - within
    counts = {kind.value: 0 for kind in SubjectKind}

    def untouched(kind: SubjectKind, id_column: Any) -> Any:
        return and_(
            ~exists().where(Rating.subject_kind == kind, Rating.subject_id == id_column),
            ~exists().where(Invitation.subject_kind == kind, Invitation.subject_id == id_column),
        )

    for query, to_subject in _closed_unrated(newest, oldest, untouched):
        batch = query.limit(SWEEP_BATCH)
        if is_postgresql():
            batch = batch.with_for_update(skip_locked=True)
        for row in db.session.scalars(batch):
            subject = to_subject(row)
            try:
                with db.session.begin_nested():
                    invitation = Invitation(
                        subject_kind=subject.kind, subject_id=subject.id, reference=subject.reference, invited_at=now
                    )
                    db.session.add(invitation)
            except IntegrityError:
                continue  # another sweep invited it a moment ago
            message = queue_invitation(subject)
            invitation.message_id = message.id
            db.session.flush()
            audit.record(
                "convenience.rating.invited",
                actor="system:sweep",
                subject=f"convenience.rating_invitation:{invitation.id}",
                data={
                    "kind": subject.kind.value,
                    "subject": subject.id,
                    "channel": message.channel.value,
                    "message": message.id,
                },
            )
            counts[subject.kind.value] += 1
    return counts


# --- results ----------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    key: str
    label: str
    label_en: str = ""
    counts: dict[str, int] = field(default_factory=lambda: {lv.value: 0 for lv in LEVELS})

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def satisfied(self) -> int:
        return sum(self.counts[lv.value] for lv in GOOD_LEVELS)

    @property
    def rate(self) -> float | None:
        """(非常满意 + 满意 + 基本满意) / all, or None when there is no rating."""
        return round(self.satisfied / self.total, 4) if self.total else None


@dataclass
class Results:
    start: date
    end: date
    windows: list[Tally]
    staff: list[Tally]
    departments: list[Tally]
    overall: Tally
    excluded: int  # ratings of the range left out by upheld appeals


MAX_RANGE_DAYS = 366
FIRST_YEAR, LAST_YEAR = 2000, 2100


def check_range(start: Any, end: Any) -> tuple[date, date]:
    if not isinstance(start, date) or not isinstance(end, date):
        raise field_error("start", N_("Give a start and an end date."))
    if not (start.year >= FIRST_YEAR and end.year <= LAST_YEAR):
        raise field_error(
            "start", N_("Choose dates between %(first)s and %(last)s."), params={"first": FIRST_YEAR, "last": LAST_YEAR}
        )
    if end < start:
        raise field_error("end", N_("The end date is before the start date."))
    if (end - start).days > MAX_RANGE_DAYS:
        raise field_error("end", N_("Choose at most a year."))
    return start, end


def results(start: Any, end: Any) -> Results:
    """Counts per level and the satisfaction rate per window, staff member and department for the ratings given
    from `start` to `end` (the center's days, both included); ratings excluded by an upheld appeal are left out."""
    from app.accounts.models import User
    from app.convenience.models import Window

    first, last = check_range(start, end)
    zone = _zone()
    begin = datetime.combine(first, time.min, zone)
    finish = datetime.combine(last + timedelta(days=1), time.min, zone)
    rows = list(
        db.session.scalars(select(Rating).where(Rating.rated_at >= begin, Rating.rated_at < finish).order_by(Rating.id))
    )
    windows: dict[str, Tally] = {}
    staff: dict[str, Tally] = {}
    departments: dict[str, Tally] = {}
    overall = Tally("all", "")
    excluded = 0
    for r in rows:
        if r.is_excluded:
            excluded += 1
            continue
        overall.counts[r.level.value] += 1
        if r.window_id is not None:
            w: Window = r.window
            windows.setdefault(w.number, Tally(w.number, w.name, w.name_en)).counts[r.level.value] += 1
        if r.staff_id is not None:
            person: User = r.staff
            staff.setdefault(str(person.id), Tally(str(person.id), person.display_name)).counts[r.level.value] += 1
        if r.department:
            departments.setdefault(r.department, Tally(r.department, r.department, r.department_en)).counts[
                r.level.value
            ] += 1
    return Results(
        first,
        last,
        sorted(windows.values(), key=lambda t: t.key),
        sorted(staff.values(), key=lambda t: t.label),
        sorted(departments.values(), key=lambda t: t.key),
        overall,
        excluded,
    )


def results_csv(res: Results) -> str:
    """The three tables in one CSV (UTF-8 with BOM for spreadsheets): scope, key, name, the five counts, all,
    satisfied, rate."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["scope", "key", "name", *[lv.value for lv in LEVELS], "total", "satisfied", "rate"])
    for scope, tallies in (("window", res.windows), ("staff", res.staff), ("department", res.departments)):
        for t in [*tallies]:
            writer.writerow(_csv_row(scope, t))
    writer.writerow(_csv_row("all", res.overall))
    return "\ufeff" + out.getvalue()


def _csv_row(scope: str, t: Tally) -> list[Any]:
    name = t.label
    for bad in ("=", "+", "-", "@"):  # no formula injection from names
        if name.startswith(bad):
            name = "'" + name
    rate = "" if t.rate is None else f"{t.rate:.4f}"
    return [scope, t.key, name, *[t.counts[lv.value] for lv in LEVELS], t.total, t.satisfied, rate]
