"""The case clock: time that does not count toward a case's limits, the one computation of its due dates, and
the deadline sweep.

**Pauses (行政许可法 第四十五条).** 听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审 are not counted in the time
limit; nor are the joint site inspection (联合踏勘, from its scheduling to its findings) and the rectification
that waits on the applicant after it (until the reinspection is scheduled). The lead department's staff open and
close the first kind by hand (reason, a note saying what and why, who and when; an evidence entry each); the
inspection opens and closes its own (joint.py), which staff cannot end by hand. A pause counts whole days, its
first to its last (deadlines.py): the clock runs again the day after it ends. Only one pause of a reason is open
at a time; pauses of different reasons may overlap and stop the clock once.

**One computation.** `case_due_dates` is the statutory and promised due dates of a case on the calendar table,
with its pauses skipped (deadlines.due_dates); the desk uses it at acceptance, `apply` after every pause and
resumption, and stores the result: `statutory_due`, `promised_due`, the running step's and the open tasks' due
instants, `clock_paused_at` while a pause is open (the due dates then stay as last known and nothing turns late).
Supervision reads those stored dates (its `case` items) and every sweep reads them; nobody counts again.

**The deadline sweep** (`permits.sweep_deadlines`) flags, once each, the running steps past their due instant and
the undecided cases past their promised and statutory due dates, skipping paused cases; one evidence entry per
batch names every flag.
Idempotent; rows locked with SKIP LOCKED on PostgreSQL; set-based so 100,000 open cases stay cheap
(bench/permits_deadline_bench.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, select, update

from app.accounts.common import actor_name
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.permits.calendar import services as calendar_services
from app.permits.calendar.deadlines import (
    Calendar,
    CalendarNotLoaded,
    Counting,
    DueDates,
    Pause,
    PauseReason,
    Rule,
    due_date,
    due_dates,
    paused_days,
)
from app.permits.cases import authorisations
from app.permits.cases.models import Application, ApplicationStatus
from app.permits.cases.processing_models import (
    OPEN_TASK_STATUSES,
    CaseDecision,
    CasePause,
    CaseStep,
    CaseStepKind,
    CaseStepStatus,
)
from app.permits.catalogue.models import Item

MAX_NOTE = 2000
# Reasons staff record by hand; the inspection's own (INSPECTION, RECTIFICATION) come from joint.py, and 补正
# (CORRECTION) belongs to the desk before acceptance (the clock then restarts at the resubmission).
MANUAL_REASONS = (
    PauseReason.HEARING,
    PauseReason.TENDER_AUCTION,
    PauseReason.TESTING,
    PauseReason.APPRAISAL,
    PauseReason.EXPERT_REVIEW,
    PauseReason.PUBLIC_NOTICE,
)
# Steps during which the clock may stop: the limit is the time to the decision.
PAUSABLE_STEPS = (CaseStepKind.REVIEW, CaseStepKind.DECISION)


def _processing() -> Any:
    from app.permits.cases import processing

    return processing


def rules(item: Item) -> tuple[Rule, Rule]:
    """The item's statutory and promised rules (its day count and whether the acceptance day counts)."""
    counting = Counting(item.day_count.value)
    return (
        Rule(item.statutory_limit_days, counting, item.acceptance_day_counts),
        Rule(item.promised_limit_days, counting, item.acceptance_day_counts),
    )


def case_due_dates(
    item: Item, accepted_on: date, pauses: list[Pause] | tuple[Pause, ...] = (), calendar: Calendar | None = None
) -> DueDates:
    """THE computation of a case's due dates: the item's rules from the acceptance day, the pauses skipped.
    Raises CalendarNotLoaded. (None dates while a pause is open.)"""
    statutory, promised = rules(item)
    cal = calendar if calendar is not None else calendar_services.load_calendar()
    return due_dates(cal, accepted_on, statutory, promised, pauses=pauses, zone=_processing()._zone())


