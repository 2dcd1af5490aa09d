"""The calendar table: seeding from chinesecalendar, loading a year from the State Council's notice, reading.

A year file (YAML, UTF-8, at most 64 KiB) transcribes one notice (国务院办公厅关于YYYY年部分节假日安排的通知):

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕N号）
    holidays:
      - name: 元旦
        start: 2027-01-01
        end: 2027-01-03
      - name: 春节
        start: 2027-02-06
        end: 2027-02-13
        workdays: [2027-02-14]   # 调休上班: a Saturday or Sunday worked in exchange
      ...

Every day of the year not named is a workday from Monday to Friday and a rest day on Saturday and Sunday. The
file is refused as a whole, with every problem listed, when: it is not that shape; a date is not a real
YYYY-MM-DD date of that year; a holiday ends before it starts or overlaps another; a make-up working day is
not a Saturday or Sunday, falls inside a holiday or is listed twice; one of the seven statutory festivals
(元旦 春节 清明 劳动 端午 中秋 国庆) is missing (a partial notice); the year is loaded already (unless
`replace`); or it would leave a gap after or before the loaded years. Nothing is written unless all is well.
"""

from __future__ import annotations

import calendar as stdlib_calendar
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import yaml
from sqlalchemy import delete, func, select

from app import audit
from app.core.db import db
from app.core.errors import Conflict, ValidationFailed
from app.core.problems import N_
from app.permits.calendar.deadlines import Calendar, DueDates, Extension, Pause, Rule, due_dates
from app.permits.calendar.models import CalendarDay

