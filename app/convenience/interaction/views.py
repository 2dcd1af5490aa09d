"""政民互动 pages: the citizen's form and tracking page (with 评价 once closed), the hotline operator's console,
the department's inbox, the dispatcher's view (overdue first), the call-back list, and one request page for
staff with the forms of the loop's steps the viewer may take."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.convenience.interaction import services
from app.convenience.interaction.models import Channel, InteractionRequest, Status
from app.convenience.interaction.permissions import DISPATCH, HANDLE, INTAKE
from app.convenience.rating import services as rating
from app.convenience.rating.views import LEVEL_LABELS, RateForm
from app.core.db import db
from app.core.errors import NotFound
from app.core.pages import attempt, me
from app.core.security import authenticated, caller_has, public, requires
from app.core.views import register_nav

bp = Blueprint("convenience_interaction", __name__, url_prefix="/convenience/interaction", template_folder="templates")

KIND_CHOICES = [
    ("complaint", _l("Complaint (投诉)")),
    ("suggestion", _l("Suggestion (建议)")),
    ("consultation", _l("Consultation (咨询)")),
    ("help", _l("Help request (求助)")),
]


def _category_choices() -> list[tuple[str, str]]:
    from flask_babel import get_locale

    english = not str(get_locale() or "zh").startswith("zh")
    return [(c.code, (c.name_en or c.name) if english else c.name) for c in services.categories()]


class SubmitForm(FlaskForm):
    kind = RadioField(_l("What is it?"), choices=KIND_CHOICES, validators=[InputRequired(_l("Choose what it is."))])
    category = SelectField(_l("Request category"), validators=[InputRequired(_l("Choose a category."))])
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=services.TITLE_MAX)])
    body = TextAreaField(
        _l("What happened, or what would you like to ask or suggest?"),
        validators=[InputRequired(_l("Describe your request.")), Length(max=services.BODY_MAX)],
    )
    name = StringField(_l("Your name (optional)"), validators=[Optional(), Length(max=services.NAME_MAX)])
    phone = StringField(_l("Telephone number"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("E-mail address"), validators=[Optional(), Length(max=200)])
    address = StringField(_l("Where (optional)"), validators=[Optional(), Length(max=services.ADDRESS_MAX)])
    submit = SubmitField(_l("Send my request"))


class TrackForm(FlaskForm):
    class Meta:
        csrf = False

    reference = StringField(_l("Reference"), validators=[InputRequired(_l("Enter the reference."))])
    token = StringField(_l("Tracking code"), validators=[InputRequired(_l("Enter the tracking code."))])
    submit = SubmitField(_l("Follow my request"))


class HotlineForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=KIND_CHOICES, validators=[InputRequired()])
    category = SelectField(_l("Request category"), validators=[InputRequired(_l("Choose a category."))])
    urgent = BooleanField(_l("Urgent: due today"))
    name = StringField(_l("Caller's name"), validators=[Optional(), Length(max=services.NAME_MAX)])
    phone = StringField(_l("Caller's number"), validators=[InputRequired(_l("Enter the caller's number."))])
    body = TextAreaField(
        _l("What the caller says"),
        validators=[InputRequired(_l("Write down what the caller says.")), Length(max=services.BODY_MAX)],
    )
    address = StringField(_l("Where (optional)"), validators=[Optional(), Length(max=services.ADDRESS_MAX)])
    submit = SubmitField(_l("Take in the call"))


class DispatchForm(FlaskForm):
    department = SelectField(_l("Department to handle it"), validators=[Optional()])
    submit = SubmitField(_l("Dispatch"))


class ReplyForm(FlaskForm):
    reply = TextAreaField(
        _l("Reply to the citizen"),
        validators=[InputRequired(_l("Write the reply.")), Length(max=services.REPLY_MAX)],
    )
    submit = SubmitField(_l("Send the reply"))


class PressForm(FlaskForm):
    note = TextAreaField(
        _l("Pressing note"), validators=[InputRequired(_l("Write the note.")), Length(max=services.NOTE_MAX)]
    )
    reopen = BooleanField(_l("Send the reply back for more handling"))
    submit = SubmitField(_l("Press for handling"))


class CallBackForm(FlaskForm):
    reached = RadioField(
        _l("Was the citizen reached?"),
        choices=[("yes", _l("Reached")), ("no", _l("Not reached"))],
        validators=[InputRequired(_l("Say whether the citizen was reached."))],
    )
    satisfied = RadioField(
        _l("Satisfied with the handling?"),
        choices=[("yes", _l("Satisfied")), ("no", _l("Not satisfied")), ("unknown", _l("Did not say"))],
        validators=[Optional()],
    )
    note = TextAreaField(_l("What was said (optional)"), validators=[Optional(), Length(max=services.NOTE_MAX)])
    submit = SubmitField(_l("Record the call-back"))


def _caller() -> Any:
    user = me()
    return user if getattr(user, "is_authenticated", False) else None


# --- citizens ------------------------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@public
def new() -> Any:
    form = SubmitForm()
    form.category.choices = _category_choices()
    errors, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            with attempt(form) as outcome:
                intake = services.submit(
                    channel=Channel.WEB,
                    kind=form.kind.data,
                    category=form.category.data,
                    title=form.title.data or "",
                    body=form.body.data or "",
                    name=form.name.data or "",
                    phone=form.phone.data or "",
                    email=form.email.data or "",
                    address=form.address.data or "",
                    citizen=_caller(),
                    actor=_caller(),
                )
            if not outcome.failed:
                r = intake.request
                flash(str(_l("Your request was received. Keep this page's address to follow it.")), "success")
                return redirect(url_for(".track", reference=r.reference, token=r.tracking_token), code=303)
            errors, status = outcome.errors, outcome.status
        else:
            status = 422
    return render_template("convenience_interaction/new.html", form=form, errors=errors), status


@bp.get("/track")
@public
def find() -> Any:
    form = TrackForm(request.args)
    if "reference" in request.args and form.validate():
        return redirect(
            url_for(".track", reference=(form.reference.data or "").strip(), token=(form.token.data or "").strip()),
            code=303,
        )
    status = 422 if "reference" in request.args else 200
    return render_template("convenience_interaction/find.html", form=form), status


@bp.route("/track/<string:reference>/<string:token>", methods=["GET", "POST"])
@public
def track(reference: str, token: str) -> Any:
    """The citizen's page: status, due date, the reply; once closed, the voluntary rating (好差评)."""
    found = services.tracked(reference, token)
    subject = services.rating_subject(found)
    existing = rating.rating_of(subject.kind, subject.id)
    form = RateForm()
    errors, status = None, 200
    if request.method == "POST":
        if existing is not None or subject.closed_at is None:
            status = 409
        elif form.validate_on_submit():
            with attempt(form) as outcome:
                rating.rate(subject, level=form.level.data, comment=form.comment.data or "", actor=_caller())
            if not outcome.failed:
                flash(str(_l("Thank you: your rating was received.")), "success")
                return redirect(url_for(".track", reference=reference, token=token), code=303)
            errors, status = outcome.errors, outcome.status
        else:
            status = 422
    return render_template(
        "convenience_interaction/track.html",
        r=found,
        department=_department_label(found),
        existing=existing,
        rateable=subject.closed_at is not None,
        form=form,
        errors=errors,
        level_labels=LEVEL_LABELS,
    ), status


