"""The mayor on duty (市长带班制): the duty rota, the leader's written instructions (批示) as tracked tasks, their
follow-up, the overdue sweep, and what the leader on duty looks at (escalations, unresolved reds, authorisation
problems read from the permits floor's authorisations, read-only).

Who does what: supervisors keep the rota; holders of supervision.lead (the leaders) issue and close instructions;
a department's head reports on its instructions; supervisors and leaders see every instruction, heads their own
department's. Every change writes its evidence-log entry; the caller commits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app import audit
from app.core.db import db, is_valid_id
from app.core.errors import Conflict, NotFound, PermissionDenied, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.supervision.escalation import center_today
from app.supervision.models import (
    DutyDay,
    Instruction,
    InstructionReport,
    InstructionState,
    Signal,
)
from app.supervision.permissions import LEAD
from app.supervision.services import departments_of, is_supervisor

MAX_TEXT = 2000
ROTA_AHEAD_DAYS = 366


class LeaderTitle(enum.StrEnum):
    MAYOR = "mayor"  # 市长
    VICE_MAYOR = "vice_mayor"  # 副市长
    SECRETARY_GENERAL = "secretary_general"  # 秘书长


def is_leader(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_permission(LEAD)


def may_see_duty(user: Any) -> bool:
    return is_supervisor(user) or is_leader(user)


# --- the rota -----------------------------------------------------------------------------------------------------


def number_like(value: Any) -> bool:
    """ASCII digits only (str.isdigit() also takes '²' and '٣', which int() refuses or reads differently)."""
    text = str(value or "")
    return text.isascii() and text.isdigit() and len(text) <= 18


def _day(value: Any, name: str = "day") -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise field_error(name, N_("Give the date as year-month-day, such as 2026-12-07.")) from None


def rota(start: date, days: int) -> list[DutyDay]:
    return list(
        db.session.scalars(
            select(DutyDay)
            .where(DutyDay.day >= start, DutyDay.day < start + timedelta(days=days))
            .options(selectinload(DutyDay.leader))
            .order_by(DutyDay.day)
        )
    )


def leaders() -> list[Any]:
    """The accounts that may lead on duty (holders of supervision.lead), by name."""
    from app.accounts.models import User

    return [u for u in db.session.scalars(select(User).order_by(User.display_name)) if u.is_active and is_leader(u)]


def set_duty(*, actor: Any, day: Any, leader_id: Any, title: Any) -> DutyDay:
    """Put a leader on the rota for a day (today or later), replacing whoever was there. Supervisors only."""
    from app.accounts.models import User

    if not is_supervisor(actor):
        raise PermissionDenied(N_("Only supervisors keep the duty rota."))
    when = _day(day)
    today = center_today()
    if when < today or when > today + timedelta(days=ROTA_AHEAD_DAYS):
        raise field_error("day", N_("Choose a day from today to one year ahead."))
    try:
        which = LeaderTitle(str(title or ""))
    except ValueError:
        raise field_error("title", N_("Choose the leader's office.")) from None
    leader = db.session.get(User, int(leader_id)) if number_like(leader_id) and is_valid_id(int(leader_id)) else None
    if leader is None or not leader.is_active or not is_leader(leader):
        raise field_error("leader", N_("Choose a leader: an active account with the leader-on-duty role."))
    if which is LeaderTitle.VICE_MAYOR:  # the seed's rule: one vice-mayor a week, for a day
        monday = when - timedelta(days=when.weekday())
        other = db.session.scalar(
            select(DutyDay.day).where(
                DutyDay.leader_id == leader.id,
                DutyDay.day >= monday,
                DutyDay.day < monday + timedelta(days=7),
                DutyDay.day != when,
            )
        )
        if other is not None:
            raise field_error(
                "day",
                N_("A vice-mayor leads one day a week: this leader is already on the rota on %(day)s."),
                params={"day": other.isoformat()},
            )
    row: DutyDay | None = db.session.scalar(select(DutyDay).where(DutyDay.day == when))
    previous = row.leader_id if row is not None else None
    if row is None:
        row = DutyDay(day=when, leader_id=leader.id, title=which.value, set_by_id=actor.id, set_at=now_utc())
        db.session.add(row)
    else:
        row.leader_id, row.title, row.set_by_id, row.set_at = leader.id, which.value, actor.id, now_utc()
    db.session.flush()
    audit.record(
        "supervision.duty.set",
        actor=actor,
        subject=f"supervision.duty:{when.isoformat()}",
        data={"day": when.isoformat(), "leader": leader.id, "title": which.value, "replaced": previous},
    )
    return row


def remove_duty(*, actor: Any, day: Any) -> None:
    if not is_supervisor(actor):
        raise PermissionDenied(N_("Only supervisors keep the duty rota."))
    when = _day(day)
    if when < center_today():
        raise field_error("day", N_("A past day of the rota stays as it was."))
    row: DutyDay | None = db.session.scalar(select(DutyDay).where(DutyDay.day == when))
    if row is None:
        raise NotFound(N_("Nobody is on the rota that day."))
    leader = row.leader_id
    db.session.delete(row)
    db.session.flush()
    audit.record(
        "supervision.duty.removed",
        actor=actor,
        subject=f"supervision.duty:{when.isoformat()}",
        data={"day": when.isoformat(), "leader": leader},
    )


# --- instructions (批示) -------------------------------------------------------------------------------------------


def _workdays(value: Any) -> int:
    raw = str(value or "").strip()
    if not number_like(raw) or not 1 <= int(raw) <= 60:
        raise field_error("workdays", N_("Give the time allowed in working days, from 1 to 60."))
    return int(raw)


def issue_instruction(*, actor: Any, department: Any, text: Any, workdays: Any, signal_id: Any = None) -> Instruction:
    """A leader's written instruction to a department, due after `workdays` working days (from tomorrow)."""
    from app.permits.calendar.services import load_calendar

    if not is_leader(actor):
        raise PermissionDenied(N_("Only a leader on duty gives written instructions."))
    clean = clean_text(text, "text", MAX_TEXT)
    days = _workdays(workdays)
    signal: Signal | None = None
    if signal_id not in (None, ""):
        sid = int(signal_id) if number_like(signal_id) else 0
        signal = db.session.get(Signal, sid) if is_valid_id(sid) else None
        if signal is None:
            raise field_error("signal", N_("No such signal."))
    name = str(department or "").strip() if isinstance(department, str | None) else ""
    if signal is not None and not name:
        name = signal.department
    if not name or len(name) > 200:
        raise field_error("department", N_("Give the department's name (at most 200 characters)."))
    due = load_calendar().nth_workday_from(center_today() + timedelta(days=1), days)
    row = Instruction(
        leader_id=actor.id,
        department=name,
        signal_id=signal.id if signal is not None else None,
        text=clean,
        issued_at=now_utc(),
        workdays=days,
        due_on=due,
        state=InstructionState.OPEN,
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "supervision.instruction.issued",
        actor=actor,
        subject=f"supervision.instruction:{row.id}",
        data={"department": name, "due_on": due.isoformat(), "workdays": days, "signal": row.signal_id},
    )
    return row