SEED_FIRST, SEED_LAST = 2004, 2026  # the years chinesecalendar 1.11.0 knows
MAX_FILE_BYTES = 64 * 1024
FESTIVALS = ("元旦", "春节", "清明", "劳动", "端午", "中秋", "国庆")
MAKEUP_SUFFIX = "（调休上班）"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarFileInvalid(ValidationFailed):
    """A year file with problems: `problems` holds each one as (N_-marked message, params), all of them."""

    def __init__(self, detail: str, params: dict[str, Any], problems: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__(detail, params=params)
        self.problems = problems
        self.extra["problems"] = [message % params if params else message for message, params in problems]


# --- reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedYear:
    year: int
    days: int
    workdays: int
    holidays: int  # named rest days
    makeup_workdays: int  # 调休上班
    sources: list[str]

    @property
    def complete(self) -> bool:
        return self.days == (366 if stdlib_calendar.isleap(self.year) else 365)


def loaded_years() -> list[LoadedYear]:
    rows = db.session.execute(select(CalendarDay).order_by(CalendarDay.day)).scalars()
    by_year: dict[int, list[CalendarDay]] = {}
    for row in rows:
        by_year.setdefault(row.day.year, []).append(row)
    return [
        LoadedYear(
            year=year,
            days=len(days),
            workdays=sum(1 for d in days if d.is_workday),
            holidays=sum(1 for d in days if d.is_holiday),
            makeup_workdays=sum(1 for d in days if d.is_makeup_workday),
            sources=sorted({d.source for d in days}),
        )
        for year, days in sorted(by_year.items())
    ]


def year_is_loaded(year: int) -> bool:
    count = db.session.scalar(
        select(func.count())
        .select_from(CalendarDay)
        .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    )
    return bool(count)


def year_days(year: int) -> list[CalendarDay]:
    return list(
        db.session.scalars(
            select(CalendarDay)
            .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
            .order_by(CalendarDay.day)
        )
    )


def load_calendar() -> Calendar:
    """The whole table in memory, for the deadline functions (one query; ~9,000 rows for 25 years)."""
    return Calendar.from_days(
        (row.day, row.is_workday) for row in db.session.execute(select(CalendarDay.day, CalendarDay.is_workday))
    )


def compute_due_dates(
    accepted_on: date,
    statutory: Rule,
    promised: Rule | None = None,
    *,
    pauses: Sequence[Pause] = (),
    extensions: Sequence[Extension] = (),
) -> DueDates:
    """A case's statutory and promised due dates on the table, in the center's zone (see deadlines.py)."""
    from flask import current_app

    zone = current_app.config["CENTER_TIMEZONE"]
    return due_dates(load_calendar(), accepted_on, statutory, promised, pauses=pauses, extensions=extensions, zone=zone)


def missing_next_year(today: date) -> int | None:
    """From November on: the next year when it is not loaded (the admin page warns); otherwise None."""
    if today.month >= 11 and not year_is_loaded(today.year + 1):
        return today.year + 1
    return None


# --- seeding -----------------------------------------------------------------------------------------


def _days(year: int) -> Iterator[date]:
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def seed_source() -> str:
    import chinese_calendar

    return f"chinesecalendar {chinese_calendar.__version__}"


def seed(first: int = SEED_FIRST, last: int = SEED_LAST, *, actor: str = "system") -> int:
    """Add the days chinesecalendar knows for [first, last] that the table does not hold yet; returns how many.

    Idempotent; a day already present (loaded from a notice or an earlier seed) is left as it is.
    """
    import chinese_calendar

    if first < SEED_FIRST or last > SEED_LAST or first > last:
        raise ValidationFailed(
            N_("chinesecalendar knows the years %(first)s to %(last)s only."),
            params={"first": SEED_FIRST, "last": SEED_LAST},
        )
    present = set(
        db.session.scalars(
            select(CalendarDay.day).where(CalendarDay.day.between(date(first, 1, 1), date(last, 12, 31)))
        )
    )
    source = seed_source()
    rows = []
    for year in range(first, last + 1):
        for day in _days(year):
            if day in present:
                continue
            is_holiday, english = chinese_calendar.get_holiday_detail(day)
            name = chinese_calendar.Holiday(english).chinese if english else ""
            is_workday = not is_holiday
            if is_workday and name and day.weekday() >= 5:
                name += MAKEUP_SUFFIX
            elif is_workday:
                name = ""
            rows.append({"date": day, "is_workday": is_workday, "name": name, "source": source})
    if rows:
        db.session.execute(CalendarDay.__table__.insert(), rows)
        audit.record(
            "permits.calendar.seeded",
            actor=actor,
            subject=f"calendar:{first}-{last}",
            data={"days": len(rows), "source": source},
        )
    return len(rows)


# --- loading a year from the notice ------------------------------------------------------------------


@dataclass
class Holiday:
    name: str
    start: date
    end: date
    workdays: list[date] = field(default_factory=list)


@dataclass
class YearPlan:
    year: int
    source: str
    holidays: list[Holiday]

    def rows(self) -> list[dict[str, Any]]:
        named: dict[date, tuple[bool, str]] = {}
        for holiday in self.holidays:
            day = holiday.start
            while day <= holiday.end:
                named[day] = (False, holiday.name)
                day += timedelta(days=1)
            for workday in holiday.workdays:
                named[workday] = (True, holiday.name + MAKEUP_SUFFIX)
        out = []
        for day in _days(self.year):
            is_workday, name = named.get(day, (day.weekday() < 5, ""))
            out.append({"date": day, "is_workday": is_workday, "name": name, "source": self.source})
        return out


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    def error(self) -> CalendarFileInvalid:
        return CalendarFileInvalid(
            N_("The calendar file has %(count)s problem(s); nothing was loaded."),
            params={"count": len(self.items)},
            problems=self.items,
        )

    def add(self, message: str, **params: Any) -> None:
        self.items.append((message, params))


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _date(value: Any, where: str, year: int | None, problems: _Problems) -> date | None:
    text = value.strip() if isinstance(value, str) else None
    if text is None or not _ISO_DATE.fullmatch(text):
        problems.add(N_("%(where)s: %(value)s is not a date written YYYY-MM-DD."), where=where, value=repr(value))
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.add(N_("%(where)s: %(value)s is not a real date."), where=where, value=text)
        return None
    if year is not None and day.year != year:
        problems.add(N_("%(where)s: %(value)s is not in %(year)s."), where=where, value=text, year=year)
        return None
    return day


def parse_year_file(data: bytes) -> YearPlan:
    """Read and check a year file (see the module's documentation); CalendarFileInvalid lists every problem."""
    problems = _Problems()
    if len(data) > MAX_FILE_BYTES:
        problems.add(N_("The file is larger than %(limit)s KiB."), limit=MAX_FILE_BYTES // 1024)
        raise problems.error()
    try:
        text = data.decode("utf-8-sig")
        # BaseLoader builds no objects at all (every scalar a string): safer than safe_load, and no guessed types
        doc = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506
    except UnicodeDecodeError:
        problems.add(N_("The file is not UTF-8 text."))
        raise problems.error() from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.add(N_("The file is not valid YAML (line %(line)s)."), line=(mark.line + 1) if mark else "?")
        raise problems.error() from None
    if not isinstance(doc, dict):
        problems.add(N_("The file must be a mapping with the keys year, source and holidays."))
        raise problems.error()
    for key in sorted(set(doc) - {"year", "source", "holidays"}):
        problems.add(N_("Unknown key %(key)s."), key=repr(key))

    year: int | None = None
    raw_year = doc.get("year")
    if isinstance(raw_year, str) and raw_year.strip().isdigit() and 1949 < int(raw_year) < 2200:
        year = int(raw_year)
    else:
        problems.add(N_("year: %(value)s is not a year."), value=repr(raw_year))
    source = _text(doc.get("source"))
    if source is None:
        problems.add(N_("source: name the notice the year comes from (e.g. 国办发明电〔2026〕N号)."))
    elif len(source) > 200:
        problems.add(N_("source: at most %(limit)s characters."), limit=200)

    holidays: list[Holiday] = []
    raw_holidays = doc.get("holidays")
    if not isinstance(raw_holidays, list) or not raw_holidays:
        problems.add(N_("holidays: a list of the notice's holidays is required."))
        raw_holidays = []
    for index, raw in enumerate(raw_holidays, start=1):
        where = f"holidays[{index}]"
        if not isinstance(raw, dict):
            problems.add(N_("%(where)s: must be a mapping with name, start, end and workdays."), where=where)
            continue
        for key in sorted(set(raw) - {"name", "start", "end", "workdays"}):
            problems.add(N_("%(where)s: unknown key %(key)s."), where=where, key=repr(key))
        name = _text(raw.get("name"))
        if name is None or len(name) > 80:
            problems.add(N_("%(where)s: a name of 1 to 80 characters is required."), where=where)
        label = f"{where} {name or ''}".strip()
        start = _date(raw.get("start"), f"{label} start", year, problems)
        end = _date(raw.get("end"), f"{label} end", year, problems)
        raw_workdays = raw.get("workdays", [])
        if not isinstance(raw_workdays, list):
            problems.add(N_("%(where)s: workdays must be a list of dates."), where=label)
            raw_workdays = []
        workdays = [d for d in (_date(w, f"{label} workdays", year, problems) for w in raw_workdays) if d]
        if start is None or end is None or name is None:
            continue
        if end < start:
            problems.add(
                N_("%(where)s: ends (%(end)s) before it starts (%(start)s)."), where=label, start=start, end=end
            )
            continue
        if (end - start).days >= 31:
            problems.add(N_("%(where)s: longer than a month; check the dates."), where=label)
            continue
        holidays.append(Holiday(name, start, end, workdays))

    _check_consistency(holidays, problems)
    if holidays and not problems.items:
        names = " ".join(h.name for h in holidays)
        for festival in FESTIVALS:
            if festival not in names:
                problems.add(
                    N_("No holiday named %(festival)s: the file must transcribe the whole notice."), festival=festival
                )
    if problems.items or year is None or source is None:
        raise problems.error()
    return YearPlan(year, source, holidays)


def _check_consistency(holidays: Sequence[Holiday], problems: _Problems) -> None:
    ordered = sorted(holidays, key=lambda h: h.start)
    for before, after in itertools.pairwise(ordered):
        if after.start <= before.end:
            problems.add(N_("%(first)s and %(second)s overlap."), first=before.name, second=after.name)
    seen: set[date] = set()
    for holiday in holidays:
        for day in holiday.workdays:
            if day in seen:
                problems.add(N_("%(day)s is listed twice as a make-up working day."), day=day)
            seen.add(day)
            if day.weekday() < 5:
                problems.add(
                    N_("%(day)s (%(name)s): a make-up working day must be a Saturday or Sunday."),
                    day=day,
                    name=holiday.name,
                )
            for other in holidays:
                if other.start <= day <= other.end:
                    problems.add(
                        N_("%(day)s is a make-up working day inside the holiday %(name)s."), day=day, name=other.name
                    )


def load_year(plan: YearPlan, *, actor: Any, replace: bool = False) -> int:
    """Write a checked year (flush, no commit); returns the number of days written."""
    loaded = [y.year for y in loaded_years()]
    if plan.year in loaded and not replace:
        raise Conflict(
            N_("%(year)s is loaded already; load it again with replace to change it."), params={"year": plan.year}
        )
    if plan.year not in loaded and loaded and plan.year not in (loaded[0] - 1, loaded[-1] + 1):
        raise Conflict(
            N_("The calendar holds %(first)s to %(last)s; load the years in between before %(year)s."),
            params={"first": loaded[0], "last": loaded[-1], "year": plan.year},
        )
    replaced = plan.year in loaded
    if replaced:
        db.session.execute(
            delete(CalendarDay).where(CalendarDay.day.between(date(plan.year, 1, 1), date(plan.year, 12, 31)))
        )
    rows = plan.rows()
    db.session.execute(CalendarDay.__table__.insert(), rows)
    db.session.flush()
    audit.record(
        "permits.calendar.year_loaded",
        actor=actor,
        subject=f"calendar:{plan.year}",
        data={
            "year": plan.year,
            "source": plan.source,
            "replaced": replaced,
            "holidays": [
                {
                    "name": h.name,
                    "start": h.start.isoformat(),
                    "end": h.end.isoformat(),
                    "workdays": [d.isoformat() for d in h.workdays],
                }
                for h in plan.holidays
            ],
        },
    )
    return len(rows)


def load_year_file(data: bytes, *, actor: Any, replace: bool = False) -> YearPlan:
    """Check and write a year file: the CLI and the admin page both come here."""
    plan = parse_year_file(data)
    load_year(plan, actor=actor, replace=replace)
    return plan


def seed_demo() -> list[str]:
    """The demo's calendar: the chinesecalendar years (what `make run` prints)."""
    added = seed(actor="demo")
    return [f"working-day calendar: {added} days of {SEED_FIRST}–{SEED_LAST} from {seed_source()}"] if added else []
