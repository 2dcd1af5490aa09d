"""Supervision services: who sees what, signals and their answers (explain, accept, reject), the live wall's figures.

Access: holders of supervision.watch (supervisors, the discipline office) see everything, and so do the leaders on
duty (supervision.lead: read only, they do not review); a department head the items and signals of the department;
anybody else the signals naming them. A signal never changes: answers are rows
of their own, each with its evidence-log entry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import selectinload

from app import audit
from app.core.db import db, is_valid_id
from app.core.errors import Conflict, NotFound, PermissionDenied, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.supervision.models import (
    AnswerKind,
    DepartmentHead,
    ItemState,
    Light,
    MonitoredItem,
    Signal,
    SignalAnswer,
)
from app.supervision.permissions import LEAD, WATCH

MAX_TEXT = 2000
PAGE = 100


class SignalStatus(enum.StrEnum):
    AWAITING_ANSWER = "awaiting_answer"  # nobody explained yet, or the explanation was rejected
    AWAITING_REVIEW = "awaiting_review"  # explained: a supervisor decides
    ACCEPTED = "accepted"


def status_of(signal: Signal) -> SignalStatus:
    last = signal.answers[-1].kind if signal.answers else None
    if last is AnswerKind.EXPLANATION:
        return SignalStatus.AWAITING_REVIEW
    if last is AnswerKind.ACCEPTED:
        return SignalStatus.ACCEPTED
    return SignalStatus.AWAITING_ANSWER


# --- access -------------------------------------------------------------------------------------------------------


def is_supervisor(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_permission(WATCH)


def sees_all(user: Any) -> bool:
    """Supervisors, and the leaders on duty (the leader's page lists every unresolved red and escalation)."""
    return is_supervisor(user) or (bool(getattr(user, "is_authenticated", False)) and user.has_permission(LEAD))


def departments_of(user: Any) -> list[str]:
    """The departments `user` heads."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(select(DepartmentHead.department).where(DepartmentHead.user_id == user.id)))


def can_watch(user: Any) -> bool:
    """May see the wall: supervisors and leaders, and department heads (for their departments)."""
    return sees_all(user) or bool(departments_of(user))


def _signal_filter(user: Any) -> ColumnElement[bool] | None:
    """None for everything; else the signals of the departments headed, or naming the user."""
    if sees_all(user):
        return None
    if not getattr(user, "is_authenticated", False):
        return false()
    heads = departments_of(user)
    own = Signal.person_id == user.id
    return or_(own, Signal.department.in_(heads)) if heads else own


def _item_filter(user: Any) -> ColumnElement[bool] | None:
    if sees_all(user):
        return None
    heads = departments_of(user)
    return MonitoredItem.department.in_(heads) if heads else false()


def assign_head(*, actor: Any, user_id: int, department: str) -> DepartmentHead:
    """Name a department head (supervisors only). Raises PermissionDenied, ValidationFailed."""
    if not is_supervisor(actor):
        raise PermissionDenied(N_("Only supervisors name department heads."))
    name = str(department or "").strip()
    if not name or len(name) > 200:
        raise field_error("department", N_("Give the department's name (at most 200 characters)."))
    found: DepartmentHead | None = db.session.scalar(
        select(DepartmentHead).where(DepartmentHead.user_id == user_id, DepartmentHead.department == name)
    )
    if found is not None:
        return found
    head = DepartmentHead(user_id=user_id, department=name)
    db.session.add(head)
    db.session.flush()
    audit.record("supervision.head.assigned", actor=actor, subject=f"user:{user_id}", data={"department": name})
    return head


# --- signals ------------------------------------------------------------------------------------------------------


@dataclass
class SignalFilter:
    colour: str | None = None
    floor: str | None = None
    department: str | None = None
    person_id: int | None = None
    status: str | None = None
    page: int = 1


def list_signals(user: Any, filt: SignalFilter | None = None) -> tuple[list[Signal], bool]:
    """The signals `user` may see, newest first, one page; and whether a next page exists."""
    filt = filt or SignalFilter()
    stmt = select(Signal).options(selectinload(Signal.answers), selectinload(Signal.rule), selectinload(Signal.person))
    scope = _signal_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    if filt.colour:
        stmt = stmt.where(Signal.colour == filt.colour)
    if filt.floor:
        stmt = stmt.where(Signal.floor == filt.floor)
    if filt.department:
        stmt = stmt.where(Signal.department == filt.department)
    if filt.person_id:
        stmt = stmt.where(Signal.person_id == filt.person_id)
    page = max(1, min(filt.page, 10_000))
    rows = list(db.session.scalars(stmt.order_by(Signal.id.desc()).offset((page - 1) * PAGE).limit(PAGE + 1)))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    if filt.status:
        rows = [s for s in rows if status_of(s) == filt.status]
    return rows, more


def get_signal(user: Any, signal_id: int) -> Signal:
    """A signal `user` may see; NotFound otherwise (never telling that it exists)."""
    if not is_valid_id(signal_id):
        raise NotFound(N_("No such signal."))
    stmt = select(Signal).where(Signal.id == signal_id)
    scope = _signal_filter(user)
    if scope is not None:
        stmt = stmt.where(scope)
    found: Signal | None = db.session.scalar(stmt)
    if found is None:
        raise NotFound(N_("No such signal."))
    return found


def _text(value: Any, name: str) -> str:
    text = str(value or "").strip() if isinstance(value, str | None) else ""
    if not text:
        raise field_error(name, N_("Write the text."))
    if len(text) > MAX_TEXT:
        raise field_error(name, N_("At most %(n)s characters."), params={"n": MAX_TEXT})
    return text


def may_answer(user: Any, signal: Signal) -> bool:
    """The responsible person; when nobody is named, a head of the department."""
    if not getattr(user, "is_authenticated", False):
        return False
    if signal.person_id is not None:
        return bool(signal.person_id == user.id)
    return signal.department in departments_of(user)


def answer_signal(*, actor: Any, signal: Signal, text: Any) -> SignalAnswer:
    """The responsible person's explanation (情况说明). Raises PermissionDenied, Conflict, ValidationFailed."""
    if not may_answer(actor, signal):
        raise PermissionDenied(N_("Only the person the signal names explains it."))
    status = status_of(signal)
    if status is SignalStatus.AWAITING_REVIEW:
        raise Conflict(N_("An explanation is already waiting for a supervisor's review."))
    if status is SignalStatus.ACCEPTED:
        raise Conflict(N_("This signal is settled: its explanation was accepted."))
    clean = _text(text, "text")
    answer = SignalAnswer(
        signal=signal, kind=AnswerKind.EXPLANATION, author_id=actor.id, text=clean, created_at=now_utc()
    )
    db.session.add(answer)
    db.session.flush()
    audit.record(
        "supervision.signal.answered",
        actor=actor,
        subject=f"supervision.signal:{signal.id}",
        data={"answer": answer.id, "chars": len(clean)},
    )
    return answer


def review_signal(*, actor: Any, signal: Signal, accept: bool, text: Any) -> SignalAnswer:
    """A supervisor accepts the explanation, or rejects it with the reason (the person explains again).

    Raises PermissionDenied, Conflict (nothing to review), ValidationFailed (a rejection without its reason)."""
    if not is_supervisor(actor):
        raise PermissionDenied(N_("Only supervisors review explanations."))
    if status_of(signal) is not SignalStatus.AWAITING_REVIEW:
        raise Conflict(N_("No explanation is waiting for review."))
    clean = _text(text, "text") if not accept or (isinstance(text, str) and text.strip()) else ""
    kind = AnswerKind.ACCEPTED if accept else AnswerKind.REJECTED
    answer = SignalAnswer(signal=signal, kind=kind, author_id=actor.id, text=clean, created_at=now_utc())
    db.session.add(answer)
    db.session.flush()
    audit.record(
        "supervision.signal.accepted" if accept else "supervision.signal.rejected",
        actor=actor,
        subject=f"supervision.signal:{signal.id}",
        data={"answer": answer.id},
    )
    return answer


def signals_to_answer(user: Any) -> list[Signal]:
    """The signals naming `user` still waiting for the user's explanation (the home page's list)."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = db.session.scalars(
        select(Signal).where(Signal.person_id == user.id).options(selectinload(Signal.answers)).order_by(Signal.id)
    )
    return [s for s in rows if status_of(s) is SignalStatus.AWAITING_ANSWER]


# --- the live wall ------------------------------------------------------------------------------------------------


@dataclass
class Tile:
    department: str
    green: int = 0
    yellow: int = 0
    red: int = 0
    waiting_tickets: int = 0
    intake_today: int = 0
    signals_today: int = 0
    escalated: int = 0  # signals escalated and still unsettled
    completed_today: int = 0  # items closed today
    with_promise_today: int = 0  # of those, with a promised due instant
    on_time_today: int = 0  # of those, closed in time
    floors: set[str] = field(default_factory=set)

    @property
    def on_time_rate(self) -> int | None:
        """Today's on-time rate in whole percent (half up); None when nothing closed today had a promised time."""
        if not self.with_promise_today:
            return None
        return (self.on_time_today * 200 + self.with_promise_today) // (2 * self.with_promise_today)

    @property
    def light(self) -> str:
        return "red" if self.red else "yellow" if self.yellow else "green"


def start_of_today() -> datetime:
    zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
    local = now_utc().astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def wall(user: Any) -> list[Tile]:
    """Per department: open items by light, tickets waiting, today's intake and today's signals."""
    if not can_watch(user):
        raise PermissionDenied(N_("The supervision wall is for supervisors and department heads."))
    scope = _item_filter(user)
    tiles: dict[str, Tile] = {}

    def tile(name: str) -> Tile:
        return tiles.setdefault(name, Tile(name))

    where_open = [MonitoredItem.state == ItemState.OPEN]
    if scope is not None:
        where_open.append(scope)
    for department, floor, light, kind, n in db.session.execute(
        select(MonitoredItem.department, MonitoredItem.floor, MonitoredItem.light, MonitoredItem.kind, func.count())
        .where(and_(*where_open))
        .group_by(MonitoredItem.department, MonitoredItem.floor, MonitoredItem.light, MonitoredItem.kind)
    ):
        t = tile(department)
        t.floors.add(str(floor))
        setattr(t, Light(light).value, getattr(t, Light(light).value) + n)
        if kind == "ticket_wait":
            t.waiting_tickets += n
    since = start_of_today()
    where_today = [MonitoredItem.opened_at >= since]
    if scope is not None:
        where_today.append(scope)
    for department, floor, n in db.session.execute(
        select(MonitoredItem.department, MonitoredItem.floor, func.count())
        .where(and_(*where_today))
        .group_by(MonitoredItem.department, MonitoredItem.floor)
    ):
        t = tile(department)
        t.floors.add(str(floor))
        t.intake_today += n
    sig_scope = _signal_filter(user)
    where_sig = [Signal.fired_at >= since]
    if sig_scope is not None:
        where_sig.append(sig_scope)
    for department, n in db.session.execute(
        select(Signal.department, func.count()).where(and_(*where_sig)).group_by(Signal.department)
    ):
        tile(department).signals_today += n
    from app.supervision.escalation import escalated_by_department

    heads = None if sees_all(user) else set(departments_of(user))
    for department, n in escalated_by_department().items():
        if heads is None or department in heads:
            tile(department).escalated += n
    from app.supervision.stats.aggregate import compute_day, today

    for (floor_name, department), counts in compute_day(today()).items():
        if heads is not None and department not in heads:
            continue
        if not (counts["completed"] or department in tiles):
            continue  # a department with only ratings or deemed decisions today gets no tile of its own
        t = tile(department)
        t.floors.add(floor_name)
        t.completed_today += counts["completed"]
        t.with_promise_today += counts["with_promise"]
        t.on_time_today += counts["on_time"]
    order = {"red": 0, "yellow": 1, "green": 2}
    return sorted(tiles.values(), key=lambda t: (order[t.light], -t.red, -t.yellow, t.department))


def totals(tiles: list[Tile]) -> dict[str, int]:
    return {
        "green": sum(t.green for t in tiles),
        "yellow": sum(t.yellow for t in tiles),
        "red": sum(t.red for t in tiles),
        "waiting_tickets": sum(t.waiting_tickets for t in tiles),
        "intake_today": sum(t.intake_today for t in tiles),
        "signals_today": sum(t.signals_today for t in tiles),
        "escalated": sum(t.escalated for t in tiles),
        "completed_today": sum(t.completed_today for t in tiles),
    }
