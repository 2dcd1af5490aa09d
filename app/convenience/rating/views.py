"""好差评 pages: rate a served ticket or a decided application (linked from the my-ticket and the tracking pages),
the rectification tasks (list, detail with the call-back and closing forms), appeals (form, list, decision),
results per window, staff member and department (with a CSV export). The invitations' messages are on the
floor's one outbox page (convenience.outbox)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, RadioField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.convenience.rating import services
from app.convenience.rating.models import LEVELS, AppealStatus, SubjectKind
from app.convenience.rating.permissions import RECTIFY, SUPERVISE
from app.core.pages import attempt, me
from app.core.security import caller_has, public, requires
from app.core.time import now_utc
from app.core.views import register_nav

bp = Blueprint("convenience_rating", __name__, url_prefix="/convenience/ratings", template_folder="templates")

LEVEL_LABELS = {
    "very_satisfied": _l("Very satisfied (非常满意)"),
    "satisfied": _l("Satisfied (满意)"),
    "basic": _l("Fairly satisfied (基本满意)"),
    "dissatisfied": _l("Dissatisfied (不满意)"),
    "very_dissatisfied": _l("Very dissatisfied (非常不满意)"),
}


class RateForm(FlaskForm):
    level = RadioField(
        _l("How satisfied are you with the service?"),
        choices=[(lv.value, LEVEL_LABELS[lv.value]) for lv in LEVELS],
        validators=[InputRequired(_l("Choose one of the five levels."))],
        validate_choice=True,
    )
    comment = TextAreaField(
        _l("Comment (optional)"),
        validators=[Optional(), Length(max=services.COMMENT_MAX)],
        description=_l("Rating is voluntary. At most 500 characters."),
    )
    submit = SubmitField(_l("Send my rating"))


class CallBackForm(FlaskForm):
    called_at = DateTimeLocalField(
        _l("When you called"),
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(_l("Give the date and time of the call."))],
    )
    outcome = RadioField(
        _l("Outcome"),
        choices=[("reached", _l("Reached the citizen")), ("not_reached", _l("Could not reach the citizen"))],
        validators=[InputRequired(_l("Say whether the citizen was reached."))],
        validate_choice=True,
    )
    note = TextAreaField(_l("What was said (optional)"), validators=[Optional(), Length(max=services.TEXT_MAX)])
    submit = SubmitField(_l("Record the call-back"))


class CloseForm(FlaskForm):
    action_taken = TextAreaField(
        _l("What was done"), validators=[InputRequired(_l("Say what was done.")), Length(max=services.TEXT_MAX)]
    )
    submit = SubmitField(_l("Close the task"))


class AppealForm(FlaskForm):
    reasons = TextAreaField(
        _l("Why the rating is mistaken or malicious"),
        validators=[InputRequired(_l("Give the reasons.")), Length(max=services.TEXT_MAX)],
        description=_l("At least 10 characters. A supervisor decides."),
    )
    submit = SubmitField(_l("File the appeal"))


class DecisionForm(FlaskForm):
    decision = RadioField(
        _l("Appeal decision"),
        choices=[
            ("uphold", _l("Uphold: exclude the rating from results")),
            ("reject", _l("Reject: the rating counts")),
        ],
        validators=[InputRequired(_l("Uphold or reject the appeal."))],
        validate_choice=True,
    )
    note = TextAreaField(
        _l("Reasons for the decision"),
        validators=[InputRequired(_l("Give the reasons.")), Length(max=services.TEXT_MAX)],
    )
    submit = SubmitField(_l("Decide"))


class RangeForm(FlaskForm):
    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[InputRequired()])
    end = DateField(_l("To"), validators=[InputRequired()])
    submit = SubmitField(_l("Show"))


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _caller() -> Any:
    user = me()
    return user if getattr(user, "is_authenticated", False) else None


# --- rating -----------------------------------------------------------------------------------------------------


def _rate_page(subject: services.Subject, back: str, post_to: str) -> Any:
    existing = services.rating_of(subject.kind, subject.id)
    form = RateForm()
    errors = None
    status = 200
    if request.method == "POST" and existing is None:
        if form.validate_on_submit():
            with attempt(form) as outcome:
                services.rate(subject, level=form.level.data, comment=form.comment.data or "", actor=_caller())
            if not outcome.failed:
                flash(str(_l("Thank you: your rating was received.")), "success")
                return redirect(post_to, code=303)
            errors, status = outcome.errors, outcome.status
        else:
            status = 422
    elif request.method == "POST":
        status = 409
    return render_template(
        "convenience_rating/rate.html",
        subject=subject,
        existing=existing,
        form=form,
        errors=errors,
        back=back,
        post_to=post_to,
        level_labels=LEVEL_LABELS,
    ), status


@bp.route("/ticket/<string:tracking_id>", methods=["GET", "POST"])
@public
def rate_ticket(tracking_id: str) -> Any:
    """Rate a served ticket: its holder has the tracking id (the my-ticket page's address)."""
    ticket = services.held_ticket(tracking_id)
    here = url_for("convenience_rating.rate_ticket", tracking_id=tracking_id)
    return _rate_page(
        services.ticket_subject(ticket), url_for("convenience.my_ticket", public_id=ticket.public_id), here
    )


@bp.route("/application/<string:number>/<string:token>", methods=["GET", "POST"])
@public
def rate_application(number: str, token: str) -> Any:
    """Rate a decided application: its applicant has the tracking address (number and token)."""
    application = services.held_application(number, token)
    here = url_for("convenience_rating.rate_application", number=number, token=token)
    back = url_for("permits_cases.tracking", number=number, token=token)
    return _rate_page(services.application_subject(application), back, here)


# --- rectification ------------------------------------------------------------------------------------------


@bp.get("/tasks")
@requires(RECTIFY)
def tasks() -> Any:
    status = request.args.get("status", "open")
    rows = services.list_tasks(me(), status if status in ("open", "closed") else None)
    return render_template(
        "convenience_rating/tasks.html",
        rows=rows,
        status=status,
        supervisor=caller_has(SUPERVISE),
        today=now_utc().astimezone(_zone()).date(),
    )


def _task_page(
    task_id: int,
    *,
    callback: CallBackForm | None = None,
    close: CloseForm | None = None,
    errors: Any = None,
    status: int = 200,
) -> Any:
    task = services.get_task(task_id, me())
    if callback is None:
        callback = CallBackForm()
        callback.called_at.data = now_utc().astimezone(_zone()).replace(second=0, microsecond=0, tzinfo=None)
    return render_template(
        "convenience_rating/task.html",
        task=task,
        callback=callback,
        close=close or CloseForm(),
        errors=errors,
        today=now_utc().astimezone(_zone()).date(),
        can_appeal=not task.rating.appeals,
    ), status


@bp.get("/tasks/<int:task_id>")
@requires(RECTIFY)
def task(task_id: int) -> Any:
    return _task_page(task_id)


@bp.post("/tasks/<int:task_id>/callbacks")
@requires(RECTIFY)
def record_callback(task_id: int) -> Any:
    form = CallBackForm()
    services.get_task(task_id, me())
    if not form.validate_on_submit():
        return _task_page(task_id, callback=form, status=422)
    local: datetime = form.called_at.data  # type: ignore[assignment]
    with attempt(form) as outcome:
        services.record_callback(
            actor=me(),
            task_id=task_id,
            called_at=local.replace(tzinfo=_zone()),
            outcome=form.outcome.data,
            note=form.note.data or "",
        )
    if outcome.failed:
        return _task_page(task_id, callback=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("The call-back was recorded.")), "success")
    return redirect(url_for("convenience_rating.task", task_id=task_id), code=303)


