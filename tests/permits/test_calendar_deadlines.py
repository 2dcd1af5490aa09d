"""The deadline service: working and calendar days, pauses, extensions with approvals, the calendar's end.

The property test checks `deadlines.due_date` (prefix sums and bisection) against a plain day-by-day walk over
the table's rows, on the table seeded for 2025–2026: both agree on every date, or both fail with
CalendarNotLoaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.core.errors import ValidationFailed
from app.extensions import db
from app.permits.calendar import services
from app.permits.calendar.deadlines import (
    Approval,
    Calendar,
    CalendarNotLoaded,
    Counting,
    Extension,
    ExtensionKind,
    Pause,
    PauseReason,
    Rule,
    due_date,
    due_dates,
)
from app.permits.calendar.models import CalendarDay
from tests.permits.calendar_helpers import YEAR_2027

APPROVAL = Approval("局长 王某", datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "需要组织专家评审")


def reference_walk(
    table: Mapping[date, bool], accepted: date, rule: Rule, pauses: Sequence[Pause], extra: int = 0
) -> date:
    """Walk the table one day at a time: the plainest reading of the rules."""
    if accepted not in table:
        raise CalendarNotLoaded("")
    days = rule.days + extra
    if days == 0:
        return accepted
    day = accepted if rule.acceptance_day_counts else accepted + timedelta(days=1)
    remaining = days
    while True:
        if day not in table:
            raise CalendarNotLoaded("")
        paused = any(p.start <= day <= p.end for p in pauses if p.end is not None)
        if not paused and (rule.counting is Counting.CALENDAR or table[day]):
            remaining -= 1
            if remaining == 0:
                break
        day += timedelta(days=1)
    if rule.counting is Counting.CALENDAR and rule.roll_forward:
        while True:
            if day not in table:
                raise CalendarNotLoaded("")
            if table[day]:
                break
            day += timedelta(days=1)
    return day


@pytest.fixture
def table(app: Flask) -> dict[date, bool]:
    with app.app_context():
        services.seed(2025, 2026)
        db.session.commit()
        return {row.day: row.is_workday for row in db.session.scalars(select(CalendarDay))}


def test_across_the_2026_spring_festival(table: dict[date, bool]) -> None:
    cal = Calendar.from_days(table.items())
    # Accepted Thursday 12 February 2026: Fri 13 (1), Sat 14 调休 (2), 15–23 春节 off, Tue 24 (3), 25 (4), 26 (5).
    assert due_date(cal, date(2026, 2, 12), Rule(5)) == date(2026, 2, 26)
    assert due_date(cal, date(2026, 2, 12), Rule(5, acceptance_day_counts=True)) == date(2026, 2, 25)
    # Calendar days: 5 days from 13 February end on 17 February (春节), moved to the next workday.
    assert due_date(cal, date(2026, 2, 12), Rule(5, Counting.CALENDAR)) == date(2026, 2, 24)
    assert due_date(cal, date(2026, 2, 12), Rule(5, Counting.CALENDAR, roll_forward=False)) == date(2026, 2, 17)
    assert due_date(cal, date(2026, 2, 12), Rule(0)) == date(2026, 2, 12)  # 即办件


def test_pauses_stop_the_clock(table: dict[date, bool]) -> None:
    cal = Calendar.from_days(table.items())
    base = due_date(cal, date(2026, 3, 2), Rule(20))
    assert base == date(2026, 3, 30)
    correction = Pause(PauseReason.CORRECTION, date(2026, 3, 4), date(2026, 3, 10), "补正营业执照副本")
    # 3–4 March… the pause takes Wed 4 to Tue 10 (5 workdays): the due date moves by 5 workdays.
    assert due_date(cal, date(2026, 3, 2), Rule(20), [correction]) == date(2026, 4, 7)  # 4–6 April: 清明
    overlapping = Pause(PauseReason.EXPERT_REVIEW, date(2026, 3, 9), date(2026, 3, 11))
    assert due_date(cal, date(2026, 3, 2), Rule(20), [correction, overlapping]) == date(2026, 4, 8)
    still_open = Pause(PauseReason.HEARING, date(2026, 3, 20), None)
    result = due_dates(cal, date(2026, 3, 2), Rule(20), Rule(10), pauses=[correction, still_open])
    assert result.statutory is None and result.promised is None and result.paused_since == date(2026, 3, 20)
    with pytest.raises(ValidationFailed, match="before the acceptance day"):
        due_date(cal, date(2026, 3, 2), Rule(20), [Pause(PauseReason.TESTING, date(2026, 3, 1), date(2026, 3, 3))])
    with pytest.raises(ValidationFailed, match="before it starts"):
        due_date(cal, date(2026, 3, 2), Rule(20), [Pause(PauseReason.TESTING, date(2026, 3, 5), date(2026, 3, 3))])


def test_extensions_need_an_approval(table: dict[date, bool]) -> None:
    cal = Calendar.from_days(table.items())
    accepted = date(2026, 3, 2)
    standard = Extension(ExtensionKind.STANDARD, APPROVAL)
    assert due_date(cal, accepted, Rule(20), extensions=[standard]) == due_date(cal, accepted, Rule(30))
    joint = Extension(ExtensionKind.JOINT, APPROVAL)
    assert due_date(cal, accepted, Rule(45), extensions=[joint]) == due_date(cal, accepted, Rule(60))
    result = due_dates(cal, accepted, Rule(20), Rule(12), extensions=[standard])
    assert result.statutory == due_date(cal, accepted, Rule(30)) and result.promised == due_date(
        cal, accepted, Rule(22)
    )
    with pytest.raises(ValidationFailed, match="needs an approval"):
        due_date(cal, accepted, Rule(20), extensions=[Extension(ExtensionKind.STANDARD, None)])
    with pytest.raises(ValidationFailed, match="needs an approval"):
        due_date(
            cal,
            accepted,
            Rule(20),
            extensions=[Extension(ExtensionKind.STANDARD, Approval("x", APPROVAL.approved_at, " "))],
        )
    with pytest.raises(ValidationFailed, match="once only"):
        due_date(cal, accepted, Rule(20), extensions=[standard, standard])
    late = Approval("局长 王某", datetime(2026, 4, 1, 1, 0, tzinfo=UTC), "逾期才批")  # due 30 March
    with pytest.raises(ValidationFailed, match="after the time limit ran out on 2026-03-30"):
        due_date(cal, accepted, Rule(20), extensions=[Extension(ExtensionKind.STANDARD, late)])


def test_past_the_calendar_fails_loudly(app: Flask, table: dict[date, bool]) -> None:
    with app.app_context():
        cal = services.load_calendar()
        with pytest.raises(CalendarNotLoaded, match="ends on 2026-12-31") as caught:
            due_date(cal, date(2026, 12, 20), Rule(20))
        assert caught.value.status == 422 and caught.value.code == "calendar-not-loaded"
        with pytest.raises(CalendarNotLoaded, match="starts on 2025-01-01"):
            due_date(cal, date(2024, 12, 30), Rule(1))
        with pytest.raises(CalendarNotLoaded):
            due_date(cal, date(2026, 12, 20), Rule(20, Counting.CALENDAR))
        with pytest.raises(CalendarNotLoaded):  # an open pause past the end cannot be judged either
            due_date(cal, date(2026, 12, 20), Rule(5), [Pause(PauseReason.PUBLIC_NOTICE, date(2027, 1, 4), None)])
        with pytest.raises(CalendarNotLoaded, match="empty"):
            due_date(Calendar.from_days([]), date(2026, 1, 5), Rule(1))
        services.load_year_file(YEAR_2027.encode(), actor="test")
        cal = services.load_calendar()
        # 20 workdays from Sun 20 December 2026: 9 in December, 元旦 1–3 January 2027 off, then 11 more.
        assert due_date(cal, date(2026, 12, 20), Rule(20)) == date(2027, 1, 18)


@st.composite
def cases(draw: st.DrawFn) -> tuple[date, Rule, list[Pause]]:
    accepted = draw(st.dates(date(2024, 12, 25), date(2026, 12, 31)))
    rule = Rule(
        days=draw(st.integers(0, 80)),
        counting=draw(st.sampled_from(list(Counting))),
        acceptance_day_counts=draw(st.booleans()),
        roll_forward=draw(st.booleans()),
    )
    pauses = []
    for _ in range(draw(st.integers(0, 3))):
        start = accepted + timedelta(days=draw(st.integers(0, 60)))
        pauses.append(
            Pause(draw(st.sampled_from(list(PauseReason))), start, start + timedelta(days=draw(st.integers(0, 20))))
        )
    return accepted, rule, pauses


def test_due_dates_agree_with_a_day_by_day_walk(table: dict[date, bool]) -> None:
    cal = Calendar.from_days(table.items())

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(cases(), st.sampled_from([0, 10, 15]))
    def check(case: tuple[date, Rule, list[Pause]], extra: int) -> None:
        accepted, rule, pauses = case
        extensions = []
        if extra:
            kind = ExtensionKind.STANDARD if extra == 10 else ExtensionKind.JOINT
            extensions = [Extension(kind, Approval("负责人", datetime(2024, 12, 1, tzinfo=UTC), "理由"))]
        try:
            expected: date | None = reference_walk(table, accepted, rule, pauses, extra)
        except CalendarNotLoaded:
            expected = None
        try:
            got = due_date(cal, accepted, rule, pauses, extensions)
        except CalendarNotLoaded:
            got = None
        assert got == expected

    check()