def pause_rows(application_id: int) -> list[CasePause]:
    return list(
        db.session.scalars(select(CasePause).where(CasePause.application_id == application_id).order_by(CasePause.id))
    )


def as_pauses(rows: list[CasePause]) -> list[Pause]:
    local = _processing().local_date
    return [
        Pause(PauseReason(r.reason), local(r.started_at), local(r.ended_at) if r.ended_at else None, r.note)
        for r in rows
    ]


def _running(application: Application) -> CaseStep | None:
    return next((s for s in application.case_steps if s.status is CaseStepStatus.OPEN), None)


def apply(application: Application, calendar: Calendar, *, at: datetime) -> DueDates:
    """Compute and store the case's due dates after a pause opened or ended (see the module's documentation):
    the case's, the running step's and, during 审查, the open tasks'. A flag of lateness that no longer holds is
    cleared. Flushes."""
    processing = _processing()
    rows = pause_rows(application.id)
    pauses = as_pauses(rows)
    open_rows = [r for r in rows if r.ended_at is None]
    application.clock_paused_at = min(r.started_at for r in open_rows) if open_rows else None
    assert application.accepted_on is not None
    dues = case_due_dates(application.item, application.accepted_on, pauses, calendar)
    if dues.statutory is None:
        db.session.flush()
        return dues
    application.statutory_due, application.promised_due = dues.statutory, dues.promised
    today = processing.local_date(at)
    if application.promised_overdue_at is not None and dues.promised is not None and dues.promised >= today:
        application.promised_overdue_at = None
    if application.statutory_overdue_at is not None and dues.statutory >= today:
        application.statutory_overdue_at = None
    step = _running(application)
    if step is not None and step.started_at is not None:
        start = processing.local_date(step.started_at)
        since = [Pause(p.reason, max(p.start, start), p.end) for p in pauses if p.end is None or p.end >= start]
        rule = Rule(step.share_days, Counting(application.item.day_count.value), acceptance_day_counts=False)
        due = due_date(calendar, start, rule, since, zone=processing._zone())
        if due is not None:
            step.due_on, step.due_at = due, processing.due_instant(due)
            if step.overdue_at is not None and step.due_at > at:
                step.overdue_at = None
            if step.kind is CaseStepKind.REVIEW:
                for task in application.tasks:
                    if task.status in OPEN_TASK_STATUSES:
                        task.due_on, task.due_at = due, step.due_at
    db.session.flush()
    return dues


@dataclass(frozen=True)
class ClockView:
    """What the pages show of a case's clock."""

    pauses: list[CasePause]
    paused_since: datetime | None
    paused_workdays: int
    statutory_due: date | None
    promised_due: date | None


def view(application: Application, calendar: Calendar | None = None) -> ClockView:
    """The case's pauses, the working days the clock stood still up to today, and the stored due dates (pass the
    calendar when showing many cases: it is read once)."""
    rows = list(application.pauses)
    days = 0
    if rows and application.accepted_on is not None:
        try:
            calendar = calendar if calendar is not None else calendar_services.load_calendar()
            today = _processing().local_date(now_utc())
            working = application.item.day_count.value == Counting.WORKING.value
            days = paused_days(calendar, as_pauses(rows), application.accepted_on, today, working=working)
        except CalendarNotLoaded:
            days = 0
    return ClockView(rows, application.clock_paused_at, days, application.statutory_due, application.promised_due)


# --- pausing and resuming ------------------------------------------------------------------------------------


def _require_pausable(application: Application) -> CaseStep:
    step = _running(application)
    if application.decision is not None or step is None or step.kind not in PAUSABLE_STEPS:
        raise Conflict(N_("The clock stops only while the case is under review or waiting for its decision."))
    return step


