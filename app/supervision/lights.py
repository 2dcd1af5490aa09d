"""Rules and the lights sweep: turn yellow and red lights on for monitored items, as immutable signals.

The sweep reads the items not yet judged for good (open ones, and closed ones once more: a step that overran is red
even when the case as a whole ended on time), in id order, in batches locked with SKIP LOCKED on PostgreSQL.
Each (item, rule) fires at most once: the item keeps the rules that fired, and a unique key on the signal guards it
too. Idempotent: a second run at the same instant creates nothing. One evidence-log entry per run names the
signals it created.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from app import audit
from app.core.db import db, is_postgresql
from app.core.reference import provides
from app.core.time import now_utc
from app.supervision.models import ItemState, Light, Metric, MonitoredItem, Rule, Signal

log = logging.getLogger(__name__)
BATCH = 5000
RANK = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}

# The default rules (seeded once by code; an administrator may deactivate or change them later).
DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "code": "share-used-90",
        "name": "已用承诺时限的90%",
        "name_en": "90 % of the promised time used",
        "metric": Metric.SHARE_USED,
        "threshold": 90,
        "colour": Light.YELLOW,
    },
    {
        "code": "workdays-left-1",
        "name": "剩余不超过1个工作日",
        "name_en": "1 working day or less left",
        "metric": Metric.WORKDAYS_LEFT,
        "threshold": 1,
        "colour": Light.YELLOW,
    },
    {
        "code": "overdue",
        "name": "超过承诺时限",
        "name_en": "Past the promised time",
        "metric": Metric.OVERDUE,
        "threshold": 0,
        "colour": Light.RED,
    },
    {
        "code": "opening-late",
        "name": "开标迟延（超过开标时间5分钟）",
        "name_en": "Late opening (more than 5 minutes after the opening time)",
        "floor": "tendering",
        "kind": "opening",
        "metric": Metric.OVERDUE,
        "threshold": 5,
        "colour": Light.RED,
    },
    {
        "code": "second-correction-notice",
        "name": "再次发出补正告知（须督办批准）",
        "name_en": "A second correction notice (supervisor's override)",
        "floor": "permits",
        "metric": Metric.EVENT,
        "action": "permits.application.correction_requested",
        "data_flag": "override",
        "colour": Light.RED,
    },
    {
        "code": "deemed-acceptance",
        "name": "逾期未作决定，视为受理",
        "name_en": "Deemed acceptance: no decision within 5 working days",
        "floor": "permits",
        "metric": Metric.EVENT,
        "action": "permits.application.deemed_accepted",
        "colour": Light.RED,
    },
    {
        "code": "objection-overdue",
        "name": "异议逾期未答复",
        "name_en": "Objection not answered in time",
        "floor": "tendering",
        "metric": Metric.EVENT,
        "action": "evaluation.objection.overdue",
        "colour": Light.RED,
    },
    {
        "code": "opening-key-problem",
        "name": "开标密钥异常",
        "name_en": "Problem with the opening key",
        "floor": "tendering",
        "metric": Metric.EVENT,
        "action": "tendering.opening.key_problem",
        "colour": Light.RED,
    },
]


@provides("supervision.rules")
def seed_rules() -> None:
    """The default rules, by code (flushes): a rule already there is left as the administrator made it."""
    known = set(db.session.scalars(select(Rule.code)))
    for position, spec in enumerate(DEFAULT_RULES):
        if spec["code"] not in known:
            db.session.add(Rule(position=position * 10, is_active=True, **spec))
    db.session.flush()


# --- which rules apply --------------------------------------------------------------------------------------------


def _specificity(rule: Rule) -> int:
    return (rule.floor is not None) + (rule.kind is not None) + (rule.department is not None)


def applicable(rules: Iterable[Rule], floor: str, kind: str, department: str) -> list[Rule]:
    """The rules for an item: scope fields empty or equal; per (metric, colour) only the most specific ones."""
    matching = [
        r
        for r in rules
        if (r.floor in (None, floor)) and (r.kind in (None, kind)) and (r.department in (None, department))
    ]
    best: dict[tuple[str, str], int] = {}
    for r in matching:
        k = (r.metric, r.colour)
        best[k] = max(best.get(k, -1), _specificity(r))
    return [r for r in matching if _specificity(r) == best[(r.metric, r.colour)]]


# --- measuring one item -------------------------------------------------------------------------------------------


@dataclass
class Clock:
    now: datetime
    zone: ZoneInfo
    today: date
    _calendar: Any = None
    _loaded: bool = False

    def calendar(self) -> Any:
        if not self._loaded:
            from app.permits.calendar.services import load_calendar

            self._calendar = load_calendar()
            self._loaded = True
        return self._calendar

    def day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


def measure(rule: Rule, item: Any, clock: Clock) -> dict[str, int] | None:
    """The detail of the rule's metric on the item when it fires, else None. Raises CalendarNotLoaded."""
    due = item.promised_due_at or item.statutory_due_at
    if due is None:
        return None
    closed = item.state == ItemState.CLOSED
    at = item.closed_at if closed else clock.now
    if rule.metric == Metric.OVERDUE:
        late = at - due
        if late > timedelta(minutes=rule.threshold):
            return {"minutes_late": int(late.total_seconds() // 60)}
        return None
    if closed or at > due:  # a warning for a step that is over or already late says nothing new
        return None
    if rule.metric == Metric.SHARE_USED:
        if item.counts_workdays:
            cal = clock.calendar()
            first = clock.day(item.started_at) + timedelta(days=1)  # the clock counts from the next day
            due_day = clock.day(due)
            cal.require(first)
            cal.require(due_day)
            total = cal.workdays_between(first, due_day)
            used = cal.workdays_between(first, min(clock.today, due_day))
            percent = 100 if total <= 0 else used * 100 // total
        else:
            span = (due - item.started_at).total_seconds()
            percent = 100 if span <= 0 else int((at - item.started_at).total_seconds() * 100 // span)
        return {"percent": percent} if percent >= rule.threshold else None
    if rule.metric == Metric.WORKDAYS_LEFT:
        if not item.counts_workdays:
            return None
        cal = clock.calendar()
        due_day = clock.day(due)
        cal.require(due_day)
        left = cal.workdays_between(clock.today + timedelta(days=1), due_day)
        return {"workdays_left": left} if left <= rule.threshold else None
    return None


# --- writing signals ----------------------------------------------------------------------------------------------


def insert_signals(rows: list[dict[str, Any]], *, source: str) -> list[int]:
    """Insert signal rows (a dedupe key already present is skipped); one evidence-log entry names those created."""
    if not rows:
        return []
    dialect = postgresql if is_postgresql() else sqlite
    stmt = dialect.insert(Signal).on_conflict_do_nothing(index_elements=["dedupe"]).returning(Signal.id, Signal.colour)
    created = [(int(r[0]), str(r[1])) for r in db.session.execute(stmt, rows)] if len(rows) else []
    if created:
        ids = sorted(i for i, _ in created)
        data: dict[str, Any] = {
            "count": len(ids),
            "red": sum(1 for _, c in created if c == Light.RED),
            "yellow": sum(1 for _, c in created if c == Light.YELLOW),
            "first_id": ids[0],
            "last_id": ids[-1],
        }
        if len(ids) <= 200:
            data["ids"] = ids
        audit.record(
            "supervision.signals.fired", actor=f"system:supervision.{source}", subject="supervision", data=data
        )
    return [i for i, _ in created]


@dataclass
class Swept:
    items: int = 0
    signals: int = 0
    red: int = 0
    yellow: int = 0
    done: int = 0
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"items": self.items, "signals": self.signals, "red": self.red, "yellow": self.yellow, "done": self.done}


_COLUMNS = (
    MonitoredItem.id,
    MonitoredItem.floor,
    MonitoredItem.kind,
    MonitoredItem.subject,
    MonitoredItem.reference,
    MonitoredItem.department,
    MonitoredItem.person_id,
    MonitoredItem.started_at,
    MonitoredItem.promised_due_at,
    MonitoredItem.statutory_due_at,
    MonitoredItem.counts_workdays,
    MonitoredItem.state,
    MonitoredItem.closed_at,
    MonitoredItem.light,
    MonitoredItem.fired_rules,
)


def sweep_lights(batch: int = BATCH) -> dict[str, int]:
    """Turn on every light now due; mark closed items judged. Flushes, never commits."""
    from app.permits.calendar.deadlines import CalendarNotLoaded

    now = now_utc()
    zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
    clock = Clock(now=now, zone=zone, today=now.astimezone(zone).date())
    rules = list(
        db.session.scalars(
            select(Rule).where(Rule.is_active.is_(True), Rule.metric != Metric.EVENT).order_by(Rule.position)
        )
    )
    by_scope: dict[tuple[str, str, str], list[Rule]] = {}
    swept = Swept()
    last_id = 0
    created: list[dict[str, Any]] = []
    while True:
        rows = db.session.execute(
            select(*_COLUMNS)
            .where(MonitoredItem.lights_done.is_(False), MonitoredItem.id > last_id)
            .order_by(MonitoredItem.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=MonitoredItem)
        ).all()
        if not rows:
            break
        last_id = rows[-1].id
        updates: list[dict[str, Any]] = []
        for item in rows:
            swept.items += 1
            scope = (str(item.floor), item.kind, item.department)
            if scope not in by_scope:
                by_scope[scope] = applicable(rules, *scope)
            fired = list(item.fired_rules or [])
            light = Light(item.light)
            new = False
            for rule in by_scope[scope]:
                if rule.id in fired:
                    continue
                try:
                    detail = measure(rule, item, clock)
                except CalendarNotLoaded as exc:
                    swept.skipped.append(f"{item.id}: {exc.detail}")
                    continue
                if detail is None:
                    continue
                fired.append(rule.id)
                new = True
                if RANK[rule.colour] > RANK[light]:
                    light = rule.colour
                created.append(
                    {
                        "dedupe": f"item:{item.id}:rule:{rule.id}",
                        "item_id": item.id,
                        "rule_id": rule.id,
                        "colour": rule.colour,
                        "floor": item.floor,
                        "kind": item.kind,
                        "subject": item.subject,
                        "reference": item.reference,
                        "department": item.department,
                        "person_id": item.person_id,
                        "fired_at": now,
                        "log_index": None,
                        "detail": detail,
                    }
                )
            done = item.state == ItemState.CLOSED
            if new or done:
                updates.append({"id": item.id, "light": light, "fired_rules": fired, "lights_done": done})
                swept.done += int(done)
        if updates:
            db.session.execute(update(MonitoredItem), updates)
        if len(created) >= batch:
            _flush_created(created, swept)
            created = []
        if len(rows) < batch:
            break
    _flush_created(created, swept)
    if swept.skipped:
        log.warning("supervision lights: %d measures skipped (calendar): %s", len(swept.skipped), swept.skipped[:5])
    db.session.flush()
    return swept.as_dict()


def _flush_created(created: list[dict[str, Any]], swept: Swept) -> None:
    if not created:
        return
    ids = insert_signals(created, source="lights")
    swept.signals += len(ids)
    swept.red += sum(1 for r in created if r["colour"] == Light.RED)
    swept.yellow += sum(1 for r in created if r["colour"] == Light.YELLOW)
