"""Pages of unified acceptance: the applicant's apply page, the desk's queue and decision page, the correction
upload, and the public tracking page (number + secret token) with the acceptance and correction notices as PDF.

Thin: parse the form, call one service, render. zh-CN first; times in the center's zone.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from app.core.pages import Errors, attempt, me
from app.core.security import authenticated, public, requires
from app.core.storage import DOCUMENTS, content_disposition, get_storage
from app.core.views import register_nav
from app.permits.cases import clock, forms, joint, notices, services
from app.permits.cases.api import tracking_url
from app.permits.cases.models import Application, ApplicationChannel, ApplicationStatus
from app.permits.catalogue import form_schema
from app.permits.catalogue import services as catalogue
from app.permits.catalogue.models import Channel
from app.permits.permissions import DESK

bp = Blueprint("permits_cases", __name__, url_prefix="/permits", template_folder="templates")

STATUS_LABELS = {
    ApplicationStatus.RECEIVED: _l("Received, waiting for the desk"),
    ApplicationStatus.CORRECTION_REQUESTED: _l("Correction requested"),
    ApplicationStatus.RESUBMITTED: _l("Corrected, waiting for the desk"),
    ApplicationStatus.ACCEPTED: _l("Accepted"),
    ApplicationStatus.REFUSED: _l("Not accepted"),
}
HOLDER_LABELS = {
    "desk": _l("The acceptance desk"),
    "applicant": _l("You, the applicant"),
    "department": _l("The department handling the case"),
    "nobody": _l("Nobody: the application is closed"),
}
STEP_LABELS = {
    "received": _l("Application received"),
    "first_handled": _l("Taken in hand by the desk (first-contact responsibility)"),
    "material": _l("Material received"),
    "correction": _l("One-time correction notice sent"),
    "resubmitted": _l("Corrected materials received"),
    "accepted": _l("Accepted"),
    "deemed": _l("Accepted by law: no decision within 5 working days"),
    "refused": _l("Not accepted"),
    "sweep_skipped": _l("Deemed acceptance could not be counted yet (calendar not loaded)"),
    "rectification": _l("Site inspection: rectification needed before the reinspection"),
}
CHANNEL_LABELS = {ApplicationChannel.ONLINE: _l("Online"), ApplicationChannel.DESK: _l("At the service desk")}


def _files() -> dict[int, FileStorage]:
    out = {}
    for key, upload in request.files.items():
        if key.startswith("material-") and key[9:].isdigit() and upload and upload.filename:
            out[int(key[9:])] = upload
    return out


def _attach_all(application: Application, files: dict[int, FileStorage]) -> None:
    for material_id, upload in sorted(files.items()):
        services.attach_material(
            actor=me(),
            application=application,
            material_id=material_id,
            name=upload.filename or "material",
            stream=upload.stream,
            length=upload.content_length or None,
            content_type=upload.mimetype or "",
        )


# --- the applicant ----------------------------------------------------------------------------------------


@bp.route("/items/<string:code>/apply", methods=["GET", "POST"])
@authenticated
def apply(code: str) -> Any:
    """The item's application form (generated from its form schema) with the material uploads."""
    item = catalogue.get_item(code)
    is_desk = bool(me().has_permission(DESK))
    online = item.channel is not Channel.DESK
    if not online and not is_desk:
        abort(404)
    attributes = form_schema.attributes(item.form_schema)
    errors = Errors()
    values: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        values = request.form.to_dict(flat=False)
        answers = forms.answers_from(attributes, request.form)
        channel = ApplicationChannel.DESK if (is_desk and request.form.get("channel") == "desk") else None
        channel = channel or ApplicationChannel.ONLINE
        with attempt() as outcome:
            applicant = services.check_applicant(
                request.form.get("applicant_kind", ""),
                request.form.get("applicant_name", ""),
                request.form.get("applicant_code", ""),
                request.form.get("applicant_phone", ""),
            )
            row = services.submit_application(
                actor=me(), item_code=item.code, applicant=applicant, answers=answers, channel=channel
            )
            _attach_all(row, _files())
        if not outcome.failed:
            flash(_("Your application was received. Keep the tracking address to follow it."), "success")
            return redirect(tracking_url(row), code=303)
        errors = outcome.errors
        status = outcome.status
    return (
        render_template(
            "permits_cases/apply.html",
            item=item,
            attributes=attributes,
            errors=errors,
            values=values,
            is_desk=is_desk,
            online=online,
            condition_text=lambda m: forms.condition_text(item, m),
        ),
        status,
    )