def _department_label(r: InteractionRequest) -> str:
    from flask_babel import get_locale

    english = not str(get_locale() or "zh").startswith("zh")
    if r.department is None:
        return str(_l("The center's dispatch office")) if english else services.DISPATCH_OFFICE_ZH
    return str(r.department.name_en or r.department.name) if english else str(r.department.name)


# --- hotline -------------------------------------------------------------------------------------------------------


@bp.route("/hotline", methods=["GET", "POST"])
@requires(INTAKE)
def hotline() -> Any:
    """The operator's console: one form for a call, keyboard first; after each call the filled reply template and
    the reference to read out to the caller."""
    form = HotlineForm()
    form.category.choices = _category_choices()
    errors, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            with attempt(form) as outcome:
                intake = services.submit(
                    channel=Channel.HOTLINE,
                    kind=form.kind.data,
                    category=form.category.data,
                    urgent=bool(form.urgent.data),
                    name=form.name.data or "",
                    phone=form.phone.data or "",
                    body=form.body.data or "",
                    address=form.address.data or "",
                    actor=me(),
                )
            if not outcome.failed:
                flash(str(_l("The call was taken in.")), "success")
                return redirect(url_for(".hotline", last=intake.request.reference), code=303)
            errors, status = outcome.errors, outcome.status
        else:
            status = 422
    last = None
    if request.method == "GET" and request.args.get("last"):
        try:
            last = services.get(request.args["last"])
        except NotFound:
            last = None
    return render_template(
        "convenience_interaction/hotline.html",
        form=form,
        errors=errors,
        last=last,
        last_reply=services.fill_template(last) if last is not None else "",
        categories=services.categories(),
        template_preview=services.template_preview,
    ), status


@bp.get("/callbacks")
@requires(INTAKE)
def callbacks() -> Any:
    return render_template("convenience_interaction/callbacks.html", rows=services.to_call_back())


# --- departments and dispatchers ---------------------------------------------------------------------------------


@bp.get("/inbox")
@requires(HANDLE)
def inbox() -> Any:
    return render_template("convenience_interaction/list.html", rows=services.inbox(me()), which="inbox")


@bp.get("/dispatch")
@requires(DISPATCH)
def dispatcher() -> Any:
    return render_template("convenience_interaction/list.html", rows=services.open_requests(), which="dispatch")


