"""Pages of the agency's evaluation work and of the expert pool's maintainers.

- The agency (evaluation.run) runs a tender's evaluation from its hub, /agency/tenders/<id>/evaluation: the
  committee's rules and buyer representatives, the committed-then-revealed draw, the seats' answers.
  What the agency sees of the committee is `visibility.committee_view` (no expert names before publication).
- The pool's maintainers (evaluation.pool) keep the experts and the specialty list under /admin/.

Thin views: forms are checked by WTForms and the API's schemas, the services decide; `attempt()` turns a
domain error into the page's messages, the request boundary commits.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.accounts.forms import MultiCheckboxField
from app.accounts.models import Organisation, Role, User
from app.core.db import db
from app.core.errors import NotFound
from app.core.pages import Errors, attempt, me
from app.core.security import requires
from app.core.views import register_nav
from app.evaluation import schemas, visibility
from app.evaluation.committee import services as services_committee
from app.evaluation.models import Committee, ExpertProfile
from app.evaluation.permissions import POOL, RUN
from app.evaluation.pool import services as services_pool
from app.tendering.models import Tender
from app.tendering.services_tenders import get_tender

bp = Blueprint("evaluation_agency", __name__, template_folder="templates")

GROUP_ROWS = 5
PAGE_SIZE = 25
EXPERT_STATUSES = ("active", "suspended", "blacklisted")
RULE_FIELDS = ("outlier_percent", "drop_extremes", "drop_min_members", "precision", "price_benchmark")


def _choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


# --- forms -------------------------------------------------------------------------------------------


class GroupRow(Form):
    """One specialty group of the committee (part of CommitteeForm, no CSRF of its own)."""

    specialty = SelectField(_l("Specialty"), validators=[Optional()])
    count = IntegerField(_l("Number of experts"), validators=[Optional(), NumberRange(min=1, max=25)])


class CommitteeForm(FlaskForm):
    size = IntegerField(
        _l("Committee size"),
        default=5,
        validators=[InputRequired(), NumberRange(min=5, max=25)],
        description=_l("An odd number from 5 to 25."),
    )
    expert_seats = IntegerField(
        _l("Expert seats"),
        default=4,
        validators=[InputRequired(), NumberRange(min=4, max=25)],
        description=_l(
            "Experts drawn from the pool hold at least two thirds of the seats; the rest are buyer representatives."
        ),
    )
    groups = FieldList(FormField(GroupRow), min_entries=GROUP_ROWS, max_entries=GROUP_ROWS)
    reserves_per_group = IntegerField(
        _l("Reserves per specialty group"),
        default=2,
        validators=[InputRequired(), NumberRange(min=0, max=10)],
        description=_l("Drawn in order with the members; invited when a member declines."),
    )
    buyer_rep_ids = MultiCheckboxField(_l("Buyer representatives"), coerce=int)
    outlier_percent = IntegerField(
        _l("Outlier threshold (percent)"), validators=[Optional(), NumberRange(min=1, max=100)]
    )
    drop_extremes = BooleanField(_l("Drop the highest and lowest score of each item"))
    drop_min_members = IntegerField(
        _l("Drop them only with at least this many scores"), validators=[Optional(), NumberRange(min=3, max=25)]
    )
    precision = IntegerField(_l("Decimal places of the scores"), validators=[Optional(), NumberRange(min=0, max=4)])
    price_benchmark = SelectField(
        _l("Price benchmark"),
        choices=_choices([("lowest", _l("The lowest valid price")), ("average", _l("The average valid price"))]),
    )
    submit = SubmitField(_l("Save the committee"))


class AppointForm(FlaskForm):
    seat = SelectField(_l("Seat"), coerce=int)
    user_id = SelectField(_l("Buyer representative"), coerce=int)
    submit = SubmitField(_l("Appoint"))


class ReleaseForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Release the seat"))


class ExpertForm(FlaskForm):
    user_id = SelectField(_l("User account"), coerce=int, description=_l("An account holding the expert role."))
    employer_id = SelectField(_l("Employer"), coerce=int, validators=[Optional()])
    region = StringField(_l("Region"), validators=[Length(max=100)])
    specialties = MultiCheckboxField(_l("Specialties"))
    qualifications = TextAreaField(_l("Qualifications"), description=_l("One per line."))
    available = BooleanField(_l("Available for draws"), default=True)
    submit = SubmitField(_l("Save"))


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        choices=_choices(
            [
                ("active", _l("In the expert pool")),
                ("suspended", _l("Suspended from the pool")),
                ("blacklisted", _l("Barred from the pool")),
            ]
        ),
    )
    reason = TextAreaField(
        _l("Reason"), validators=[Length(max=2000)], description=_l("Required to suspend or bar an expert.")
    )
    submit = SubmitField(_l("Change the status"))


class RelationshipForm(FlaskForm):
    organisation_id = SelectField(_l("Organisation"), coerce=int)
    note = TextAreaField(_l("Relationship"), validators=[Length(max=2000)], description=_l("E.g. former employer."))
    submit = SubmitField(_l("Declare the relationship"))


class SpecialtyForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Lowercase letters, digits, '_' and '-', starting with a letter; never changes."),
    )
    name_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=100)])
    active = BooleanField(_l("Active (offered for new experts and committees)"), default=True)
    submit = SubmitField(_l("Save the specialty"))


# --- helpers -----------------------------------------------------------------------------------------


def _managed(tender_id: int) -> Tender:
    """A tender the caller's agency runs (others are refused, and the refusal logged)."""
    tender = get_tender(tender_id, me())
    services_committee.require_manager(me(), tender)
    return tender


