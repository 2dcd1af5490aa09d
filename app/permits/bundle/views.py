"""Pages of the bundle (一照三证联办): the applicant's one form, the desk's list and bundle page (accept into four
parallel cases, issue the licence with the credit code), and the public tracking page showing the four parts.

Thin: parse the form, call one service, render. zh-CN first.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.pages import Errors, attempt, me
from app.core.security import authenticated, public, requires
from app.permits.bundle import services
from app.permits.bundle.api import bundle_tracking_url, part_view
from app.permits.bundle.models import BundleCase, BundleStatus
from app.permits.cases import forms
from app.permits.cases import services as cases
from app.permits.cases.api import tracking_url
from app.permits.cases.models import ApplicationChannel
from app.permits.catalogue import form_schema
from app.permits.permissions import CERTIFICATE_ISSUE, DESK

bp = Blueprint("permits_bundle", __name__, url_prefix="/permits/bundles", template_folder="templates")

BUNDLE_STATUS = {
    BundleStatus.RECEIVED: (_l("Received, waiting for the desk"), "blue"),
    BundleStatus.ACCEPTED: (_l("Accepted: the departments work in parallel"), "yellow"),
    BundleStatus.ISSUED: (_l("Licence issued"), "green"),
}


@bp.get("/")
@public
def index() -> Any:
    return render_template("permits_bundle/index.html", bundles=services.list_bundles())


@bp.route("/<string:code>/apply", methods=["GET", "POST"])
@authenticated
def apply(code: str) -> Any:
    """One form for every item of the bundle: each attribute asked once, each material once."""
    bundle = services.get_bundle(code)
    union = services.union_form(bundle.items)
    attributes = form_schema.attributes(union)
    is_desk = bool(me().has_permission(DESK))
    errors, values, status = Errors(), {}, 200
    if request.method == "POST":
        values = request.form.to_dict(flat=False)
        answers = forms.answers_from(attributes, request.form)
        channel = ApplicationChannel.DESK if (is_desk and request.form.get("channel") == "desk") else None
        with attempt() as outcome:
            applicant = cases.check_applicant(
                request.form.get("applicant_kind", ""),
                request.form.get("applicant_name", ""),
                request.form.get("applicant_code", ""),
                request.form.get("applicant_phone", ""),
            )
            row = services.submit_bundle(
                actor=me(),
                bundle=bundle,
                applicant=applicant,
                answers=answers,
                channel=channel or ApplicationChannel.ONLINE,
            )
            _attach_uploads(row)
        if not outcome.failed:
            flash(_("Your joint application was received. Keep the tracking address to follow it."), "success")
            return redirect(bundle_tracking_url(row), code=303)
        errors, status = outcome.errors, outcome.status
    return (
        render_template(
            "permits_bundle/apply.html",
            bundle=bundle,
            attributes=attributes,
            materials=services.materials(bundle),
            errors=errors,
            values=values,
            is_desk=is_desk,
        ),
        status,
    )


def _attach_uploads(row: BundleCase) -> None:
    wanted = {m.key for m in services.needed_materials(row.bundle, row.answers)}
    for key, upload in sorted(request.files.items()):
        name = key.removeprefix("material-")
        if key.startswith("material-") and name in wanted and upload and upload.filename:
            services.attach_bundle_material(
                actor=me(),
                row=row,
                key=name,
                name=upload.filename,
                stream=upload.stream,
                length=upload.content_length or None,
                content_type=upload.mimetype or "",
            )


@bp.route("/applications/<int:bundle_case_id>/materials", methods=["GET", "POST"])
@authenticated
def materials(bundle_case_id: int) -> Any:
    """Send the materials still missing, each once (the applicant, or desk staff), before the desk accepts."""
    row = services.visible_bundle_case(me(), bundle_case_id)
    errors, status = Errors(), 200
    if request.method == "POST":
        with attempt() as outcome:
            _attach_uploads(row)
        if not outcome.failed:
            flash(_("The materials were received."), "success")
            return redirect(bundle_tracking_url(row), code=303)
        errors, status = outcome.errors, outcome.status
        row = services.visible_bundle_case(me(), bundle_case_id)
    received = services.received_keys(row)
    return (
        render_template(
            "permits_bundle/materials.html",
            row=row,
            missing=[m for m in services.needed_materials(row.bundle, row.answers) if m.key not in received],
            errors=errors,
        ),
        status,
    )


@bp.get("/track/<string:number>/<string:token>")
@public
def tracking(number: str, token: str) -> Any:
    """The joint application's four parts: each department's case, its step and due date."""
    row = services.tracked_bundle(number, token)
    received = services.received_keys(row)
    return render_template(
        "permits_bundle/tracking.html",
        row=row,
        missing=[m for m in services.needed_materials(row.bundle, row.answers) if m.key not in received],
        parts=[(p.application, part_view(p.application), tracking_url(p.application)) for p in row.parts],
    )


@bp.get("/desk")
@requires(DESK)
def desk_list() -> Any:
    return render_template("permits_bundle/desk_list.html", rows=services.list_bundle_cases())


def _desk_page(row: BundleCase, errors: Errors | None = None, status: int = 200) -> Any:
    return (
        render_template(
            "permits_bundle/desk.html",
            row=row,
            parts=[(p.application, part_view(p.application)) for p in row.parts],
            needed=services.needed_materials(row.bundle, row.answers),
            received=services.received_keys(row),
            attributes=form_schema.attributes(services.union_form(row.bundle.items)),
            errors=errors or Errors(),
            may_issue=bool(me().has_permission(CERTIFICATE_ISSUE)),
            tracking=bundle_tracking_url(row),
        ),
        status,
    )


@bp.get("/desk/<int:bundle_case_id>")
@requires(DESK)
def desk(bundle_case_id: int) -> Any:
    return _desk_page(services.get_bundle_case(bundle_case_id))


def _act(bundle_case_id: int, action: Any, done: str) -> Any:
    row = services.get_bundle_case(bundle_case_id)
    with attempt() as outcome:
        action(row)
    if outcome.failed:
        return _desk_page(services.get_bundle_case(bundle_case_id), outcome.errors, outcome.status)
    flash(done, "success")
    return redirect(url_for("permits_bundle.desk", bundle_case_id=bundle_case_id), code=303)


@bp.post("/desk/<int:bundle_case_id>/accept")
@requires(DESK)
def accept(bundle_case_id: int) -> Any:
    return _act(
        bundle_case_id,
        lambda row: services.accept_bundle(actor=me(), row=row),
        _("Accepted: one case per department, working in parallel."),
    )


@bp.post("/desk/<int:bundle_case_id>/output")
@requires(CERTIFICATE_ISSUE)
def output(bundle_case_id: int) -> Any:
    return _act(
        bundle_case_id,
        lambda row: services.issue_output(actor=me(), row=row, uscc=request.form.get("uscc", "")),
        _("The business licence with the unified social credit code was issued."),
    )


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"bundle_status": lambda s: BUNDLE_STATUS[s]}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