def _instruction_scope(user: Any) -> list[str] | None:
    """None: every instruction; else the departments whose instructions `user` sees."""
    if may_see_duty(user):
        return None
    return departments_of(user)


def list_instructions(user: Any, *, state: str | None = None) -> list[Instruction]:
    scope = _instruction_scope(user)
    stmt = select(Instruction).options(selectinload(Instruction.reports), selectinload(Instruction.leader))
    if scope is not None:
        stmt = stmt.where(Instruction.department.in_(scope))
    if state:
        stmt = stmt.where(Instruction.state == state)
    return list(db.session.scalars(stmt.order_by(Instruction.id.desc()).limit(200)))


def get_instruction(user: Any, instruction_id: int) -> Instruction:
    if not is_valid_id(instruction_id):
        raise NotFound(N_("No such instruction."))
    row: Instruction | None = db.session.get(Instruction, instruction_id)
    scope = _instruction_scope(user)
    if row is None or (scope is not None and row.department not in scope):
        raise NotFound(N_("No such instruction."))
    return row


def may_report(user: Any, row: Instruction) -> bool:
    return row.state is not InstructionState.CLOSED and row.department in departments_of(user)


def may_close(user: Any, row: Instruction) -> bool:
    return row.state is InstructionState.REPORTED and is_leader(user)


