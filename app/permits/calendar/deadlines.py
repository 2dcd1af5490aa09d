"""The one deadline service: a due date is n working (or calendar) days from acceptance, on our own calendar.

- **Counting.** Working-day mode counts the workdays of `calendar_day` (holidays off, 调休 Saturdays and
  Sundays on); calendar-day mode counts every day and, when the last one is not a workday, moves the due date
  to the next workday (`roll_forward`). Whether the acceptance day itself counts is the item's rule. n = 0
  (即办件) is due on the acceptance day.
- **Pauses** (补正, 听证, 检测, 现场核查, 专家评审, 公示) stop the clock from their first day to their last,
  both included; the clock runs again the day after. Overlapping pauses stop it once. A pause that is still
  open (no end) leaves the due date unknown (None) until it ends.
- **Extensions** add 10 days (行政许可法 第四十二条) or 15 for joint handling, in the rule's unit (working days
  for every statutory limit), each at most once and only with an approval (who, when, why), approved no
  later than the due date it extends. The notice to the applicant is the case's business.
- **The calendar's end.** A count that reaches past the last loaded day raises `CalendarNotLoaded`: no
  guessing with weekdays. Statutory and promised due dates are computed side by side (`due_dates`).

The functions are pure over a `Calendar` (loaded once from the table by `services.load_calendar()`), so a
sweep over many cases reads the table once; each due date costs O(pauses + log days).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.core.errors import DomainError, ValidationFailed
from app.core.problems import N_


class CalendarNotLoaded(DomainError):
    status = 422
    code = "calendar-not-loaded"
    title = N_("The working-day calendar does not reach this date")
    description = N_(
        "A due date was asked for a day the platform's working-day calendar does not hold: the State "
        "Council's holiday notice for that year has not been loaded. Nothing is guessed from weekdays. An "
        "administrator loads the year on the calendar page (or with `flask permits calendar load`), then the "
        "request can be sent again."
    )


class Counting(enum.StrEnum):
    WORKING = "working"  # 工作日
    CALENDAR = "calendar"  # 自然日


class PauseReason(enum.StrEnum):
    CORRECTION = "correction"  # 补正材料
    HEARING = "hearing"  # 听证
    TENDER_AUCTION = "tender_auction"  # 招标、拍卖
    TESTING = "testing"  # 检验、检测、检疫
    APPRAISAL = "appraisal"  # 鉴定
    INSPECTION = "inspection"  # 现场核查, 联合踏勘
    RECTIFICATION = "rectification"  # 整改: waiting for the applicant after a site inspection
    EXPERT_REVIEW = "expert_review"  # 专家评审
    PUBLIC_NOTICE = "public_notice"  # 公示


class ExtensionKind(enum.StrEnum):
    STANDARD = "standard"  # 经本机关负责人批准延长十日
    JOINT = "joint"  # 统一办理、联合办理、集中办理延长十五日


EXTENSION_DAYS: Mapping[ExtensionKind, int] = {ExtensionKind.STANDARD: 10, ExtensionKind.JOINT: 15}


@dataclass(frozen=True)
class Rule:
    """How an item counts its limit: `days` in `counting` mode; whether the acceptance day counts."""

    days: int
    counting: Counting = Counting.WORKING
    acceptance_day_counts: bool = False
    roll_forward: bool = True  # calendar-day mode: a due date on a rest day moves to the next workday


@dataclass(frozen=True)
class Pause:
    reason: PauseReason
    start: date
    end: date | None  # None: still running
    note: str = ""


@dataclass(frozen=True)
class Approval:
    """Who approved an extension, when, and why (the case model keeps it; here it is checked and used)."""

    approved_by: str
    approved_at: datetime
    reason: str


@dataclass(frozen=True)
class Extension:
    kind: ExtensionKind
    approval: Approval | None

    @property
    def days(self) -> int:
        return EXTENSION_DAYS[self.kind]


@dataclass(frozen=True)
class DueDates:
    """The statutory (法定) and promised (承诺) due dates; None while an open pause stops the clock."""

    statutory: date | None
    promised: date | None
    paused_since: date | None = None


@dataclass
class Calendar:
    """The loaded days, in memory: contiguous from `first` to `last` (a gap ends what counts as loaded)."""

    first: date | None = None
    last: date | None = None
    _workday: list[bool] = field(default_factory=list)
    _workday_ords: list[int] = field(default_factory=list)  # ordinals of the workdays, ascending
    _prefix: list[int] = field(default_factory=list)  # _prefix[i]: workdays among the first i days

    @classmethod
    def from_days(cls, days: Iterable[tuple[date, bool]]) -> Calendar:
        ordered = sorted(days)
        cal = cls()
        if not ordered:
            return cal
        cal.first = ordered[0][0]
        expected = cal.first
        count = 0
        cal._prefix.append(0)
        for day, is_workday in ordered:
            if day != expected:
                break
            cal._workday.append(is_workday)
            if is_workday:
                cal._workday_ords.append(day.toordinal())
                count += 1
            cal._prefix.append(count)
            cal.last = day
            expected = day + timedelta(days=1)
        return cal

    def covers(self, day: date) -> bool:
        return self.first is not None and self.last is not None and self.first <= day <= self.last

    def require(self, day: date) -> None:
        if self.first is None or self.last is None:
            raise CalendarNotLoaded(N_("The working-day calendar is empty: load a year before computing due dates."))
        if day > self.last:
            raise CalendarNotLoaded(
                N_(
                    "The working-day calendar ends on %(last)s; %(day)s is after it. Load the State Council's "
                    "holiday notice for %(year)s before computing this due date."
                ),
                params={"last": self.last.isoformat(), "day": day.isoformat(), "year": self.last.year + 1},
            )
        if day < self.first:
            raise CalendarNotLoaded(
                N_("The working-day calendar starts on %(first)s; %(day)s is before it."),
                params={"first": self.first.isoformat(), "day": day.isoformat()},
            )

    def is_workday(self, day: date) -> bool:
        self.require(day)
        assert self.first is not None
        return self._workday[(day - self.first).days]

    def _index(self, day: date) -> int:
        assert self.first is not None
        return (day - self.first).days

    def workdays_between(self, start: date, end: date) -> int:
        """Workdays in [start, end] (both covered; 0 when end < start)."""
        if end < start:
            return 0
        return self._prefix[self._index(end) + 1] - self._prefix[self._index(start)]

    def nth_workday_from(self, start: date, n: int) -> date:
        """The n-th workday (n ≥ 1) on or after `start` (covered); CalendarNotLoaded when the table ends first."""
        k = self._prefix[self._index(start)] + n  # the k-th workday of the whole table, 1-based
        if k > len(self._workday_ords):
            assert self.last is not None
            self.require(self.last + timedelta(days=1))
        return date.fromordinal(self._workday_ords[k - 1])

    def next_workday_on_or_after(self, day: date) -> date:
        self.require(day)
        i = bisect.bisect_left(self._workday_ords, day.toordinal())
        if i == len(self._workday_ords):
            assert self.last is not None
            self.require(self.last + timedelta(days=1))
        return date.fromordinal(self._workday_ords[i])


ACCEPTANCE_LIMIT_DAYS = 5  # 行政许可法 第三十二条: the desk decides within 5 working days of receipt


def acceptance_deadline(calendar: Calendar, received_on: date) -> date:
    """The last day the desk may decide on an application: the 5th working day after the day of receipt (the one
    computation the desk, its deemed-acceptance sweep and supervision's lights share). Raises CalendarNotLoaded."""
    start = received_on + timedelta(days=1)
    calendar.require(start)
    return calendar.nth_workday_from(start, ACCEPTANCE_LIMIT_DAYS)


def paused_days(calendar: Calendar, pauses: Sequence[Pause], begin: date, today: date, *, working: bool = True) -> int:
    """The days (workdays in working-day mode) the clock stood still from `begin` to `today`: each pause from its
    first day to its last (an open one to today), overlaps counted once; days the calendar does not hold are not
    counted (a pause cannot reach past today's loaded year in practice)."""
    spans = _merged([Pause(p.reason, p.start, p.end if p.end is not None else today) for p in pauses], begin)
    total = 0
    for start, stop in spans:
        if min(stop, today) < start or not calendar.covers(start):
            continue
        assert calendar.last is not None
        end = min(stop, today, calendar.last)
        total += calendar.workdays_between(start, end) if working else (end - start).days + 1
    return total


def _merged(pauses: Sequence[Pause], begin: date) -> list[tuple[date, date]]:
    """Closed pauses as sorted, disjoint [start, end] intervals, cut to start no earlier than `begin`."""
    spans = sorted((max(p.start, begin), p.end) for p in pauses if p.end is not None and p.end >= begin)
    merged: list[tuple[date, date]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1] + timedelta(days=1):
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _check_pauses(accepted_on: date, pauses: Sequence[Pause]) -> date | None:
    """Refuse impossible pauses; the start of the earliest open one (or None)."""
    open_since: date | None = None
    for pause in pauses:
        if pause.start < accepted_on:
            raise ValidationFailed(
                N_("A pause cannot start (%(start)s) before the acceptance day (%(accepted)s)."),
                params={"start": pause.start.isoformat(), "accepted": accepted_on.isoformat()},
            )
        if pause.end is None:
            open_since = pause.start if open_since is None else min(open_since, pause.start)
        elif pause.end < pause.start:
            raise ValidationFailed(
                N_("A pause cannot end (%(end)s) before it starts (%(start)s)."),
                params={"start": pause.start.isoformat(), "end": pause.end.isoformat()},
            )
    return open_since


def _count(calendar: Calendar, accepted_on: date, days: int, rule: Rule, spans: list[tuple[date, date]]) -> date:
    calendar.require(accepted_on)
    if days == 0:
        return accepted_on
    cursor = accepted_on if rule.acceptance_day_counts else accepted_on + timedelta(days=1)
    remaining = days
    working = rule.counting is Counting.WORKING
    for start, end in spans:
        if end < cursor:
            continue
        if start > cursor:
            calendar.require(cursor)
            segment_end = start - timedelta(days=1)
            assert calendar.last is not None
            if segment_end > calendar.last:  # the table ends before this pause: the count ends before it, or fails
                return _finish(calendar, cursor, remaining, rule)
            available = calendar.workdays_between(cursor, segment_end) if working else (start - cursor).days
            if available >= remaining:
                return _finish(calendar, cursor, remaining, rule)
            remaining -= available
        cursor = end + timedelta(days=1)
    calendar.require(cursor)
    return _finish(calendar, cursor, remaining, rule)


def _finish(calendar: Calendar, cursor: date, remaining: int, rule: Rule) -> date:
    if rule.counting is Counting.WORKING:
        return calendar.nth_workday_from(cursor, remaining)
    due = cursor + timedelta(days=remaining - 1)
    calendar.require(due)
    return calendar.next_workday_on_or_after(due) if rule.roll_forward else due


def _check_extensions(extensions: Sequence[Extension]) -> list[Extension]:
    seen: set[ExtensionKind] = set()
    for ext in extensions:
        approval = ext.approval
        if approval is None or not approval.approved_by.strip() or not approval.reason.strip():
            raise ValidationFailed(
                N_("An extension needs an approval: who approved it, when, and the reason."),
                params={},
            )
        if approval.approved_at.tzinfo is None:
            raise ValidationFailed(N_("An extension's approval time must name its time zone."))
        if ext.kind in seen:
            raise ValidationFailed(
                N_("The %(kind)s extension can be granted once only."), params={"kind": ext.kind.value}
            )
        seen.add(ext.kind)
    return sorted(extensions, key=lambda e: e.approval.approved_at)  # type: ignore[union-attr]  # checked above


def due_date(
    calendar: Calendar,
    accepted_on: date,
    rule: Rule,
    pauses: Sequence[Pause] = (),
    extensions: Sequence[Extension] = (),
    *,
    zone: str = "Asia/Shanghai",
) -> date | None:
    """The due date under `rule`, or None while an open pause stops the clock. See the module's documentation."""
    return due_dates(calendar, accepted_on, rule, None, pauses=pauses, extensions=extensions, zone=zone).statutory


def due_dates(
    calendar: Calendar,
    accepted_on: date,
    statutory: Rule,
    promised: Rule | None,
    *,
    pauses: Sequence[Pause] = (),
    extensions: Sequence[Extension] = (),
    zone: str = "Asia/Shanghai",
) -> DueDates:
    """The statutory and the promised due dates of one case, side by side (same pauses and extensions)."""
    if statutory.days < 0 or (promised is not None and promised.days < 0):
        raise ValidationFailed(N_("A time limit cannot be negative."))
    open_since = _check_pauses(accepted_on, pauses)
    ordered = _check_extensions(extensions)
    if open_since is not None:
        calendar.require(open_since)
        return DueDates(None, None, paused_since=open_since)
    spans = _merged(pauses, accepted_on)
    tz = ZoneInfo(zone) if ordered else None
    return DueDates(
        statutory=_due(calendar, accepted_on, statutory, spans, ordered, tz=tz),
        promised=_due(calendar, accepted_on, promised, spans, ordered, tz=tz) if promised is not None else None,
    )


def _due(
    calendar: Calendar,
    accepted_on: date,
    rule: Rule,
    spans: list[tuple[date, date]],
    ordered: list[Extension],
    *,
    tz: ZoneInfo | None,
) -> date:
    days = rule.days
    due = _count(calendar, accepted_on, days, rule, spans)
    for ext in ordered:
        assert ext.approval is not None and tz is not None
        approved_on = ext.approval.approved_at.astimezone(tz).date()
        if approved_on > due:
            raise ValidationFailed(
                N_("The extension was approved on %(approved)s, after the time limit ran out on %(due)s."),
                params={"approved": approved_on.isoformat(), "due": due.isoformat()},
            )
        days += ext.days
        due = _count(calendar, accepted_on, days, rule, spans)
    return due
