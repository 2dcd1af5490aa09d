"""政民互动 administration pages: the categories with their reply templates (edited with only the known
placeholders) and the routing rules in the order routing tries them (add, stop or resume using, delete).

Held by the dispatch office's permission (DISPATCH): the dispatchers are who see where requests land and who
assign what no rule routes. Every change goes through app.convenience.interaction.rules (evidence log included).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField

from app.convenience.interaction import rules, services
from app.convenience.interaction.permissions import DISPATCH
from app.convenience.interaction.views import KIND_CHOICES, bp
from app.core.pages import attempt, me
from app.core.security import requires

PLACEHOLDER_HELP = (
    ("reference", _l("the request's reference")),
    ("name", _l("the citizen's name")),
    ("category", _l("the category")),
    ("department", _l("the department handling it")),
    ("due", _l("the due date")),
)


class TemplateForm(FlaskForm):
    template = TextAreaField(_l("Reply template"))
    submit = SubmitField(_l("Save the template"))


class RuleForm(FlaskForm):
    priority = StringField(_l("Priority (smaller is tried first)"), default="100")
    kind = SelectField(_l("Request type (optional)"), validate_choice=False)
    category = SelectField(_l("Category (optional)"), validate_choice=False)
    keyword = StringField(_l("Keyword in the request (optional)"))
    department = SelectField(_l("Department it goes to"), validate_choice=False)
    note = StringField(_l("Note (optional)"))
    submit = SubmitField(_l("Add the rule"))


def _english() -> bool:
    return not str(get_locale() or "zh").startswith("zh")


def _named(name: str, name_en: str) -> str:
    return (name_en or name) if _english() else name


def _rule_form(form: RuleForm | None = None) -> RuleForm:
    form = form or RuleForm()
    form.kind.choices = [("", str(_l("Any type")))] + [(k, str(label)) for k, label in KIND_CHOICES]
    form.category.choices = [("", str(_l("Any category")))] + [
        (c.code, _named(c.name, c.name_en)) for c in services.categories(active_only=False)
    ]
    form.department.choices = [("", str(_l("Choose a department")))] + [
        (d.code, _named(d.name, d.name_en)) for d in rules.departments()
    ]
    return form


def _page(form: RuleForm | None = None, errors: Any = None, status: int = 200) -> Any:
    return render_template(
        "convenience_interaction/admin.html",
        categories=services.categories(active_only=False),
        rules=rules.rules(),
        form=_rule_form(form),
        errors=errors,
        named=_named,
        preview=services.template_preview,
    ), status


@bp.get("/admin")
@requires(DISPATCH)
def admin() -> Any:
    return _page()


@bp.route("/admin/categories/<string:code>", methods=["GET", "POST"])
@requires(DISPATCH)
def admin_template(code: str) -> Any:
    found = rules.category(code)
    form = TemplateForm()
    errors, status = None, 200
    if form.validate_on_submit():
        with attempt(form) as outcome:
            rules.set_template(actor=me(), code=code, template=form.template.data or "")
        if not outcome.failed:
            flash(str(_l("The reply template was saved.")), "success")
            return redirect(url_for(".admin", _anchor=f"category-{found.code}"), code=303)
        errors, status = outcome.errors, outcome.status
    elif form.is_submitted():
        status = 422
    else:
        form.template.data = found.reply_template
    return render_template(
        "convenience_interaction/admin_template.html",
        category=found,
        form=form,
        errors=errors,
        named=_named,
        placeholders=PLACEHOLDER_HELP,
    ), status


@bp.post("/admin/rules")
@requires(DISPATCH)
def admin_add_rule() -> Any:
    form = _rule_form()
    if not form.validate_on_submit():
        return _page(form, status=422)
    with attempt(form) as outcome:
        rules.add_rule(
            actor=me(),
            priority=form.priority.data,
            kind=form.kind.data or "",
            category=form.category.data or "",
            keyword=form.keyword.data or "",
            department=form.department.data or "",
            note=form.note.data or "",
        )
    if outcome.failed:
        return _page(form, errors=outcome.errors, status=outcome.status)
    flash(str(_l("The routing rule was added.")), "success")
    return redirect(url_for(".admin", _anchor="rules"), code=303)


def _rule_step(rule_id: int, call: Any, done: Any) -> Any:
    form = FlaskForm()
    if not form.validate_on_submit():
        return _page(status=422)
    with attempt(form) as outcome:
        call()
    if outcome.failed:
        return _page(errors=outcome.errors, status=outcome.status)
    flash(str(done), "success")
    return redirect(url_for(".admin", _anchor="rules"), code=303)


@bp.post("/admin/rules/<int:rule_id>/deactivate")
@requires(DISPATCH)
def admin_deactivate_rule(rule_id: int) -> Any:
    return _rule_step(
        rule_id,
        lambda: rules.set_active(actor=me(), rule_id=rule_id, active=False),
        _l("The rule is no longer used."),
    )


@bp.post("/admin/rules/<int:rule_id>/activate")
@requires(DISPATCH)
def admin_activate_rule(rule_id: int) -> Any:
    return _rule_step(
        rule_id, lambda: rules.set_active(actor=me(), rule_id=rule_id, active=True), _l("The rule is used again.")
    )


@bp.post("/admin/rules/<int:rule_id>/delete")
@requires(DISPATCH)
def admin_delete_rule(rule_id: int) -> Any:
    return _rule_step(rule_id, lambda: rules.delete_rule(actor=me(), rule_id=rule_id), _l("The rule was deleted."))
