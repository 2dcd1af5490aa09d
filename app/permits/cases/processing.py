"""Case processing after acceptance: the five steps, parallel approval (并联审批, 抄告制) and the case decision.

**Steps and their due instants.** At acceptance a case gets five step rows, 受理 → 审查 → 决定 → 制证 → 送达.
受理 is done at acceptance. The item's promised limit (承诺时限, in the item's day count) is split between the
other four by fixed shares — 审查 50 %, 决定 20 %, 制证 20 %, 送达 10 % — rounded by largest remainder so the
shares add up to the limit exactly (a 1-day item: 审查 1, the rest 0 = due the day they start; a 4-day item:
2/1/1/0). A step's due day is computed once, by the deadline service (app.permits.calendar.deadlines) on the
calendar table, when the step starts: its share counted from the day it starts (审查 from the acceptance day).
The due instant is the end of the due day in the center's zone (the next day's 00:00): at that instant the
step or task is late.

**Joint cases (抄告制).** The lead department (主办) is the item's department; the desk names the co-departments
at acceptance. Each gets a task at once, due with the 审查 step (same day, same instant). A co-department
answers agree / disagree (reasons required: a disagreement without reasons is refused, 422, and stores
nothing — the task stays open) / agree subject to higher approval (naming it: reasons required), under its
chief representative's authorisation. 审查 finishes only when no task is open.

**超时默许 and 超时问责.** `deem_tasks()` (the sweep `permits.deem_tasks`) takes the tasks still open at their
due instant: where the item allows deemed approval, the task becomes deemed consent (marker, the due instant,
the rule) and the department is flagged for accountability; where it does not, the task turns overdue, stays
open and is flagged — never consent. Idempotent, rows locked with SKIP LOCKED on PostgreSQL.

**The decision (决定).** The lead department's representative, under an authorisation covering the item,
approves or refuses with reasons; the applicant's remedies (行政复议 within 60 days, 行政诉讼 within 6 months)
are stated with their last days. The decision is rendered as a PDF and sealed with the configured Sealer.

Every state change writes an evidence-log entry in the same transaction with the facts a supervision system
needs (`facts()`): case, step or task, department, responsible user, due instant, deemed flag, authorisation.
Functions flush; the caller commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.common import actor_name
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc, to_center_time
from app.permits.calendar import services as calendar_services
from app.permits.calendar.deadlines import Calendar, Counting, Rule, due_date
from app.permits.cases import authorisations
from app.permits.cases.models import Application, ApplicationStatus
from app.permits.cases.processing_models import (
    OPEN_TASK_STATUSES,
    STEP_ORDER,
    CaseDecision,
    CaseStep,
    CaseStepKind,
    CaseStepStatus,
    DecisionOutcome,
    DepartmentTask,
    TaskAnswer,
    TaskStatus,
)
from app.permits.catalogue.models import Department, Item

MAX_TEXT = 2000
MAX_CO_DEPARTMENTS = 10
# Each step's share of the promised limit, in percent (受理 is done at acceptance and takes none).
STEP_SHARES: dict[CaseStepKind, int] = {
    CaseStepKind.REVIEW: 50,
    CaseStepKind.DECISION: 20,
    CaseStepKind.PRODUCTION: 20,
    CaseStepKind.DELIVERY: 10,
}
DEEMED_CONSENT_RULE = "超时默许制：会办部门在规定时限内未答复，视为同意（本事项允许超时默许），并追究超时责任"
OVERDUE_RULE = "本事项不适用超时默许：会办任务逾期未答复，继续办理并追究超时责任"
REVIEW_DAYS = 60  # 行政复议法: 自知道该行政行为之日起六十日内
LITIGATION_MONTHS = 6  # 行政诉讼法 第四十六条: 自知道或者应当知道作出行政行为之日起六个月内


def split_days(days: int) -> dict[CaseStepKind, int]:
    """The promised limit split between the steps by STEP_SHARES, largest remainder: the parts add up to `days`."""
    total = sum(STEP_SHARES.values())
    exact = {k: days * share / total for k, share in STEP_SHARES.items()}
    parts = {k: int(v) for k, v in exact.items()}
    left = days - sum(parts.values())
    order = sorted(STEP_SHARES, key=lambda k: (-(exact[k] - parts[k]), list(STEP_SHARES).index(k)))
    for k in order[:left]:
        parts[k] += 1
    return parts


def _zone() -> str:
    return str(current_app.config["CENTER_TIMEZONE"])


def local_date(at: datetime) -> date:
    return to_center_time(at, _zone()).date()


def due_instant(due_on: date) -> datetime:
    """The end of the due day in the center's zone: the next day's 00:00 there (as an aware instant)."""
    return datetime.combine(due_on + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(_zone())).astimezone(UTC)


def step_due(calendar: Calendar, item: Item, start_day: date, days: int) -> date:
    """A step's due day: `days` of the item's day count from `start_day` (the deadline service; may raise
    CalendarNotLoaded)."""
    rule = Rule(days, Counting(item.day_count.value), acceptance_day_counts=False)
    due = due_date(calendar, start_day, rule, zone=_zone())
    assert due is not None  # no pauses here
    return due


def facts(
    application: Application,
    *,
    department: Department,
    step: CaseStep | None = None,
    task: DepartmentTask | None = None,
    responsible_id: int | None = None,
    due_at: datetime | None = None,
    deemed: bool = False,
    authorisation_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The evidence entry's data: what supervision reads from the log as its event stream."""
    return {
        "case_number": application.case_number,
        "application_id": application.id,
        "item": application.item.code,
        "deemed_approval_allowed": application.item.deemed_approval,
        "step": step.kind.value if step is not None else None,
        "task_id": task.id if task is not None else None,
        "department": department.code,
        "department_id": department.id,
        "responsible_id": responsible_id,
        "due_at": due_at.isoformat() if due_at is not None else None,
        "deemed": deemed,
        "authorisation_id": authorisation_id,
        **extra,
    }


