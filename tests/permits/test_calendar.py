"""The calendar table: seeding from chinesecalendar (cross-checked with `holidays`), loading a year, the CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import holidays
import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from app.permits.calendar import services
from app.permits.calendar.models import CalendarDay
from app.permits.calendar.services import CalendarFileInvalid
from tests.permits.calendar_helpers import YEAR_2027

# Days where the two libraries disagree, with who we follow. chinesecalendar is our seed (it transcribes the
# notices); `holidays` is only the cross-check.
ALLOWED_DIFFERENCES = {
    # 国办发明电〔2005〕35号 moved the weekend around 元旦 2006; `holidays` has Saturday 2005-12-31 as a working
    # day, chinesecalendar as a rest day. We keep chinesecalendar's reading until someone checks the notice.
    date(2005, 12, 31): "元旦 2006 调休",
}


def _count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(CalendarDay)) or 0)


def test_seed_is_idempotent_and_matches_holidays(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["permits", "calendar", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        total = _count()
        assert total == (date(2026, 12, 31) - date(2004, 1, 1)).days + 1
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "permits.calendar.seeded")
            )
            == 1
        )
    again = runner.invoke(args=["permits", "calendar", "seed"])
    assert again.exit_code == 0 and again.output.startswith("0 days added")
    with app.app_context():
        assert _count() == total
        table = {row.day: row for row in db.session.scalars(select(CalendarDay))}
        # The cross-check: every day of the years both libraries know.
        china = holidays.China(years=range(2004, 2027))
        differences = {day for day, row in table.items() if china.is_working_day(day) != row.is_workday}
        assert differences == set(ALLOWED_DIFFERENCES)
        # Names and 调休 of the 2026 Spring Festival.
        assert table[date(2026, 2, 17)].name == "春节" and not table[date(2026, 2, 17)].is_workday
        assert table[date(2026, 2, 14)].is_workday and table[date(2026, 2, 14)].name == "春节（调休上班）"
        assert table[date(2026, 2, 14)].is_makeup_workday
        assert table[date(2026, 3, 7)].name == "" and not table[date(2026, 3, 7)].is_workday  # a plain Saturday
        assert {row.source for row in table.values()} == {"chinesecalendar 1.11.0"}
        years = services.loaded_years()
        assert [y.year for y in years] == list(range(2004, 2027)) and all(y.complete for y in years)


def test_load_a_year_from_the_notice(app: Flask) -> None:
    with app.app_context():
        services.seed(2026, 2026)
        plan = services.load_year_file(YEAR_2027.encode(), actor="test")
        db.session.commit()
        rows = {r.day: r for r in services.year_days(2027)}
        assert len(rows) == 365 and plan.year == 2027
        assert rows[date(2027, 2, 8)].name == "春节" and not rows[date(2027, 2, 8)].is_workday
        assert rows[date(2027, 2, 14)].is_workday and rows[date(2027, 2, 14)].name == "春节（调休上班）"
        assert rows[date(2027, 3, 1)].is_workday and rows[date(2027, 3, 6)].is_workday is False
        assert rows[date(2027, 3, 1)].source.startswith("国务院办公厅")
        # Loaded already: refused without replace, nothing changes; with replace the year is rewritten.
        with pytest.raises(Exception, match="loaded already"):
            services.load_year_file(YEAR_2027.encode(), actor="test")
        db.session.rollback()
        changed = YEAR_2027.replace("start: 2027-06-09", "start: 2027-06-08")
        services.load_year_file(changed.encode(), actor="test", replace=True)
        db.session.commit()
        assert not db.session.get(CalendarDay, date(2027, 6, 8)).is_workday
        assert _count() == 365 * 2


BAD_FILES = [
    ("not: [valid", "not valid YAML"),
    ("- a list", "must be a mapping"),
    (YEAR_2027.replace("2027-02-13", "2027-02-30"), "2027-02-30 is not a real date"),
    (YEAR_2027.replace("2027-02-13", "13/02/2027"), "is not a date written YYYY-MM-DD"),
    (YEAR_2027.replace("end: 2027-01-03", "end: 2028-01-03"), "is not in 2027"),
    (YEAR_2027.replace("start: 2027-04-03", "start: 2027-04-06"), "before it starts"),
    (YEAR_2027.replace("start: 2027-06-09\n    end: 2027-06-09", "start: 2027-05-05\n    end: 2027-05-06"), "overlap"),
    (YEAR_2027.replace("[2027-09-26, 2027-10-09]", "[2027-09-27]"), "must be a Saturday or Sunday"),
    (YEAR_2027.replace("[2027-09-26, 2027-10-09]", "[2027-10-02]"), "inside the holiday"),
    (YEAR_2027.replace("[2027-09-26, 2027-10-09]", "[2027-02-14]"), "listed twice"),
    (YEAR_2027.split("  - name: 端午节")[0], "No holiday named 端午"),
    (YEAR_2027.replace("year: 2027", "year: twenty"), "is not a year"),
    (YEAR_2027.replace("source: ", "sauce: "), "Unknown key"),
    (YEAR_2027.replace("    end: 2027-01-03", "    end: 2027-01-03\n    colour: red"), "unknown key"),
    ("year: 2027\nsource: x\nholidays: []\n", "a list of the notice's holidays is required"),
    (b"\xff\xfe".decode("latin-1"), "not UTF-8"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_hostile_files_are_refused_whole(app: Flask, text: str, message: str) -> None:
    with app.app_context():
        services.seed(2026, 2026)
        db.session.commit()
        before = _count()
        data = text.encode("latin-1") if message == "not UTF-8" else text.encode()
        with pytest.raises(CalendarFileInvalid) as caught:
            services.load_year_file(data, actor="test")
        assert any(message in p for p in caught.value.extra["problems"]), caught.value.extra["problems"]
        db.session.rollback()
        assert _count() == before


def test_every_problem_is_listed_at_once(app: Flask) -> None:
    bad = YEAR_2027.replace("2027-02-13", "2027-02-30").replace("[2027-09-26, 2027-10-09]", "[2027-09-27]")
    with pytest.raises(CalendarFileInvalid) as caught:
        services.parse_year_file(bad.encode())
    assert len(caught.value.problems) == 2


def test_years_must_follow_on_and_big_files_are_refused(app: Flask) -> None:
    with app.app_context():
        services.seed(2025, 2025)
        with pytest.raises(Exception, match="load the years in between"):
            services.load_year_file(YEAR_2027.encode(), actor="test")
        db.session.rollback()
        with pytest.raises(CalendarFileInvalid, match="problem"):
            services.load_year_file(b"#" * (services.MAX_FILE_BYTES + 1), actor="test")


def test_cli_load_reports_problems_and_writes_nothing(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        services.seed(2026, 2026)
        db.session.commit()
    bad = tmp_path / "bad.yaml"
    bad.write_text(YEAR_2027.replace("2027-02-13", "2027-02-30"), encoding="utf-8")
    result = runner.invoke(args=["permits", "calendar", "load", str(bad)])
    assert result.exit_code == 1 and "2027-02-30 is not a real date" in result.output
    good = tmp_path / "2027.yaml"
    good.write_text(YEAR_2027, encoding="utf-8")
    result = runner.invoke(args=["permits", "calendar", "load", str(good)])
    assert result.exit_code == 0 and "2027 loaded" in result.output
    result = runner.invoke(args=["permits", "calendar", "load", str(good)])
    assert result.exit_code == 1 and "loaded already" in result.output
    assert runner.invoke(args=["permits", "calendar", "load", "--replace", str(good)]).exit_code == 0
    shown = runner.invoke(args=["permits", "calendar", "show"])
    assert "2026:" in shown.output and "2027:" in shown.output
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "permits.calendar.year_loaded")
            )
            == 2
        )


def test_demo_seeding_and_the_service_entry_point(app: Flask) -> None:
    from app.core.reference import _demo
    from app.permits.calendar.deadlines import CalendarNotLoaded, Rule

    assert any(name == "demo.calendar" for name, _fn in _demo)
    with app.app_context():
        assert services.seed_demo()[0].startswith("working-day calendar: 8401 days")
        assert services.seed_demo() == []
        result = services.compute_due_dates(date(2026, 2, 12), Rule(5), Rule(3))
        assert (result.statutory, result.promised) == (date(2026, 2, 26), date(2026, 2, 24))
        with pytest.raises(CalendarNotLoaded, match="Load the State Council's holiday notice for 2027"):
            services.compute_due_dates(date(2026, 12, 28), Rule(5))
