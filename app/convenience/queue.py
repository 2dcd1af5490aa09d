"""The queue (取号、叫号): issue tickets, call next, recall, serve, miss (re-queued once, then a no-show), transfer;
a ticket's place and ETA; what the hall display shows.

Numbers: the group's prefix and its daily sequence, drawn by one atomic upsert of the group's counter row
(INSERT … ON CONFLICT DO UPDATE … RETURNING), so parallel requests get distinct numbers without a gap. Calls take
the oldest waiting ticket (`queued_at`, then id) with FOR UPDATE SKIP LOCKED on PostgreSQL, so two windows never
call the same ticket. Every change writes an evidence-log entry and bumps the hall's change counter, which the
display's stream polls.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, event, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import audit
from app.audit import services as audit_services
from app.convenience.models import (
    HallState,
    Honorific,
    Service,
    Ticket,
    TicketChannel,
    TicketCounter,
    TicketStatus,
    Window,
    WindowSession,
)
from app.convenience.services import get_service, get_window, local_now, require_signed_on
from app.core.db import db, is_postgresql
from app.core.errors import Conflict, NotFound, field_error
from app.core.problems import N_
from app.core.time import now_utc

HALL_STATE_ID = 1
MEASURED_SAMPLE = 20  # the last N served tickets of a group give its measured service time
SURNAME = re.compile(r"^[\u3400-\u9fffA-Za-z·]{1,20}$")
PUBLIC_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
HONORIFICS = {"": Honorific.NONE, "mr": Honorific.MR, "ms": Honorific.MS}
HONORIFIC_ZH = {Honorific.NONE: "", Honorific.MR: "先生", Honorific.MS: "女士"}


def today() -> date:
    """The center's day."""
    return local_now().date()


def mask_name(surname: str, honorific: Honorific) -> str:
    """张*女士: the surname's first character, a star, the honorific; nothing when no name was given."""
    if not surname:
        return ""
    return f"{surname[0]}*{HONORIFIC_ZH[honorific]}"


def _subject(ticket: Ticket) -> str:
    return f"convenience.ticket:{ticket.id}"


_BUMP = "convenience.hall_bump"  # session.info: the hall's counter moves when this transaction commits


def _bump(at: datetime) -> None:
    """Tell the display something changed: the hall's change counter (one row, which the display's stream polls)
    moves when the caller's transaction commits, in it and after the evidence log's noted entries.

    Every queue change writes that one row: written here, its lock would be held from the service through the
    building of the answer to the commit, and every issue and call on the floor would wait in line for it; written
    by the commit, it is held for the commit only (as the log's append lock is, `audit.note`). A rollback drops the
    bump with the change it announced.
    """
    session = db.session()
    if session.get_transaction() is None:
        session.begin()
    session.info[_BUMP] = max(at, session.info.get(_BUMP, at))


