"""`/admin/calendar`: a year's months as a grid, the loaded years and their sources, the upload of a year file."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SubmitField

from app.core.pages import attempt, me
from app.core.security import requires
from app.core.time import now_utc, to_center_time
from app.core.views import register_nav
from app.permits.calendar import services
from app.permits.calendar.models import CalendarDay
from app.permits.permissions import CALENDAR_MANAGE

bp = Blueprint("permits_calendar", __name__, template_folder="templates")


class YearFileForm(FlaskForm):
    file = FileField(
        _l("Year file (YAML)"),
        validators=[FileRequired()],
        description=_l("The State Council's holiday notice for one year: its holidays and make-up working days."),
    )
    replace = BooleanField(_l("Replace the year if it is loaded already"))
    submit = SubmitField(_l("Load the year"))


def _today() -> date:
    return to_center_time(now_utc(), current_app.config["CENTER_TIMEZONE"]).date()


def _months(year: int) -> list[dict[str, Any]]:
    """Twelve months, each a list of weeks (Monday first) of CalendarDay rows or None outside the month."""
    days = {d.day: d for d in services.year_days(year)}
    months = []
    for month in range(1, 13):
        weeks = [
            [days.get(day) if day.month == month else None for day in week]
            for week in stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
        ]
        months.append({"month": month, "weeks": weeks})
    return months


def _page(form: YearFileForm, year: int, problems: list[str] | None = None) -> str:
    today = _today()
    loaded = services.loaded_years()
    shown = year if services.year_is_loaded(year) else None
    return render_template(
        "permits_calendar/admin.html",
        form=form,
        year=year,
        today=today,
        loaded=loaded,
        months=_months(year) if shown else [],
        missing_next=services.missing_next_year(today),
        this_year_missing=not services.year_is_loaded(today.year),
        problems=problems or [],
        weekdays=[_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
    )


def _year_arg(default: int) -> int:
    raw = request.args.get("year", "")
    return int(raw) if raw.isdigit() and 1900 < int(raw) < 2200 else default


@bp.get("/admin/calendar")
@requires(CALENDAR_MANAGE)
def admin_calendar() -> Any:
    return _page(YearFileForm(), _year_arg(_today().year))


@bp.post("/admin/calendar")
@requires(CALENDAR_MANAGE)
def admin_calendar_upload() -> Any:
    form = YearFileForm()
    if not form.validate_on_submit():
        return _page(form, _today().year), 400
    data = form.file.data.read(services.MAX_FILE_BYTES + 1)
    with attempt(form) as outcome:
        plan = services.load_year_file(data, actor=me(), replace=bool(form.replace.data))
    if outcome.failed:
        error = outcome.error
        problems = [_(m, **p) for m, p in getattr(error, "problems", [])]
        return _page(form, _today().year, problems=[*outcome.errors.general, *problems]), outcome.status
    flash(_("%(year)s was loaded from %(source)s.", year=plan.year, source=plan.source), "success")
    return redirect(url_for("permits_calendar.admin_calendar", year=plan.year), code=303)


def day_kind(day: CalendarDay | None) -> str:
    if day is None:
        return "none"
    if day.is_makeup_workday:
        return "makeup"
    if day.is_holiday:
        return "holiday"
    return "workday" if day.is_workday else "weekend"


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(day_kind, "calendar_day_kind")
    register_nav("permits_calendar.admin_calendar", _l("Working-day calendar"), CALENDAR_MANAGE, order=94)