def report_instruction(*, actor: Any, instruction: Instruction, text: Any) -> InstructionReport:
    """The department's report (a head of the department): the instruction waits for the leader to close it."""
    if instruction.department not in departments_of(actor):
        raise PermissionDenied(N_("Only a head of the department reports on its instructions."))
    if instruction.state is InstructionState.CLOSED:
        raise Conflict(N_("This instruction is closed."))
    clean = clean_text(text, "text", MAX_TEXT)
    report = InstructionReport(instruction=instruction, author_id=actor.id, text=clean, created_at=now_utc())
    db.session.add(report)
    instruction.state = InstructionState.REPORTED
    db.session.flush()
    audit.record(
        "supervision.instruction.reported",
        actor=actor,
        subject=f"supervision.instruction:{instruction.id}",
        data={"report": report.id, "chars": len(clean)},
    )
    return report


def close_instruction(*, actor: Any, instruction: Instruction, note: Any) -> Instruction:
    """A leader closes an instruction the department reported on (办结)."""
    if not is_leader(actor):
        raise PermissionDenied(N_("Only a leader closes an instruction."))
    if instruction.state is not InstructionState.REPORTED:
        raise Conflict(N_("Only an instruction the department has reported on can be closed."))
    instruction.closing_note = clean_text(note, "note", MAX_TEXT, required=False)
    instruction.state = InstructionState.CLOSED
    instruction.closed_at = now_utc()
    db.session.flush()
    audit.record(
        "supervision.instruction.closed",
        actor=actor,
        subject=f"supervision.instruction:{instruction.id}",
        data={"late": instruction.overdue_at is not None},
    )
    return instruction


def is_overdue(row: Instruction, today: date | None = None) -> bool:
    return row.state is not InstructionState.CLOSED and row.due_on < (today or center_today())


def sweep_overdue_instructions() -> dict[str, int]:
    """Flag every instruction past its due day and not closed, once (flushes). Locked rows are skipped (PostgreSQL)."""
    today = center_today()
    now = now_utc()
    rows = list(
        db.session.scalars(
            select(Instruction)
            .where(
                Instruction.state != InstructionState.CLOSED,
                Instruction.overdue_at.is_(None),
                Instruction.due_on < today,
            )
            .order_by(Instruction.id)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.overdue_at = now
        db.session.flush()
        audit.record(
            "supervision.instruction.overdue",
            actor="system:supervision.instructions",
            subject=f"supervision.instruction:{row.id}",
            data={"department": row.department, "due_on": row.due_on.isoformat()},
        )
    return {"flagged": len(rows)}


# --- authorisation problems (授权不到位), read from the permits floor -------------------------------------------------


@dataclass
class AuthorisationGap:
    department: str
    items: list[str] = field(default_factory=list)  # the items no authorisation in force covers
    representatives: int = 0  # authorisations in force


def authorisation_gaps(at: datetime | None = None) -> list[AuthorisationGap]:
    """Per permits department: the catalogue items it decides that no chief representative's authorisation in force
    covers now (none, expired, revoked or another item). Read-only."""
    from app.permits.cases.processing_models import Authorisation
    from app.permits.catalogue.models import Department, Item

    when = at or now_utc()
    in_force = list(
        db.session.scalars(
            select(Authorisation).where(
                Authorisation.revoked_at.is_(None), Authorisation.valid_from <= when, Authorisation.valid_to > when
            )
        )
    )
    covered: dict[int, set[int]] = {}
    count: dict[int, int] = {}
    for a in in_force:
        covered.setdefault(a.department_id, set()).update(int(i) for i in a.item_ids or [])
        count[a.department_id] = count.get(a.department_id, 0) + 1
    gaps: list[AuthorisationGap] = []
    for dept in db.session.scalars(select(Department).order_by(Department.position, Department.id)):
        items = db.session.scalars(select(Item).where(Item.department_id == dept.id).order_by(Item.code))
        missing = [i.name for i in items if i.id not in covered.get(dept.id, set())]
        if missing:
            gaps.append(AuthorisationGap(dept.name, missing, count.get(dept.id, 0)))
    return gaps