# --- opening a case at acceptance -----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What opening a case will write, computed before anything changes (so CalendarNotLoaded stores nothing)."""

    start_day: date
    shares: dict[CaseStepKind, int]
    review_due: date
    co_departments: tuple[Department, ...]


def co_departments_from(item: Item, codes: Any) -> tuple[Department, ...]:
    """The co-departments the desk names (department codes): known, distinct, not the lead, at most 10."""
    if codes is None:
        return ()
    if not isinstance(codes, list | tuple) or len(codes) > MAX_CO_DEPARTMENTS:
        raise field_error(
            "co_departments", N_("A list of at most %(n)s department codes."), params={"n": MAX_CO_DEPARTMENTS}
        )
    out: list[Department] = []
    for i, code in enumerate(codes):
        department = authorisations.department_by_code(code, f"co_departments.{i}")
        if department.id == item.department_id:
            raise field_error(f"co_departments.{i}", N_("The lead department is not its own co-department."))
        if any(d.id == department.id for d in out):
            raise field_error(f"co_departments.{i}", N_("A department is named once."))
        out.append(department)
    return tuple(out)


def plan_case(
    item: Item, start_day: date, co_departments: Sequence[Department] = (), calendar: Calendar | None = None
) -> Plan:
    shares = split_days(item.promised_limit_days)
    cal = calendar or calendar_services.load_calendar()
    return Plan(start_day, shares, step_due(cal, item, start_day, shares[CaseStepKind.REVIEW]), tuple(co_departments))


