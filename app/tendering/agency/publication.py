"""Publication and after: publish after a confirmation showing the terms that will be frozen, issue
clarifications, answer questions publicly, cancel.

Thin views on the `tendering` blueprint (app/tendering/views.py): WTForms parses what the browser sends, the API's
marshmallow schemas validate the result exactly as the API does, and the services decide, flush and write the
evidence; the request boundary commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.core.db import db
from app.core.pages import Errors, attempt, me, messages
from app.core.security import requires
from app.core.time import format_center_time, now_utc
from app.tendering import schemas, services_questions, services_tenders
from app.tendering.agency.forms import AnswerForm, CancelForm, ClarifyForm, PublishForm
from app.tendering.agency.pages import FORM_FIELD, managed_tender, plain_text, render_manage, to_utc_iso
from app.tendering.common import config_days, config_value
from app.tendering.models import Tender, TenderStatus
from app.tendering.permissions import MANAGE
from app.tendering.views import bp, form_fields, instant_center_time


def _center(value: datetime | None) -> str:
    return format_center_time(value, current_app.config["CENTER_TIMEZONE"])


def _publish_checks(tender: Tender) -> list[tuple[str, bool]]:
    """What publication will check, shown before the agency confirms (the service decides)."""
    now = now_utc()
    days = config_value("TENDER_MIN_DAYS_TO_DEADLINE")
    earliest = now + config_days("TENDER_MIN_DAYS_TO_DEADLINE")
    return [
        (
            _(
                "The deadline (%(deadline)s) is at least %(days)s days after publication (not before %(earliest)s).",
                deadline=_center(tender.submission_deadline_at),
                days=days,
                earliest=_center(earliest),
            ),
            tender.submission_deadline_at >= earliest,
        ),
        (
            _("The opening (%(opening)s) is not before the deadline.", opening=_center(tender.opening_at)),
            tender.opening_at >= tender.submission_deadline_at,
        ),
        (_("Tender documents are attached (%(count)s).", count=len(tender.documents)), bool(tender.documents)),
    ]


def _render_publish(tender: Tender, status: int = 200, error: str | None = None) -> Any:
    custodians = []
    if tender.custodian_ids:
        custodians = list(db.session.scalars(select(User).where(User.id.in_(tender.custodian_ids))))
    return render_template(
        "tendering/agency_publish.html",
        tender=tender,
        form=PublishForm(formdata=None),
        checks=_publish_checks(tender),
        error=error,
        fields=form_fields(tender.bid_form_schema),
        custodians=custodians,
    ), status


@bp.route("/agency/tenders/<int:tender_id>/publish", methods=["GET", "POST"])
@requires(MANAGE)
def agency_tender_publish(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    if tender.status is not TenderStatus.DRAFT:
        flash(_("Only a draft can be published."), "error")
        return redirect(url_for("tendering.agency_tender", tender_id=tender.id), code=303)
    if request.method == "GET":
        return _render_publish(tender)
    if not PublishForm().validate_on_submit():
        return _render_publish(tender, 400, _("The form expired; please confirm again."))
    with attempt() as outcome:
        services_tenders.publish_tender(actor=me(), tender=tender)
    if outcome.error is not None:
        return _render_publish(tender, outcome.status, outcome.error.translated)
    flash(
        _("Published. Bids are sealed to the opening key %(recipient)s.", recipient=tender.recipient or ""), "success"
    )
    return redirect(url_for("tendering.agency_tender", tender_id=tender_id), code=303)


def _render_clarify(tender: Tender, form: ClarifyForm, errors: Errors, status: int = 200) -> Any:
    late_days = config_value("TENDER_LATE_CLARIFICATION_DAYS")
    minimum = now_utc() + config_days("TENDER_LATE_CLARIFICATION_DAYS")
    return render_template(
        "tendering/agency_clarify.html",
        tender=tender,
        form=form,
        errors=errors,
        late_days=late_days,
        pushed_to=minimum if tender.submission_deadline_at < minimum else None,
        zone=current_app.config["CENTER_TIMEZONE"],
    ), status


@bp.route("/agency/tenders/<int:tender_id>/clarify", methods=["GET", "POST"])
@requires(MANAGE)
def agency_tender_clarify(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = ClarifyForm()
    errors = Errors(FORM_FIELD)
    if request.method == "GET":
        if not services_tenders.is_open_for_bids(tender):
            flash(_("Clarifications are issued while the tender is open for bids."), "error")
            return redirect(url_for("tendering.agency_tender", tender_id=tender.id), code=303)
        return _render_clarify(tender, form, errors)
    if not form.validate_on_submit():
        return _render_clarify(tender, form, errors, 400)
    data: dict[str, Any] = {"text": plain_text(form.text.data)}
    for name in ("submission_deadline_at", "opening_at"):
        instant = to_utc_iso(form[name].data)
        if instant is not None:
            data[name] = instant
    if plain_text(form.description.data).strip():
        data["description"] = plain_text(form.description.data)
    try:
        args = schemas.ClarificationArgs().load(data)
    except ma.ValidationError as exc:
        errors.from_schema(exc, form)
        return _render_clarify(tender, form, errors, 422)
    with attempt() as outcome:
        version = services_tenders.clarify_tender(actor=me(), tender=tender, **args)
    if outcome.error is not None:
        errors.from_service(outcome.error, form)
        return _render_clarify(tender, form, errors, outcome.status)
    flash(_("Clarification %(number)s was published.", number=version.number), "success")
    moved = version.changes.get("submission_deadline_at")
    if isinstance(moved, list) and len(moved) == 2:
        flash(
            _(
                "The submission deadline moved from %(old)s to %(new)s.",
                old=instant_center_time(moved[0]),
                new=instant_center_time(moved[1]),
            ),
            "info",
        )
    return redirect(url_for("tendering.agency_tender", tender_id=tender_id), code=303)


@bp.post("/agency/tenders/<int:tender_id>/questions/<int:question_id>/answer")
@requires(MANAGE)
def agency_question_answer(tender_id: int, question_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return render_manage(tender, 400, answer_errors={question_id: _("Write the answer.")})
    try:
        args = schemas.AnswerArgs().load({"answer": plain_text(form.answer.data)})
    except ma.ValidationError as exc:
        return render_manage(tender, 422, answer_errors={question_id: "; ".join(messages(exc.messages))})
    with attempt() as outcome:
        services_questions.answer_question(actor=me(), tender=tender, question_id=question_id, answer=args["answer"])
    if outcome.error is not None:
        return render_manage(tender, outcome.status, answer_errors={question_id: outcome.error.translated})
    flash(_("The answer was published."), "success")
    return redirect(url_for("tendering.agency_tender", tender_id=tender_id, _anchor="questions"), code=303)


@bp.route("/agency/tenders/<int:tender_id>/cancel", methods=["GET", "POST"])
@requires(MANAGE)
def agency_tender_cancel(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = CancelForm()
    errors = Errors(FORM_FIELD)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                args = schemas.CancelArgs().load({"reason": plain_text(form.reason.data)})
            except ma.ValidationError as exc:
                errors.add("reason", "; ".join(messages(exc.messages)), form)
                status = 422
            else:
                with attempt() as outcome:
                    services_tenders.cancel_tender(actor=me(), tender=tender, reason=args["reason"])
                if outcome.error is None:
                    flash(_("The tender was cancelled."), "success")
                    return redirect(url_for("tendering.agency_tender", tender_id=tender_id), code=303)
                errors.from_service(outcome.error, form)
                status = outcome.status
        else:
            status = 400
    return render_template("tendering/agency_cancel.html", tender=tender, form=form, errors=errors), status