def _facts(application: Application, pause: CasePause, **extra: Any) -> dict[str, Any]:
    facts: dict[str, Any] = _processing().facts(
        application,
        department=application.item.department,
        step=_running(application),
        pause_id=pause.id,
        reason=pause.reason,
        note=pause.note,
        source=pause.source,
        started_at=pause.started_at.isoformat(),
        ended_at=pause.ended_at.isoformat() if pause.ended_at else None,
        statutory_due=application.statutory_due.isoformat() if application.statutory_due else None,
        promised_due=application.promised_due.isoformat() if application.promised_due else None,
        paused=application.clock_paused_at is not None,
        **extra,
    )
    return facts


def open_pause(
    application: Application, reason: PauseReason, *, actor: Any, note: str, source: str = "", at: datetime
) -> CasePause:
    """Stop the clock (no checks of who: the callers check). Raises Conflict (one open pause per reason),
    CalendarNotLoaded (nothing stored). Flushes and records `permits.case.paused`."""
    _require_pausable(application)
    rows = pause_rows(application.id)
    if any(r.ended_at is None and r.reason == reason.value for r in rows):
        raise Conflict(N_("The clock is stopped for this reason already."))
    calendar = calendar_services.load_calendar()
    calendar.require(_processing().local_date(at))
    user_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    pause = CasePause(
        application_id=application.id,
        reason=reason.value,
        note=note,
        source=source,
        started_at=at,
        started_by_id=user_id,
        started_by_name=actor_name(actor),
    )
    db.session.add(pause)
    db.session.flush()
    apply(application, calendar, at=at)
    record("permits.case.paused", actor=actor, subject=application.audit_ref, data=_facts(application, pause))
    return pause