def _committee(tender: Tender) -> Committee | None:
    try:
        return services_committee.get_committee(tender)
    except NotFound:
        return None


def _view(tender: Tender) -> dict[str, Any] | None:
    try:
        return visibility.committee_view(me(), tender)
    except NotFound:
        return None


def _specialty_choices(include_inactive: bool = False) -> list[tuple[str, str]]:
    return [(s.code, s.name_zh) for s in services_pool.list_specialties(include_inactive=include_inactive)]


def specialty_names() -> dict[str, str]:
    return {s.code: s.name_zh for s in services_pool.list_specialties(include_inactive=True)}


def _buyer_users(tender: Tender) -> list[User]:
    stmt = select(User).where(User.organisation_id == tender.buyer_id, User.active.is_(True)).order_by(User.id)
    return list(db.session.scalars(stmt))


def _user_label(user: User) -> str:
    return f"{user.display_name}（{user.username}）"


def _errors_from_schema(errors: Errors, exc: ma.ValidationError, form: Any) -> None:
    errors.from_schema(exc, form)


def _int_list(values: Any) -> list[int]:
    return [int(v) for v in values or []]


# --- the hub -----------------------------------------------------------------------------------------


def _step(key: str, title: str, state: str, colour: str, link: tuple[str, str] | None = None) -> dict[str, Any]:
    action, url = link or (None, None)
    return {"id": key, "title": title, "state": state, "colour": colour, "action": action, "url": url}