@bp.post("/tasks/<int:task_id>/close")
@requires(RECTIFY)
def close_task(task_id: int) -> Any:
    form = CloseForm()
    services.get_task(task_id, me())
    if not form.validate_on_submit():
        return _task_page(task_id, close=form, status=422)
    with attempt(form) as outcome:
        services.close_task(actor=me(), task_id=task_id, action_taken=form.action_taken.data or "")
    if outcome.failed:
        return _task_page(task_id, close=form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("The rectification task was closed.")), "success")
    return redirect(url_for("convenience_rating.task", task_id=task_id), code=303)


# --- appeals -----------------------------------------------------------------------------------------------------


@bp.route("/<int:rating_id>/appeal", methods=["GET", "POST"])
@requires(RECTIFY)
def appeal(rating_id: int) -> Any:
    rating = services.visible_rating(rating_id, me())
    form = AppealForm()
    errors, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            with attempt(form) as outcome:
                services.file_appeal(actor=me(), rating_id=rating_id, reasons=form.reasons.data or "")
            if not outcome.failed:
                flash(str(_l("The appeal was filed; a supervisor will decide.")), "success")
                target = (
                    url_for("convenience_rating.task", task_id=rating.task.id)
                    if rating.task is not None
                    else url_for("convenience_rating.tasks")
                )
                return redirect(target, code=303)
            errors, status = outcome.errors, outcome.status
        else:
            status = 422
    return render_template("convenience_rating/appeal.html", rating=rating, form=form, errors=errors), status