def open_case(application: Application, plan: Plan, *, actor: Any, at: datetime) -> None:
    """The five steps (受理 done, 审查 running) and a task for every co-department, with their evidence."""
    item = application.item
    lead = item.department
    user_id = getattr(actor, "id", None) if getattr(actor, "is_authenticated", False) else None
    accepted = CaseStep(
        application_id=application.id,
        kind=CaseStepKind.ACCEPTANCE,
        position=0,
        status=CaseStepStatus.DONE,
        share_days=0,
        department=lead,
        responsible_id=user_id,
        responsible_name=actor_name(actor),
        started_at=at,
        due_on=plan.start_day,
        due_at=due_instant(plan.start_day),
        finished_at=at,
    )
    db.session.add(accepted)
    rows = [accepted]
    for position, kind in enumerate(STEP_ORDER[1:], start=1):
        step = CaseStep(
            application_id=application.id,
            kind=kind,
            position=position,
            status=CaseStepStatus.PENDING,
            share_days=plan.shares[kind],
            department=lead,
        )
        if kind is CaseStepKind.REVIEW:
            step.status = CaseStepStatus.OPEN
            step.started_at = at
            step.due_on = plan.review_due
            step.due_at = due_instant(plan.review_due)
        db.session.add(step)
        rows.append(step)
    tasks = []
    for department in plan.co_departments:
        task = DepartmentTask(
            application_id=application.id,
            department=department,
            status=TaskStatus.OPEN,
            opened_at=at,
            due_on=plan.review_due,
            due_at=due_instant(plan.review_due),
        )
        db.session.add(task)
        tasks.append(task)
    db.session.flush()
    for step in rows[:2]:
        record(
            "permits.case.step_finished" if step.status is CaseStepStatus.DONE else "permits.case.step_started",
            actor=actor,
            subject=application.audit_ref,
            data=facts(
                application,
                department=lead,
                step=step,
                responsible_id=step.responsible_id,
                due_at=step.due_at,
                share_days=step.share_days,
                joint=bool(tasks),
            ),
        )
    for task in tasks:
        record(
            "permits.task.opened",
            actor=actor,
            subject=task.audit_ref,
            data=facts(application, department=task.department, task=task, due_at=task.due_at, lead=lead.code),
        )


# --- reading ---------------------------------------------------------------------------------------------


def _case_query() -> Any:
    return select(Application).options(
        selectinload(Application.item).selectinload(Item.department),
        selectinload(Application.case_steps),
        selectinload(Application.tasks),
        selectinload(Application.decision),
        selectinload(Application.meetings),
        selectinload(Application.inspections),
        selectinload(Application.pauses),
    )