def _department_choices() -> list[tuple[str, str]]:
    from sqlalchemy import select

    from app.permits.catalogue.models import Department

    rows = db.session.scalars(select(Department).order_by(Department.position, Department.code))
    return [("", str(_l("The center's dispatch office")))] + [(d.code, d.name) for d in rows]


def _detail(
    reference: str,
    *,
    forms: dict[str, FlaskForm] | None = None,
    errors: Any = None,
    status: int = 200,
) -> Any:
    found = services.visible(reference, me())
    given = dict(forms or {})
    dispatch_form = given.get("dispatch") or DispatchForm()
    dispatch_form.department.choices = _department_choices()  # type: ignore[attr-defined]
    if "dispatch" not in given:
        dispatch_form.department.data = found.department.code if found.department else ""  # type: ignore[attr-defined]
    reply_form = given.get("reply") or ReplyForm()
    if "reply" not in given:
        reply_form.reply.data = found.reply or services.fill_template(found)  # type: ignore[attr-defined]
    return render_template(
        "convenience_interaction/request.html",
        r=found,
        department=_department_label(found),
        template_reply=services.fill_template(found),
        can_dispatch=caller_has(DISPATCH),
        can_handle=services.can_handle(me(), found),
        can_call=caller_has(INTAKE),
        dispatch_form=dispatch_form,
        reply_form=reply_form,
        press_form=given.get("press") or PressForm(),
        callback_form=given.get("callback") or CallBackForm(),
        take_form=FlaskForm(),
        errors=errors,
        rated=services.rating_of(found),
        open_statuses=(Status.RECEIVED, Status.DISPATCHED, Status.HANDLING),
    ), status


@bp.get("/requests/<string:reference>")
@authenticated
def detail(reference: str) -> Any:
    return _detail(reference)


def _step(reference: str, name: str, form: FlaskForm, call: Any, done: Any) -> Any:
    services.visible(reference, me())  # 404 before anything else for a request the caller cannot see
    if name == "dispatch":
        form.department.choices = _department_choices()  # type: ignore[attr-defined]
    if not form.validate_on_submit():
        return _detail(reference, forms={name: form}, status=422)
    with attempt(form) as outcome:
        call()
    if outcome.failed:
        return _detail(reference, forms={name: form}, errors=outcome.errors, status=outcome.status)
    flash(str(done), "success")
    return redirect(url_for(".detail", reference=reference), code=303)


@bp.post("/requests/<string:reference>/dispatch")
@requires(DISPATCH)
def dispatch(reference: str) -> Any:
    form = DispatchForm()
    return _step(
        reference,
        "dispatch",
        form,
        lambda: services.dispatch(actor=me(), reference=reference, department=form.department.data or ""),
        _l("The request was dispatched."),
    )


@bp.post("/requests/<string:reference>/take-up")
@requires(HANDLE)
def take_up(reference: str) -> Any:
    form = FlaskForm()
    return _step(
        reference,
        "take",
        form,
        lambda: services.take_up(actor=me(), reference=reference),
        _l("You took the request up."),
    )


@bp.post("/requests/<string:reference>/reply")
@requires(HANDLE)
def reply(reference: str) -> Any:
    form = ReplyForm()
    return _step(
        reference,
        "reply",
        form,
        lambda: services.reply(actor=me(), reference=reference, text=form.reply.data or ""),
        _l("The reply was sent."),
    )


@bp.post("/requests/<string:reference>/press")
@requires(DISPATCH)
def press(reference: str) -> Any:
    form = PressForm()
    return _step(
        reference,
        "press",
        form,
        lambda: services.press(
            actor=me(), reference=reference, note=form.note.data or "", reopen=bool(form.reopen.data)
        ),
        _l("The pressing note was recorded."),
    )


@bp.post("/requests/<string:reference>/close")
@requires(DISPATCH)
def close(reference: str) -> Any:
    form = FlaskForm()
    return _step(
        reference, "close", form, lambda: services.close(actor=me(), reference=reference), _l("The request was closed.")
    )


@bp.post("/requests/<string:reference>/callback")
@requires(INTAKE)
def callback(reference: str) -> Any:
    form = CallBackForm()
    satisfied = {"yes": True, "no": False}.get(form.satisfied.data or "")
    return _step(
        reference,
        "callback",
        form,
        lambda: services.call_back(
            actor=me(),
            reference=reference,
            reached=form.reached.data == "yes",
            satisfied=satisfied,
            note=form.note.data or "",
        ),
        _l("The call-back was recorded."),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("convenience_interaction.new", _l("Complaints and suggestions"), "@public", order=13)
    register_nav("convenience_interaction.hotline", _l("Hotline console"), INTAKE, order=23)
    register_nav("convenience_interaction.inbox", _l("Citizens' requests"), HANDLE, order=24)
    register_nav("convenience_interaction.dispatcher", _l("Dispatch requests"), DISPATCH, order=25)
    register_nav("convenience_interaction.admin", _l("Reply templates and routing rules"), DISPATCH, order=26)
