"""HTML pages of the tendering agency, and the custodian's one-time share download.

The agency lists its tenders, drafts and edits them, uploads tender documents, publishes after a
confirmation showing the terms that will be frozen, issues clarifications, answers questions publicly and
cancels. Thin views: WTForms parses what the browser sends (amounts in yuan, datetime-local in the center's
time zone, JSON text), the API's marshmallow schemas validate the result exactly as the API does, and the
services decide, flush and write the evidence; the view commits once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import Response, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    DateTimeLocalField,
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
from wtforms.validators import DataRequired, InputRequired, Optional

from app.accounts.models import Organisation, OrganisationKind, User
from app.core.db import db
from app.core.errors import ValidationFailed
from app.core.forms import YuanField
from app.core.pages import Errors, attempt, me, messages
from app.core.problems import N_
from app.core.security import authenticated, requires
from app.core.storage import content_disposition
from app.core.time import format_center_time, now_utc
from app.core.views import register_nav
from app.tendering import custody, schemas, services_questions, services_tenders, terms, terms_editor
from app.tendering.common import AccessRefused, config_days, config_value
from app.tendering.models import CustodyMode, CustodyShare, EvaluationMethod, Tender, TenderStatus
from app.tendering.permissions import MANAGE, READ_OPENED
from app.tendering.views import bp, form_fields, instant_center_time

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
MIB = 1024 * 1024
MAX_ENVELOPE_ROWS = terms.MAX_ENVELOPES
# API field names → the form field that shows their errors.
FORM_FIELD = {
    "budget_amount": "budget",
    "custodian_ids": "custodians",
    "max_bid_size": "max_bid_size_mib",
    "bid_form_schema": "bid_fields",
}

METHOD_LABELS = {
    EvaluationMethod.COMPREHENSIVE.value: _l("Comprehensive scoring"),
    EvaluationMethod.LOWEST_EVALUATED_PRICE.value: _l("Lowest evaluated price"),
}
CUSTODY_LABELS = {
    CustodyMode.TIMED.value: _l("Timed: the platform releases the key at the opening time"),
    CustodyMode.COMMITTEE.value: _l("Committee: k of n named custodians bring their shares to the opening"),
}


# --- forms -------------------------------------------------------------------------------------------


def _choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


class EnvelopeRow(Form):
    """One envelope of the bid (no CSRF of its own: it is part of TenderForm)."""

    name = StringField(_l("Envelope name"), validators=[Optional()])
    stage = SelectField(_l("Stage"), coerce=int, choices=_choices((i, str(i)) for i in range(1, MAX_ENVELOPE_ROWS + 1)))


class TenderForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired()])
    buyer_id = SelectField(_l("Buyer"), coerce=int, validators=[InputRequired()])
    category = StringField(_l("Category"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"))
    budget = YuanField(
        _l("Budget (yuan)"),
        validators=[Optional()],
        max_fen=schemas.MAX_AMOUNT,
        description=_l("Optional; at most two decimals, e.g. 1500000.00 or 1,500,000.00."),
    )
    budget_secret = BooleanField(_l("Keep the budget secret until the bid forms are opened"))
    submission_deadline_at = DateTimeLocalField(
        _l("Submission deadline"), format=LOCAL_FORMATS, validators=[InputRequired()]
    )
    opening_at = DateTimeLocalField(_l("Opening"), format=LOCAL_FORMATS, validators=[InputRequired()])
    min_bids = IntegerField(_l("Minimum number of bids"), default=3, validators=[InputRequired()])
    evaluation_method = SelectField(_l("Evaluation method"), choices=_choices(METHOD_LABELS.items()))
    # the criteria and the bid form as rows of form controls (app.tendering.terms_editor)
    criteria = FieldList(FormField(terms_editor.CriterionRow), min_entries=1, max_entries=terms_editor.MAX_CRITERIA)
    add_criterion = SubmitField(_l("Add a criterion"))
    outlier_percent = IntegerField(
        _l("Outlier threshold (%)"),
        validators=[Optional()],
        description=_l("A score this far from the other members' mean needs a written reason."),
    )
    drop_extremes = BooleanField(_l("Drop the highest and the lowest score of each item"))
    adjustments = FieldList(
        FormField(terms_editor.AdjustmentRow), min_entries=1, max_entries=terms_editor.MAX_ADJUSTMENTS
    )
    add_adjustment = SubmitField(_l("Add a price adjustment"))
    envelopes = FieldList(FormField(EnvelopeRow), min_entries=MAX_ENVELOPE_ROWS, max_entries=MAX_ENVELOPE_ROWS)
    form_envelope = SelectField(
        _l("Envelope that carries the bid form"),
        coerce=int,
        choices=_choices((i, str(i + 1)) for i in range(MAX_ENVELOPE_ROWS)),
        default=0,
    )
    bid_form_title = StringField(_l("Title of the bid form"))
    bid_fields = FieldList(FormField(terms_editor.BidFieldRow), min_entries=1, max_entries=terms_editor.MAX_FIELDS)
    add_field = SubmitField(_l("Add a field"))
    custody_mode = SelectField(_l("Custody of the opening key"), choices=_choices(CUSTODY_LABELS.items()))
    custodians = TextAreaField(
        _l("Custodians (user names, one per line)"), description=_l("Only for committee custody.")
    )
    custody_threshold = IntegerField(_l("Shares needed to open (k)"), validators=[Optional()])
    platform_holds_share = BooleanField(_l("The platform also holds one share, released at the opening time"))
    max_bid_size_mib = IntegerField(
        _l("Maximum bid size (MiB)"), validators=[Optional()], description=_l("Leave empty for the platform default.")
    )
    submit = SubmitField(_l("Save draft"))
    criteria_rows: list[int]  # the row of each criteria item sent (rows left empty are skipped)


class DocumentForm(FlaskForm):
    document = FileField(_l("Tender document"), validators=[FileRequired()])
    text = TextAreaField(
        _l("Amendment text"), description=_l("Published tenders only: a document added now is an amendment.")
    )
    submit = SubmitField(_l("Upload"))


class PublishForm(FlaskForm):
    submit = SubmitField(_l("Publish and freeze the terms"))


class ClarifyForm(FlaskForm):
    text = TextAreaField(_l("Clarification text"), validators=[DataRequired()])
    submission_deadline_at = DateTimeLocalField(
        _l("New submission deadline"), format=LOCAL_FORMATS, validators=[Optional()]
    )
    opening_at = DateTimeLocalField(_l("New opening"), format=LOCAL_FORMATS, validators=[Optional()])
    description = TextAreaField(_l("New description (leave empty to keep the current one)"))
    submit = SubmitField(_l("Issue the clarification"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Public answer"), validators=[DataRequired()])
    submit = SubmitField(_l("Answer publicly"))


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the cancellation"), validators=[DataRequired()])
    submit = SubmitField(_l("Cancel the tender"))


class ShareForm(FlaskForm):
    kind = SelectField(choices=_choices([("text", "text"), ("file", "file")]), default="text")


SHARE_FILE_LIMIT = 16 * 1024  # a share is about a hundred characters of text


class BringShareForm(FlaskForm):
    """A custodian brings its share to the opening: pasted as text, or the file it downloaded."""

    share = TextAreaField(_l("Share (text)"))
    file = FileField(_l("or the share file"))


# --- helpers -----------------------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CENTER_TIMEZONE"])


def _center(value: datetime | None) -> str:
    return format_center_time(value, current_app.config["CENTER_TIMEZONE"])


def _to_utc_iso(local: datetime | None) -> str | None:
    """A datetime-local value, read in the center's zone, as an ISO instant for the API schema.

    Kept in the center's offset: the schema's Instant converts it to UTC and refuses instants out of
    range (0001-01-01T00:00 in Shanghai is before year 1 in UTC; converting here would overflow)."""
    if local is None:
        return None
    return local.replace(tzinfo=_zone()).isoformat()


def _to_local(value: datetime) -> datetime:
    return value.astimezone(_zone()).replace(tzinfo=None)


def _text(value: str | None) -> str:
    """Browsers send CRLF line breaks from text areas; the terms are stored with LF."""
    return (value or "").replace("\r\n", "\n")


def _managed(tender_id: int) -> Tender:
    """A tender of the caller's agency: drafts of others are not found, others' tenders are refused (logged)."""
    return services_tenders.managed_tender(me(), tender_id)


# --- agency: list and drafting -----------------------------------------------------------------------


def _buyer_choices(current: int | None = None) -> list[SelectChoice]:
    kinds = [k for k in OrganisationKind if k not in (OrganisationKind.BIDDER, OrganisationKind.AGENCY)]
    orgs = list(
        db.session.scalars(select(Organisation).where(Organisation.kind.in_(kinds)).order_by(Organisation.name))
    )
    choices = [(o.id, o.name) for o in orgs]
    if current is not None and all(cid != current for cid, _name in choices):
        org = db.session.get(Organisation, current)
        if org is not None:
            choices.append((org.id, org.name))
    return _choices(choices)


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
        "description": _text(form.description.data),
        "budget_secret": bool(form.budget_secret.data),
        "submission_deadline_at": _to_utc_iso(form.submission_deadline_at.data),
        "opening_at": _to_utc_iso(form.opening_at.data),
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
    names = [n for n in re.split(r"[\s,;，；]+", _text(form.custodians.data)) if n]
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
    tender = _managed(tender_id)
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


# --- agency: one tender ------------------------------------------------------------------------------


def _custody_rows(tender: Tender) -> list[tuple[CustodyShare, User | None]]:
    rows = list(db.session.scalars(select(CustodyShare).where(CustodyShare.tender_id == tender.id)))
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.id.in_([r.user_id for r in rows if r.user_id])))
    }
    return [(r, users.get(r.user_id) if r.user_id else None) for r in sorted(rows, key=lambda r: r.share_index)]


def _render_manage(tender: Tender, status: int = 200, **extra: Any) -> Any:
    questions = services_questions.list_questions(tender, answered_only=False)
    names = {}
    if tender.custodian_ids:
        names = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(tender.custodian_ids)))}
    open_for_bids = services_tenders.is_open_for_bids(tender)
    return render_template(
        "tendering/agency_tender.html",
        tender=tender,
        questions=questions,
        open_for_bids=open_for_bids,
        can_add_documents=tender.status is TenderStatus.DRAFT or open_for_bids,
        can_cancel=tender.status in (TenderStatus.DRAFT, TenderStatus.PUBLISHED) and now_utc() < tender.opening_at,
        doc_form=extra.pop("doc_form", None) or DocumentForm(formdata=None),
        answer_form=AnswerForm(formdata=None),
        answer_errors=extra.pop("answer_errors", {}),
        doc_errors=extra.pop("doc_errors", Errors(FORM_FIELD)),
        fields=form_fields(tender.bid_form_schema),
        custodians=[names.get(uid) for uid in tender.custodian_ids],
        shares=_custody_rows(tender) if tender.status is not TenderStatus.DRAFT else [],
        **extra,
    ), status


@bp.get("/agency/tenders/<int:tender_id>")
@requires(MANAGE)
def agency_tender(tender_id: int) -> Any:
    return _render_manage(_managed(tender_id))


@bp.post("/agency/tenders/<int:tender_id>/documents")
@requires(MANAGE)
def agency_document_upload(tender_id: int) -> Any:
    tender = _managed(tender_id)
    form = DocumentForm()
    errors = Errors(FORM_FIELD)
    if not form.validate_on_submit():
        return _render_manage(tender, 400, doc_form=form, doc_errors=errors)
    upload = form.document.data
    try:
        args = schemas.DocumentQuery().load(
            {
                "name": upload.filename or "",
                "content_type": upload.mimetype or "application/octet-stream",
                "text": _text(form.text.data),
            }
        )
    except ma.ValidationError as exc:
        errors.add("document", "; ".join(messages(exc.messages)), form)
        return _render_manage(tender, 422, doc_form=form, doc_errors=errors)
    with attempt() as outcome:
        doc = services_tenders.add_document(
            actor=me(),
            tender=tender,
            name=args["name"],
            stream=upload.stream,
            length=None,
            content_type=args["content_type"],
            text=args.get("text", ""),
        )
    if outcome.error is not None:
        errors.from_service(outcome.error, form)
        errors.setdefault("document", []).extend(errors.general)
        errors.general = []
        return _render_manage(tender, outcome.status, doc_form=form, doc_errors=errors)
    flash(_("The document %(name)s was added (SHA-256 %(sha)s).", name=doc.name, sha=doc.sha256), "success")
    return redirect(url_for("tendering.agency_tender", tender_id=tender_id), code=303)


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
    tender = _managed(tender_id)
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
    tender = _managed(tender_id)
    form = ClarifyForm()
    errors = Errors(FORM_FIELD)
    if request.method == "GET":
        if not services_tenders.is_open_for_bids(tender):
            flash(_("Clarifications are issued while the tender is open for bids."), "error")
            return redirect(url_for("tendering.agency_tender", tender_id=tender.id), code=303)
        return _render_clarify(tender, form, errors)
    if not form.validate_on_submit():
        return _render_clarify(tender, form, errors, 400)
    data: dict[str, Any] = {"text": _text(form.text.data)}
    for name in ("submission_deadline_at", "opening_at"):
        instant = _to_utc_iso(form[name].data)
        if instant is not None:
            data[name] = instant
    if _text(form.description.data).strip():
        data["description"] = _text(form.description.data)
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
    tender = _managed(tender_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _render_manage(tender, 400, answer_errors={question_id: _("Write the answer.")})
    try:
        args = schemas.AnswerArgs().load({"answer": _text(form.answer.data)})
    except ma.ValidationError as exc:
        return _render_manage(tender, 422, answer_errors={question_id: "; ".join(messages(exc.messages))})
    with attempt() as outcome:
        services_questions.answer_question(actor=me(), tender=tender, question_id=question_id, answer=args["answer"])
    if outcome.error is not None:
        return _render_manage(tender, outcome.status, answer_errors={question_id: outcome.error.translated})
    flash(_("The answer was published."), "success")
    return redirect(url_for("tendering.agency_tender", tender_id=tender_id, _anchor="questions"), code=303)


@bp.route("/agency/tenders/<int:tender_id>/cancel", methods=["GET", "POST"])
@requires(MANAGE)
def agency_tender_cancel(tender_id: int) -> Any:
    tender = _managed(tender_id)
    form = CancelForm()
    errors = Errors(FORM_FIELD)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                args = schemas.CancelArgs().load({"reason": _text(form.reason.data)})
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


# --- custodians --------------------------------------------------------------------------------------


def _own_share(tender: Tender) -> CustodyShare:
    """The caller's share of the tender; anybody else is refused and logged, like every other refusal."""
    share: CustodyShare | None = db.session.scalar(
        select(CustodyShare).where(CustodyShare.tender_id == tender.id, CustodyShare.user_id == me().id)
    )
    if share is None:
        raise AccessRefused(
            N_("You are not a custodian of this tender."),
            actor=me(),
            subject=tender.audit_ref,
            data={"attempt": "share"},
        )
    return share


