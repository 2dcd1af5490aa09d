"""The figures of one day, per floor and department, from the monitored items, the permits floor's deemed
decisions and the 好差评 ratings; stored for past days by the nightly sweep, computed live for today.

A day runs from midnight to midnight in the center's time zone. Storing a day replaces its rows by what
compute_day finds now (rows updated in place, new ones added, vanished ones removed): running it twice for one day
leaves the same rows with the same figures, so the sweep may simply recompute a window of recent days each night.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from app.core.db import db
from app.core.time import now_utc
from app.supervision.models import Floor, ItemState, MonitoredItem
from app.supervision.stats.models import COUNTS, DailyFigure

Key = tuple[str, str]  # (floor, department)
RECOMPUTE_DAYS = 7  # each night the last week is computed again: late closures and excluded ratings land there


def zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def today() -> date:
    return now_utc().astimezone(zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=zone())
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone())


def empty() -> dict[str, int]:
    return dict.fromkeys(COUNTS, 0)


def compute_day(day: date) -> dict[Key, dict[str, int]]:
    """Every figure of `day` per (floor, department); only keys with something to count."""
    start, end = day_bounds(day)
    found: dict[Key, dict[str, int]] = defaultdict(empty)
    for floor, department, n in db.session.execute(
        select(MonitoredItem.floor, MonitoredItem.department, func.count())
        .where(MonitoredItem.opened_at >= start, MonitoredItem.opened_at < end)
        .group_by(MonitoredItem.floor, MonitoredItem.department)
    ):
        found[(str(Floor(floor).value), department)]["intake"] += n
    for floor, department, started, closed, promised in db.session.execute(
        select(
            MonitoredItem.floor,
            MonitoredItem.department,
            MonitoredItem.started_at,
            MonitoredItem.closed_at,
            MonitoredItem.promised_due_at,
        ).where(
            MonitoredItem.state == ItemState.CLOSED, MonitoredItem.closed_at >= start, MonitoredItem.closed_at < end
        )
    ):
        row = found[(str(Floor(floor).value), department)]
        row["completed"] += 1
        if promised is None or closed is None:
            continue
        row["with_promise"] += 1
        row["on_time"] += closed <= promised
        row["handling_seconds"] += max(0, int((closed - started).total_seconds()))
        row["promised_seconds"] += max(0, int((promised - started).total_seconds()))
    for department, n in _deemed(start, end):
        found[(Floor.PERMITS.value, department)]["deemed"] += n
    for floor_name, department, level, n in _ratings(start, end):
        found[(floor_name, department)][f"rated_{level}"] += n
    return dict(found)


def _deemed(start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Deemed acceptances of applications (by the item's department) and deemed consents of co-departments."""
    from app.permits.cases.models import Application
    from app.permits.cases.processing_models import DepartmentTask, TaskStatus
    from app.permits.catalogue.models import Department, Item

    rows: list[tuple[str, int]] = []
    rows.extend(
        (name, n)
        for name, n in db.session.execute(
            select(Department.name, func.count())
            .select_from(Application)
            .join(Item, Item.id == Application.item_id)
            .join(Department, Department.id == Item.department_id)
            .where(Application.is_deemed.is_(True), Application.decided_at >= start, Application.decided_at < end)
            .group_by(Department.name)
        )
    )
    rows.extend(
        (name, n)
        for name, n in db.session.execute(
            select(Department.name, func.count())
            .select_from(DepartmentTask)
            .join(Department, Department.id == DepartmentTask.department_id)
            .where(
                DepartmentTask.status == TaskStatus.DEEMED,
                DepartmentTask.deemed_at >= start,
                DepartmentTask.deemed_at < end,
            )
            .group_by(Department.name)
        )
    )
    return rows


def _ratings(start: datetime, end: datetime) -> list[tuple[str, str, str, int]]:
    """Ratings given in the range and not excluded: a permit application's on the permits floor, the rest on the
    convenience floor."""
    from app.convenience.rating.models import Rating, SubjectKind

    rows = []
    for kind, department, level, n in db.session.execute(
        select(Rating.subject_kind, Rating.department, Rating.level, func.count())
        .where(Rating.rated_at >= start, Rating.rated_at < end, Rating.is_excluded.is_(False))
        .group_by(Rating.subject_kind, Rating.department, Rating.level)
    ):
        floor = Floor.PERMITS if SubjectKind(kind) is SubjectKind.APPLICATION else Floor.CONVENIENCE
        rows.append((floor.value, department, str(getattr(level, "value", level)), n))
    return rows


def store_day(day: date) -> int:
    """Replace the stored rows of `day` (a past day) by its figures now; flushes. Returns the number of rows."""
    if day >= today():
        raise ValueError("only a past day is stored: today is computed live")
    figures = compute_day(day)
    stamp = now_utc()
    existing = {
        (r.floor, r.department): r for r in db.session.scalars(select(DailyFigure).where(DailyFigure.day == day))
    }
    for key, row in existing.items():
        if key not in figures:
            db.session.delete(row)
    for (floor, department), counts in figures.items():
        stored = existing.get((floor, department))
        row = stored if stored is not None else DailyFigure(day=day, floor=floor, department=department)
        if stored is None:
            db.session.add(row)
        changed = any(getattr(row, name) != value for name, value in counts.items())
        for name, value in counts.items():
            setattr(row, name, value)
        if changed or row.computed_at is None:
            row.computed_at = stamp
    db.session.flush()
    return len(figures)


def first_day() -> date | None:
    """The first day anything was watched or rated (where a backfill starts)."""
    from app.convenience.rating.models import Rating

    found = [
        value
        for value in (
            db.session.scalar(select(func.min(MonitoredItem.opened_at))),
            db.session.scalar(select(func.min(Rating.rated_at))),
        )
        if value is not None
    ]
    return min(found).astimezone(zone()).date() if found else None


def sweep_days(days: int = RECOMPUTE_DAYS) -> dict[str, Any]:
    """The nightly aggregation: every past day not stored yet (from the first watched day on, the first time) and
    the last `days` days again. Idempotent."""
    end = today()
    last_stored = db.session.scalar(select(func.max(DailyFigure.day)))
    begin = first_day() if last_stored is None else min(last_stored + timedelta(days=1), end - timedelta(days=days))
    if begin is None:
        return {"days": 0, "rows": 0}
    n_days = n_rows = 0
    day = begin
    while day < end:
        n_rows += store_day(day)
        n_days += 1
        day += timedelta(days=1)
    return {"days": n_days, "rows": n_rows}
