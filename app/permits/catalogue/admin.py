"""`/admin/catalogue`: the catalogue's departments and items at a glance, and the upload that amends it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import SubmitField

from app.core.db import db
from app.core.pages import Errors, attempt, me
from app.core.security import requires
from app.core.views import register_nav
from app.permits.catalogue import services
from app.permits.catalogue.models import Item
from app.permits.catalogue.views import department_options
from app.permits.permissions import CATALOGUE_MANAGE

bp = Blueprint("permits_catalogue_admin", __name__, template_folder="templates")


class CatalogueUploadForm(FlaskForm):
    file = FileField(
        _l("Catalogue file (JSON, or a ZIP with catalogue.json and its template and sample files)"),
        validators=[FileRequired()],
    )
    submit = SubmitField(_l("Load the catalogue"))


def _page(form: CatalogueUploadForm, errors: Errors | None = None) -> str:
    departments = department_options()
    return render_template(
        "permits/admin_catalogue.html",
        form=form,
        departments=departments,
        items=sum(n for _code, _name, n in departments),
        last_changed=db.session.scalar(select(func.max(Item.updated_at))),
        errors=errors,
        max_size=services.MAX_BUNDLE_SIZE,
    )


@bp.get("/admin/catalogue")
@requires(CATALOGUE_MANAGE)
def admin_catalogue() -> Any:
    return _page(CatalogueUploadForm())


@bp.post("/admin/catalogue")
@requires(CATALOGUE_MANAGE)
def admin_catalogue_upload() -> Any:
    form = CatalogueUploadForm()
    if not form.validate_on_submit():
        return _page(form), 400
    upload = form.file.data
    body = upload.read(services.MAX_BUNDLE_SIZE + 1)
    with attempt(form) as outcome:
        counts = services.load_catalogue_upload(body, filename=upload.filename or "", actor=me())
    if outcome.failed:
        return _page(form, errors=outcome.errors), outcome.status
    flash(
        _(
            "The catalogue was loaded: %(created)s item(s) added, %(updated)s changed, %(unchanged)s unchanged.",
            created=counts["items_created"],
            updated=counts["items_updated"],
            unchanged=counts["items_unchanged"],
        ),
        "success",
    )
    return redirect(url_for("permits_catalogue_admin.admin_catalogue"), code=303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("permits_catalogue_admin.admin_catalogue", _l("Item catalogue"), CATALOGUE_MANAGE, order=93)