def get_case(application_id: int) -> Application:
    row: Application | None = (
        db.session.execute(
            _case_query().where(Application.id == application_id).execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if 0 < application_id < 2**31
        else None
    )
    if row is None or row.status is not ApplicationStatus.ACCEPTED or not row.case_steps:
        raise NotFound(N_("No such case."))
    return row


def current_step(application: Application) -> CaseStep | None:
    return next((s for s in application.case_steps if s.status is CaseStepStatus.OPEN), None)


def involved(user: Any, application: Application) -> bool:
    """Whether `user` is on the staff of the case's lead department or of one of its co-departments."""
    ids = {application.item.department_id} | {t.department_id for t in application.tasks}
    return any(authorisations.is_staff(user, i) for i in ids)


def visible_case(user: Any, application_id: int) -> Application:
    application = get_case(application_id)
    from app.permits.cases import services

    if involved(user, application) or services._is_desk(user):
        return application
    raise NotFound(N_("No such case."))


def department_tasks(user: Any, *, open_only: bool = False) -> list[DepartmentTask]:
    """The tasks of the departments `user` is on the staff of, open ones first (due soonest first)."""
    ids = [d.id for d in authorisations.departments_of(user)]
    if not ids:
        return []
    query = (
        select(DepartmentTask)
        .where(DepartmentTask.department_id.in_(ids))
        .options(selectinload(DepartmentTask.application).selectinload(Application.item).selectinload(Item.department))
        .order_by(DepartmentTask.status.in_(OPEN_TASK_STATUSES).desc(), DepartmentTask.due_at, DepartmentTask.id)
    )
    if open_only:
        query = query.where(DepartmentTask.status.in_(OPEN_TASK_STATUSES))
    return list(db.session.execute(query.limit(500)).scalars())


def led_cases(user: Any) -> list[Application]:
    """The open cases (a step still running) the departments of `user` lead, with their steps and tasks."""
    ids = [d.id for d in authorisations.departments_of(user)]
    if not ids:
        return []
    query = (
        _case_query()
        .join(Item, Item.id == Application.item_id)
        .where(Item.department_id.in_(ids))
        .where(
            Application.id.in_(
                select(CaseStep.application_id).where(CaseStep.status == CaseStepStatus.OPEN).scalar_subquery()
            )
        )
        .order_by(Application.accepted_on, Application.id)
    )
    return list(db.session.execute(query.limit(500)).scalars())


def get_task(task_id: int) -> DepartmentTask:
    row = db.session.get(DepartmentTask, task_id) if 0 < task_id < 2**31 else None
    if row is None:
        raise NotFound(N_("No such task."))
    return row


def visible_task(user: Any, task_id: int) -> DepartmentTask:
    task = get_task(task_id)
    if not authorisations.is_staff(user, task.department_id):
        raise NotFound(N_("No such task."))
    return task


# --- steps -----------------------------------------------------------------------------------------------


def _step(application: Application, kind: CaseStepKind) -> CaseStep:
    return next(s for s in application.case_steps if s.kind is kind)


def _start(application: Application, step: CaseStep, *, actor: Any, at: datetime, calendar: Calendar) -> None:
    due = step_due(calendar, application.item, local_date(at), step.share_days)
    step.status = CaseStepStatus.OPEN
    step.started_at = at
    step.due_on = due
    step.due_at = due_instant(due)
    db.session.flush()
    record(
        "permits.case.step_started",
        actor=actor,
        subject=application.audit_ref,
        data=facts(application, department=step.department, step=step, due_at=step.due_at, share_days=step.share_days),
    )


def _finish(application: Application, step: CaseStep, *, actor: Any, at: datetime, note: str = "") -> None:
    step.status = CaseStepStatus.DONE
    step.finished_at = at
    step.responsible_id = actor.id
    step.responsible_name = actor_name(actor)
    step.note = note
    db.session.flush()
    record(
        "permits.case.step_finished",
        actor=actor,
        subject=application.audit_ref,
        data=facts(
            application,
            department=step.department,
            step=step,
            responsible_id=actor.id,
            due_at=step.due_at,
            late=step.due_at is not None and at >= step.due_at,
        ),
    )


def _open_step(application: Application, kind: CaseStepKind) -> CaseStep:
    step = _step(application, kind)
    if step.status is not CaseStepStatus.OPEN:
        raise Conflict(N_("This step is not the one running now."))
    return step


def claim_step(*, actor: Any, application: Application) -> CaseStep:
    """The lead department's staff member takes the running step in hand (its responsible person)."""
    authorisations.require_staff(actor, application.item.department)
    step = current_step(application)
    if step is None:
        raise Conflict(N_("The case has no step running."))
    step.responsible_id = actor.id
    step.responsible_name = actor_name(actor)
    db.session.flush()
    record(
        "permits.case.step_claimed",
        actor=actor,
        subject=application.audit_ref,
        data=facts(application, department=step.department, step=step, responsible_id=actor.id, due_at=step.due_at),
    )
    return step


FINISHABLE = (CaseStepKind.REVIEW, CaseStepKind.PRODUCTION, CaseStepKind.DELIVERY)


def finish_step(*, actor: Any, application: Application, kind: Any, note: Any = "") -> CaseStep:
    """Finish 审查 (every co-department's task closed), 制证 or 送达 and start the next step. The decision step
    finishes with `decide()`."""
    try:
        which = CaseStepKind(kind)
    except ValueError:
        raise field_error("step", N_("No such step.")) from None
    if which not in FINISHABLE:
        raise field_error("step", N_("This step finishes with its own action (acceptance, the decision)."))
    authorisations.require_staff(actor, application.item.department)
    clean = clean_text(note, "note", MAX_TEXT, required=False)
    step = _open_step(application, which)
    if which is CaseStepKind.REVIEW:
        waiting = [t.department.name for t in application.tasks if t.status in OPEN_TASK_STATUSES]
        if waiting:
            raise Conflict(N_("Co-departments have not answered yet: %(names)s."), params={"names": "、".join(waiting)})
        from app.permits.cases.joint import review_blockers

        holding = review_blockers(application)
        if holding:
            raise Conflict(
                N_("A joint meeting or site inspection still holds the review: %(names)s."),
                params={"names": "、".join(holding)},
            )
    if which is CaseStepKind.PRODUCTION:  # 制证: not while the case's fee bill is unpaid (a free item needs none)
        from app.permits.fees.services import require_paid

        require_paid(application)
    at = now_utc()
    calendar = calendar_services.load_calendar()
    following = STEP_ORDER[STEP_ORDER.index(which) + 1] if which is not CaseStepKind.DELIVERY else None
    if following is not None:  # the next step's due day first: CalendarNotLoaded stores nothing
        step_due(calendar, application.item, local_date(at), _step(application, following).share_days)
    _finish(application, step, actor=actor, at=at, note=clean)
    if following is not None:
        _start(application, _step(application, following), actor=actor, at=at, calendar=calendar)
    return step


# --- co-departments' tasks -------------------------------------------------------------------------------


def _locked_task(task: DepartmentTask) -> DepartmentTask:
    return db.session.execute(
        select(DepartmentTask)
        .where(DepartmentTask.id == task.id)
        .with_for_update(of=DepartmentTask)
        .execution_options(populate_existing=True)
    ).scalar_one()


def answer_task(*, actor: Any, task: DepartmentTask, answer: Any, reasons: Any = "") -> DepartmentTask:
    """The co-department's answer under its representative's authorisation. Disagreeing, or agreeing subject to
    higher approval, needs reasons. Raises PermissionDenied, AuthorisationRefused, Conflict, ValidationFailed."""
    try:
        which = TaskAnswer(answer)
    except ValueError:
        raise field_error("answer", N_("Agree, disagree, or agree subject to higher approval.")) from None
    need_reasons = which is not TaskAnswer.AGREE
    clean = clean_text(reasons, "reasons", MAX_TEXT, required=need_reasons)
    application = task.application
    if application.joint_mode == "meeting":
        raise Conflict(N_("This case is decided in a joint meeting (联审制): the department states its opinion there."))
    authorisation = authorisations.authorisation_for(actor, task.department, application.item)
    task = _locked_task(task)
    if task.status not in OPEN_TASK_STATUSES:
        raise Conflict(N_("This task is closed already."))
    late = task.status is TaskStatus.OVERDUE
    at = now_utc()
    task.status = TaskStatus.ANSWERED
    task.answer = which
    task.reasons = clean
    task.answered_at = at
    task.answered_by_id = actor.id
    task.answered_by_name = actor_name(actor)
    task.authorisation_id = authorisation.id
    db.session.flush()
    record(
        "permits.task.answered",
        actor=actor,
        subject=task.audit_ref,
        data=facts(
            application,
            department=task.department,
            task=task,
            responsible_id=actor.id,
            due_at=task.due_at,
            authorisation_id=authorisation.id,
            answer=which.value,
            reasons=clean,
            late=late,
        ),
    )
    return task


def deem_tasks(limit: int = 500) -> dict[str, int]:
    """Tasks still open at their due instant: deemed consent where the item allows it, else overdue; both
    flagged for accountability (超时问责). Idempotent: only open tasks are taken, each locked (SKIP LOCKED). A case
    whose clock is stopped (clock.py) is left be: its tasks' due instants move when it runs again."""
    from app.permits.cases.clock import paused_case_ids

    now = now_utc()
    rows = list(
        db.session.execute(
            select(DepartmentTask)
            .where(DepartmentTask.status == TaskStatus.OPEN, DepartmentTask.due_at <= now)
            .where(DepartmentTask.application_id.not_in(paused_case_ids()))  # a stopped clock: not late
            .order_by(DepartmentTask.due_at, DepartmentTask.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=DepartmentTask)
        )
        .unique()
        .scalars()
    )
    if not rows:
        return {"deemed": 0, "overdue": 0}
    apps = {
        a.id: a
        for a in db.session.execute(
            select(Application)
            .where(Application.id.in_({t.application_id for t in rows}))
            .options(selectinload(Application.item).selectinload(Item.department))
        ).scalars()
    }
    deemed = overdue = 0
    for task in rows:
        application = apps[task.application_id]
        task.accountability_flag = True
        task.flagged_at = now
        if application.item.deemed_approval:
            task.status = TaskStatus.DEEMED
            task.answer = TaskAnswer.AGREE
            task.is_deemed = True
            task.deemed_at = task.due_at
            task.deemed_rule = DEEMED_CONSENT_RULE
            task.flag_reason = "timeout: deemed consent"
            action, deemed = "permits.task.deemed_consent", deemed + 1
        else:
            task.status = TaskStatus.OVERDUE
            task.flag_reason = "timeout: deemed approval not allowed for this item"
            action, overdue = "permits.task.overdue", overdue + 1
        db.session.flush()
        record(
            action,
            actor="system:permits.deem_tasks",
            subject=task.audit_ref,
            data=facts(
                application,
                department=task.department,
                task=task,
                due_at=task.due_at,
                deemed=task.is_deemed,
                rule=DEEMED_CONSENT_RULE if task.is_deemed else OVERDUE_RULE,
                accountability_flag=True,
                swept_at=now.isoformat(),
            ),
        )
    db.session.flush()
    return {"deemed": deemed, "overdue": overdue}


# --- the decision ----------------------------------------------------------------------------------------


def remedies(decided_on: date) -> dict[str, Any]:
    """The applicant's remedies with their last days (counted from the decision's day)."""
    from app.permits.certificates.services import add_months

    review_by = decided_on + timedelta(days=REVIEW_DAYS)
    litigation_by = add_months(decided_on, LITIGATION_MONTHS) + timedelta(days=1)
    text = (
        f"申请人如对本决定不服，可以自收到本决定书之日起六十日内（至{review_by.isoformat()}）依法申请行政复议，"
        f"或者六个月内（至{litigation_by.isoformat()}）依法向人民法院提起行政诉讼。"
    )
    return {"review_by": review_by.isoformat(), "litigation_by": litigation_by.isoformat(), "text": text}


def seal_case_pdf(application: Application, template: str, reason: str, **context: Any) -> tuple[str, str, str]:
    """A case's document rendered (with the QR code of its tracking page), sealed and stored write-once under
    `permits/<folder of the template>/<sha256>.pdf`: (key, sha256, the sealer's name). SealUnavailable (503)
    stores nothing."""
    from app.core.sealing.documents import qr_data_uri, render_pdf, seal_or_refuse
    from app.core.storage import DOCUMENTS, get_storage
    from app.permits.cases.api import tracking_url
    from app.permits.certificates.services import SealUnavailable

    url = tracking_url(application, external=True)
    pdf = render_pdf(template, a=application, url=url, qr=qr_data_uri(url), **context)
    sealed, backend = seal_or_refuse(
        pdf,
        reason=f"{reason} {application.case_number}",
        location=current_app.config.get("SEAL_ORGANISATION") or current_app.config["CENTER_NAME"],
        unavailable=SealUnavailable,
    )
    sha256 = hashlib.sha256(sealed).hexdigest()
    folder = "decisions" if template.endswith("decision_pdf.html") else "minutes"
    key = f"permits/{folder}/{sha256}.pdf"
    storage = get_storage()
    if not storage.exists(DOCUMENTS, key):
        storage.put(DOCUMENTS, key, sealed, length=len(sealed), content_type="application/pdf")
    return key, sha256, backend


def decide(*, actor: Any, application: Application, outcome: Any, reasons: Any) -> CaseDecision:
    """The lead department's decision (准予 / 不予许可) under an authorisation covering the item, sealed as PDF.

    Approval starts 制证; refusal skips it (nothing to produce) and starts 送达.
    """
    try:
        which = DecisionOutcome(outcome)
    except ValueError:
        raise field_error("outcome", N_("Approve or refuse.")) from None
    clean = clean_text(reasons, "reasons", MAX_TEXT)
    lead = application.item.department
    step = _open_step(application, CaseStepKind.DECISION)
    if application.clock_paused_at is not None:
        raise Conflict(N_("The case's clock is stopped (a hearing, testing or the like): end the pause first."))
    authorisation = authorisations.authorisation_for(actor, lead, application.item)
    at = now_utc()
    decided_on = local_date(at)
    calendar = calendar_services.load_calendar()
    following = _step(
        application, CaseStepKind.PRODUCTION if which is DecisionOutcome.APPROVE else CaseStepKind.DELIVERY
    )
    step_due(calendar, application.item, decided_on, following.share_days)  # CalendarNotLoaded stores nothing
    remedy = remedies(decided_on)
    answers = [
        {
            "department": t.department.name,
            "answer": t.answer.value if t.answer else None,
            "reasons": t.reasons,
            "deemed": t.is_deemed,
            "authorisation_id": t.authorisation_id,
        }
        for t in application.tasks
    ]
    document = {
        "outcome": which.value,
        "reasons": clean,
        "remedies": remedy["text"],
        "decided_on": decided_on.isoformat(),
        "department": lead.name,
        "representative": actor_name(actor),
        "authorisation": authorisation.reference or f"#{authorisation.id}",
        "answers": answers,
    }
    key, sha256, backend = seal_case_pdf(application, "permits_cases/decision_pdf.html", "行政许可决定", d=document)
    decision = CaseDecision(
        application_id=application.id,
        outcome=which,
        reasons=clean,
        remedies=remedy["text"],
        decided_at=at,
        decided_by_id=actor.id,
        decided_by_name=actor_name(actor),
        department=lead,
        authorisation=authorisation,
        pdf_key=key,
        pdf_sha256=sha256,
        sealed_by=backend,
        facts={"answers": answers, **remedy},
    )
    db.session.add(decision)
    db.session.flush()
    record(
        "permits.case.decided",
        actor=actor,
        subject=application.audit_ref,
        data=facts(
            application,
            department=lead,
            step=step,
            responsible_id=actor.id,
            due_at=step.due_at,
            authorisation_id=authorisation.id,
            outcome=which.value,
            reasons=clean,
            review_by=remedy["review_by"],
            litigation_by=remedy["litigation_by"],
            pdf_sha256=sha256,
            sealed_by=backend,
        ),
    )
    _finish(application, step, actor=actor, at=at)
    if which is DecisionOutcome.REFUSE:
        production = _step(application, CaseStepKind.PRODUCTION)
        production.status = CaseStepStatus.SKIPPED
        db.session.flush()
        record(
            "permits.case.step_skipped",
            actor=actor,
            subject=application.audit_ref,
            data=facts(application, department=lead, step=production, reason="refused: nothing to produce"),
        )
    _start(application, following, actor=actor, at=at, calendar=calendar)
    from app.permits.cases import messages

    messages.decision(application, which is DecisionOutcome.APPROVE)
    return decision


def decision_pdf(application: Application) -> bytes:
    from app.core.storage import DOCUMENTS, get_storage

    decision = application.decision
    if decision is None or decision.pdf_key is None:
        raise NotFound(N_("No decision yet."))
    return b"".join(get_storage().get(DOCUMENTS, decision.pdf_key))
