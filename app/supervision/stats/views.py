"""The statistics page and its CSV export. Thin: app.supervision.stats.figures computes, the wall's access rules
decide who sees (supervisors and leaders everything, department heads their departments)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from app.core.db import db
from app.core.errors import PermissionDenied
from app.core.pages import me
from app.core.problems import N_
from app.core.security import authenticated
from app.core.views import register_nav
from app.supervision import services
from app.supervision.models import Floor, MonitoredItem
from app.supervision.permissions import WATCH
from app.supervision.stats import figures
from app.supervision.stats.models import RATING_LEVELS, DailyFigure

bp = Blueprint("supervision_stats", __name__, url_prefix="/supervision/statistics")

UNIT_LABELS = {
    figures.Unit.DAY: _l("Day"),
    figures.Unit.WEEK: _l("Week"),
    figures.Unit.MONTH: _l("Month"),
    figures.Unit.QUARTER: _l("Quarter"),
    figures.Unit.YEAR: _l("Year"),
}
RATING_LABELS = {
    "very_satisfied": _l("Very satisfied"),
    "satisfied": _l("Satisfied"),
    "basic": _l("Basically satisfied"),
    "dissatisfied": _l("Dissatisfied"),
    "very_dissatisfied": _l("Very dissatisfied"),
}


class StatsForm(FlaskForm):
    class Meta:
        csrf = False

    unit = SelectField(
        _l("Period"), choices=[SelectChoice(u.value, UNIT_LABELS[u]) for u in figures.Unit], default="month"
    )
    floor = SelectField(_l("Floor"), default="")
    department = SelectField(_l("Department"), default="")
    submit = SubmitField(_l("Show"))


def _floor_label(value: str) -> str:
    from app.supervision.views import FLOOR_LABELS

    return str(FLOOR_LABELS.get(Floor(value), value)) if value in {f.value for f in Floor} else value


def _departments(allowed: list[str] | None) -> list[str]:
    """Every department with figures: those of the stored days, and of the items opened since the last stored day
    (an item opened on a stored day is in that day's intake). Not a DISTINCT over every monitored item."""
    from app.supervision.stats.aggregate import day_bounds

    names = set(db.session.scalars(select(DailyFigure.department).distinct()))
    last = db.session.scalar(select(func.max(DailyFigure.day)))
    recent = select(MonitoredItem.department).distinct()
    if last is not None:
        recent = recent.where(MonitoredItem.opened_at >= day_bounds(last + timedelta(days=1))[0])
    names |= set(db.session.scalars(recent))
    names.discard("")
    if allowed is not None:
        names &= set(allowed)
    return sorted(names)


def _report() -> tuple[StatsForm, bool, figures.Report]:
    user = me()
    if not services.can_watch(user):
        raise PermissionDenied(N_("The supervision statistics are for supervisors and department heads."))
    allowed = None if services.sees_all(user) else services.departments_of(user)
    form = StatsForm(request.args)
    form.floor.choices = [SelectChoice("", _("All floors"))] + [
        SelectChoice(f.value, _floor_label(f.value)) for f in Floor
    ]
    form.department.choices = [SelectChoice("", _("All departments"))] + [
        SelectChoice(d, d) for d in _departments(allowed)
    ]
    bad = bool(request.args) and not form.validate()
    scope = figures.Scope(departments=allowed)
    unit = figures.Unit.MONTH
    if not bad:
        unit = figures.Unit(form.unit.data or "month")
        scope.floor = form.floor.data or None
        scope.department = form.department.data or None
    else:
        form.unit.data, form.floor.data, form.department.data = "month", "", ""
    labels = {
        "week": _("%(year)s week %(week)s", year="{year}", week="{week}"),
        "quarter": _("%(year)s quarter %(quarter)s", year="{year}", quarter="{quarter}"),
    }
    return form, bad, figures.report(unit, scope, labels=labels)


def _fmt(value: Decimal | None, suffix: str = "") -> str:
    return "—" if value is None else f"{value}{suffix}"


def _chart_data(rep: figures.Report) -> dict[str, Any]:
    labels = [p.label for p in rep.periods]

    def num(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return {
        "labels": labels,
        "intake": {
            "label": _("Matters taken in"),
            "series": [
                {"label": _floor_label(f), "data": [p.by_floor.get(f, 0) for p in rep.periods]} for f in rep.floors
            ],
        },
        "on_time": {"label": _("On-time rate (%)"), "data": [num(p.on_time_rate) for p in rep.periods]},
        "time": {
            "series": [
                {"label": _("Average handling time (hours)"), "data": [num(p.handling_hours) for p in rep.periods]},
                {"label": _("Average promised time (hours)"), "data": [num(p.promised_hours) for p in rep.periods]},
            ]
        },
        "deemed": {"label": _("Deemed acceptance or consent"), "data": [p.counts["deemed"] for p in rep.periods]},
        "ratings": {
            "label": _("Ratings"),
            "labels": [str(RATING_LABELS[level]) for level in RATING_LEVELS],
            "data": [rep.ratings[level] for level in RATING_LEVELS],
        },
    }


@bp.get("/")
@authenticated
def page() -> Any:
    form, bad, rep = _report()
    return render_template(
        "supervision/stats.html",
        form=form,
        bad=bad,
        report=rep,
        chart=_chart_data(rep),
        fmt=_fmt,
        floor_labels=[_floor_label(f) for f in rep.floors],
        rating_labels=RATING_LABELS,
        rating_levels=RATING_LEVELS,
        unit_label=UNIT_LABELS[rep.unit],
        csv_args={k: v for k, v in request.args.items() if k in ("unit", "floor", "department") and not bad},
    ), (400 if bad else 200)


def csv_rows(rep: figures.Report) -> list[list[str]]:
    """The CSV's rows (headers first), in the page's language."""
    head = [
        _("Period"),
        _("Source"),
        _("Matters taken in"),
        _("Year on year"),
        _("Period on period"),
        _("Completed"),
        _("Closed with a promised time"),
        _("On time"),
        _("On-time rate"),
        _("Average handling time (hours)"),
        _("Average promised time (hours)"),
        _("Deemed acceptance or consent"),
    ] + [str(RATING_LABELS[level]) for level in RATING_LEVELS]
    rows = [head]
    for p in rep.periods:
        rows.append(
            [
                p.label,
                _("Includes today's live figures") if p.live else _("History (aggregated nightly)"),
                str(p.counts["intake"]),
                _fmt(p.yoy, "%"),
                _fmt(p.mom, "%"),
                str(p.counts["completed"]),
                str(p.counts["with_promise"]),
                str(p.counts["on_time"]),
                _fmt(p.on_time_rate, "%"),
                _fmt(p.handling_hours),
                _fmt(p.promised_hours),
                str(p.counts["deemed"]),
            ]
            + [str(p.ratings[level]) for level in RATING_LEVELS]
        )
    return rows


@bp.get("/export.csv")
@authenticated
def export() -> Any:
    _form, bad, rep = _report()
    if bad:
        return page()
    out = io.StringIO()
    out.write("\ufeff")  # UTF-8 with BOM: Excel opens the Chinese headers right
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(rep))
    name = f"supervision-statistics-{rep.unit.value}-{date.isoformat(rep.today)}.csv"
    return Response(
        out.getvalue().encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("supervision_stats.page", _l("Supervision statistics"), WATCH, order=82)
