"""The demo's supervision: after every floor's demo data, read the evidence log once and turn the lights on, so the
wall of `make run` shows lights at once (the worker's sweeps keep it current afterwards); then the follow-up a
newcomer should see: the escalation of the demo's overdue red, a duty rota with the demo leader, a sealed
recommendation letter about that red, the leader's instruction on it, and this quarter's grading of departments."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import User
from app.core.db import db
from app.core.errors import DomainError
from app.supervision import duty, escalation, grading, ingest, letters, lights
from app.supervision.models import DepartmentGrading, DutyDay, ItemState, Letter, MonitoredItem, Signal


def _account(username: str) -> User | None:
    found: User | None = db.session.scalar(select(User).where(User.username == username))
    return found


def seed_demo_supervision() -> list[str]:
    """Ingest the whole log, sweep the lights and the escalations, then the follow-up (flushes; idempotent: a second
    run finds nothing new and adds nothing)."""
    while ingest.ingest().read:
        pass
    lights.sweep_lights()
    escalated = escalation.sweep_escalations()["escalations"]
    items = db.session.scalar(select(func.count(MonitoredItem.id)).where(MonitoredItem.state == ItemState.OPEN)) or 0
    red = db.session.scalar(select(func.count(Signal.id)).where(Signal.colour == "red")) or 0
    yellow = db.session.scalar(select(func.count(Signal.id)).where(Signal.colour == "yellow")) or 0
    lines = [f"supervision: {items} steps watched, {red} red and {yellow} yellow signals — wall at /supervision/"]
    if escalated:
        lines.append(f"supervision: {escalated} escalations of unresolved reds")
    lines.extend(_follow_up())
    return lines


def _follow_up() -> list[str]:
    supervisor, leader = _account("supervisor"), _account("duty_leader")
    if supervisor is None or leader is None or not duty.is_leader(leader):
        return []
    lines: list[str] = []
    today = escalation.center_today()
    if not db.session.scalar(select(func.count(DutyDay.id))):
        for offset in (0, 7, 14):  # one vice-mayor a week for a day
            duty.set_duty(actor=supervisor, day=today + timedelta(days=offset), leader_id=leader.id, title="vice_mayor")
        lines.append("supervision: duty rota — the demo leader (duty_leader) on duty today — /supervision/duty")
    red: Signal | None = db.session.scalar(
        select(Signal).where(Signal.colour == "red", Signal.department != "").order_by(Signal.id)
    )
    if red is not None and not db.session.scalar(select(func.count(Letter.id))):
        try:
            letter = letters.issue_letter(
                actor=supervisor,
                signal_id=red.id,
                facts=f"{red.reference or red.subject}：{red.rule.name}，至今未作出情况说明。",
                rules_broken="《行政许可法》第三十二条及本中心承诺时限制度。",
                recommendation="立即办结该事项，查明超时原因，追究相关人员责任，并完善首席代表授权和窗口值守制度。",
                reply_due=(today + timedelta(days=15)).isoformat(),
            )
            lines.append(f"supervision: recommendation letter {letter.number} (sealed PDF) — /supervision/letters")
        except DomainError as exc:  # the seal is not configured on this instance: the letter waits
            lines.append(f"supervision: no demo letter ({exc.detail})")
        if not duty.list_instructions(supervisor):
            try:
                duty.issue_instruction(
                    actor=leader,
                    department=red.department,
                    text="请于三个工作日内办结并报告整改情况。",
                    workdays="3",
                    signal_id=red.id,
                )
                lines.append("supervision: the leader's instruction on the red — /supervision/instructions")
            except DomainError as exc:  # the calendar does not reach the due day
                lines.append(f"supervision: no demo instruction ({exc.detail})")
    year, quarter = grading.current_quarter()
    if not db.session.scalar(
        select(func.count(DepartmentGrading.id)).where(
            DepartmentGrading.year == year, DepartmentGrading.quarter == quarter
        )
    ):
        rows = grading.compute_quarter(actor=supervisor, year=year, quarter=quarter)
        lines.append(f"supervision: {len(rows)} departments graded for {year} Q{quarter} — /supervision/grading")
    return lines
