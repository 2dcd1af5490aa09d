"""Supervision pages: the live wall (full screen), the signal list, a signal with its answers and the forms to
explain, accept or reject. Thin: the services decide who sees and does what."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, SubmitField, TextAreaField

from app.core.pages import Errors, attempt, me
from app.core.security import authenticated
from app.core.time import now_utc
from app.core.views import register_nav
from app.supervision import duty, escalation, letters, people, services
from app.supervision.models import Floor, Light
from app.supervision.permissions import WATCH
from app.supervision.presence import services as presence_services

bp = Blueprint("supervision", __name__, url_prefix="/supervision", template_folder="templates")
WALL_REFRESH_SECONDS = 30  # how often the wall's page fetches its figures again (SUPERVISION_WALL_REFRESH_SECONDS)

FLOOR_LABELS = {
    Floor.TENDERING: _l("Tendering and evaluation"),
    Floor.PERMITS: _l("Permits"),
    Floor.CONVENIENCE: _l("Convenience services"),
}
KIND_LABELS = {
    "desk_decision": _l("Application waiting for the desk's decision"),
    "case": _l("Permit case until its decision"),
    "joint_meeting": _l("Joint review meeting until its conclusion"),
    "ticket_wait": _l("Ticket waiting to be called"),
    "opening": _l("Bid opening"),
    "evaluation": _l("Evaluation"),
    "expert_confirmation": _l("Expert's confirmation of the seat"),
    "publicity": _l("Publicity of the candidates"),
    "objection_answer": _l("Answer to an objection"),
    "award": _l("Award"),
    "window_absent": _l("Window seat empty while tickets wait"),
    "window_idle": _l("Window signed on but not calling"),
}


class AnswerForm(FlaskForm):
    text = TextAreaField(
        _l("Explanation"),
        description=_l("What happened, why, and what has been done about it (at most 2000 characters)."),
    )
    submit = SubmitField(_l("Send the explanation"))


class ReviewForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("accept", _l("Accept the explanation")), ("reject", _l("Reject: the person explains again"))],
        validate_choice=True,
    )
    text = TextAreaField(_l("Reason or remark"), description=_l("Required when rejecting."))
    submit = SubmitField(_l("Record the decision"))


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    colour = SelectField(
        _l("Light"),
        choices=[("", _l("Any")), ("yellow", _l("Yellow light")), ("red", _l("Red light"))],
        validate_choice=True,
        default="",  # a drill-down link names only some of the filters
    )
    floor = SelectField(
        _l("Floor"), choices=[("", _l("Any"))] + [(f.value, FLOOR_LABELS[f]) for f in Floor], default=""
    )
    department = HiddenField()  # the wall's drill-down: one department's signals
    submit = SubmitField(_l("Filter"))


# A permits application's status as the desk's pages name it (the floor's views are not imported: DESIGN.md).
APPLICATION_LABELS = {
    "received": _l("Received, waiting for the desk"),
    "correction_requested": _l("Correction requested"),
    "resubmitted": _l("Corrected, waiting for the desk"),
    "accepted": _l("Accepted"),
    "refused": _l("Not accepted"),
}


@bp.get("/")
@authenticated
def wall() -> Any:
    tiles = services.wall(me())
    return render_template(
        "supervision/wall.html",
        tiles=tiles,
        totals=services.totals(tiles),
        now=now_utc(),
        refresh_seconds=int(current_app.config.get("SUPERVISION_WALL_REFRESH_SECONDS", WALL_REFRESH_SECONDS)),
    )


def _page() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 6 and int(raw) >= 1 else 1


@bp.get("/signals")
@authenticated
def signals() -> Any:
    form = FilterForm(request.args)
    bad = bool(request.args) and not form.validate()
    filt = services.SignalFilter(page=_page())
    if not bad:
        filt.colour = form.colour.data or None
        filt.floor = form.floor.data or None
        filt.department = (form.department.data or "").strip()[:200] or None
        raw = request.args.get("person", "")
        filt.person_id = int(raw) if raw.isdigit() and len(raw) < 10 else None
    rows, more = services.list_signals(me(), filt)
    if filt.person_id is not None:  # one person's signals: monitoring data of that person
        people.log_view(me(), filt.person_id, "signal_list", signals=[s.id for s in rows])
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k in ("colour", "floor", "department", "person")}
    return render_template(
        "supervision/signals.html",
        form=form,
        bad=bad,
        rows=rows,
        department=filt.department,
        person=next((s.person for s in rows if filt.person_id and s.person_id == filt.person_id), None),
        status_of=services.status_of,
        next_url=url_for("supervision.signals", page=filt.page + 1, **args) if more else None,
        previous_url=url_for("supervision.signals", page=filt.page - 1, **args) if filt.page > 1 else None,
    )


def _detail(
    signal_id: int,
    answer: AnswerForm | None = None,
    review: ReviewForm | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Any:
    user = me()
    signal = services.get_signal(user, signal_id)
    if signal.person_id is not None:
        people.log_view(user, signal.person_id, "signal", signal=signal.id)
    state = services.status_of(signal)
    return (
        render_template(
            "supervision/signal.html",
            signal=signal,
            state=state,
            answer_form=answer or AnswerForm(),
            review_form=review or ReviewForm(),
            answer_errors=errors if answer is not None else Errors(),
            review_errors=errors if review is not None else Errors(),
            may_answer=services.may_answer(user, signal) and state is services.SignalStatus.AWAITING_ANSWER,
            may_review=services.is_supervisor(user) and state is services.SignalStatus.AWAITING_REVIEW,
            escalations=escalation.escalations_of(signal),
            letters=[row for row in letters.list_letters(user) if row.signal_id == signal.id],
            instructions=[row for row in duty.list_instructions(user) if row.signal_id == signal.id],
            may_write_letter=services.is_supervisor(user),
            may_instruct=duty.is_leader(user),
        ),
        status,
    )


@bp.get("/signals/<int:signal_id>")
@authenticated
def signal(signal_id: int) -> Any:
    return _detail(signal_id)


@bp.post("/signals/<int:signal_id>/answer")
@authenticated
def answer(signal_id: int) -> Any:
    signal = services.get_signal(me(), signal_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _detail(signal_id, answer=form, errors=Errors(), status=422)
    with attempt(form) as outcome:
        services.answer_signal(actor=me(), signal=signal, text=form.text.data)
    if outcome.failed:
        return _detail(signal_id, answer=form, errors=outcome.errors, status=outcome.status)
    flash(_("Your explanation was sent to the supervisors."), "success")
    return redirect(url_for("supervision.signal", signal_id=signal_id), code=303)


@bp.post("/signals/<int:signal_id>/review")
@authenticated
def review(signal_id: int) -> Any:
    signal = services.get_signal(me(), signal_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        errors = Errors()
        if not form.decision.data:
            errors.add("decision", _("Choose to accept or to reject."), form)
        return _detail(signal_id, review=form, errors=errors, status=422)
    with attempt(form) as outcome:
        services.review_signal(actor=me(), signal=signal, accept=form.decision.data == "accept", text=form.text.data)
    if outcome.failed:
        return _detail(signal_id, review=form, errors=outcome.errors, status=outcome.status)
    flash(_("The decision was recorded."), "success")
    return redirect(url_for("supervision.signal", signal_id=signal_id), code=303)


@bp.get("/people/<int:user_id>")
@authenticated
def person(user_id: int) -> Any:
    now = now_utc()
    today = now.astimezone(presence_services.zone()).date()
    raw = request.args.get("day") or ""
    try:
        day, bad = (date.fromisoformat(raw[:10]), False) if raw else (today, False)
    except ValueError:
        day, bad = today, True
    rec = people.record_of(me(), user_id, day, now=now)
    from app.supervision.stats.views import RATING_LABELS

    return render_template(
        "supervision/person.html",
        rec=rec,
        bad=bad,
        today=today,
        status_of=services.status_of,
        rating_labels=RATING_LABELS,
    )


@bp.get("/cases/permits/<int:application_id>")
@authenticated
def permits_case(application_id: int) -> Any:
    rec = people.permits_case(me(), application_id)
    return render_template(
        "supervision/case.html",
        rec=rec,
        status_label=APPLICATION_LABELS.get(str(getattr(rec.application.status, "value", rec.application.status))),
        status_of=services.status_of,
    )


def case_url(subject: str) -> str | None:
    """The page of the case a signal follows, where one exists: a tender's page, supervision's read-only page of a
    permit application (the desk's own page needs the desk permission)."""
    head, _sep, rest = (subject or "").partition(":")
    number = rest.split("/", 1)[0]
    if not number.isdigit():
        return None
    if head == "tender":
        return url_for("tendering.tender_detail", tender_id=int(number))
    if head == "permits.application":
        return url_for("supervision.permits_case", application_id=int(number))  # read-only, for supervisors
    if head == "permits.meeting":
        return url_for("permits_joint.meeting", meeting_id=int(number))
    return None


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "supervision_case_url": case_url,
        "supervision_floor": lambda f: FLOOR_LABELS.get(Floor(f), f) if f in {x.value for x in Floor} else f,
        "supervision_kind": lambda k: KIND_LABELS.get(k, k),
        "supervision_lights": [light.value for light in Light],
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("supervision.wall", _l("Supervision wall"), WATCH, order=80)
    register_nav("supervision.signals", _l("Supervision signals"), WATCH, order=81)