def _write_bump(session: Session, at: datetime) -> None:
    table = HallState.__table__
    insert = (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(table)
    stmt = insert.values(id=HALL_STATE_ID, version=1, changed_at=at).on_conflict_do_update(
        index_elements=[table.c.id], set_={"version": table.c.version + 1, "changed_at": at}
    )
    session.execute(stmt)


@event.listens_for(Session, "before_commit")
def _bump_on_commit(session: Session) -> None:
    at = session.info.pop(_BUMP, None)
    if at is not None:
        # The noted evidence entries first (they would be appended after this listener otherwise): every writer
        # then takes the log's lock before the hall's row, in the commit as in `close_past_days`.
        audit_services.append_noted(session)
        _write_bump(session, at)


@event.listens_for(Session, "after_transaction_end")
def _drop_bump(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # over without a commit (rolled back, closed)
        session.info.pop(_BUMP, None)


def hall_version() -> int:
    return int(db.session.scalar(select(HallState.version).where(HallState.id == HALL_STATE_ID)) or 0)


MAX_DAILY_TICKETS = 9999  # per window group and day


def _next_sequence(group_id: int, day: date) -> int:
    table = TicketCounter.__table__
    insert = (postgresql if is_postgresql() else sqlite).insert(table)
    stmt = (
        insert.values(group_id=group_id, day=day, last=1)
        .on_conflict_do_update(index_elements=[table.c.group_id, table.c.day], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    return int(db.session.execute(stmt).scalar_one())


def issue_ticket(
    *,
    service_code: str,
    channel: str,
    surname: str = "",
    honorific: str = "",
    actor: Any = None,
    booked: bool = False,
) -> Ticket:
    """A new ticket for a service, at the back of its group's queue. Flushes and records `ticket_issued`.

    `surname` (optional) is all that is kept of the visitor's name: the display shows it masked. `booked`: a booked
    visitor's check-in (app/convenience/appointments.py); call-next interleaves those with walk-ins.
    Raises NotFound (service), ValidationFailed (channel, surname, honorific).
    """
    if channel not in {c.value for c in TicketChannel}:
        raise field_error("channel", N_("Choose the kiosk or the phone."))
    surname = (surname or "").strip()
    if surname and not SURNAME.match(surname):
        raise field_error("surname", N_("Enter a surname in Chinese characters or letters (at most 20)."))
    if honorific not in HONORIFICS:
        raise field_error("honorific", N_("Choose 先生, 女士 or nothing."))
    service = get_service(service_code)
    now = now_utc()
    day = today()
    sequence = _next_sequence(service.group_id, day)
    if sequence > MAX_DAILY_TICKETS:
        # A001 … A999, then A1000 …: a busy group on a peak day passes a thousand; numbers never wrap (a number
        # called twice a day would send two people to one window).
        raise Conflict(N_("No more tickets today for this service; please come back tomorrow."))
    ticket = Ticket(
        public_id=secrets.token_urlsafe(18),
        group_id=service.group_id,
        service_id=service.id,
        day=day,
        sequence=sequence,
        number=f"{service.group.prefix}{sequence:03d}",
        channel=TicketChannel(channel),
        surname=surname[:1],  # only the first character is ever shown; store no more than that
        honorific=HONORIFICS[honorific],
        status=TicketStatus.WAITING,
        queued_at=now,
        issued_at=now,
        is_booked=booked,
    )
    db.session.add(ticket)
    db.session.flush()
    audit.note(
        "convenience.ticket_issued",
        actor=actor,
        subject=_subject(ticket),
        data={
            "number": ticket.number,
            "service": service.code,
            "channel": channel,
            "day": day.isoformat(),
            **({"booked": 1} if booked else {}),
        },
    )
    _bump(now)
    return ticket


def get_ticket(public_id: str) -> Ticket:
    found: Ticket | None = None
    if PUBLIC_ID.match(public_id or ""):
        found = db.session.scalar(select(Ticket).where(Ticket.public_id == public_id))
    if found is None:
        raise NotFound(N_("No such ticket."))
    return found


def current_ticket(window: Window) -> Ticket | None:
    """The ticket called at the window and not yet served, missed or transferred."""
    found: Ticket | None = db.session.scalar(
        select(Ticket).where(Ticket.window_id == window.id, Ticket.status == TicketStatus.CALLED)
    )
    if found is not None:
        set_committed_value(found, "window", window)  # it is this window: no second look-up of it
    return found


def _waiting_for(window: Window, day: date) -> Any:
    return and_(
        Ticket.status == TicketStatus.WAITING,
        Ticket.day == day,
        or_(
            Ticket.for_window_id == window.id,
            and_(Ticket.for_window_id.is_(None), Ticket.group_id == window.group_id),
        ),
    )


def _working_window(actor: Any, window_id: int) -> Window:
    window = get_window(window_id, lock=True)
    require_signed_on(actor, window)
    return window


def _called_here(window: Window) -> Ticket:
    ticket = current_ticket(window)
    if ticket is None:
        raise Conflict(N_("No ticket is called at this window."))
    return ticket


def _oldest(window: Window, day: date, booked: bool) -> Ticket | None:
    stmt = (
        select(Ticket)
        .where(_waiting_for(window, day), Ticket.is_booked.is_(booked))
        .order_by(Ticket.queued_at, Ticket.id)
        .limit(1)
    )
    if is_postgresql():
        stmt = stmt.with_for_update(skip_locked=True)
    found: Ticket | None = db.session.scalar(stmt)
    return found


def booked_first(recent: str, rule: str, quota_booked: int, quota_calls: int) -> bool:
    """With booked visitors and walk-ins both waiting: whether the booked one is called. `recent` is the group's
    calls of the day, oldest first ("B" booked, "W" walk-in). "priority": always; "quota": while fewer than
    `quota_booked` of the last `quota_calls - 1` calls went to booked visitors (so at most `quota_booked` in any
    `quota_calls` consecutive calls made while walk-ins wait)."""
    if rule == "priority":
        return True
    last = recent[-(quota_calls - 1) :] if quota_calls > 1 else ""
    return last.count("B") < quota_booked


def _next_in_line(window: Window, day: date) -> Ticket | None:
    """The next ticket for the window: the oldest booked or walk-in ticket, chosen by the interleaving rule
    (CONVENIENCE_BOOKED_RULE); the group's tally of calls records the choice."""
    from flask import current_app

    from app.convenience.appointment_models import CallTally

    booked = _oldest(window, day, True)
    walk_in = _oldest(window, day, False)
    if booked is None and walk_in is None:
        return None
    table = CallTally.__table__
    insert = (postgresql if is_postgresql() else sqlite).insert(table)
    db.session.execute(
        insert.values(group_id=window.group_id, day=day, recent="", calls=0).on_conflict_do_nothing(
            index_elements=[table.c.group_id, table.c.day]
        )
    )
    tally_stmt = select(CallTally).where(CallTally.group_id == window.group_id, CallTally.day == day)
    if is_postgresql():
        tally_stmt = tally_stmt.with_for_update()
    tally = db.session.scalars(tally_stmt.execution_options(populate_existing=True)).one()
    chosen: Ticket | None
    if booked is not None and walk_in is not None:
        cfg = current_app.config
        take_booked = booked_first(
            tally.recent,
            cfg.get("CONVENIENCE_BOOKED_RULE", "quota"),
            int(cfg.get("CONVENIENCE_BOOKED_QUOTA_BOOKED", 2)),
            int(cfg.get("CONVENIENCE_BOOKED_QUOTA_CALLS", 3)),
        )
        chosen = booked if take_booked else walk_in
    else:
        chosen = booked or walk_in
    if chosen is None:
        return None
    tally.recent = (tally.recent + ("B" if chosen.is_booked else "W"))[-64:]
    tally.calls += 1
    return chosen


def call_next(*, actor: Any, window_id: int) -> Ticket:
    """Call the next ticket for the window: transferred to it or of its group, oldest place in line first, booked
    visitors interleaved with walk-ins by the rule in the settings (`_next_in_line`).

    Refused while a ticket is called there (Conflict), when nobody waits (Conflict), when the caller is not
    signed on at the window (PermissionDenied). Flushes and records `ticket_called`.
    """
    window = _working_window(actor, window_id)
    called = current_ticket(window)
    if called is not None:
        raise Conflict(
            N_("Ticket %(number)s is still called here: serve it, mark it missed or transfer it first."),
            params={"number": called.number},
        )
    ticket = _next_in_line(window, today())
    if ticket is None:
        raise Conflict(N_("Nobody is waiting for this window."))
    now = now_utc()
    ticket.status = TicketStatus.CALLED
    ticket.window = window
    ticket.for_window_id = None
    ticket.called_at = now
    ticket.call_count += 1
    db.session.flush()
    audit.note(
        "convenience.ticket_called",
        actor=actor,
        subject=_subject(ticket),
        data={"number": ticket.number, "window": window.number, "call": ticket.call_count},
    )
    _bump(now)
    return ticket


def recall(*, actor: Any, window_id: int) -> Ticket:
    """Call the window's current ticket again (display and announcement). Records `ticket_recalled`."""
    window = _working_window(actor, window_id)
    ticket = _called_here(window)
    ticket.call_count += 1
    db.session.flush()
    audit.note(
        "convenience.ticket_recalled",
        actor=actor,
        subject=_subject(ticket),
        data={"number": ticket.number, "window": window.number, "call": ticket.call_count},
    )
    _bump(now_utc())
    return ticket


def serve(*, actor: Any, window_id: int) -> Ticket:
    """The window's current ticket was served; its service time (call → now) is measured. Records `ticket_served`."""
    window = _working_window(actor, window_id)
    ticket = _called_here(window)
    now = now_utc()
    ticket.status = TicketStatus.SERVED
    ticket.served_at = ticket.closed_at = now
    ticket.service_seconds = max(0, int((now - (ticket.called_at or now)).total_seconds()))
    db.session.flush()
    audit.note(
        "convenience.ticket_served",
        actor=actor,
        subject=_subject(ticket),
        data={"number": ticket.number, "window": window.number, "seconds": ticket.service_seconds},
    )
    _bump(now)
    return ticket


def miss(*, actor: Any, window_id: int) -> Ticket:
    """The visitor did not come: the first time the ticket goes to the back of the queue, the second time it is a
    no-show. Records `ticket_requeued` or `ticket_no_show`."""
    window = _working_window(actor, window_id)
    ticket = _called_here(window)
    now = now_utc()
    if not ticket.is_requeued:
        ticket.status = TicketStatus.WAITING
        ticket.is_requeued = True
        ticket.queued_at = now
        action = "convenience.ticket_requeued"
    else:
        ticket.status = TicketStatus.NO_SHOW
        ticket.closed_at = now
        action = "convenience.ticket_no_show"
    db.session.flush()
    audit.note(action, actor=actor, subject=_subject(ticket), data={"number": ticket.number, "window": window.number})
    _bump(now)
    return ticket


def transfer(*, actor: Any, window_id: int, to_window_id: int) -> Ticket:
    """Send the window's current ticket to another window, keeping its place in line. Records `ticket_transferred`.

    Raises NotFound (target), ValidationFailed (the same window, or a closed one).
    """
    window = _working_window(actor, window_id)
    ticket = _called_here(window)
    try:
        target = get_window(to_window_id)
    except NotFound:
        raise field_error("to_window", N_("Choose another window.")) from None
    if target.id == window.id or not target.is_active:
        raise field_error("to_window", N_("Choose another window."))
    ticket.status = TicketStatus.WAITING
    ticket.for_window_id = target.id
    db.session.flush()
    audit.note(
        "convenience.ticket_transferred",
        actor=actor,
        subject=_subject(ticket),
        data={"number": ticket.number, "window": window.number, "to_window": target.number},
    )
    _bump(now_utc())
    return ticket


# --- tracking and the display -------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    ahead: int  # tickets to be called before this one
    measured_seconds: int  # per ticket, from the group's served tickets (or the service's plan)
    windows_open: int
    eta: datetime | None  # when it should be called (None once called or closed)


def measured_seconds(group_id: int, service: Service) -> int:
    """The mean service time of the group's last served tickets (today's or earlier), else the service's plan."""
    rows = list(
        db.session.scalars(
            select(Ticket.service_seconds)
            .where(Ticket.group_id == group_id, Ticket.status == TicketStatus.SERVED)
            .order_by(Ticket.served_at.desc(), Ticket.id.desc())
            .limit(MEASURED_SAMPLE)
        )
    )
    values = [v for v in rows if v is not None]
    if not values:
        return service.average_service_seconds
    return max(1, round(sum(values) / len(values)))


def windows_open(group_id: int) -> int:
    """Windows of the group with somebody signed on."""
    return int(
        db.session.scalar(
            select(func.count(func.distinct(WindowSession.window_id)))
            .join(Window, Window.id == WindowSession.window_id)
            .where(WindowSession.signed_off_at.is_(None), Window.group_id == group_id)
        )
        or 0
    )


def progress(ticket: Ticket) -> Progress:
    """Where the ticket stands: how many are ahead and when it should be called, from measured service times."""
    per_ticket = measured_seconds(ticket.group_id, ticket.service)
    open_count = windows_open(ticket.group_id)
    if ticket.status is not TicketStatus.WAITING:
        return Progress(0, per_ticket, open_count, None)
    same_line = (
        Ticket.for_window_id == ticket.for_window_id
        if ticket.for_window_id is not None
        else and_(Ticket.for_window_id.is_(None), Ticket.group_id == ticket.group_id)
    )
    ahead = int(
        db.session.scalar(
            select(func.count(Ticket.id)).where(
                Ticket.status == TicketStatus.WAITING,
                Ticket.day == ticket.day,
                same_line,
                or_(
                    Ticket.queued_at < ticket.queued_at,
                    and_(Ticket.queued_at == ticket.queued_at, Ticket.id < ticket.id),
                ),
            )
        )
        or 0
    )
    servers = 1 if ticket.for_window_id is not None else max(1, open_count)
    wait = math.ceil(ahead * per_ticket / servers)
    return Progress(ahead, per_ticket, open_count, now_utc() + timedelta(seconds=wait))


DISPLAY_ROWS = 8


def hall_snapshot() -> dict[str, Any]:
    """What the hall display shows: the latest calls (number, window, masked name) and who waits per group."""
    day = today()
    called = db.session.execute(
        select(Ticket, Window.number)
        .join(Window, Window.id == Ticket.window_id)
        .where(Ticket.day == day, Ticket.status == TicketStatus.CALLED)
        .order_by(Ticket.called_at.desc(), Ticket.id.desc())
        .limit(DISPLAY_ROWS)
    ).all()
    waiting = dict(
        db.session.execute(
            select(Ticket.group_id, func.count(Ticket.id))
            .where(Ticket.day == day, Ticket.status == TicketStatus.WAITING)
            .group_by(Ticket.group_id)
        ).all()
    )
    from app.convenience.services import list_groups

    return {
        "version": hall_version(),
        "day": day.isoformat(),
        "calls": [
            {
                "number": t.number,
                "window": number,
                "name": mask_name(t.surname, t.honorific),
                "call": t.call_count,
                "ticket": t.id,
            }
            for t, number in called
        ],
        "waiting": [{"group": g.name, "prefix": g.prefix, "count": int(waiting.get(g.id, 0))} for g in list_groups()],
    }


def waiting_count(window: Window) -> int:
    """Tickets a call at this window could take now."""
    return int(db.session.scalar(select(func.count(Ticket.id)).where(_waiting_for(window, today()))) or 0)


SWEEP_BATCH = 500


def close_past_days() -> dict[str, int]:
    """End the days gone by: their tickets still waiting or called become no-shows, and staff still signed on
    since an earlier day are signed off. Idempotent; each change is recorded (actor `system:sweep`). Flushes."""
    day = today()
    now = now_utc()
    stmt = (
        select(Ticket)
        .where(Ticket.day < day, Ticket.status.in_([TicketStatus.WAITING, TicketStatus.CALLED]))
        .order_by(Ticket.id)
        .limit(SWEEP_BATCH)
    )
    if is_postgresql():
        stmt = stmt.with_for_update(skip_locked=True)
    tickets = list(db.session.scalars(stmt))
    for ticket in tickets:
        was = ticket.status.value
        ticket.status = TicketStatus.NO_SHOW
        ticket.closed_at = now
        audit.record(
            "convenience.ticket_expired",
            actor="system:sweep",
            subject=_subject(ticket),
            data={"number": ticket.number, "day": ticket.day.isoformat(), "was": was},
        )
    start_of_day = local_now().replace(hour=0, minute=0, second=0, microsecond=0)
    sessions = list(
        db.session.scalars(
            select(WindowSession)
            .where(WindowSession.signed_off_at.is_(None), WindowSession.signed_on_at < start_of_day)
            .limit(SWEEP_BATCH)
        )
    )
    for session in sessions:
        session.signed_off_at = now
        audit.record(
            "convenience.signed_off",
            actor="system:sweep",
            subject=f"convenience.window:{session.window_id}",
            data={"session": session.id, "user": session.user_id, "automatic": 1},
        )
    db.session.flush()
    if tickets or sessions:
        _bump(now)
    return {"tickets": len(tickets), "sessions": len(sessions)}
