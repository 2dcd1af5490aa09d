"""Rules and the lights sweep: turn yellow and red lights on for monitored items, as immutable signals.

The sweep reads the items not yet judged for good (open ones, and closed ones once more: a step that overran is red
even when the case as a whole ended on time), in id order, in batches locked with SKIP LOCKED on PostgreSQL.
Each (item, rule) fires at most once: the item keeps the rules that fired, and a unique key on the signal guards it
too. Idempotent: a second run at the same instant creates nothing. One evidence-log entry per run names the
signals it created.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import DateTime, String, Text, cast, or_, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite

from app import audit
from app.core.db import db, is_postgresql
from app.core.reference import provides
from app.core.time import now_utc
from app.supervision.models import Floor, ItemState, Light, Metric, MonitoredItem, Rule, Signal

log = logging.getLogger(__name__)
BATCH = 5000
RANK: dict[str, int] = {Light.GREEN: 0, Light.YELLOW: 1, Light.RED: 2}

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
        "code": "interaction-overdue",
        "name": "群众诉求逾期未答复",
        "name_en": "Citizen's request not replied to in time",
        "floor": "convenience",
        "metric": Metric.EVENT,
        "action": "convenience.interaction.overdue",
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
    {
        "code": "meeting-not-held",
        "name": "联审会议逾期未召开",
        "name_en": "Joint review meeting not held in time",
        "floor": "permits",
        "metric": Metric.EVENT,
        "action": "permits.meeting.missed",
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


def _specificity(rule: Any) -> int:
    return (rule.floor is not None) + (rule.kind is not None) + (rule.department is not None)


def applicable(rules: Iterable[Any], floor: str, kind: str, department: str) -> list[Any]:
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


def measure(rule: Any, item: Any, clock: Clock) -> dict[str, int] | None:
    """The detail of the rule's metric on the item when it fires, else None. Raises CalendarNotLoaded."""
    due = item.promised_due_at or item.statutory_due_at
    if due is None:
        return None
    closed = item.state == ItemState.CLOSED.value
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
            # the due day was moved out by the days the clock stood still: they are neither limit nor time used
            paused = item.paused_days or 0
            total = cal.workdays_between(first, due_day) - paused
            used = cal.workdays_between(first, min(clock.today, due_day)) - paused
            percent = 100 if total <= 0 else max(0, used) * 100 // total
        else:
            paused_s = (item.paused_days or 0) * 86400
            span = (due - item.started_at).total_seconds() - paused_s
            elapsed = (at - item.started_at).total_seconds() - paused_s
            percent = 100 if span <= 0 else int(max(0.0, elapsed) * 100 // span)
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


def insert_signals(rows: list[dict[str, Any]], *, source: str, bulk: bool = False) -> list[int]:
    """Insert signal rows (a dedupe key already present is skipped; `bulk`: the caller guarantees there is none,
    and PostgreSQL takes them by COPY); one evidence-log entry names those created."""
    if not rows:
        return []
    if bulk and is_postgresql():
        created = _copy_signals(rows)
    else:
        dialect = postgresql if is_postgresql() else sqlite
        stmt = (
            dialect.insert(Signal).on_conflict_do_nothing(index_elements=["dedupe"]).returning(Signal.id, Signal.colour)
        )
        created = [(int(r[0]), str(r[1])) for r in db.session.execute(stmt, rows)]
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


NEVER = datetime(9999, 1, 1, tzinfo=UTC)  # nothing more can fire while the item stays as it is


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


_RAW_TIME = DateTime(timezone=True)
# Read without the ORM types' per-value processing (enums, UTC type decorator, JSON): the sweep reads many rows.
_COLUMNS = (
    MonitoredItem.id,
    type_coerce(MonitoredItem.floor, String).label("floor"),
    MonitoredItem.kind,
    MonitoredItem.subject,
    MonitoredItem.reference,
    MonitoredItem.department,
    MonitoredItem.person_id,
    type_coerce(MonitoredItem.started_at, _RAW_TIME).label("started_at"),
    type_coerce(MonitoredItem.promised_due_at, _RAW_TIME).label("promised_due_at"),
    type_coerce(MonitoredItem.statutory_due_at, _RAW_TIME).label("statutory_due_at"),
    MonitoredItem.counts_workdays,
    MonitoredItem.paused_days,
    type_coerce(MonitoredItem.state, String).label("state"),
    type_coerce(MonitoredItem.closed_at, _RAW_TIME).label("closed_at"),
    type_coerce(MonitoredItem.light, String).label("light"),
    cast(MonitoredItem.fired_rules, Text).label("fired_rules"),
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives naive UTC datetimes back (PostgreSQL aware ones)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class RuleSpec:
    """A rule's fields as plain values (the ORM's attribute access is slow in the sweep's inner loop)."""

    id: int
    metric: str
    threshold: int
    colour: Light
    floor: str | None
    kind: str | None
    department: str | None

    @classmethod
    def of(cls, rule: Rule) -> RuleSpec:
        return cls(
            rule.id,
            Metric(rule.metric).value,
            rule.threshold,
            Light(rule.colour),
            rule.floor,
            rule.kind,
            rule.department,
        )


@dataclass
class Row:
    """An item as the sweep reads it."""

    id: int
    floor: str
    kind: str
    subject: str
    reference: str
    department: str
    person_id: int | None
    started_at: datetime
    promised_due_at: datetime | None
    statutory_due_at: datetime | None
    counts_workdays: bool
    paused_days: int
    state: str
    closed_at: datetime | None
    light: str
    fired_rules: list[int]


def _row(r: Any) -> Row:
    return Row(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        _aware(r[7]),  # type: ignore[arg-type]
        _aware(r[8]),
        _aware(r[9]),
        bool(r[10]),
        int(r[11] or 0),
        r[12],
        _aware(r[13]),
        r[14],
        json.loads(r[15]) if r[15] and r[15] != "[]" else [],
    )


def next_check(rules: Iterable[Any], item: Any, clock: Clock) -> datetime:
    """The earliest instant one of `rules` (not fired yet) may fire on the open item; the sweep skips it until then.

    Wall-clock metrics give their exact instant; working-day metrics are looked at again at the next midnight."""
    due = item.promised_due_at or item.statutory_due_at
    if due is None:
        return NEVER
    midnight = datetime.combine(clock.today + timedelta(days=1), datetime.min.time(), tzinfo=clock.zone)
    found = NEVER
    for rule in rules:
        if rule.metric == Metric.OVERDUE:
            at = due + timedelta(minutes=rule.threshold, microseconds=1)
        elif clock.now > due:
            continue  # warnings never fire once late
        elif rule.metric == Metric.SHARE_USED and not item.counts_workdays:
            paused = timedelta(days=item.paused_days or 0)  # neither limit nor time used (as in measure)
            span = due - item.started_at - paused
            at = item.started_at + paused + span * rule.threshold / 100
        elif rule.metric in (Metric.SHARE_USED, Metric.WORKDAYS_LEFT) and item.counts_workdays:
            at = midnight
        else:
            continue
        found = min(found, max(at, clock.now))
    return found


def sweep_lights(batch: int = BATCH) -> dict[str, int]:
    """Turn on every light now due; mark closed items judged. Flushes, never commits.

    Reads only the items to look at now (never looked at, changed by the ingest, or whose next possible light is
    due), in id order, in batches locked with SKIP LOCKED on PostgreSQL."""
    from app.permits.calendar.deadlines import CalendarNotLoaded

    now = now_utc()
    zone = ZoneInfo(current_app.config["CENTER_TIMEZONE"])
    clock = Clock(now=now, zone=zone, today=now.astimezone(zone).date())
    rules = [
        RuleSpec.of(r)
        for r in db.session.scalars(
            select(Rule).where(Rule.is_active.is_(True), Rule.metric != Metric.EVENT).order_by(Rule.position)
        )
    ]
    by_scope: dict[tuple[str, str, str], list[RuleSpec]] = {}
    swept = Swept()
    last_id = 0
    while True:
        rows = _read(
            select(*_COLUMNS)
            .where(
                MonitoredItem.lights_done.is_(False),
                or_(MonitoredItem.check_after.is_(None), MonitoredItem.check_after <= now),
                MonitoredItem.id > last_id,
            )
            .order_by(MonitoredItem.id)
            .limit(batch)
            .with_for_update(skip_locked=True, of=MonitoredItem)
        )
        if not rows:
            break
        last_id = rows[-1][0]
        updates: list[dict[str, Any]] = []
        created: list[dict[str, Any]] = []
        for raw_row in rows:
            item = _row(raw_row)
            swept.items += 1
            scope = (str(item.floor), item.kind, item.department)
            if scope not in by_scope:
                by_scope[scope] = applicable(rules, *scope)
            fired = list(item.fired_rules or [])
            light = item.light
            unfired = []
            for rule in by_scope[scope]:
                if rule.id in fired:
                    continue
                try:
                    detail = measure(rule, item, clock)
                except CalendarNotLoaded as exc:
                    swept.skipped.append(f"{item.id}: {exc.detail}")
                    unfired.append(rule)
                    continue
                if detail is None:
                    unfired.append(rule)
                    continue
                fired.append(rule.id)
                if RANK[rule.colour] > RANK[light]:
                    light = rule.colour.value
                created.append(
                    {
                        "dedupe": f"item:{item.id}:rule:{rule.id}",
                        "item_id": item.id,
                        "rule_id": rule.id,
                        "colour": rule.colour,
                        "floor": Floor(item.floor),
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
            done = item.state == ItemState.CLOSED.value
            updates.append(
                {
                    "id": item.id,
                    "light": light,
                    "fired_rules": fired,
                    "lights_done": done,
                    "check_after": None if done else next_check(unfired, item, clock),
                }
            )
            swept.done += int(done)
        _apply(updates)
        _flush_created(created, swept)
        if len(rows) < batch:
            break
    if swept.skipped:
        log.warning("supervision lights: %d measures skipped (calendar): %s", len(swept.skipped), swept.skipped[:5])
    db.session.flush()
    return swept.as_dict()


def _read(stmt: Any) -> list[Any]:
    """The batch's rows. PostgreSQL: through the driver's cursor, as plain tuples (the columns are read raw anyway:
    psycopg gives aware datetimes and text), without SQLAlchemy's per-row result objects."""
    if not is_postgresql():
        return list(db.session.execute(stmt).all())
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    raw: Any = connection.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(str(compiled), compiled.params)
        return list(cur.fetchall())


def _apply(updates: list[dict[str, Any]]) -> None:
    """Write the items' derived columns: on PostgreSQL one COPY into a temporary table and one UPDATE … FROM.

    The batch is a range of ids (the sweep reads in id order): the UPDATE says so, and PostgreSQL joins through the
    primary key's range instead of hashing the whole table for every batch."""
    if not updates:
        return
    if not is_postgresql():
        db.session.execute(update(MonitoredItem), updates)
        return
    connection = db.session.connection()
    raw: Any = connection.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS supervision_item_updates (id integer, light varchar(20), "
            "fired_rules json, lights_done boolean, check_after timestamptz) ON COMMIT DELETE ROWS"
        )
        cur.execute("TRUNCATE supervision_item_updates")
        with cur.copy("COPY supervision_item_updates FROM STDIN") as copy:
            for u in updates:
                row = (u["id"], str(u["light"]), _int_list(u["fired_rules"]), u["lights_done"], u["check_after"])
                copy.write_row(row)
        cur.execute(
            "UPDATE supervision_items AS i SET light = u.light, fired_rules = u.fired_rules, "
            "lights_done = u.lights_done, check_after = u.check_after "
            "FROM supervision_item_updates AS u WHERE i.id = u.id AND i.id BETWEEN %s AND %s",
            (min(u["id"] for u in updates), max(u["id"] for u in updates)),
        )


def _int_list(values: list[int]) -> str:
    """A list of ints as JSON (what json.dumps writes, without its per-call cost)."""
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


_SIGNAL_COLUMNS = (
    "dedupe",
    "item_id",
    "rule_id",
    "colour",
    "floor",
    "kind",
    "subject",
    "reference",
    "department",
    "person_id",
    "fired_at",
    "log_index",
    "detail",
)


def _copy_signals(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """PostgreSQL: the new signals by COPY (the sweep's lock and each item's fired rules keep them unique), their ids
    taken from the table's sequence first in one round trip (no look-up of the rows afterwards)."""
    connection = db.session.connection()
    raw: Any = connection.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(
            "SELECT nextval(pg_get_serial_sequence('supervision_signals', 'id')) FROM generate_series(1, %s)",
            (len(rows),),
        )
        ids = [int(r[0]) for r in cur.fetchall()]
        with cur.copy(f"COPY supervision_signals (id, {', '.join(_SIGNAL_COLUMNS)}) FROM STDIN") as copy:
            for signal_id, r in zip(ids, rows, strict=True):
                values = (
                    json.dumps(r[c]) if c == "detail" else (r[c].value if isinstance(r[c], enum.Enum) else r[c])
                    for c in _SIGNAL_COLUMNS
                )
                copy.write_row((signal_id, *values))
        return [(signal_id, Light(r["colour"]).value) for signal_id, r in zip(ids, rows, strict=True)]


def _flush_created(created: list[dict[str, Any]], swept: Swept) -> None:
    if not created:
        return
    ids = insert_signals(created, source="lights", bulk=True)
    swept.signals += len(ids)
    swept.red += sum(1 for r in created if r["colour"] == Light.RED)
    swept.yellow += sum(1 for r in created if r["colour"] == Light.YELLOW)
