"""`/convenience/admin`: the floor at a glance for its managers — each window with its group, today's hours, who
works there and who is signed on now; assign and remove staff; download the floor's data file (services,
windows, weekly plans) and load a changed one back. Days with their own hours are on /convenience/hours."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField

from app.convenience import home_visits, services
from app.convenience.permissions import MANAGE
from app.convenience.views import _localized, bp
from app.core.db import parse_id
from app.core.errors import ValidationFailed
from app.core.pages import Errors, attempt, me
from app.core.problems import N_
from app.core.security import requires
from app.core.views import register_nav

MAX_FLOOR_FILE = 1024 * 1024  # bytes: the demo floor is 12 KB


class AssignForm(FlaskForm):
    window = SelectField(_l("Window"), choices=[], validate_choice=False)
    user = SelectField(_l("Staff member"), choices=[], validate_choice=False)
    submit = SubmitField(_l("Assign to the window"))


class FloorUploadForm(FlaskForm):
    file = FileField(_l("Floor data file (JSON)"), validators=[FileRequired()])
    submit = SubmitField(_l("Load the floor data"))


def _assign_form() -> AssignForm:
    form = AssignForm()
    form.window.choices = [
        (str(w.id), f"{w.number} · {_localized(w.name, w.name_en)}") for w in services.list_windows()
    ]
    form.user.choices = [(str(u.id), u.display_name or u.username) for u in home_visits.staff_choices()]
    return form


def _page(*, assign: AssignForm | None = None, upload: FloorUploadForm | None = None, errors: Any = None) -> str:
    windows = services.list_windows()
    today = services.local_now().date()
    return render_template(
        "convenience/admin.html",
        windows=windows,
        hours={w.id: services.hours_on(w, today) for w in windows},
        open_now={w.id: services.is_open(w) for w in windows},
        staff=services.assignments(),
        signed_on=services.signed_on_now(),
        assign=assign or _assign_form(),
        upload=upload or FloorUploadForm(),
        errors=errors or {},
        services_count=len(services.list_services(active_only=False)),
        max_size=MAX_FLOOR_FILE,
    )


@bp.get("/admin")
@requires(MANAGE)
def admin() -> Any:
    return _page()


@bp.post("/admin/assign")
@requires(MANAGE)
def admin_assign() -> Any:
    form = _assign_form()
    with attempt(form) as outcome:
        window_id, user_id = parse_id(form.window.data), parse_id(form.user.data)
        if window_id is None or user_id is None:
            raise ValidationFailed(N_("Choose a window and a member of the window staff."))
        services.assign_staff(actor=me(), window_id=window_id, user_id=user_id)
    if outcome.failed:
        return _page(assign=form, errors=outcome.errors), outcome.status
    flash(_("The staff member can now sign on at the window."), "success")
    return redirect(url_for("convenience.admin"), code=303)


@bp.post("/admin/windows/<int:window_id>/staff/<int:user_id>/remove")
@requires(MANAGE)
def admin_unassign(window_id: int, user_id: int) -> Any:
    with attempt() as outcome:
        services.unassign_staff(actor=me(), window_id=window_id, user_id=user_id)
    if outcome.failed:
        outcome.flash()
    else:
        flash(_("The staff member no longer works at the window."), "success")
    return redirect(url_for("convenience.admin"), code=303)


@bp.get("/admin/floor.json")
@requires(MANAGE)
def admin_floor_file() -> Any:
    body = json.dumps(services.dump_floor(), ensure_ascii=False, indent=1)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="convenience-floor.json"'},
    )


@bp.post("/admin/floor")
@requires(MANAGE)
def admin_floor_upload() -> Any:
    form = FloorUploadForm()
    if not form.validate_on_submit():
        return _page(upload=form), 400
    upload = form.file.data
    body = upload.read(MAX_FLOOR_FILE + 1)
    errors = Errors()
    with attempt(form) as outcome:
        if len(body) > MAX_FLOOR_FILE:
            raise ValidationFailed(N_("The file is larger than %(n)s KB."), params={"n": MAX_FLOOR_FILE // 1024})
        try:
            raw = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ValidationFailed(N_("The file is not JSON text in UTF-8.")) from None
        counts = services.load_floor(raw, actor=me(), source=(upload.filename or "")[:200])
    if outcome.failed:
        errors = outcome.errors
        return _page(upload=form, errors=errors), 413 if len(body) > MAX_FLOOR_FILE else outcome.status
    flash(
        _("The floor data was loaded: %(created)s added, %(updated)s changed.", **counts),
        "success",
    )
    return redirect(url_for("convenience.admin"), code=303)


def init_app() -> None:
    register_nav("convenience.admin", _l("Service hall"), MANAGE, order=22)