@bp.get("/custody")
@authenticated
def custody_duties() -> Any:
    duties = custody.list_custody_duties(me())
    rows = [share for share, _tender in duties]
    tenders = {tender.id: tender for _share, tender in duties}
    return render_template("tendering/agency_custody_duties.html", rows=rows, tenders=tenders)


@bp.get("/tenders/<int:tender_id>/custody")
@authenticated
def custody_share_page(tender_id: int) -> Any:
    tender = services_tenders.get_tender(tender_id, me())
    return _render_share_page(tender, _own_share(tender))


def _render_share_page(tender: Tender, share: CustodyShare, status: int = 200, error: str | None = None) -> Any:
    bring = (
        tender.custody_mode is CustodyMode.COMMITTEE
        and share.submitted_at is None
        and tender.status in (TenderStatus.PUBLISHED, TenderStatus.OPENING)
        and now_utc() >= tender.opening_at
    )
    return render_template(
        "tendering/agency_custody_share.html",
        tender=tender,
        share=share,
        form=ShareForm(formdata=None),
        bring_form=BringShareForm(formdata=None) if bring else None,
        bring_error=error,
    ), status


def _share_text(form: BringShareForm) -> str:
    """The share from the file (preferred when given) or the text box; a readable error otherwise."""
    upload: FileStorage | None = form.file.data
    if upload is not None and upload.filename:
        data: bytes = upload.stream.read(SHARE_FILE_LIMIT + 1)
        if len(data) > SHARE_FILE_LIMIT:
            raise ValidationFailed(N_("This file is too large to be a key share."), errors={"share": ["too-large"]})
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise ValidationFailed(N_("This file is not a key share."), errors={"share": ["invalid"]}) from None
    text = _text(form.share.data).strip()
    if not text:
        raise ValidationFailed(N_("Paste your share or choose its file."), errors={"share": ["required"]})
    return text


