"""The statistics page's figures: periods (day, week, month, quarter, year), their sums from the nightly rows plus
today's live figures, year-on-year (同比) and period-on-period (环比) changes, rates and averages.

Rules, shown on the page as well:
- A period's figures are the sum of its days; a period holding today adds today's live figures (labelled).
- 同比 compares with the same period one year earlier (the same ISO week number for weeks), 环比 with the period just
  before. The change is (this − base) ÷ base. When the base is missing — it lies before the first stored day, or
  its count is 0 — there is no change to show: None, printed as "—", never a division error.
- The on-time rate is on time ÷ closed with a promised due instant; the handling and promised times are the
  averages over those same items, in hours. None (—) when nothing was closed with a promise.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from app.core.db import db
from app.supervision.stats import aggregate
from app.supervision.stats.models import COUNTS, RATING_LEVELS, DailyFigure


class Unit(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


SERIES_LENGTH = {Unit.DAY: 14, Unit.WEEK: 12, Unit.MONTH: 12, Unit.QUARTER: 8, Unit.YEAR: 5}


def period_start(day: date, unit: Unit) -> date:
    if unit is Unit.DAY:
        return day
    if unit is Unit.WEEK:
        return day - timedelta(days=day.weekday())
    if unit is Unit.MONTH:
        return day.replace(day=1)
    if unit is Unit.QUARTER:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def period_end(start: date, unit: Unit) -> date:
    """The first day after the period that starts on `start`."""
    if unit is Unit.DAY:
        return start + timedelta(days=1)
    if unit is Unit.WEEK:
        return start + timedelta(days=7)
    months = {Unit.MONTH: 1, Unit.QUARTER: 3, Unit.YEAR: 12}[unit]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def previous(start: date, unit: Unit) -> date:
    """The start of the period just before (环比's base)."""
    return period_start(start - timedelta(days=1), unit)


def year_before(start: date, unit: Unit) -> date:
    """The start of the same period one year earlier (同比's base)."""
    if unit is Unit.WEEK:
        _, week, _ = start.isocalendar()
        year = start.isocalendar()[0] - 1
        last_week = date(year, 12, 28).isocalendar()[1]  # 52 or 53
        return date.fromisocalendar(year, min(week, last_week), 1)
    if start.month == 2 and start.day == 29:
        return date(start.year - 1, 2, 28)
    return start.replace(year=start.year - 1)


def label(start: date, unit: Unit, week: str = "{year}-W{week:02d}", quarter: str = "{year}-Q{quarter}") -> str:
    """What a period is called: 2026-03-09, 2026-W11, 2026-03, 2026-Q1, 2026 (the page passes its own week and
    quarter patterns, in its language)."""
    if unit is Unit.DAY:
        return start.isoformat()
    if unit is Unit.WEEK:
        year, number, _day = start.isocalendar()
        return week.format(year=year, week=number)
    if unit is Unit.MONTH:
        return f"{start.year}-{start.month:02d}"
    if unit is Unit.QUARTER:
        return quarter.format(year=start.year, quarter=(start.month - 1) // 3 + 1)
    return str(start.year)


def change(current: int, base: int | None) -> Decimal | None:
    """(current − base) ÷ base in percent, one decimal; None when the base is missing or 0."""
    if base is None or base == 0:
        return None
    return (Decimal(current - base) * 100 / Decimal(base)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def ratio(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def hours(seconds: int, n: int) -> Decimal | None:
    if n == 0:
        return None
    return (Decimal(seconds) / Decimal(3600 * n)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class Scope:
    """What to count: one floor or all, one department or all, and the departments the viewer may see (None: all)."""

    floor: str | None = None
    department: str | None = None
    departments: list[str] | None = None

    def keeps(self, floor: str, department: str) -> bool:
        if self.floor and floor != self.floor:
            return False
        if self.department is not None and department != self.department:
            return False
        return self.departments is None or department in self.departments


@dataclass
class Period:
    start: date
    end: date
    label: str
    counts: dict[str, int]
    by_floor: dict[str, int]  # intake per floor
    live: bool  # holds today's live figures
    yoy: Decimal | None = None  # 同比, percent
    mom: Decimal | None = None  # 环比, percent
    yoy_base: int | None = None
    mom_base: int | None = None

    @property
    def on_time_rate(self) -> Decimal | None:
        return ratio(self.counts["on_time"], self.counts["with_promise"])

    @property
    def handling_hours(self) -> Decimal | None:
        return hours(self.counts["handling_seconds"], self.counts["with_promise"])

    @property
    def promised_hours(self) -> Decimal | None:
        return hours(self.counts["promised_seconds"], self.counts["with_promise"])

    @property
    def ratings(self) -> dict[str, int]:
        return {level: self.counts[f"rated_{level}"] for level in RATING_LEVELS}


@dataclass
class Report:
    unit: Unit
    periods: list[Period]
    first_stored: date | None  # history starts here (None: nothing stored yet)
    today: date
    floors: list[str] = field(default_factory=list)

    @property
    def ratings(self) -> dict[str, int]:
        total = dict.fromkeys(RATING_LEVELS, 0)
        for p in self.periods:
            for level, n in p.ratings.items():
                total[level] += n
        return total


def _daily(scope: Scope, begin: date, end: date) -> dict[date, dict[str, dict[str, int]]]:
    """Per day and floor, the stored sums of [begin, end) within the scope."""
    stmt = (
        select(DailyFigure.day, DailyFigure.floor, *(func.sum(getattr(DailyFigure, c)) for c in COUNTS))
        .where(DailyFigure.day >= begin, DailyFigure.day < end)
        .group_by(DailyFigure.day, DailyFigure.floor)
    )
    if scope.floor:
        stmt = stmt.where(DailyFigure.floor == scope.floor)
    if scope.department is not None:
        stmt = stmt.where(DailyFigure.department == scope.department)
    if scope.departments is not None:
        stmt = stmt.where(DailyFigure.department.in_(scope.departments))
    found: dict[date, dict[str, dict[str, int]]] = defaultdict(dict)
    for day, floor, *sums in db.session.execute(stmt):
        found[day][floor] = {c: int(v or 0) for c, v in zip(COUNTS, sums, strict=True)}
    return found


def _live(scope: Scope, day: date) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = defaultdict(aggregate.empty)
    for (floor, department), counts in aggregate.compute_day(day).items():
        if scope.keeps(floor, department):
            for c, v in counts.items():
                found[floor][c] += v
    return dict(found)


def first_stored() -> date | None:
    return db.session.scalar(select(func.min(DailyFigure.day)))


def report(unit: Unit, scope: Scope, until: date | None = None, labels: dict[str, str] | None = None) -> Report:
    """The last periods of `unit` up to the one holding `until` (default today), with 同比 and 环比."""
    today = aggregate.today()
    until = min(until or today, today)
    starts = [period_start(until, unit)]
    for _ in range(SERIES_LENGTH[unit] - 1):
        starts.insert(0, previous(starts[0], unit))
    bases = [year_before(s, unit) for s in starts] + [previous(starts[0], unit)]
    begin = min(bases)
    end = period_end(starts[-1], unit)
    daily = _daily(scope, begin, end)
    if today < end:
        daily[today] = _live(scope, today)  # never stored, computed now
    history_from = first_stored()

    def total(start: date) -> tuple[dict[str, int], dict[str, int]]:
        counts = aggregate.empty()
        by_floor: dict[str, int] = defaultdict(int)
        stop = period_end(start, unit)
        for day, floors in daily.items():
            if start <= day < stop:
                for floor, sums in floors.items():
                    for c, v in sums.items():
                        counts[c] += v
                    by_floor[floor] += sums["intake"]
        return counts, dict(by_floor)

    def base_intake(start: date) -> int | None:
        """The base period's intake; None when it lies wholly before history (and is not today)."""
        if period_end(start, unit) <= (history_from or today) and not (start <= today < period_end(start, unit)):
            return None
        return total(start)[0]["intake"]

    periods = []
    for start in starts:
        counts, by_floor = total(start)
        stop = period_end(start, unit)
        p = Period(start, stop, label(start, unit, **(labels or {})), counts, by_floor, live=start <= today < stop)
        p.yoy_base = base_intake(year_before(start, unit))
        p.mom_base = base_intake(previous(start, unit))
        p.yoy = change(counts["intake"], p.yoy_base)
        p.mom = change(counts["intake"], p.mom_base)
        periods.append(p)
    floors = sorted({f for p in periods for f in p.by_floor})
    return Report(unit, periods, history_from, today, floors)