@bp.route("/applications/<int:application_id>/correct", methods=["GET", "POST"])
@authenticated
def correct(application_id: int) -> Any:
    """Send the materials the correction notice asks for, then resubmit (the applicant or desk staff)."""
    application = services.visible_to(me(), services.get_application(application_id))
    errors = Errors()
    status = 200
    if request.method == "POST":
        with attempt() as outcome:
            _attach_all(application, _files())
            services.resubmit_application(actor=me(), application=services.get_application(application_id))
        if not outcome.failed:
            flash(_("The corrected materials were received; the desk decides again."), "success")
            return redirect(tracking_url(application), code=303)
        errors, status = outcome.errors, outcome.status
        application = services.get_application(application_id)
    return (
        render_template(
            "permits_cases/correct.html",
            a=application,
            expected=services.expected_of_applicant(application),
            errors=errors,
        ),
        status,
    )


@bp.get("/applications/<int:application_id>/materials/<int:received_id>")
@authenticated
def material_file(application_id: int, received_id: int) -> Any:
    """A received material, for its applicant or desk staff."""
    application = services.visible_to(me(), services.get_application(application_id))
    row = services.get_material(application, received_id)
    headers = {
        "Content-Disposition": content_disposition(row.name),
        "Content-Length": str(row.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return Response(get_storage().get(DOCUMENTS, row.object_key), headers=headers, content_type=row.content_type)


# --- public tracking ----------------------------------------------------------------------------------------


@bp.get("/track/<string:number>/<string:token>")
@public
def tracking(number: str, token: str) -> Any:
    """Every step with its time, who holds it now, due dates and what is expected of the applicant."""
    application = services.tracked(number, token)
    return render_template(
        "permits_cases/tracking.html",
        a=application,
        holder=services.holder(application).value,
        expected=services.expected_of_applicant(application),
        rectification=joint.expected_rectification(application),
        decision_due=services.decision_due(application),
        clock=clock.view(application) if application.case_number else None,
        token=token,
    )


@bp.get("/track/<string:number>/<string:token>/acceptance.pdf")
@public
def acceptance_pdf(number: str, token: str) -> Any:
    """The acceptance notice (受理通知书) with a QR code to the tracking page."""
    application = services.tracked(number, token)
    if application.status is not ApplicationStatus.ACCEPTED:
        abort(404)
    pdf = notices.acceptance_pdf(application)
    name = f"{application.case_number}-acceptance.pdf"
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": content_disposition(name)})


@bp.get("/track/<string:number>/<string:token>/decision.pdf")
@public
def decision_pdf(number: str, token: str) -> Any:
    """The sealed decision (准予/不予行政许可决定书)."""
    from app.permits.cases import processing

    application = services.tracked(number, token)
    pdf = processing.decision_pdf(application)
    name = f"{application.case_number}-decision.pdf"
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": content_disposition(name)})


@bp.get("/track/<string:number>/<string:token>/notices/<int:sequence>")
@public
def notice_page(number: str, token: str, sequence: int) -> Any:
    """A correction notice (补正材料通知书) listing every material, as a page."""
    application = services.tracked(number, token)
    notice = notices.get_notice(application, sequence)
    return render_template("permits_cases/notice.html", a=application, n=notice, token=token)


@bp.get("/track/<string:number>/<string:token>/notices/<int:sequence>.pdf")
@public
def notice_pdf(number: str, token: str, sequence: int) -> Any:
    application = services.tracked(number, token)
    notice = notices.get_notice(application, sequence)
    pdf = notices.correction_pdf(application, notice)
    name = f"{application.number}-correction-{sequence}.pdf"
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": content_disposition(name)})


@bp.get("/my-applications")
@authenticated
def my_applications() -> Any:
    return render_template("permits_cases/mine.html", rows=services.list_own(me()), tracking_url=tracking_url)


# --- the desk ---------------------------------------------------------------------------------------------------


@bp.get("/desk")
@requires(DESK)
def queue() -> Any:
    """The applications waiting for the desk's decision, oldest first, with the 5-working-day deadline."""
    wanted = request.args.get("status") or None
    if wanted is not None and wanted not in {s.value for s in ApplicationStatus}:
        wanted = None
    return render_template(
        "permits_cases/queue.html", rows=services.list_queue(wanted), wanted=wanted, due=services.decision_due
    )


def catalogue_departments() -> list[Any]:
    from sqlalchemy import select

    from app.core.db import db
    from app.permits.catalogue.models import Department

    return list(db.session.execute(select(Department).order_by(Department.position, Department.id)).scalars())


def _desk_page(application: Application, errors: Errors | None = None, status: int = 200) -> Any:
    received = {m.item_material_id for m in application.materials}
    return (
        render_template(
            "permits_cases/desk.html",
            a=application,
            needed=services.applicable_materials(application.item, application.answers),
            received=received,
            missing={m.id for m in services.missing_materials(application)},
            attributes=form_schema.attributes(application.item.form_schema),
            first_handler=services.first_handler_name(application),
            decision_due=services.decision_due(application),
            errors=errors or Errors(),
            tracking=tracking_url(application),
            may_override=bool(me().has_permission("permits.supervise")),
            co_options=[d for d in catalogue_departments() if d.id != application.item.department_id],
        ),
        status,
    )


@bp.get("/desk/applications/<int:application_id>")
@requires(DESK)
def desk_application(application_id: int) -> Any:
    return _desk_page(services.get_application(application_id))


def _decide(application_id: int, action: Any, done: str) -> Any:
    application = services.get_application(application_id)
    with attempt() as outcome:
        action(application)
    if outcome.failed:
        return _desk_page(services.get_application(application_id), outcome.errors, outcome.status)
    flash(done, "success")
    return redirect(url_for("permits_cases.desk_application", application_id=application_id), code=303)


@bp.post("/desk/applications/<int:application_id>/claim")
@requires(DESK)
def claim(application_id: int) -> Any:
    return _decide(
        application_id,
        lambda a: services.claim_application(actor=me(), application=a),
        _("You are now responsible for this application."),
    )


@bp.post("/desk/applications/<int:application_id>/accept")
@requires(DESK)
def accept(application_id: int) -> Any:
    return _decide(
        application_id,
        lambda a: services.accept_application(
            actor=me(),
            application=a,
            co_departments=request.form.getlist("co_departments") or None,
            joint_mode=request.form.get("joint_mode") or None,
        ),
        _("Accepted: the case number and the due dates are on the acceptance notice."),
    )


@bp.post("/desk/applications/<int:application_id>/refuse")
@requires(DESK)
def refuse(application_id: int) -> Any:
    return _decide(
        application_id,
        lambda a: services.refuse_acceptance(
            actor=me(), application=a, reason=request.form.get("reason", ""), remedies=request.form.get("remedies", "")
        ),
        _("Acceptance refused; the applicant sees the reason and the remedies."),
    )


@bp.post("/desk/applications/<int:application_id>/correct")
@requires(DESK)
def request_correction(application_id: int) -> Any:
    override = request.form.get("override_reason")
    return _decide(
        application_id,
        lambda a: services.request_correction(
            actor=me(),
            application=a,
            defective=forms.defects_from(request.form),
            note=request.form.get("note", ""),
            override_reason=override if override and override.strip() else None,
        ),
        _("The one-time correction notice was sent."),
    )


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "cases_status": lambda s: STATUS_LABELS[s],
        "cases_holder": lambda h: HOLDER_LABELS.get(h, h),
        "cases_step": lambda k: STEP_LABELS.get(k, k),
        "cases_channel": lambda c: CHANNEL_LABELS[c],
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("permits_cases.queue", _l("Acceptance desk"), DESK, order=12)
