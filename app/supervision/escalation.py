"""Escalation of unresolved red signals, level by level, after a set number of working days.

A red signal with no accepted explanation goes one level up every SUPERVISION_ESCALATION_WORKDAYS working days
after the day the step went red (the day itself does not count): for an overdue step, just past its due instant
plus the rule's grace (a light the sweep found late, or a step that overran and closed, does not restart the
count); for an event, the instant the signal turned on. The levels: the department head, then the
discipline office, then the leader on duty (SUPERVISION_ESCALATION_LEVELS). Each escalation is an immutable row,
unique per (signal, level), with its evidence-log entry. The sweep runs under the sweep lock and is idempotent: at
the same instant a second run creates nothing; a sweep that missed days creates every level now due, each its own
record.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from app import audit
from app.core.db import db
from app.core.time import now_utc
from app.supervision.models import (
    AnswerKind,
    DutyDay,
    Escalation,
    Light,
    Metric,
    MonitoredItem,
    Rule,
    Signal,
    SignalAnswer,
)

log = logging.getLogger(__name__)

DEFAULT_LEVELS = ("department_head", "discipline_office", "duty_leader")


def levels() -> tuple[str, ...]:
    return tuple(current_app.config.get("SUPERVISION_ESCALATION_LEVELS") or DEFAULT_LEVELS)


def workdays_per_level() -> int:
    return max(1, int(current_app.config.get("SUPERVISION_ESCALATION_WORKDAYS", 2)))


def _aware(value: datetime) -> datetime:
    """A coalesced column comes back without the UTC type's processing: naive UTC on SQLite."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def center_today() -> date:
    zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
    return now_utc().astimezone(zone).date()


def duty_leader_on(day: date) -> DutyDay | None:
    found: DutyDay | None = db.session.scalar(select(DutyDay).where(DutyDay.day == day))
    return found


def red_since(fired_at: datetime, metric: Any, threshold: int, due: datetime | None) -> datetime:
    """When the step went red: an overdue rule's instant (just past the due instant plus its grace), never after
    the signal turned on; an event rule's signal, when it turned on."""
    if Metric(metric) is not Metric.OVERDUE or due is None:
        return fired_at
    return min(fired_at, due + timedelta(minutes=threshold, microseconds=1))


def sweep_escalations() -> dict[str, int]:
    """Every escalation now due (flushes, never commits). Signals the calendar does not cover are skipped (logged)."""
    from app.permits.calendar.deadlines import CalendarNotLoaded
    from app.permits.calendar.services import load_calendar

    now = now_utc()
    zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
    today = now.astimezone(zone).date()
    names = levels()
    step = workdays_per_level()
    accepted = select(SignalAnswer.signal_id).where(SignalAnswer.kind == AnswerKind.ACCEPTED)
    done = select(Escalation.signal_id, func.count(Escalation.id).label("n")).group_by(Escalation.signal_id).subquery()
    rows = db.session.execute(
        select(
            Signal.id,
            Signal.fired_at,
            Rule.metric,
            Rule.threshold,
            func.coalesce(MonitoredItem.promised_due_at, MonitoredItem.statutory_due_at),
            Signal.department,
            func.coalesce(done.c.n, 0),
        )
        .join(Rule, Rule.id == Signal.rule_id)
        .outerjoin(MonitoredItem, MonitoredItem.id == Signal.item_id)
        .outerjoin(done, done.c.signal_id == Signal.id)
        .where(
            Signal.colour == Light.RED,
            Signal.id.not_in(accepted),
            func.coalesce(done.c.n, 0) < len(names),
        )
        .order_by(Signal.id)
    ).all()
    result = {"signals": len(rows), "escalations": 0, "skipped": 0}
    if not rows:
        return result
    calendar = load_calendar()
    leader = duty_leader_on(today)
    for signal_id, fired_at, metric, threshold, due, department, have in rows:
        since = red_since(_aware(fired_at), metric, int(threshold or 0), _aware(due) if due is not None else None)
        first = since.astimezone(zone).date() + timedelta(days=1)
        try:
            calendar.require(today)
            calendar.require(min(first, today))
        except CalendarNotLoaded:
            result["skipped"] += 1
            continue
        elapsed = calendar.workdays_between(first, today)
        target = min(len(names), elapsed // step)
        for level in range(int(have) + 1, target + 1):
            addressee = names[level - 1]
            row = Escalation(
                signal_id=signal_id,
                level=level,
                addressee=addressee,
                department=department,
                workdays_unresolved=elapsed,
                escalated_at=now,
                duty_leader_id=leader.leader_id if leader is not None and addressee == "duty_leader" else None,
            )
            db.session.add(row)
            db.session.flush()
            audit.record(
                "supervision.signal.escalated",
                actor="system:supervision.escalation",
                subject=f"supervision.signal:{signal_id}",
                data={
                    "escalation": row.id,
                    "level": level,
                    "addressee": addressee,
                    "department": department,
                    "workdays_unresolved": elapsed,
                    "duty_leader": row.duty_leader_id,
                },
            )
            result["escalations"] += 1
    if result["skipped"]:
        log.warning("supervision escalation: %d signals outside the working-day calendar", result["skipped"])
    return result


def escalations_of(signal: Signal) -> list[Escalation]:
    return list(
        db.session.scalars(select(Escalation).where(Escalation.signal_id == signal.id).order_by(Escalation.level))
    )


def _top_unsettled() -> Any:
    accepted = select(SignalAnswer.signal_id).where(SignalAnswer.kind == AnswerKind.ACCEPTED)
    return (
        select(Escalation.signal_id, func.max(Escalation.level).label("level"))
        .where(Escalation.signal_id.not_in(accepted))
        .group_by(Escalation.signal_id)
        .subquery()
    )


def open_escalations(addressee: str | None = None, departments: list[str] | None = None) -> list[Escalation]:
    """The escalations whose signal is still not settled (no accepted explanation), the highest level per signal,
    newest first (at most 200)."""
    top = _top_unsettled()
    stmt = select(Escalation).join(top, (top.c.signal_id == Escalation.signal_id) & (top.c.level == Escalation.level))
    if addressee is not None:
        stmt = stmt.where(Escalation.addressee == addressee)
    if departments is not None:
        stmt = stmt.where(Escalation.department.in_(departments))
    return list(db.session.scalars(stmt.order_by(Escalation.escalated_at.desc(), Escalation.id.desc()).limit(200)))


def escalated_by_department() -> dict[str, int]:
    """Per department: signals escalated and still unsettled (the wall's figure)."""
    top = _top_unsettled()
    stmt = (
        select(Escalation.department, func.count())
        .join(top, (top.c.signal_id == Escalation.signal_id) & (top.c.level == Escalation.level))
        .group_by(Escalation.department)
    )
    return {str(d): int(n) for d, n in db.session.execute(stmt)}
