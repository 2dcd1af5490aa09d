"""Absence and idleness alerts of the convenience windows, as supervision signals.

- **Absent**: during the window's working hours (its plan for the day, breaks and after-hours exceptions included),
  the seat has been empty for SUPERVISION_PRESENCE_ABSENT_MINUTES while tickets wait for the window. Counted from
  when the seat emptied or the window (re)opened, whichever is later. A camera that sent no frame for
  STALE_SECONDS says nothing (no alert on a dark camera).
- **Idle**: somebody is signed on, no ticket is at the window, tickets wait, and there has been no call for
  SUPERVISION_PRESENCE_IDLE_MINUTES (counted from the sign-on, the last call or the oldest waiting ticket's arrival,
  whichever is latest).

Signals go through the lights' `insert_signals` (one evidence-log entry names them) with a dedupe key per absence
interval and per idle stretch, so the sweep is idempotent: running it again creates nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.core.db import db
from app.core.time import now_utc
from app.supervision.lights import insert_signals
from app.supervision.models import Floor, Light, Metric, Rule
from app.supervision.presence import services
from app.supervision.presence.models import WindowCamera

STALE_SECONDS = 120
RULES: list[dict[str, Any]] = [
    {
        "code": "window-absent",
        "name": "工作时间窗口人员离岗且有群众等候",
        "name_en": "Window seat empty during working hours while tickets wait",
        "floor": "convenience",
        "kind": "window_absent",
        "metric": Metric.EVENT,
        "action": "supervision.presence.absent",
        "colour": Light.RED,
    },
    {
        "code": "window-idle",
        "name": "已签到但长时间未叫号且有群众等候",
        "name_en": "Signed on but no call while tickets wait",
        "floor": "convenience",
        "kind": "window_idle",
        "metric": Metric.EVENT,
        "action": "supervision.presence.idle",
        "colour": Light.YELLOW,
    },
]


def rules() -> dict[str, Rule]:
    """The two rules by code, created the first time (an administrator may deactivate them afterwards)."""
    found = {r.code: r for r in db.session.scalars(select(Rule).where(Rule.code.in_([s["code"] for s in RULES])))}
    for position, spec in enumerate(RULES):
        if spec["code"] not in found:
            rule = Rule(position=900 + position, is_active=True, **spec)
            db.session.add(rule)
            found[spec["code"]] = rule
    db.session.flush()
    return found


def _opened_since(window: Any, now: datetime) -> datetime | None:
    """When the window last opened (today's opening, or the end of its break), None when it is closed now."""
    from app.convenience.services import hours_on, is_open

    if not is_open(window, now):
        return None
    local = now.astimezone(services.zone())
    hours = hours_on(window, local.date())
    if hours is None:
        return None
    since = datetime.combine(local.date(), hours.opens_at, tzinfo=services.zone())
    if hours.break_ends_at is not None and local.time() >= hours.break_ends_at:
        since = max(since, datetime.combine(local.date(), hours.break_ends_at, tzinfo=services.zone()))
    return since


def _department(window: Any) -> str:
    services_ = window.group.services
    return services_[0].department if services_ else ""


def _row(
    rule: Rule, window: Any, *, dedupe: str, kind: str, person_id: int | None, now: datetime, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "dedupe": dedupe,
        "item_id": None,
        "rule_id": rule.id,
        "colour": Light(rule.colour),
        "floor": Floor.CONVENIENCE,
        "kind": kind,
        "subject": f"convenience.window:{window.id}",
        "reference": f"{window.number}号窗口",
        "department": _department(window),
        "person_id": person_id,
        "fired_at": now,
        "log_index": None,
        "detail": detail,
    }


def sweep_alerts(now: datetime | None = None) -> dict[str, int]:
    """Every absence and idleness alert now due, as signals (idempotent; flushes, never commits)."""
    from app.convenience.models import Ticket, TicketStatus
    from app.convenience.queue import current_ticket, waiting_count
    from app.convenience.services import open_session

    now = now or now_utc()
    cfg = current_app.config
    absent_after = timedelta(minutes=int(cfg.get("SUPERVISION_PRESENCE_ABSENT_MINUTES", 10)))
    idle_after = timedelta(minutes=int(cfg.get("SUPERVISION_PRESENCE_IDLE_MINUTES", 15)))
    by_code = rules()
    absent_rule, idle_rule = by_code["window-absent"], by_code["window-idle"]
    rows: list[dict[str, Any]] = []
    windows = {
        c.window_id: c.window for c in db.session.scalars(select(WindowCamera).where(WindowCamera.is_active.is_(True)))
    }
    # Idleness needs no camera: every window somebody is signed on at.
    from app.convenience.models import WindowSession

    for signed_on in db.session.scalars(select(WindowSession).where(WindowSession.signed_off_at.is_(None))):
        windows.setdefault(signed_on.window_id, signed_on.window)
    for window in sorted(windows.values(), key=lambda w: w.number):
        opened = _opened_since(window, now)
        if opened is None:
            continue
        waiting = waiting_count(window)
        if waiting == 0:
            continue
        session = open_session(window_id=window.id)
        interval = services.current(window.id)
        if (
            absent_rule.is_active
            and interval is not None
            and not interval.present
            and (now - interval.seen_until).total_seconds() <= STALE_SECONDS
        ):
            since = max(interval.started_at, opened)
            if now - since >= absent_after:
                rows.append(
                    _row(
                        absent_rule,
                        window,
                        dedupe=f"presence:absent:{interval.id}:rule:{absent_rule.id}",
                        kind="window_absent",
                        person_id=session.user_id if session is not None else None,
                        now=now,
                        detail={"minutes_absent": int((now - since).total_seconds() // 60), "waiting": waiting},
                    )
                )
        if idle_rule.is_active and session is not None and current_ticket(window) is None:
            last_call = db.session.scalar(select(func.max(Ticket.called_at)).where(Ticket.window_id == window.id))
            oldest = db.session.scalar(
                select(func.min(Ticket.queued_at)).where(
                    Ticket.status == TicketStatus.WAITING,
                    Ticket.day == now.astimezone(services.zone()).date(),
                    (Ticket.for_window_id == window.id)
                    | ((Ticket.for_window_id.is_(None)) & (Ticket.group_id == window.group_id)),
                )
            )
            since = max(t for t in (session.signed_on_at, last_call, oldest, opened) if t is not None)
            if now - since >= idle_after:
                rows.append(
                    _row(
                        idle_rule,
                        window,
                        dedupe=f"presence:idle:{session.id}:{int(since.timestamp())}",
                        kind="window_idle",
                        person_id=session.user_id,
                        now=now,
                        detail={"minutes_idle": int((now - since).total_seconds() // 60), "waiting": waiting},
                    )
                )
    created = insert_signals(rows, source="presence")
    db.session.flush()
    return {"windows": len(windows), "signals": len(created)}
