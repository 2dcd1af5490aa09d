"""Pages of door-to-door service and after-hours sessions: ask for a home visit and follow it (no account needed),
the floor managers' list (schedule, decline), the staff's own visits (record what happened), and the days with
their own hours (after-hours sessions, closures)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, StringField, SubmitField, TelField, TextAreaField

from app.convenience import home_visits, services
from app.convenience.home_visit_models import DayPeriod, VisitReason
from app.convenience.permissions import MANAGE, WINDOW_OPERATE
from app.convenience.views import _localized, bp
from app.core.pages import attempt, me
from app.core.security import public, requires
from app.core.views import register_nav

REASONS = [
    (VisitReason.ELDERLY.value, _l("Elderly")),
    (VisitReason.DISABLED.value, _l("Disabled")),
    (VisitReason.ILL.value, _l("Ill or unable to move about")),
    (VisitReason.OTHER.value, _l("Another reason (say which below)")),
]
PERIODS = [
    (DayPeriod.MORNING.value, _l("Morning")),
    (DayPeriod.AFTERNOON.value, _l("Afternoon")),
    (DayPeriod.ANY.value, _l("Either")),
]


class HomeVisitForm(FlaskForm):
    service = SelectField(_l("Service"), choices=[], validate_choice=False)
    name = StringField(_l("Name of the person to visit"))
    phone = TelField(_l("Mobile number"), description=_l("We call or text this number to arrange the visit."))
    address = StringField(_l("Address"), description=_l("District, street, building, unit and room."))
    reason = RadioField(_l("Why at home"), choices=REASONS, validate_choice=False)
    details = TextAreaField(_l("What you need (optional)"))
    preferred_day = StringField(_l("Preferred day"), description=_l("For example 2026-12-09."))
    preferred_period = RadioField(_l("Preferred time"), choices=PERIODS, default="any", validate_choice=False)
    submit = SubmitField(_l("Ask for a home visit"))


class ScheduleForm(FlaskForm):
    staff = SelectField(_l("Staff member"), choices=[], validate_choice=False)
    day = DateField(_l("Day of the visit"))
    period = SelectField(_l("Time"), choices=PERIODS, validate_choice=False)
    submit = SubmitField(_l("Schedule"))


class RecordForm(FlaskForm):
    completed = RadioField(
        _l("Was the service done?"),
        choices=[("yes", _l("Yes, done")), ("no", _l("No: it must be scheduled again"))],
        validate_choice=False,
    )
    notes = TextAreaField(_l("Notes on the visit"), description=_l("Required when the service could not be done."))
    submit = SubmitField(_l("Record the visit"))


class ExceptionForm(FlaskForm):
    window = SelectField(_l("Window"), choices=[], validate_choice=False)
    day = StringField(_l("Day"), description=_l("For example 2026-12-12."))
    kind = RadioField(
        _l("That day"),
        choices=[("open", _l("Open with these hours")), ("closed", _l("No service that day"))],
        default="open",
        validate_choice=False,
    )
    opens_at = StringField(_l("Window opens at"), description=_l("HH:MM"))
    closes_at = StringField(_l("Window closes at"), description=_l("HH:MM"))
    break_starts_at = StringField(_l("Break from (optional)"))
    break_ends_at = StringField(_l("Break until (optional)"))
    extended_until = StringField(_l("After-hours service until (optional)"))
    reason = StringField(_l("Reason"), description=_l("Shown to staff, e.g. 周六延时服务 or 设备检修."))
    submit = SubmitField(_l("Save the day"))


def _visit_form() -> HomeVisitForm:
    form = HomeVisitForm()
    form.service.choices = [(s.code, _localized(s.name, s.name_en)) for s in home_visits.home_services()]
    return form


@bp.route("/home-visits/new", methods=["GET", "POST"])
@public
def home_visit_new() -> Any:
    form = _visit_form()
    if request.method == "GET":
        return render_template("convenience/home_visit_new.html", form=form, errors={})
    with attempt(form) as outcome:
        visit = home_visits.request_visit(
            service_code=form.service.data,
            name=form.name.data,
            phone=form.phone.data,
            address=form.address.data,
            reason=form.reason.data,
            details=form.details.data,
            preferred_day=form.preferred_day.data,
            preferred_period=form.preferred_period.data,
            actor=me(),
        )
        public_id, reference = visit.public_id, visit.reference
    if outcome.failed:
        return render_template("convenience/home_visit_new.html", form=form, errors=outcome.errors), outcome.status
    flash(_("Your request is received. Its reference is %(reference)s.", reference=reference), "success")
    return redirect(url_for("convenience.home_visit", public_id=public_id), code=303)


@bp.get("/home-visits/<string:public_id>")
@public
def home_visit(public_id: str) -> Any:
    visit = home_visits.by_public_id(public_id)
    return render_template(
        "convenience/home_visit.html",
        visit=visit,
        steps=home_visits.steps(visit),
        period=home_visits.period_words,
    )


@bp.post("/home-visits/<string:public_id>/cancel")
@public
def home_visit_cancel(public_id: str) -> Any:
    with attempt() as outcome:
        home_visits.cancel(public_id=public_id, reason=request.form.get("reason", ""))
    if outcome.failed:
        outcome.flash()
    else:
        flash(_("Your request was cancelled."), "success")
    return redirect(url_for("convenience.home_visit", public_id=public_id), code=303)


def _schedule_form() -> ScheduleForm:
    form = ScheduleForm()
    form.staff.choices = [(str(u.id), u.display_name or u.username) for u in home_visits.staff_choices()]
    return form


def _manage_page(errors: Any = None, failed_id: int | None = None, status: int = 200) -> Any:
    return render_template(
        "convenience/home_visits.html",
        rows=home_visits.open_visits(),
        closed=home_visits.recent_closed(),
        form=_schedule_form(),
        errors=errors or {},
        failed_id=failed_id,
        period=home_visits.period_words,
    ), status


@bp.get("/home-visits")
@requires(MANAGE)
def home_visits_manage() -> Any:
    return _manage_page()


@bp.post("/home-visits/<int:visit_id>/schedule")
@requires(MANAGE)
def home_visit_schedule(visit_id: int) -> Any:
    form = _schedule_form()
    with attempt(form) as outcome:
        visit = home_visits.schedule(
            actor=me(),
            visit_id=visit_id,
            staff_id=request.form.get("staff"),
            day=request.form.get("day"),
            period=request.form.get("period"),
        )
        reference = visit.reference
    if outcome.failed:
        return _manage_page(outcome.errors, visit_id, outcome.status)
    flash(_("Visit %(reference)s is scheduled; the citizen is told.", reference=reference), "success")
    return redirect(url_for("convenience.home_visits_manage"), code=303)


@bp.post("/home-visits/<int:visit_id>/decline")
@requires(MANAGE)
def home_visit_decline(visit_id: int) -> Any:
    with attempt() as outcome:
        home_visits.decline(actor=me(), visit_id=visit_id, reason=request.form.get("reason", ""))
    if outcome.failed:
        outcome.flash()
    else:
        flash(_("The request was declined; the citizen is told why."), "success")
    return redirect(url_for("convenience.home_visits_manage"), code=303)


@bp.get("/my-visits")
@requires(WINDOW_OPERATE)
def my_visits() -> Any:
    return render_template(
        "convenience/my_visits.html",
        rows=home_visits.my_visits(me()),
        form=RecordForm(),
        errors={},
        failed_id=None,
        period=home_visits.period_words,
    )


@bp.post("/my-visits/<int:visit_id>")
@requires(WINDOW_OPERATE)
def my_visit_record(visit_id: int) -> Any:
    form = RecordForm()
    with attempt(form) as outcome:
        home_visits.record_visit(
            actor=me(), visit_id=visit_id, completed=form.completed.data, notes=form.notes.data or ""
        )
    if outcome.failed:
        return render_template(
            "convenience/my_visits.html",
            rows=home_visits.my_visits(me()),
            form=form,
            errors=outcome.errors,
            failed_id=visit_id,
            period=home_visits.period_words,
        ), outcome.status
    flash(_("The visit is recorded."), "success")
    return redirect(url_for("convenience.my_visits"), code=303)


def _exception_form() -> ExceptionForm:
    form = ExceptionForm()
    form.window.choices = [("", _("Every window"))] + [
        (str(w.id), _localized(w.name, w.name_en) or w.number) for w in services.list_windows()
    ]
    return form


@bp.route("/hours", methods=["GET", "POST"])
@requires(MANAGE)
def plan_exceptions() -> Any:
    """Days with their own hours: after-hours sessions (延时服务) and closures."""
    form = _exception_form()
    errors: Any = {}
    status = 200
    if request.method == "POST":
        hours = {
            k: getattr(form, k).data
            for k in ("opens_at", "closes_at", "break_starts_at", "break_ends_at", "extended_until")
        }
        with attempt(form) as outcome:
            home_visits.add_exception(
                actor=me(),
                window_id=form.window.data or None,
                day=form.day.data,
                closed=form.kind.data == "closed",
                hours=hours,
                reason=form.reason.data,
            )
        if not outcome.failed:
            flash(_("The day's hours are saved."), "success")
            return redirect(url_for("convenience.plan_exceptions"), code=303)
        errors, status = outcome.errors, outcome.status
    return render_template(
        "convenience/plan_exceptions.html", form=form, errors=errors, rows=home_visits.upcoming_exceptions()
    ), status


@bp.post("/hours/<int:exception_id>/remove")
@requires(MANAGE)
def plan_exception_remove(exception_id: int) -> Any:
    with attempt() as outcome:
        home_visits.remove_exception(actor=me(), exception_id=exception_id)
    if outcome.failed:
        outcome.flash()
    else:
        flash(_("The day follows the weekly plan again."), "success")
    return redirect(url_for("convenience.plan_exceptions"), code=303)


def init_app() -> None:
    register_nav("convenience.home_visits_manage", _l("Home visits"), MANAGE, order=22)
    register_nav("convenience.my_visits", _l("My visits"), WINDOW_OPERATE, order=21)
