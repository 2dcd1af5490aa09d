"""Supervision statistics against hand-computed fixtures (tests/supervision/stats_fixtures.py): a day's figures,
the nightly rows (idempotent), periods with 同比 / 环比 (a missing base shown as —), rates and averages, the page and
its CSV by role, the wall's completions and on-time rate."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.supervision.models import DepartmentHead
from app.supervision.stats import aggregate, figures
from app.supervision.stats.figures import Scope, Unit
from app.supervision.stats.models import DailyFigure
from tests.accounts.helpers import login
from tests.factories import user
from tests.html import parse
from tests.permits.cases.helpers import DESK_ROLE
from tests.supervision.stats_fixtures import (
    CONVENIENCE_DEPT,
    NOW,
    TODAY,
    YESTERDAY,
    expected_0309,
    expected_today,
    seed,
)

ZH = "zh-CN,zh;q=0.9"
SECRETS: dict[str, str | None] = {}


@pytest.fixture
def world(desk_app: Flask, clock: Any) -> dict[str, Any]:
    clerk, _ = user(desk_app, "clerk", roles=[DESK_ROLE], totp=False, display_name="窗口王五")
    _w, SECRETS["watcher"] = user(desk_app, "watcher", roles=["supervisor"], display_name="监察李四")
    head, _ = user(desk_app, "head", roles=[DESK_ROLE], totp=False)
    permits = seed(desk_app, clerk)
    with desk_app.app_context():
        db.session.add(DepartmentHead(user_id=head, department=permits))
        db.session.commit()
    clock.set(NOW)
    return {"permits": permits}


def _in(app: Flask, fn: Any, *args: Any, commit: bool = False, **kwargs: Any) -> Any:
    with app.app_context():
        try:
            result = fn(*args, **kwargs)
            if commit:
                db.session.commit()
            return result
        finally:
            db.session.remove()


def _rows(app: Flask) -> list[tuple[Any, ...]]:
    def read() -> list[tuple[Any, ...]]:
        cols = [c for c in DailyFigure.__table__.columns]
        return [tuple(r) for r in db.session.execute(select(*cols).order_by(DailyFigure.id))]

    return list(_in(app, read))


# --- a day's figures --------------------------------------------------------------------------------------------


def test_a_day_matches_the_hand_computed_figures(desk_app: Flask, world: dict[str, Any]) -> None:
    assert _in(desk_app, aggregate.compute_day, YESTERDAY) == expected_0309(world["permits"])
    assert _in(desk_app, aggregate.compute_day, TODAY) == expected_today(world["permits"])
    # Sunday holds only the ticket taken at 23:59 Beijing time (15:59 UTC)
    sunday = _in(desk_app, aggregate.compute_day, date(2026, 3, 8))
    assert {k: v["intake"] for k, v in sunday.items()} == {("convenience", CONVENIENCE_DEPT): 1}


def test_storing_a_day_twice_leaves_the_same_rows(desk_app: Flask, world: dict[str, Any]) -> None:
    assert _in(desk_app, aggregate.store_day, YESTERDAY, commit=True) == 2
    first = _rows(desk_app)
    assert _in(desk_app, aggregate.store_day, YESTERDAY, commit=True) == 2
    assert _rows(desk_app) == first  # same ids, same figures, same computed_at
    stored = _in(
        desk_app,
        lambda: {
            (r.floor, r.department): {c: getattr(r, c) for c in aggregate.empty()}
            for r in db.session.scalars(select(DailyFigure))
        },
    )
    assert stored == expected_0309(world["permits"])

    # A rating excluded on appeal afterwards: the next run updates the row in place.
    def exclude() -> None:
        from app.convenience.rating.models import Rating

        found = db.session.scalar(select(Rating).where(Rating.level == "dissatisfied"))
        found.is_excluded = True
        db.session.commit()

    _in(desk_app, exclude)
    _in(desk_app, aggregate.store_day, YESTERDAY, commit=True)
    after = _rows(desk_app)
    assert [r[0] for r in after] == [r[0] for r in first]
    conv = _in(
        desk_app,
        lambda: db.session.scalar(select(DailyFigure).where(DailyFigure.floor == "convenience")).rated_dissatisfied,
    )
    assert conv == 0


def test_today_is_computed_live_never_stored(desk_app: Flask, world: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _in(desk_app, aggregate.store_day, TODAY)


def test_the_nightly_sweep_backfills_then_repeats_itself(desk_app: Flask, world: dict[str, Any]) -> None:
    from app.supervision.stats import tasks

    assert _in(desk_app, aggregate.sweep_days, commit=True) == {"days": 2, "rows": 3}  # Sunday and Monday
    first = _rows(desk_app)
    again = _in(desk_app, aggregate.sweep_days, commit=True)
    assert again["rows"] == 3 and _rows(desk_app) == first
    assert _in(desk_app, tasks.nightly, commit=True) == {"days": 0, "rows": 0}  # yesterday stored already
    assert _rows(desk_app) == first


# --- periods --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "day", "start", "end", "before", "year_ago"),
    [
        (Unit.DAY, date(2024, 2, 29), date(2024, 2, 29), date(2024, 3, 1), date(2024, 2, 28), date(2023, 2, 28)),
        (Unit.WEEK, date(2026, 3, 11), date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 2), date(2025, 3, 10)),
        (Unit.WEEK, date(2026, 12, 30), date(2026, 12, 28), date(2027, 1, 4), date(2026, 12, 21), date(2025, 12, 22)),
        (Unit.MONTH, date(2026, 3, 10), date(2026, 3, 1), date(2026, 4, 1), date(2026, 2, 1), date(2025, 3, 1)),
        (Unit.MONTH, date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1), date(2026, 11, 1), date(2025, 12, 1)),
        (Unit.QUARTER, date(2026, 3, 10), date(2026, 1, 1), date(2026, 4, 1), date(2025, 10, 1), date(2025, 1, 1)),
        (Unit.YEAR, date(2026, 3, 10), date(2026, 1, 1), date(2027, 1, 1), date(2025, 1, 1), date(2025, 1, 1)),
    ],
)
def test_periods(unit: Unit, day: date, start: date, end: date, before: date, year_ago: date) -> None:
    assert figures.period_start(day, unit) == start
    assert figures.period_end(start, unit) == end
    assert figures.previous(start, unit) == before
    assert figures.year_before(start, unit) == year_ago  # 2026-W53 has no twin in 2025: its last week


def test_change_and_rates_never_divide_by_zero() -> None:
    assert figures.change(6, 4) == Decimal("50.0")
    assert figures.change(6, 8) == Decimal("-25.0")
    assert figures.change(1, 3) == Decimal("-66.7")
    assert figures.change(5, 0) is None and figures.change(5, None) is None
    assert figures.ratio(2, 3) == Decimal("66.7") and figures.ratio(0, 0) is None
    assert figures.hours(10_000, 3) == Decimal("0.9") and figures.hours(0, 0) is None


def _store(app: Flask, day: date, floor: str, department: str, **counts: int) -> None:
    def add() -> None:
        db.session.add(
            DailyFigure(day=day, floor=floor, department=department, computed_at=NOW, **(aggregate.empty() | counts))
        )
        db.session.commit()

    _in(app, add)


@pytest.fixture
def history(desk_app: Flask, clock: Any) -> Flask:
    """Stored rows only (no items): March 2025, February and March 2026; today has nothing live."""
    clock.set(NOW)
    _store(desk_app, date(2025, 3, 15), "permits", "甲局", intake=4)
    _store(
        desk_app,
        date(2026, 2, 10),
        "permits",
        "甲局",
        intake=5,
        completed=3,
        with_promise=3,
        on_time=2,
        handling_seconds=10_000,
        promised_seconds=10_800,
    )
    _store(desk_app, date(2026, 2, 11), "convenience", "乙局", intake=3, completed=3)
    _store(
        desk_app,
        date(2026, 3, 2),
        "permits",
        "甲局",
        intake=6,
        completed=5,
        with_promise=4,
        on_time=3,
        handling_seconds=36_000,
        promised_seconds=43_200,
        deemed=2,
        rated_very_satisfied=3,
        rated_dissatisfied=1,
    )
    return desk_app


def test_months_with_year_on_year_and_period_on_period(history: Flask) -> None:
    rep = _in(history, figures.report, Unit.MONTH, Scope())
    by = {p.label: p for p in rep.periods}
    assert rep.periods[0].label == "2025-04" and rep.periods[-1].label == "2026-03"
    march, feb, april = by["2026-03"], by["2026-02"], by["2025-04"]
    assert march.live and not feb.live
    assert march.counts["intake"] == 6 and march.by_floor == {"permits": 6}
    assert (march.yoy_base, march.yoy) == (4, Decimal("50.0"))  # (6 − 4) ÷ 4
    assert (march.mom_base, march.mom) == (8, Decimal("-25.0"))  # (6 − 8) ÷ 8
    assert feb.by_floor == {"permits": 5, "convenience": 3}
    assert feb.yoy_base is None and feb.yoy is None  # February 2025 lies before the stored history
    assert feb.mom_base == 0 and feb.mom is None  # January 2026: stored history, nothing taken in
    assert (april.mom_base, april.mom) == (4, Decimal("-100.0"))
    assert march.on_time_rate == Decimal("75.0") and feb.on_time_rate == Decimal("66.7")
    assert march.handling_hours == Decimal("2.5") and march.promised_hours == Decimal("3.0")
    assert feb.handling_hours == Decimal("0.9") and feb.promised_hours == Decimal("1.0")
    assert by["2025-12"].on_time_rate is None and by["2025-12"].handling_hours is None
    assert march.counts["deemed"] == 2
    assert rep.ratings == {"very_satisfied": 3, "satisfied": 0, "basic": 0, "dissatisfied": 1, "very_dissatisfied": 0}
    assert rep.first_stored == date(2025, 3, 15)


def test_filters_by_floor_and_department(history: Flask) -> None:
    conv = {p.label: p for p in _in(history, figures.report, Unit.MONTH, Scope(floor="convenience")).periods}
    assert conv["2026-02"].counts["intake"] == 3 and conv["2026-03"].counts["intake"] == 0
    assert conv["2026-03"].mom == Decimal("-100.0") and conv["2026-03"].yoy is None  # base 0 in March 2025
    dept = {p.label: p for p in _in(history, figures.report, Unit.MONTH, Scope(department="甲局")).periods}
    assert dept["2026-02"].counts["intake"] == 5
    only = {p.label: p for p in _in(history, figures.report, Unit.MONTH, Scope(departments=["乙局"])).periods}
    assert only["2026-03"].counts["intake"] == 0 and only["2026-02"].counts["intake"] == 3


def test_quarters_and_years(history: Flask) -> None:
    quarters = {p.start: p for p in _in(history, figures.report, Unit.QUARTER, Scope()).periods}
    q1 = quarters[date(2026, 1, 1)]
    assert q1.counts["intake"] == 14 and q1.yoy_base == 4 and q1.yoy == Decimal("250.0")
    years = {p.label: p for p in _in(history, figures.report, Unit.YEAR, Scope()).periods}
    assert years["2026"].counts["intake"] == 14 and years["2026"].yoy == Decimal("250.0")
    assert years["2025"].yoy is None  # 2024: before history


def test_today_live_joins_the_stored_days(desk_app: Flask, world: dict[str, Any]) -> None:
    _in(desk_app, aggregate.sweep_days, commit=True)
    days = {p.label: p for p in _in(desk_app, figures.report, Unit.DAY, Scope()).periods}
    today, monday = days["2026-03-10"], days["2026-03-09"]
    assert today.live and today.counts["intake"] == 1 and today.on_time_rate == Decimal("100.0")
    assert today.handling_hours == Decimal("7.5") and today.promised_hours == Decimal("8.5")
    assert monday.counts["intake"] == 5 and monday.counts["completed"] == 4
    assert monday.on_time_rate == Decimal("66.7")  # 2 of 3 closed with a promise
    assert (today.mom_base, today.mom) == (5, Decimal("-80.0"))
    assert today.yoy is None  # 2025-03-10: before history
    assert days["2026-03-08"].mom is None  # Saturday: stored history starts on Sunday
    weeks = _in(desk_app, figures.report, Unit.WEEK, Scope()).periods
    assert weeks[-1].counts["intake"] == 6 and (weeks[-1].mom_base, weeks[-1].mom) == (1, Decimal("500.0"))


# --- pages, CSV, access ---------------------------------------------------------------------------------------------


def _client(app: Flask, name: str) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH
    assert login(client, name, totp_secret=SECRETS.get(name)).status_code == 303
    return client


def _table(doc: Any, table_id: str) -> dict[str, list[str]]:
    """The body rows by their first cell (the period or level)."""
    return {row[0]: row[1:] for row in doc.table(table_id)[1:]}


def test_the_page_for_a_supervisor(desk_app: Flask, world: dict[str, Any]) -> None:
    _in(desk_app, aggregate.sweep_days, commit=True)
    page = _client(desk_app, "watcher").get("/supervision/statistics/?unit=day")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "历史数据（每晚汇总）" in html and "今日实时" in html
    doc = parse(page.data)
    intake = _table(doc, "table-intake")
    # columns: source, convenience, permits, total, 同比, 环比
    assert intake["2026-03-10"][0] == "含今日实时" and intake["2026-03-10"][1:] == ["0", "1", "1", "—", "-80.0%"]
    assert intake["2026-03-09"][1:] == ["2", "3", "5", "—", "400.0%"]
    assert _table(doc, "table-on-time")["2026-03-09"] == ["4", "3", "2", "66.7%"]
    assert _table(doc, "table-time")["2026-03-10"] == ["7.5", "8.5"]
    assert _table(doc, "table-deemed")["2026-03-09"] == ["1"]
    assert _table(doc, "table-ratings") == {
        "非常满意": ["2"],
        "满意": ["0"],
        "基本满意": ["1"],
        "不满意": ["1"],
        "非常不满意": ["0"],
    }
    assert doc.has("stats-data") and len(doc.select("canvas", data_chart=True)) == 5


def test_a_department_head_sees_the_department_only(desk_app: Flask, world: dict[str, Any]) -> None:
    _in(desk_app, aggregate.sweep_days, commit=True)
    client = _client(desk_app, "head")
    doc = parse(client.get("/supervision/statistics/?unit=day").data)
    choices = [o.get("value") for o in doc.by_id("department").select("option")]
    assert choices == ["", world["permits"]]
    assert _table(doc, "table-intake")["2026-03-09"][1:] == ["3", "3", "—", "—"]  # permits only; Sunday had none
    assert client.get(f"/supervision/statistics/?department={CONVENIENCE_DEPT}").status_code == 400


def test_others_are_refused(desk_app: Flask, world: dict[str, Any]) -> None:
    assert _client(desk_app, "clerk").get("/supervision/statistics/").status_code == 403
    assert _client(desk_app, "clerk").get("/supervision/statistics/export.csv").status_code == 403
    anonymous = desk_app.test_client().get("/supervision/statistics/")
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["Location"]


def test_a_bad_filter_is_a_readable_400(desk_app: Flask, world: dict[str, Any]) -> None:
    client = _client(desk_app, "watcher")
    for query in ("unit=decade", "floor=attic", "unit=day&department=nowhere"):
        page = client.get(f"/supervision/statistics/?{query}")
        assert page.status_code == 400, query
        assert parse(page.data).has("filter-error")
    assert client.get("/supervision/statistics/export.csv?unit=decade").status_code == 400
    assert _in(desk_app, lambda: db.session.scalar(select(func.count()).select_from(DailyFigure))) == 0


def test_the_csv_export(desk_app: Flask, world: dict[str, Any]) -> None:
    _in(desk_app, aggregate.sweep_days, commit=True)
    resp = _client(desk_app, "watcher").get("/supervision/statistics/export.csv?unit=day")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    raw = resp.data
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:6] == ["期间", "来源", "办件量", "同比", "环比", "办结量"]
    by = {r[0]: r for r in rows[1:]}
    assert len(rows) == 1 + 14
    assert by["2026-03-10"][1:6] == ["含今日实时", "1", "—", "-80.0%", "1"]
    assert by["2026-03-09"][1:] == [
        "历史数据（每晚汇总）",
        "5",
        "—",
        "400.0%",
        "4",
        "3",
        "2",
        "66.7%",
        "2.8",
        "2.5",
        "1",
        "2",
        "0",
        "1",
        "1",
        "0",
    ]


def test_the_wall_shows_completions_and_the_on_time_rate(desk_app: Flask, world: dict[str, Any]) -> None:
    from app.supervision import services

    def tiles() -> dict[str, Any]:
        from app.accounts.models import User

        watcher = db.session.scalar(select(User).where(User.username == "watcher"))
        return {t.department: (t.completed_today, t.on_time_rate, t.intake_today) for t in services.wall(watcher)}

    found = _in(desk_app, tiles)
    assert found[world["permits"]] == (1, 100, 1)
    page = _client(desk_app, "watcher").get("/supervision/")
    doc = parse(page.data)
    tile = doc.one("li", data_department=world["permits"])
    assert tile.one(data_count="completed").text == "1"
    assert tile.one(data_count="on-time-rate").text == "100%"
    drill = tile.one("a", data_drill="department")
    assert "department=" in (drill.get("href") or "")
    signals = _client(desk_app, "watcher").get(drill.get("href"))
    assert signals.status_code == 200 and not parse(signals.data).has("filter-error")
    assert world["permits"] in parse(signals.data).one("h1").text


def test_a_signal_drills_down_to_its_case_and_person(desk_app: Flask, red: dict[str, Any]) -> None:
    from tests.supervision.followup_helpers import _client as signed_in

    client = signed_in(desk_app, "watcher")
    doc = parse(client.get(f"/supervision/signals/{red['signal']}").data)
    case = doc.by_id("case-link").get("href") or ""
    assert case.startswith("/supervision/cases/permits/")  # supervision's read-only page: the desk's needs the desk
    assert client.get(case).status_code == 200
    person = doc.by_id("person-link").get("href") or ""
    assert person == f"/supervision/people/{red['clerk']}"
    assert client.get(person).status_code == 200
    listed = parse(client.get(f"/supervision/signals?person={red['clerk']}").data)
    assert not listed.has("filter-error")
    assert [el.get("data-signal") for el in listed.select("li", data_signal=True)] == [str(red["signal"])]
    assert "窗口王五" in listed.one("h1").text
    nobody = parse(client.get("/supervision/signals?person=999999").data)
    assert nobody.has("no-signals") and "999999" not in nobody.one("h1").text