def close_pause(application: Application, pause: CasePause, *, actor: Any, at: datetime) -> CasePause:
    """Run the clock again and store the new due dates. Raises Conflict (ended already), CalendarNotLoaded
    (nothing stored). Flushes and records `permits.case.resumed`."""
    locked = db.session.execute(
        select(CasePause).where(CasePause.id == pause.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    if locked.ended_at is not None:
        raise Conflict(N_("This pause has ended already."))
    calendar = calendar_services.load_calendar()
    locked.ended_at = at
    locked.ended_by_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    locked.ended_by_name = actor_name(actor)
    db.session.flush()
    apply(application, calendar, at=at)
    days = paused_days(
        calendar, as_pauses([locked]), application.accepted_on or at.date(), _processing().local_date(at)
    )
    record(
        "permits.case.resumed",
        actor=actor,
        subject=application.audit_ref,
        data=_facts(application, locked, paused_workdays=days),
    )
    return locked


def pause_clock(*, actor: Any, application: Application, reason: Any, note: Any) -> CasePause:
    """The lead department's staff stop the clock for a hearing, tender or auction, testing, appraisal, expert
    review or public notice, saying what (the note). Raises PermissionDenied, ValidationFailed, Conflict,
    CalendarNotLoaded; stores nothing on error."""
    authorisations.require_staff(actor, application.item.department)
    try:
        which = PauseReason(reason)
    except ValueError:
        which = None
    if which not in MANUAL_REASONS:
        raise field_error("reason", N_("Choose why the clock stops."))
    assert which is not None
    clean = clean_text(note, "note", MAX_NOTE)
    return open_pause(application, which, actor=actor, note=clean, at=now_utc())


def get_pause(application: Application, pause_id: int) -> CasePause:
    row = db.session.get(CasePause, pause_id) if 0 < pause_id < 2**31 else None
    if row is None or row.application_id != application.id:
        raise NotFound(N_("No such pause."))
    return row


def resume_clock(*, actor: Any, application: Application, pause_id: int) -> CasePause:
    """The lead department's staff end a pause they opened by hand (the inspection ends its own). Raises
    PermissionDenied, NotFound, Conflict, CalendarNotLoaded."""
    authorisations.require_staff(actor, application.item.department)
    pause = get_pause(application, pause_id)
    if pause.source:
        raise Conflict(N_("The joint site inspection stops and restarts this clock itself: record its findings."))
    return close_pause(application, pause, actor=actor, at=now_utc())


def end_source(application: Application, source: str, *, actor: Any, at: datetime) -> None:
    """End the open pauses an inspection opened (its scheduling, or its rectification)."""
    for row in pause_rows(application.id):
        if row.source == source and row.ended_at is None:
            close_pause(application, row, actor=actor, at=at)


# --- the deadline sweep ----------------------------------------------------------------------------------


def sweep_deadlines(batch: int = 5000) -> dict[str, int]:
    """Flag, once each, the running steps past their due instant and the undecided cases past their promised and
    statutory due dates; paused cases are skipped (their dates are not known). One evidence entry per batch names
    every flag it set (as the lights sweep does): a backlog of thousands stays one append per batch, not one each.
    Idempotent; flushes, never commits."""
    processing = _processing()
    now = now_utc()
    today = processing.local_date(now)
    result = {"steps": 0, "promised": 0, "statutory": 0}
    running = Application.clock_paused_at.is_(None)
    while True:
        steps = db.session.execute(
            select(CaseStep.id, CaseStep.application_id, CaseStep.kind, CaseStep.due_at)
            .join(Application, Application.id == CaseStep.application_id)
            .where(
                CaseStep.status == CaseStepStatus.OPEN,
                CaseStep.overdue_at.is_(None),
                CaseStep.due_at <= now,
                running,
            )
            .order_by(CaseStep.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=CaseStep)
        ).all()
        if not steps:
            break
        db.session.execute(
            update(CaseStep).where(CaseStep.id.in_([s.id for s in steps])).values(overdue_at=now),
            execution_options={"synchronize_session": False},
        )
        cases = _case_facts({s.application_id for s in steps})
        record(
            "permits.case.step_overdue",
            actor="system:permits.sweep_deadlines",
            subject="permits.deadlines",
            data={
                "swept_at": now.isoformat(),
                "steps": [
                    {
                        "application_id": s.application_id,
                        "case_number": cases[s.application_id][0],
                        "department": cases[s.application_id][2],
                        "step": s.kind.value,
                        "due_at": s.due_at.isoformat(),
                    }
                    for s in steps
                ],
            },
        )
        result["steps"] += len(steps)
    undecided = ~exists().where(CaseDecision.application_id == Application.id)
    for which, column, flag in (
        ("promised", Application.promised_due, Application.promised_overdue_at),
        ("statutory", Application.statutory_due, Application.statutory_overdue_at),
    ):
        while True:
            late = db.session.execute(
                select(Application.id, column)
                .where(
                    Application.status == ApplicationStatus.ACCEPTED,
                    column < today,
                    flag.is_(None),
                    running,
                    undecided,
                )
                .order_by(Application.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not late:
                break
            db.session.execute(
                update(Application).where(Application.id.in_([r[0] for r in late])).values({flag.key: now}),
                execution_options={"synchronize_session": False},
            )
            cases = _case_facts({r[0] for r in late})
            record(
                "permits.case.overdue",
                actor="system:permits.sweep_deadlines",
                subject="permits.deadlines",
                data={
                    "swept_at": now.isoformat(),
                    "limit": which,
                    "cases": [
                        {
                            "application_id": app_id,
                            "case_number": cases[app_id][0],
                            "department": cases[app_id][2],
                            "due": due.isoformat() if due is not None else None,
                        }
                        for app_id, due in late
                    ],
                },
            )
            result[which] += len(late)
    db.session.flush()
    return result


def _case_facts(ids: set[int]) -> dict[int, tuple[str | None, str, str]]:
    from app.permits.catalogue.models import Department

    rows = db.session.execute(
        select(Application.id, Application.case_number, Item.code, Department.code)
        .join(Item, Item.id == Application.item_id)
        .join(Department, Department.id == Item.department_id)
        .where(Application.id.in_(ids))
    ).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def paused_case_ids() -> Any:
    """A query of the cases whose clock is stopped now (other sweeps leave them be)."""
    return select(Application.id).where(Application.clock_paused_at.is_not(None))