def _steps(tender: Tender, view: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The evaluation's first steps in order: each with its state and the next action."""
    committee_url = url_for("evaluation_agency.committee", tender_id=tender.id)
    draw_url = url_for("evaluation_agency.draw_page", tender_id=tender.id)
    seats_url = url_for("evaluation_agency.confirmations", tender_id=tender.id)
    later = _("Cannot start yet")
    if view is None:
        return [
            _step(
                "committee", _("Committee rules"), _("Not started"), "grey", (_("Define the committee"), committee_url)
            ),
            _step("draw", _("Draw of the experts"), later, "grey"),
            _step("confirmations", _("Confirmations and declarations"), later, "grey"),
        ]
    draws = view["draws"]
    held = [s for s in view["seats"] if s["kind"] == "expert" and s["status"] in ("invited", "confirmed")]
    vacant = view["expert_seats"] - len(held)
    see = _("See the committee") if draws else _("Change the committee")
    steps = [_step("committee", _("Committee rules"), _("Defined"), "green", (see, committee_url))]
    last = draws[-1] if draws else None
    title = _("Draw of the experts")
    if last is None:
        steps.append(_step("draw", title, _("Not started"), "grey", (_("Commit the draw"), draw_url)))
    elif last["status"] == "committed":
        steps.append(
            _step("draw", title, _("Seed committed, not yet drawn"), "yellow", (_("Perform the draw"), draw_url))
        )
    elif vacant > 0:
        state = _("%(count)s expert seat(s) vacant", count=vacant)
        steps.append(_step("draw", title, state, "orange", (_("Commit another round"), draw_url)))
    else:
        steps.append(_step("draw", title, _("Drawn"), "green", (_("See the draw record"), draw_url)))
    title = _("Confirmations and declarations")
    declared = sum(1 for s in view["seats"] if s["declared"] and s["status"] == "confirmed")
    if view["complete"]:
        state, colour = _("Every member confirmed and declared"), "green"
    elif not draws:
        state, colour = later, "grey"
    else:
        state, colour = _("%(declared)s of %(size)s declared", declared=declared, size=view["size"]), "yellow"
    steps.append(_step("confirmations", title, state, colour, (_("See the seats"), seats_url)))
    # Rooms, the chair and everything after them: evaluation/_hub_award.html.
    return steps


@bp.get("/agency/tenders/<int:tender_id>/evaluation")
@requires(RUN)
def hub(tender_id: int) -> Any:
    tender = _managed(tender_id)
    view = _view(tender)
    return render_template(
        "evaluation/agency_hub.html",
        tender=tender,
        view=view,
        steps=_steps(tender, view),
        opened=services_committee.has_opening_record(tender),
    )


# --- the committee -----------------------------------------------------------------------------------


def _prepare_committee(form: CommitteeForm, tender: Tender) -> CommitteeForm:
    choices = _choices([("", _("— none —")), *_specialty_choices()])
    for row in form.groups:
        row.form.specialty.choices = choices
    form.buyer_rep_ids.choices = _choices((u.id, _user_label(u)) for u in _buyer_users(tender))
    return form


def _fill_committee(form: CommitteeForm, tender: Tender, committee: Committee | None) -> None:
    rules = committee.rules if committee is not None else services_committee.default_rules(tender)
    form.outlier_percent.data = rules.get("outlier_percent")
    form.drop_extremes.data = bool(rules.get("drop_extremes"))
    form.drop_min_members.data = rules.get("drop_min_members")
    form.precision.data = rules.get("precision")
    form.price_benchmark.data = rules.get("price_benchmark", "lowest")
    if committee is None:
        return
    form.size.data, form.expert_seats.data = committee.size, committee.expert_seats
    form.reserves_per_group.data = committee.reserves_per_group
    form.buyer_rep_ids.data = list(committee.buyer_rep_ids or [])
    named = [g for g in committee.groups if g.get("specialty")]
    for row, group in zip(form.groups, named, strict=False):
        row.form.specialty.data, row.form.count.data = group["specialty"], group["count"]


def _committee_body(form: CommitteeForm, tender: Tender) -> dict[str, Any]:
    rules = dict(services_committee.default_rules(tender))
    if form.outlier_percent.data is not None:
        rules["outlier_percent"] = form.outlier_percent.data
    rules["drop_extremes"] = bool(form.drop_extremes.data)
    for name in ("drop_min_members", "precision"):
        if form[name].data is not None:
            rules[name] = form[name].data
    rules["price_benchmark"] = form.price_benchmark.data
    return {
        "size": form.size.data,
        "expert_seats": form.expert_seats.data,
        "groups": [
            {"specialty": row.form.specialty.data, "count": row.form.count.data or 1}
            for row in form.groups
            if row.form.specialty.data
        ],
        "reserves_per_group": form.reserves_per_group.data,
        "buyer_rep_ids": _int_list(form.buyer_rep_ids.data),
        "rules": {k: rules[k] for k in RULE_FIELDS if k in rules},
    }


def _render_committee(tender: Tender, form: CommitteeForm, errors: Errors, status: int = 200, **extra: Any) -> Any:
    committee = _committee(tender)
    view = _view(tender)
    appoint = extra.pop("appoint", None) or AppointForm(prefix="appoint")
    vacant_rep_seats = []
    if committee is not None:
        held = {s["seat"] for s in (view or {}).get("seats", []) if s["status"] in ("invited", "confirmed")}
        vacant_rep_seats = [s for s in range(committee.expert_seats + 1, committee.size + 1) if s not in held]
    appoint.seat.choices = _choices((s, str(s)) for s in vacant_rep_seats)
    appoint.user_id.choices = _choices((u.id, _user_label(u)) for u in _buyer_users(tender))
    return render_template(
        "evaluation/agency_committee.html",
        tender=tender,
        form=form,
        errors=errors,
        view=view,
        editable=committee is None or not committee.draws,
        appoint=appoint,
        appoint_errors=extra.pop("appoint_errors", None) or Errors(),
        vacant_rep_seats=vacant_rep_seats,
        specialties=specialty_names(),
        users={u.id: u for u in _buyer_users(tender)},
        **extra,
    ), status


@bp.route("/agency/tenders/<int:tender_id>/evaluation/committee", methods=["GET", "POST"])
@requires(RUN)
def committee(tender_id: int) -> Any:
    tender = _managed(tender_id)
    form = _prepare_committee(CommitteeForm(), tender)
    errors = Errors()
    if request.method == "GET":
        _fill_committee(form, tender, _committee(tender))
        return _render_committee(tender, form, errors)
    if not form.validate_on_submit():
        return _render_committee(tender, form, errors, 400)
    try:
        body = schemas.CommitteeArgs().load(_committee_body(form, tender))
    except ma.ValidationError as exc:
        _errors_from_schema(errors, exc, form)
        return _render_committee(tender, form, errors, 422)
    with attempt(form) as outcome:
        services_committee.define_committee(actor=me(), tender=tender, data=body)
    if outcome.failed:
        return _render_committee(tender, form, outcome.errors, outcome.status)
    flash(_("The committee was saved."), "success")
    return redirect(url_for("evaluation_agency.hub", tender_id=tender_id), code=303)


@bp.post("/agency/tenders/<int:tender_id>/evaluation/committee/buyer-reps")
@requires(RUN)
def appoint(tender_id: int) -> Any:
    tender = _managed(tender_id)
    form = AppointForm(prefix="appoint")
    form.seat.choices = _choices((s, str(s)) for s in range(1, 26))
    form.user_id.choices = _choices((u.id, _user_label(u)) for u in _buyer_users(tender))
    errors = Errors()
    main = _prepare_committee(CommitteeForm(formdata=None), tender)
    _fill_committee(main, tender, _committee(tender))
    if not form.validate_on_submit():
        return _render_committee(tender, main, Errors(), 400, appoint=form, appoint_errors=errors)
    with attempt(form) as outcome:
        services_committee.appoint_buyer_rep(actor=me(), tender=tender, seat=form.seat.data, user_id=form.user_id.data)
    if outcome.failed:
        return _render_committee(tender, main, Errors(), outcome.status, appoint=form, appoint_errors=outcome.errors)
    flash(_("The buyer representative was appointed."), "success")
    return redirect(url_for("evaluation_agency.committee", tender_id=tender_id), code=303)


# --- the draw ----------------------------------------------------------------------------------------


def _render_draw(tender: Tender, status: int = 200, **extra: Any) -> Any:
    view = _view(tender)
    return render_template(
        "evaluation/agency_draw.html",
        tender=tender,
        view=view,
        draws=list(reversed((view or {}).get("draws", []))),
        specialties=specialty_names(),
        release=extra.pop("release", None) or ReleaseForm(),
        release_errors=extra.pop("release_errors", None) or Errors(),
        release_seat=extra.pop("release_seat", None),
        verified=_verified,
        opened=services_committee.has_opening_record(tender),
        **extra,
    ), status


def _verified(draw: dict[str, Any]) -> bool | None:
    """Whether the revealed seed hashes to the commitment (None before the reveal)."""
    from app.evaluation.committee import draw as draw_mod

    if not draw.get("seed"):
        return None
    return bool(draw_mod.seed_sha256(bytes.fromhex(draw["seed"])) == draw["seed_sha256"])


@bp.get("/agency/tenders/<int:tender_id>/evaluation/draw")
@requires(RUN)
def draw_page(tender_id: int) -> Any:
    return _render_draw(_managed(tender_id))


@bp.post("/agency/tenders/<int:tender_id>/evaluation/draw")
@requires(RUN)
def commit_draw(tender_id: int) -> Any:
    tender = _managed(tender_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt() as outcome:
        row = services_committee.commit_draw(actor=me(), tender=tender)
    if outcome.failed:
        return _render_draw(tender, outcome.status, errors=outcome.errors)
    flash(_("Round %(round)s: the seed is committed. Perform the draw to reveal it.", round=row.round), "success")
    return redirect(url_for("evaluation_agency.draw_page", tender_id=tender_id), code=303)


@bp.post("/agency/tenders/<int:tender_id>/evaluation/draw/<int:round_no>/perform")
@requires(RUN)
def perform_draw(tender_id: int, round_no: int) -> Any:
    tender = _managed(tender_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt() as outcome:
        row = services_committee.perform_draw(actor=me(), tender=tender, round_no=round_no)
    if outcome.failed:
        return _render_draw(tender, outcome.status, errors=outcome.errors)
    if row.status.value == "failed":
        flash(_("The draw failed: the pool cannot fill the seats. Fix the pool and commit another round."), "error")
    else:
        flash(_("Round %(round)s was drawn; the experts are invited.", round=round_no), "success")
    return redirect(url_for("evaluation_agency.draw_page", tender_id=tender_id), code=303)


@bp.post("/agency/tenders/<int:tender_id>/evaluation/seats/<int:seat>/release")
@requires(RUN)
def release_seat(tender_id: int, seat: int) -> Any:
    tender = _managed(tender_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        return _render_draw(tender, 400, release=form, release_seat=seat)
    with attempt(form) as outcome:
        services_committee.release_seat(actor=me(), tender=tender, seat=seat, reason=form.reason.data or "")
    if outcome.failed:
        return _render_draw(tender, outcome.status, release=form, release_errors=outcome.errors, release_seat=seat)
    flash(_("Seat %(seat)s was released; the next reserve is invited when there is one.", seat=seat), "success")
    return redirect(url_for("evaluation_agency.draw_page", tender_id=tender_id), code=303)


@bp.get("/agency/tenders/<int:tender_id>/evaluation/seats")
@requires(RUN)
def confirmations(tender_id: int) -> Any:
    tender = _managed(tender_id)
    return render_template(
        "evaluation/agency_seats.html", tender=tender, view=_view(tender), specialties=specialty_names()
    )


# --- the expert pool ---------------------------------------------------------------------------------


def _expert_users(current: int | None = None) -> list[tuple[int, str]]:
    enrolled = set(db.session.scalars(select(ExpertProfile.user_id)))
    stmt = select(User).join(User.roles).where(Role.name == "expert", User.active.is_(True)).order_by(User.id)
    return [(u.id, _user_label(u)) for u in db.session.scalars(stmt) if u.id not in enrolled or u.id == current]


def _organisation_choices(blank: str | None) -> list[tuple[int, str]]:
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name))
    return ([(0, blank)] if blank is not None else []) + [(o.id, o.name) for o in orgs]


def _prepare_expert(form: ExpertForm, expert: ExpertProfile | None = None) -> ExpertForm:
    form.user_id.choices = _choices(_expert_users(expert.user_id if expert else None))
    form.employer_id.choices = _choices(_organisation_choices(_("— none —")))
    form.specialties.choices = _choices(_specialty_choices())
    return form


def _expert_body(form: ExpertForm) -> dict[str, Any]:
    return {
        "employer_id": form.employer_id.data or None,
        "region": (form.region.data or "").strip(),
        "specialties": list(form.specialties.data or []),
        "qualifications": [q.strip() for q in (form.qualifications.data or "").splitlines() if q.strip()],
        "available": bool(form.available.data),
    }


@bp.get("/admin/experts")
@requires(POOL)
def experts() -> Any:
    specialty = request.args.get("specialty") or None
    status = request.args.get("status") or None
    if status not in (None, *EXPERT_STATUSES):
        status = None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = services_pool.list_experts(specialty=specialty, status=status)
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    args: dict[str, Any] = {k: v for k, v in (("specialty", specialty), ("status", status)) if v}
    return render_template(
        "evaluation/admin_experts.html",
        experts=rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(rows),
        specialty=specialty or "",
        status=status or "",
        specialty_choices=_specialty_choices(include_inactive=True),
        specialties=specialty_names(),
        statuses=EXPERT_STATUSES,
        previous_url=url_for("evaluation_agency.experts", page=page - 1, **args) if page > 1 else None,
        next_url=url_for("evaluation_agency.experts", page=page + 1, **args) if page < pages else None,
    )


@bp.route("/admin/experts/new", methods=["GET", "POST"])
@requires(POOL)
def expert_new() -> Any:
    form = _prepare_expert(ExpertForm())
    errors = Errors()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("evaluation/admin_expert_new.html", form=form, errors=errors), 400
        try:
            body = schemas.ExpertArgs().load({"user_id": form.user_id.data, **_expert_body(form)})
        except ma.ValidationError as exc:
            _errors_from_schema(errors, exc, form)
            return render_template("evaluation/admin_expert_new.html", form=form, errors=errors), 422
        with attempt(form) as outcome:
            expert = services_pool.create_expert(actor=me(), data=body)
        if not outcome.failed:
            flash(_("The expert was added to the pool."), "success")
            return redirect(url_for("evaluation_agency.expert", expert_id=expert.id), code=303)
        return render_template("evaluation/admin_expert_new.html", form=form, errors=outcome.errors), outcome.status
    return render_template("evaluation/admin_expert_new.html", form=form, errors=errors)


def _render_expert(expert: ExpertProfile, status: int = 200, **forms: Any) -> Any:
    edit = forms.pop("edit", None)
    if edit is None:
        edit = _prepare_expert(ExpertForm(formdata=None, prefix="edit"), expert)
        edit.employer_id.data = expert.employer_id or 0
        edit.region.data = expert.region
        edit.specialties.data = list(expert.specialties or [])
        edit.qualifications.data = "\n".join(expert.qualifications or [])
        edit.available.data = expert.available
    status_form = forms.pop("status_form", None) or StatusForm(
        formdata=None, prefix="status", status=expert.status.value
    )
    relation = forms.pop("relation", None) or RelationshipForm(formdata=None, prefix="rel")
    relation.organisation_id.choices = _choices(_organisation_choices(None))
    return render_template(
        "evaluation/admin_expert.html",
        expert=expert,
        edit=edit,
        status_form=status_form,
        relation=relation,
        errors=forms.pop("errors", None) or Errors(),
        status_errors=forms.pop("status_errors", None) or Errors(),
        relation_errors=forms.pop("relation_errors", None) or Errors(),
        specialties=specialty_names(),
    ), status


@bp.route("/admin/experts/<int:expert_id>", methods=["GET", "POST"])
@requires(POOL)
def expert(expert_id: int) -> Any:
    found = services_pool.get_expert(expert_id)
    if request.method == "GET":
        return _render_expert(found)
    form = _prepare_expert(ExpertForm(prefix="edit"), found)
    form.user_id.validators = []
    del form.user_id
    errors = Errors()
    if not form.validate_on_submit():
        return _render_expert(found, 400, edit=form, errors=errors)
    try:
        body = schemas.ExpertUpdateArgs().load(_expert_body(form))
    except ma.ValidationError as exc:
        _errors_from_schema(errors, exc, form)
        return _render_expert(found, 422, edit=form, errors=errors)
    with attempt(form) as outcome:
        services_pool.update_expert(actor=me(), expert=found, data=body)
    if outcome.failed:
        return _render_expert(found, outcome.status, edit=form, errors=outcome.errors)
    flash(_("The expert's profile was saved."), "success")
    return redirect(url_for("evaluation_agency.expert", expert_id=expert_id), code=303)


@bp.post("/admin/experts/<int:expert_id>/status")
@requires(POOL)
def expert_status(expert_id: int) -> Any:
    found = services_pool.get_expert(expert_id)
    form = StatusForm(prefix="status")
    if not form.validate_on_submit():
        return _render_expert(found, 400, status_form=form)
    with attempt(form) as outcome:
        services_pool.set_status(actor=me(), expert=found, status=form.status.data or "", reason=form.reason.data or "")
    if outcome.failed:
        return _render_expert(found, outcome.status, status_form=form, status_errors=outcome.errors)
    flash(_("The expert's status was changed."), "success")
    return redirect(url_for("evaluation_agency.expert", expert_id=expert_id), code=303)


@bp.post("/admin/experts/<int:expert_id>/relationships")
@requires(POOL)
def expert_relationship(expert_id: int) -> Any:
    found = services_pool.get_expert(expert_id)
    form = RelationshipForm(prefix="rel")
    form.organisation_id.choices = _choices(_organisation_choices(None))
    if not form.validate_on_submit():
        return _render_expert(found, 400, relation=form)
    with attempt(form) as outcome:
        services_pool.declare_relationship(
            actor=me(), expert=found, organisation_id=form.organisation_id.data, note=form.note.data or ""
        )
    if outcome.failed:
        return _render_expert(found, outcome.status, relation=form, relation_errors=outcome.errors)
    flash(_("The relationship was recorded: the expert is never drawn for that organisation."), "success")
    return redirect(url_for("evaluation_agency.expert", expert_id=expert_id), code=303)


# --- specialties -------------------------------------------------------------------------------------


def _render_specialties(form: SpecialtyForm, errors: Errors, status: int = 200) -> Any:
    return render_template(
        "evaluation/admin_specialties.html",
        rows=services_pool.list_specialties(include_inactive=True),
        form=form,
        errors=errors,
    ), status


@bp.route("/admin/specialties", methods=["GET", "POST"])
@requires(POOL)
def specialties() -> Any:
    code = request.args.get("edit")
    form = SpecialtyForm()
    errors = Errors({"name": "name_zh"})
    if request.method == "GET":
        row = next((s for s in services_pool.list_specialties(include_inactive=True) if s.code == code), None)
        if row is not None:
            form.code.data, form.name_zh.data, form.name_en.data = row.code, row.name_zh, row.name_en
            form.active.data = row.active
        return _render_specialties(form, errors)
    if not form.validate_on_submit():
        return _render_specialties(form, errors, 400)
    try:
        body = schemas.SpecialtyArgs().load(
            {"code": (form.code.data or "").strip(), "name_zh": form.name_zh.data, "name_en": form.name_en.data,
             "active": bool(form.active.data)}
        )  # fmt: skip
    except ma.ValidationError as exc:
        _errors_from_schema(errors, exc, form)
        return _render_specialties(form, errors, 422)
    with attempt(form, aliases={"name": "name_zh"}) as outcome:
        services_pool.save_specialty(actor=me(), **body)
    if outcome.failed:
        return _render_specialties(form, outcome.errors, outcome.status)
    flash(_("The specialty was saved."), "success")
    return redirect(url_for("evaluation_agency.specialties"), code=303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("evaluation_agency.experts", _l("Expert pool"), POOL, order=94)
    register_nav("evaluation_agency.specialties", _l("Specialties"), POOL, order=95)
