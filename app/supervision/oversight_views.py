"""Pages of supervision's follow-up: recommendation letters (监察建议书), the quarterly grading of departments, the
leader on duty (duty rota, escalations, authorisation problems) and the leader's instructions (批示).

Thin: the services decide who sees and does what; forms carry the CSRF token, the services check the values (a bad
value: the page again with its message, 4xx, nothing stored)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField

from app.core.errors import PermissionDenied, ValidationFailed
from app.core.pages import Errors, attempt, me
from app.core.problems import N_
from app.core.security import authenticated, public
from app.core.storage import content_disposition
from app.core.time import to_center_time
from app.core.views import register_nav
from app.supervision import duty, escalation, grading, letters, services
from app.supervision.models import InstructionState, LetterState
from app.supervision.permissions import LEAD, WATCH

bp = Blueprint("supervision_oversight", __name__, url_prefix="/supervision", template_folder="templates")

ADDRESSEE_LABELS = {
    "department_head": _l("Head of the department"),
    "discipline_office": _l("Discipline-inspection office"),
    "duty_leader": _l("Leader on duty"),
}
GRADE_LABELS = {
    "excellent": (_l("Excellent"), "green"),
    "good": (_l("Good"), "blue"),
    "satisfactory": (_l("Satisfactory"), "yellow"),
    "fail": (_l("Unsatisfactory"), "red"),
}
TERM_LABELS = {
    "red": _l("Red signals"),
    "yellow": _l("Yellow signals"),
    "accepted": _l("Explanations accepted"),
    "rejected": _l("Explanations rejected"),
    "escalation": _l("Escalations"),
    "bad_rating": _l("Share of bad ratings (percentage points)"),
}
TITLE_LABELS = {
    duty.LeaderTitle.MAYOR.value: _l("Mayor"),
    duty.LeaderTitle.VICE_MAYOR.value: _l("Vice-mayor"),
    duty.LeaderTitle.SECRETARY_GENERAL.value: _l("Secretary-general"),
}
INSTRUCTION_LABELS = {
    InstructionState.OPEN: (_l("Waiting for the department's report"), "orange"),
    InstructionState.REPORTED: (_l("Reported: waiting for the leader"), "blue"),
    InstructionState.CLOSED: (_l("Closed"), "green"),
}
LETTER_LABELS = {
    LetterState.ISSUED: (_l("Waiting for the reply"), "orange"),
    LetterState.REPLIED: (_l("Replied"), "green"),
}


# --- forms (CSRF and rendering; the services check the values) ----------------------------------------------------


class LetterForm(FlaskForm):
    signal = HiddenField()
    department = StringField(_l("Department"), description=_l("Left as it is for a letter about a signal."))
    facts = TextAreaField(_l("Facts found"))
    rules_broken = TextAreaField(_l("Rules broken"))
    recommendation = TextAreaField(_l("Recommendation"))
    reply_due = StringField(_l("Reply due by"), description=_l("Year-month-day, such as 2026-12-31."))
    submit = SubmitField(_l("Issue the sealed letter"))


class ReplyForm(FlaskForm):
    reply = TextAreaField(_l("The department's reply"))
    submit = SubmitField(_l("Record the reply"))


class QuarterForm(FlaskForm):
    year = StringField(_l("Year"))
    quarter = SelectField(
        _l("Quarter"), choices=[("1", "1"), ("2", "2"), ("3", "3"), ("4", "4")], validate_choice=False
    )
    submit = SubmitField(_l("Compute the grades"))


class FreezeForm(FlaskForm):
    year = HiddenField()
    quarter = HiddenField()
    submit = SubmitField(_l("Freeze the grades of this quarter"))


class RotaForm(FlaskForm):
    day = StringField(_l("Day"), description=_l("Year-month-day, such as 2026-12-31."))
    leader = SelectField(_l("Leader"), validate_choice=False)
    title = SelectField(_l("Office"), validate_choice=False)
    submit = SubmitField(_l("Put on the rota"))


class RemoveDutyForm(FlaskForm):
    day = HiddenField()
    submit = SubmitField(_l("Remove from the rota"))


class InstructionForm(FlaskForm):
    department = StringField(_l("Department"))
    signal = HiddenField()
    text = TextAreaField(_l("Instruction"))
    workdays = StringField(_l("Time allowed (working days)"), default="5")
    submit = SubmitField(_l("Give the instruction"))


class ReportForm(FlaskForm):
    text = TextAreaField(_l("What the department did"))
    submit = SubmitField(_l("Send the report"))


class CloseForm(FlaskForm):
    note = TextAreaField(_l("Remark (optional)"))
    submit = SubmitField(_l("Close the instruction"))


def _csrf_ok(form: FlaskForm) -> None:
    """Forms here have no field validators: a failed validation is a missing or stale CSRF token."""
    if not form.validate_on_submit():
        abort(400)


# --- letters ------------------------------------------------------------------------------------------------------


def _letters_page(form: LetterForm | None = None, errors: Errors | None = None, status: int = 200) -> Any:
    user = me()
    form = form or LetterForm(signal=request.args.get("signal", ""), department=request.args.get("department", ""))
    return (
        render_template(
            "supervision/letters.html",
            rows=letters.list_letters(user),
            form=form,
            errors=errors or Errors(),
            may_issue=services.is_supervisor(user),
            labels=LETTER_LABELS,
            today=escalation.center_today(),
        ),
        status,
    )


@bp.get("/letters")
@authenticated
def letters_list() -> Any:
    return _letters_page()


@bp.post("/letters")
@authenticated
def letter_issue() -> Any:
    form = LetterForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        letter = letters.issue_letter(
            actor=me(),
            signal_id=form.signal.data or None,
            department=form.department.data,
            facts=form.facts.data,
            rules_broken=form.rules_broken.data,
            recommendation=form.recommendation.data,
            reply_due=form.reply_due.data,
        )
    if outcome.failed:
        return _letters_page(form, outcome.errors, outcome.status)
    flash(_("Letter %(number)s was issued and sealed.", number=letter.number), "success")
    return redirect(url_for("supervision_oversight.letter", letter_id=letter.id), code=303)


def _letter_page(letter_id: int, form: ReplyForm | None = None, errors: Errors | None = None, status: int = 200) -> Any:
    user = me()
    letter = letters.get_letter(user, letter_id)
    return (
        render_template(
            "supervision/letter.html",
            letter=letter,
            form=form or ReplyForm(),
            errors=errors or Errors(),
            may_reply=letters.may_reply(user, letter),
            labels=LETTER_LABELS,
            today=escalation.center_today(),
        ),
        status,
    )


@bp.get("/letters/<int:letter_id>")
@authenticated
def letter(letter_id: int) -> Any:
    return _letter_page(letter_id)


@bp.get("/letters/<int:letter_id>/pdf")
@authenticated
def letter_pdf(letter_id: int) -> Any:
    letter = letters.get_letter(me(), letter_id)
    headers = {"Content-Disposition": content_disposition(f"{letter.number}.pdf")}
    return Response(letters.pdf_bytes(letter), mimetype="application/pdf", headers=headers)


@bp.post("/letters/<int:letter_id>/reply")
@authenticated
def letter_reply(letter_id: int) -> Any:
    letter = letters.get_letter(me(), letter_id)
    form = ReplyForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        letters.reply_letter(actor=me(), letter=letter, reply=form.reply.data)
    if outcome.failed:
        return _letter_page(letter_id, form, outcome.errors, outcome.status)
    flash(_("The reply was recorded."), "success")
    return redirect(url_for("supervision_oversight.letter", letter_id=letter_id), code=303)


@bp.get("/letters/verify/<string:token>")
@public
def letter_verify(token: str) -> Any:
    """The public page the letter's QR code opens: that the letter exists, its number, addressee, dates and state,
    and the SHA-256 of the sealed PDF (the facts stay with the department)."""
    return render_template("supervision/letter_verify.html", letter=letters.by_token(token), labels=LETTER_LABELS)


# --- grading ------------------------------------------------------------------------------------------------------


def _quarter_args() -> tuple[int, int, bool]:
    """The quarter asked in the query string (the current one when absent); bad values: the current one, flagged."""
    year, quarter = grading.current_quarter()
    raw_y, raw_q = request.args.get("year"), request.args.get("quarter")
    if raw_y is None and raw_q is None:
        return year, quarter, False
    try:
        y, q = grading.check_quarter(raw_y, raw_q)
    except ValidationFailed:  # a bad query string shows the current quarter, with a note
        return year, quarter, True
    return y, q, False


def _grading_page(form: QuarterForm | None = None, errors: Errors | None = None, status: int = 200) -> Any:
    user = me()
    if not services.can_watch(user):
        raise PermissionDenied(N_("The grading of departments is for supervisors and department heads."))
    year, quarter, bad = _quarter_args()
    rows = grading.stored(user, year, quarter)
    return (
        render_template(
            "supervision/grading.html",
            year=year,
            quarter=quarter,
            bad=bad,
            rows=rows,
            frozen=any(r.frozen_at is not None for r in rows),
            conf=grading.settings(),
            form=form or QuarterForm(year=str(year), quarter=str(quarter)),
            freeze_form=FreezeForm(year=str(year), quarter=str(quarter)),
            errors=errors or Errors(),
            may_compute=services.is_supervisor(user),
            grade_labels=GRADE_LABELS,
            term_labels=TERM_LABELS,
            terms=grading.TERMS,
        ),
        status,
    )


@bp.get("/grading")
@authenticated
def grading_page() -> Any:
    return _grading_page()


@bp.post("/grading")
@authenticated
def grading_compute() -> Any:
    form = QuarterForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        grading.compute_quarter(actor=me(), year=form.year.data, quarter=form.quarter.data)
    if outcome.failed:
        return _grading_page(form, outcome.errors, outcome.status)
    flash(_("The grades were computed."), "success")
    return redirect(url_for(".grading_page", year=form.year.data, quarter=form.quarter.data), code=303)


@bp.post("/grading/freeze")
@authenticated
def grading_freeze() -> Any:
    form = FreezeForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        grading.freeze_quarter(actor=me(), year=form.year.data, quarter=form.quarter.data)
    if outcome.failed:
        return _grading_page(None, outcome.errors, outcome.status)
    flash(_("The grades of this quarter are frozen."), "success")
    return redirect(url_for(".grading_page", year=form.year.data, quarter=form.quarter.data), code=303)


# --- the leader on duty -------------------------------------------------------------------------------------------


def _rota_form(form: RotaForm | None = None) -> RotaForm:
    form = form or RotaForm()
    form.leader.choices = [(str(u.id), u.display_name) for u in duty.leaders()]
    form.title.choices = list(TITLE_LABELS.items())
    return form


def _duty_page(form: RotaForm | None = None, errors: Errors | None = None, status: int = 200) -> Any:
    user = me()
    if not duty.may_see_duty(user):
        raise PermissionDenied(N_("The leader-on-duty page is for the leaders and the supervisors."))
    today = escalation.center_today()
    unresolved, _more = services.list_signals(user, services.SignalFilter(colour="red"))
    unresolved = [s for s in unresolved if services.status_of(s) is not services.SignalStatus.ACCEPTED]
    return (
        render_template(
            "supervision/duty.html",
            today=today,
            on_duty=escalation.duty_leader_on(today),
            rota=duty.rota(today - timedelta(days=7), 35),
            escalations=escalation.open_escalations(),
            unresolved=unresolved[:50],
            gaps=duty.authorisation_gaps(),
            instructions=[i for i in duty.list_instructions(user) if i.state is not InstructionState.CLOSED],
            form=_rota_form(form),
            remove_form=RemoveDutyForm(),
            instruction_form=InstructionForm(),
            errors=errors or Errors(),
            may_keep_rota=services.is_supervisor(user),
            is_leader=duty.is_leader(user),
            addressee_labels=ADDRESSEE_LABELS,
            title_labels=TITLE_LABELS,
            instruction_labels=INSTRUCTION_LABELS,
            is_overdue=duty.is_overdue,
        ),
        status,
    )


@bp.get("/duty")
@authenticated
def duty_page() -> Any:
    return _duty_page()


@bp.post("/duty/rota")
@authenticated
def rota_set() -> Any:
    form = _rota_form(RotaForm())
    _csrf_ok(form)
    with attempt(form) as outcome:
        duty.set_duty(actor=me(), day=form.day.data, leader_id=form.leader.data, title=form.title.data)
    if outcome.failed:
        return _duty_page(form, outcome.errors, outcome.status)
    flash(_("The rota was updated."), "success")
    return redirect(url_for(".duty_page"), code=303)


@bp.post("/duty/rota/remove")
@authenticated
def rota_remove() -> Any:
    form = RemoveDutyForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        duty.remove_duty(actor=me(), day=form.day.data)
    if outcome.failed:
        return _duty_page(None, outcome.errors, outcome.status)
    flash(_("The rota was updated."), "success")
    return redirect(url_for(".duty_page"), code=303)


# --- instructions -------------------------------------------------------------------------------------------------


def _instructions_page(form: InstructionForm | None = None, errors: Errors | None = None, status: int = 200) -> Any:
    user = me()
    return (
        render_template(
            "supervision/instructions.html",
            rows=duty.list_instructions(user),
            form=form
            or InstructionForm(signal=request.args.get("signal", ""), department=request.args.get("department", "")),
            errors=errors or Errors(),
            is_leader=duty.is_leader(user),
            labels=INSTRUCTION_LABELS,
            is_overdue=duty.is_overdue,
        ),
        status,
    )


@bp.get("/instructions")
@authenticated
def instructions() -> Any:
    return _instructions_page()


@bp.post("/instructions")
@authenticated
def instruction_issue() -> Any:
    form = InstructionForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        row = duty.issue_instruction(
            actor=me(),
            department=form.department.data,
            text=form.text.data,
            workdays=form.workdays.data,
            signal_id=form.signal.data or None,
        )
    if outcome.failed:
        return _instructions_page(form, outcome.errors, outcome.status)
    flash(_("The instruction was sent to the department."), "success")
    return redirect(url_for(".instruction", instruction_id=row.id), code=303)


def _instruction_page(
    instruction_id: int,
    report: ReportForm | None = None,
    close: CloseForm | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Any:
    user = me()
    row = duty.get_instruction(user, instruction_id)
    return (
        render_template(
            "supervision/instruction.html",
            row=row,
            report_form=report or ReportForm(),
            close_form=close or CloseForm(),
            errors=errors or Errors(),
            may_report=duty.may_report(user, row),
            may_close=duty.may_close(user, row),
            labels=INSTRUCTION_LABELS,
            is_overdue=duty.is_overdue,
        ),
        status,
    )


@bp.get("/instructions/<int:instruction_id>")
@authenticated
def instruction(instruction_id: int) -> Any:
    return _instruction_page(instruction_id)


@bp.post("/instructions/<int:instruction_id>/report")
@authenticated
def instruction_report(instruction_id: int) -> Any:
    row = duty.get_instruction(me(), instruction_id)
    form = ReportForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        duty.report_instruction(actor=me(), instruction=row, text=form.text.data)
    if outcome.failed:
        return _instruction_page(instruction_id, report=form, errors=outcome.errors, status=outcome.status)
    flash(_("The report was sent to the leader."), "success")
    return redirect(url_for(".instruction", instruction_id=instruction_id), code=303)


@bp.post("/instructions/<int:instruction_id>/close")
@authenticated
def instruction_close(instruction_id: int) -> Any:
    row = duty.get_instruction(me(), instruction_id)
    form = CloseForm()
    _csrf_ok(form)
    with attempt(form) as outcome:
        duty.close_instruction(actor=me(), instruction=row, note=form.note.data)
    if outcome.failed:
        return _instruction_page(instruction_id, close=form, errors=outcome.errors, status=outcome.status)
    flash(_("The instruction was closed."), "success")
    return redirect(url_for(".instruction", instruction_id=instruction_id), code=303)


@bp.app_template_filter("center_date")
def _center_date(value: Any) -> Any:
    """An instant's day in the center's zone."""
    return to_center_time(value, current_app.config["CENTER_TIMEZONE"]).date()


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"supervision_addressee": lambda a: ADDRESSEE_LABELS.get(a, a)}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("supervision_oversight.duty_page", _l("Leader on duty"), LEAD, order=82)
    register_nav("supervision_oversight.letters_list", _l("Recommendation letters"), WATCH, order=83)
    register_nav("supervision_oversight.grading_page", _l("Grading of departments"), WATCH, order=84)
