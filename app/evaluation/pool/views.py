"""Pages of the expert pool's maintainers (evaluation.pool): the experts and the specialty list under /admin/.

Thin views: forms are checked by WTForms and the API's schemas, the services decide; `attempt()` turns a
domain error into the page's messages, the request boundary commits. The routes are on the `evaluation_agency`
blueprint (app/evaluation/web.py).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import Organisation, Role, User
from app.core.db import db
from app.core.pages import Errors, attempt, me
from app.core.security import requires
from app.core.views import register_nav
from app.evaluation import schemas
from app.evaluation.models import ExpertProfile
from app.evaluation.permissions import POOL
from app.evaluation.pool import services as services_pool
from app.evaluation.pool.forms import ExpertForm, RelationshipForm, SpecialtyForm, StatusForm, specialty_choices
from app.evaluation.web import agency_pages, choices, user_label

PAGE_SIZE = 25

EXPERT_STATUSES = ("active", "suspended", "blacklisted")


def specialty_names() -> dict[str, str]:
    return {s.code: s.name_zh for s in services_pool.list_specialties(include_inactive=True)}


def _errors_from_schema(errors: Errors, exc: ma.ValidationError, form: Any) -> None:
    errors.from_schema(exc, form)


# --- the expert pool ---------------------------------------------------------------------------------


def _expert_users(current: int | None = None) -> list[tuple[int, str]]:
    enrolled = set(db.session.scalars(select(ExpertProfile.user_id)))
    stmt = select(User).join(User.roles).where(Role.name == "expert", User.active.is_(True)).order_by(User.id)
    return [(u.id, user_label(u)) for u in db.session.scalars(stmt) if u.id not in enrolled or u.id == current]


def _organisation_choices(blank: str | None) -> list[tuple[int, str]]:
    orgs = db.session.scalars(select(Organisation).order_by(Organisation.name))
    return ([(0, blank)] if blank is not None else []) + [(o.id, o.name) for o in orgs]


def _prepare_expert(form: ExpertForm, expert: ExpertProfile | None = None) -> ExpertForm:
    form.user_id.choices = choices(_expert_users(expert.user_id if expert else None))
    form.employer_id.choices = choices(_organisation_choices(_("— none —")))
    form.specialties.choices = choices(specialty_choices())
    return form


def _expert_body(form: ExpertForm) -> dict[str, Any]:
    return {
        "employer_id": form.employer_id.data or None,
        "region": (form.region.data or "").strip(),
        "specialties": list(form.specialties.data or []),
        "qualifications": [q.strip() for q in (form.qualifications.data or "").splitlines() if q.strip()],
        "available": bool(form.available.data),
    }


@agency_pages.get("/admin/experts")
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
        specialty_choices=specialty_choices(include_inactive=True),
        specialties=specialty_names(),
        statuses=EXPERT_STATUSES,
        previous_url=url_for("evaluation_agency.experts", page=page - 1, **args) if page > 1 else None,
        next_url=url_for("evaluation_agency.experts", page=page + 1, **args) if page < pages else None,
    )


@agency_pages.route("/admin/experts/new", methods=["GET", "POST"])
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
    relation.organisation_id.choices = choices(_organisation_choices(None))
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


@agency_pages.route("/admin/experts/<int:expert_id>", methods=["GET", "POST"])
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


@agency_pages.post("/admin/experts/<int:expert_id>/status")
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


@agency_pages.post("/admin/experts/<int:expert_id>/relationships")
@requires(POOL)
def expert_relationship(expert_id: int) -> Any:
    found = services_pool.get_expert(expert_id)
    form = RelationshipForm(prefix="rel")
    form.organisation_id.choices = choices(_organisation_choices(None))
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


@agency_pages.route("/admin/specialties", methods=["GET", "POST"])
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
    del app
    register_nav("evaluation_agency.experts", _l("Expert pool"), POOL, order=94)
    register_nav("evaluation_agency.specialties", _l("Specialties"), POOL, order=95)