@bp.get("/appeals")
@requires(SUPERVISE)
def appeals() -> Any:
    return render_template("convenience_rating/appeals.html", rows=services.list_appeals())


@bp.route("/appeals/<int:appeal_id>", methods=["GET", "POST"])
@requires(SUPERVISE)
def decide(appeal_id: int) -> Any:
    found = services.get_appeal(appeal_id)
    form = DecisionForm()
    errors, status = None, 200
    if request.method == "POST" and found.status is AppealStatus.PENDING:
        if form.validate_on_submit():
            with attempt(form) as outcome:
                services.decide_appeal(
                    actor=me(), appeal_id=appeal_id, uphold=form.decision.data == "uphold", note=form.note.data or ""
                )
            if not outcome.failed:
                flash(str(_l("The appeal was decided.")), "success")
                return redirect(url_for("convenience_rating.decide", appeal_id=appeal_id), code=303)
            errors, status = outcome.errors, outcome.status
        else:
            status = 422
    elif request.method == "POST":
        status = 409
    return render_template("convenience_rating/decide.html", a=found, form=form, errors=errors), status


# --- results -----------------------------------------------------------------------------------------------------


def _range() -> tuple[RangeForm, date, date, bool]:
    form = RangeForm(request.args)
    today = now_utc().astimezone(_zone()).date()
    start, end = today.replace(day=1), today
    ok = True
    if "start" in request.args or "end" in request.args:
        if form.validate():
            start, end = form.start.data, form.end.data  # type: ignore[assignment]
        else:
            ok = False
    else:
        form.start.data, form.end.data = start, end
    return form, start, end, ok


@bp.get("/results")
@requires(SUPERVISE)
def results() -> Any:
    form, start, end, ok = _range()
    res, errors = None, None
    if ok:
        with attempt(form) as outcome:
            res = services.results(start, end)
        errors = outcome.errors if outcome.failed else None
    return render_template(
        "convenience_rating/results.html",
        form=form,
        res=res,
        errors=errors,
        levels=LEVELS,
        level_labels=LEVEL_LABELS,
    ), (200 if res is not None else 422)


@bp.get("/results.csv")
@requires(SUPERVISE)
def results_csv() -> Any:
    _form, start, end, ok = _range()
    if not ok:
        return results()
    res = services.results(start, end)
    name = f"ratings-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        services.results_csv(res),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def rating_prompt(kind: str, row: Any) -> dict[str, Any] | None:
    """What the my-ticket and tracking pages show about rating: the link, or the rating given; None before the
    matter is closed (a served ticket, a decided application)."""
    subject = services.ticket_subject(row) if kind == "ticket" else services.application_subject(row)
    if subject.closed_at is None:
        return None
    prompt = (
        _l("How did we do? Rating is voluntary.")
        if kind == "ticket"
        else _l("Your matter has been decided: how did we do? Rating is voluntary.")
    )
    return {
        "rating": services.rating_of(SubjectKind(kind), subject.id),
        "href": services.rate_link(subject),
        "prompt": prompt,
    }


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"rating_prompt": rating_prompt}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("convenience_rating.results", _l("Service ratings"), SUPERVISE, order=22)
