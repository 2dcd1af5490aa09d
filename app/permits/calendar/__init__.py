"""The working-day calendar (工作日历) and the deadline service that counts on it.

`calendar_day` holds one row per day of every loaded year: workday or not, the holiday's name or the 调休 note,
and where it came from (chinesecalendar for 2004–2026, then the State Council's notice year by year). Counting
past the last loaded day fails loudly (`CalendarNotLoaded`); nothing ever falls back to weekday arithmetic.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits.calendar import cli, models, views

    del models  # imported for its table
    cli.init_app(app)
    views.init_app(app)
