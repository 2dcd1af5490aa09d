"""The agency's tenders: the list, drafting and editing a tender (the tender form), its management page.

Amounts are entered in yuan, datetime-local values in the center's time zone, bid-form fields as rows.
Thin views on the `tendering` blueprint (app/tendering/views.py): WTForms parses what the browser sends, the API's
marshmallow schemas validate the result exactly as the API does, and the services decide, flush and write the
evidence; the request boundary commits.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.accounts.models import Organisation, OrganisationKind, User
from app.core.db import db
from app.core.errors import ValidationFailed
from app.core.pages import Errors, attempt, me
from app.core.security import requires
from app.core.views import register_nav
from app.tendering import schemas, services_tenders, terms, terms_editor
from app.tendering.agency.forms import TenderForm, choices
from app.tendering.agency.pages import FORM_FIELD, center_zone, managed_tender, plain_text, render_manage, to_utc_iso
from app.tendering.models import CustodyMode, EvaluationMethod, Tender, TenderStatus
from app.tendering.permissions import MANAGE
from app.tendering.views import bp, form_fields

MIB = 1024 * 1024


def _to_local(value: datetime) -> datetime:
    return value.astimezone(center_zone()).replace(tzinfo=None)


# --- agency: list and drafting -----------------------------------------------------------------------


def _buyer_choices(current: int | None = None) -> list[SelectChoice]:
    kinds = [k for k in OrganisationKind if k not in (OrganisationKind.BIDDER, OrganisationKind.AGENCY)]
    orgs = list(
        db.session.scalars(select(Organisation).where(Organisation.kind.in_(kinds)).order_by(Organisation.name))
    )
    pairs = [(o.id, o.name) for o in orgs]
    if current is not None and all(cid != current for cid, _name in pairs):
        org = db.session.get(Organisation, current)
        if org is not None:
            pairs.append((org.id, org.name))
    return choices(pairs)


def _prepare(form: TenderForm, current_buyer: int | None = None) -> TenderForm:
    form.buyer_id.choices = _buyer_choices(current_buyer)
    return form


def _fill_from(form: TenderForm, tender: Tender | None) -> None:
    """Pre-fill a fresh form from a draft (or with the defaults of a new one)."""
    if tender is None:
        terms_editor.fill_criteria(form, terms.default_criteria(EvaluationMethod.COMPREHENSIVE))
        terms_editor.fill_bid_form(form, terms.DEFAULT_BID_FORM)
        form.platform_holds_share.data = True
        form.envelopes[0].form.name.data = terms.DEFAULT_ENVELOPES[0]["name"]
        return
    form.title.data = tender.title
    form.buyer_id.data = tender.buyer_id
    form.category.data = tender.category
    form.description.data = tender.description
    form.budget.data = tender.budget_amount
    form.budget_secret.data = tender.budget_secret
    form.submission_deadline_at.data = _to_local(tender.submission_deadline_at)
    form.opening_at.data = _to_local(tender.opening_at)
    form.min_bids.data = tender.min_bids
    form.evaluation_method.data = tender.evaluation_method.value
    terms_editor.fill_criteria(form, tender.criteria)
    for row, envelope in zip(form.envelopes, tender.envelopes, strict=False):
        row.form.name.data = envelope["name"]
        row.form.stage.data = envelope["stage"]
    form.form_envelope.data = next((i for i, e in enumerate(tender.envelopes) if e.get("form")), 0)
    terms_editor.fill_bid_form(form, tender.bid_form_schema)
    form.custody_mode.data = tender.custody_mode.value
    if tender.custodian_ids:
        users = {u.id: u.username for u in db.session.scalars(select(User).where(User.id.in_(tender.custodian_ids)))}
        form.custodians.data = "\n".join(users.get(uid, str(uid)) for uid in tender.custodian_ids)
    form.custody_threshold.data = tender.custody_threshold if tender.custody_mode is CustodyMode.COMMITTEE else None
    form.platform_holds_share.data = tender.platform_holds_share
    form.max_bid_size_mib.data = tender.max_bid_size // MIB if tender.max_bid_size % MIB == 0 else None


def _terms_from_form(form: TenderForm, errors: Errors) -> dict[str, Any]:
    """What the form says, in the API's request shape (to be loaded by schemas.TenderTermsArgs)."""
    method = form.evaluation_method.data or EvaluationMethod.COMPREHENSIVE.value
    data: dict[str, Any] = {
        "title": form.title.data or "",
        "buyer_id": form.buyer_id.data,
        "category": (form.category.data or "").strip(),
        "description": plain_text(form.description.data),
        "budget_secret": bool(form.budget_secret.data),
        "submission_deadline_at": to_utc_iso(form.submission_deadline_at.data),
        "opening_at": to_utc_iso(form.opening_at.data),
        "min_bids": form.min_bids.data,
        "evaluation_method": method,
        "custody_mode": form.custody_mode.data,
        "platform_holds_share": bool(form.platform_holds_share.data),
    }
    data["budget_amount"] = form.budget.data  # 分, parsed from 元 by YuanField
    data["criteria"], form.criteria_rows = terms_editor.criteria_from_rows(form, method, errors)
    data["bid_form_schema"] = terms_editor.bid_form_from_rows(form, errors)
    envelopes = []
    for i, row in enumerate(form.envelopes):
        name = (row.form.name.data or "").strip()
        if name:
            envelopes.append({"name": name, "stage": row.form.stage.data, "form": i == form.form_envelope.data})
    data["envelopes"] = envelopes or [dict(e) for e in terms.DEFAULT_ENVELOPES]
    if envelopes and not any(e["form"] for e in envelopes):
        errors.add("envelopes", _("The envelope chosen to carry the bid form has no name."), form)
    names = [n for n in re.split(r"[\s,;，；]+", plain_text(form.custodians.data)) if n]
    ids: list[int] = []
    if names and form.custody_mode.data == CustodyMode.COMMITTEE.value:
        found = {u.username: u.id for u in db.session.scalars(select(User).where(User.username.in_(names)))}
        unknown = [n for n in names if n not in found]
        if unknown:
            errors.add("custodians", _("Unknown user names: %(names)s", names=", ".join(unknown)), form)
        ids = [found[n] for n in names if n in found]
    data["custodian_ids"] = ids
    if form.custody_threshold.data is not None:
        data["custody_threshold"] = form.custody_threshold.data
    if form.max_bid_size_mib.data is not None:
        data["max_bid_size"] = form.max_bid_size_mib.data * MIB
    return data