@bp.post("/tenders/<int:tender_id>/custody/bring")
@authenticated
def custody_share_bring(tender_id: int) -> Any:
    """A custodian brings its share to the opening through the page (the API's submit_share, same service)."""
    tender = services_tenders.get_tender(tender_id, me())
    share = _own_share(tender)
    form = BringShareForm()
    if not form.validate_on_submit():
        return _render_share_page(tender, share, 400, _("The form expired; please try again."))
    with attempt() as outcome:
        present = custody.submit_custody_share(actor=me(), tender=tender, text=_share_text(form))
    if outcome.error is not None:
        return _render_share_page(tender, share, outcome.status, outcome.error.translated)  # reloaded after rollback
    flash(
        _(
            "Your share is in: %(present)s of the %(needed)s needed are present.",
            present=present,
            needed=tender.custody_threshold,
        ),
        "success",
    )
    return redirect(url_for("tendering.custody_share_page", tender_id=tender_id), code=303)


@bp.post("/tenders/<int:tender_id>/custody/share")
@authenticated
def custody_share_download(tender_id: int) -> Any:
    tender = services_tenders.get_tender(tender_id, me())
    form = ShareForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("tendering.custody_share_page", tender_id=tender_id), code=303)
    with attempt() as outcome:
        text = custody.download_custody_share(actor=me(), tender=tender)
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("tendering.custody_share_page", tender_id=tender_id), code=303)
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if form.kind.data == "file":
        filename = f"{tender.reference or tender.id}-custody-share.txt"
        headers["Content-Disposition"] = content_disposition(filename)
        return Response(text + "\n", content_type="text/plain; charset=utf-8", headers=headers)
    resp = make_response(render_template("tendering/agency_custody_share.html", tender=tender, share=None, text=text))
    resp.headers.update(headers)
    return resp


def init_app() -> None:
    register_nav("tendering.agency_tenders", _l("My tenders"), MANAGE, order=22)
    register_nav("tendering.custody_duties", _l("Key custody"), READ_OPENED, order=23)