def _save_terms(form: TenderForm, tender: Tender | None, errors: Errors) -> Tender | None:
    """Validate like the API, then create or update through the service. None (nothing stored) on errors."""
    data = _terms_from_form(form, errors)
    if errors or errors.general:
        return None
    try:
        loaded = schemas.TenderTermsArgs().load(data)
    except ma.ValidationError as exc:
        errors.from_schema(exc, form)
        return None
    saved = None
    with attempt() as outcome:
        if tender is None:
            saved = services_tenders.create_tender(actor=me(), data=loaded)
        else:
            saved = services_tenders.update_tender(actor=me(), tender=tender, data=loaded)
    if outcome.error is not None:
        errors.from_service(outcome.error, form)
        return None
    return saved


def _render_form(form: TenderForm, errors: Errors, tender: Tender | None, status: int) -> Any:
    terms_editor.errors_onto_rows(form, errors, getattr(form, "criteria_rows", []))
    return render_template(
        "tendering/agency_tender_form.html",
        form=form,
        errors=errors,
        tender=tender,
        zone=current_app.config["CENTER_TIMEZONE"],
        fields=_preview_fields(form),
    ), status


def _preview_fields(form: TenderForm) -> list[dict[str, Any]]:
    """The fields bidders will fill in, when the schema in the form is a valid bid form."""
    try:
        schema = terms.validate_bid_form_schema(terms_editor.bid_form_from_rows(form, {}))
    except ValidationFailed:
        return []
    return form_fields(schema)


@bp.get("/agency/tenders")
@requires(MANAGE)
def agency_tenders() -> Any:
    tenders = services_tenders.list_agency_tenders(me())
    tenders.sort(key=lambda t: (t.status is not TenderStatus.DRAFT, -t.id))
    return render_template(
        "tendering/agency_tenders.html",
        tenders=tenders,
        has_org=me().organisation_id is not None,
        open_for_bids=services_tenders.is_open_for_bids,
    )


@bp.route("/agency/tenders/new", methods=["GET", "POST"])
@requires(MANAGE)
def agency_tender_new() -> Any:
    form = _prepare(TenderForm())
    errors = Errors(FORM_FIELD)
    if request.method == "GET":
        _fill_from(form, None)
        return _render_form(form, errors, None, 200)
    if terms_editor.row_action(form):  # "add a row" / "remove": the form again, nothing saved
        return _render_form(form, errors, None, 200)
    if not form.validate_on_submit():
        return _render_form(form, errors, None, 400)
    tender = _save_terms(form, None, errors)
    if tender is None:
        return _render_form(form, errors, None, 422)
    flash(_("The draft %(reference)s was saved.", reference=tender.reference), "success")
    return redirect(url_for("tendering.agency_tender", tender_id=tender.id), code=303)


@bp.route("/agency/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@requires(MANAGE)
def agency_tender_edit(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    if tender.status is not TenderStatus.DRAFT:
        flash(_("Published terms are frozen; issue a clarification instead."), "error")
        return redirect(url_for("tendering.agency_tender", tender_id=tender.id), code=303)
    form = _prepare(TenderForm(), tender.buyer_id)
    errors = Errors(FORM_FIELD)
    if request.method == "GET":
        _fill_from(form, tender)
        return _render_form(form, errors, tender, 200)
    if terms_editor.row_action(form):  # "add a row" / "remove": the form again, nothing saved
        return _render_form(form, errors, tender, 200)
    if not form.validate_on_submit():
        return _render_form(form, errors, tender, 400)
    saved = _save_terms(form, tender, errors)
    if saved is None:
        return _render_form(form, errors, tender, 422)  # the tender reloads after the rollback
    flash(_("The draft was saved."), "success")
    return redirect(url_for("tendering.agency_tender", tender_id=tender_id), code=303)


@bp.get("/agency/tenders/<int:tender_id>")
@requires(MANAGE)
def agency_tender(tender_id: int) -> Any:
    return render_manage(managed_tender(tender_id))


def init_app() -> None:
    register_nav("tendering.agency_tenders", _l("My tenders"), MANAGE, order=22)
