"""HTML side of the tendering floor: public tender pages, the bidder's pages, the opening record for participants.

Thin views over the services. Bids are sealed in the page (app/static/dist/seal.js) and travel through the
JSON API with the session cookie and the CSRF header; these views never see a plaintext bid.
"""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.core.db import db
from app.core.errors import DomainError, NotFound, ValidationFailed
from app.core.pages import discard, me
from app.core.problems import N_
from app.core.security import authenticated, public, requires
from app.core.storage import content_disposition
from app.core.time import format_iso_instant, now_utc
from app.core.views import register_nav
from app.tendering import opening, receipts, schemas, services_bids, services_questions, services_tenders, terms
from app.tendering.common import LoggedRefusal, config_value, log_refusal
from app.tendering.models import Bid, Tender, TenderStatus
from app.tendering.permissions import BID

bp = Blueprint("tendering", __name__, template_folder="templates")

PER_PAGE = 20
# The bid form types the page can render as inputs; anything else is entered as JSON.
SIMPLE_TYPES = ("integer", "string", "boolean")


def _viewer() -> Any:
    return me() if current_user.is_authenticated else None


def _tender(tender_id: int) -> Tender:
    return services_tenders.get_tender(tender_id, _viewer())


def _deadline_context(tender: Tender) -> dict[str, Any]:
    """Instants the countdown needs, in milliseconds since the epoch, taken from the server's clock."""
    return {
        "server_now_ms": int(now_utc().timestamp() * 1000),
        "deadline_ms": int(tender.submission_deadline_at.timestamp() * 1000),
        "opening_ms": int(tender.opening_at.timestamp() * 1000),
        "open_for_bids": services_tenders.is_open_for_bids(tender),
    }


def form_fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The bid form's top-level properties as input descriptions for the template and the page's script."""
    required = set(schema.get("required") or [])
    fields = []
    for name, raw in (schema.get("properties") or {}).items():
        prop = raw if isinstance(raw, dict) else {}
        kind = prop.get("type")
        label = str(prop.get("title") or name)
        if "enum" in prop and kind in (None, "string", "integer"):
            widget = "enum"
        elif terms.is_money_field(name, prop):
            widget = "money"  # typed in 元, sealed as an integer of 分
            label = terms.money_label(label)
        elif kind in SIMPLE_TYPES:
            widget = str(kind)
        else:
            widget = "json"
        fields.append(
            {
                "name": str(name),
                "label": label,
                "description": str(prop.get("description") or ""),
                "widget": widget,
                "type": kind,
                "enum": list(prop.get("enum") or []),
                "required": name in required,
                "minimum": prop.get("minimum"),
                "maximum": prop.get("maximum"),
                "minLength": prop.get("minLength"),
                "maxLength": prop.get("maxLength"),
                "default": prop.get("default"),
            }
        )
    return fields


# --- public ------------------------------------------------------------------------------------------


@bp.get("/tenders")
@public
def tender_list() -> Any:
    try:
        args = schemas.TenderListArgs(unknown=ma.EXCLUDE).load(request.args)
    except ma.ValidationError as exc:
        raise ValidationFailed(N_("The search parameters are not valid."), errors={"query": exc.messages}) from None
    page = args["page"]
    rows, total = services_tenders.list_tenders(
        q=args.get("q"), category=args.get("category"), status=args.get("status"), page=page, per_page=PER_PAGE
    )
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    statuses = [s.value for s in TenderStatus if s is not TenderStatus.DRAFT]
    return render_template(
        "tendering/tender_list.html",
        tenders=rows,
        total=total,
        page=page,
        pages=pages,
        q=args.get("q") or "",
        category=args.get("category") or "",
        status=args.get("status") or "",
        statuses=statuses,
        open_for_bids=services_tenders.is_open_for_bids,
    )


@bp.get("/tenders/<int:tender_id>")
@public
def tender_detail(tender_id: int) -> Any:
    tender = _tender(tender_id)
    hide_budget = tender.budget_secret and tender.status in (TenderStatus.DRAFT, TenderStatus.PUBLISHED)
    if hide_budget and _viewer() is not None and services_tenders.is_manager_of(_viewer(), tender):
        hide_budget = False
    return render_template(
        "tendering/tender_detail.html",
        tender=tender,
        hide_budget=hide_budget,
        questions=services_questions.list_questions(tender, answered_only=True),
        fields=form_fields(tender.bid_form_schema),
        **_deadline_context(tender),
    )


# --- bidders -----------------------------------------------------------------------------------------


@bp.get("/bids")
@requires(BID)
def my_bids() -> Any:
    bids = services_bids.list_own_bids(me())
    ids = {b.tender_id for b in bids}
    tenders = {t.id: t for t in db.session.scalars(select(Tender).where(Tender.id.in_(ids)))} if ids else {}
    return render_template(
        "tendering/my_bids.html", bids=bids, tenders=tenders, open_for_bids=services_tenders.is_open_for_bids
    )


def _own_bid_or_none(tender: Tender) -> Bid | None:
    try:
        return services_bids.get_own_bid(actor=me(), tender=tender)
    except NotFound:
        return None


@bp.get("/tenders/<int:tender_id>/bid")
@requires(BID)
def bid_page(tender_id: int) -> Any:
    tender = _tender(tender_id)
    bid = _own_bid_or_none(tender)
    return render_template(
        "tendering/bid.html",
        tender=tender,
        bid=bid,
        proofs={v.number: services_bids.receipt_location(v)[0] is not None for v in (bid.versions if bid else [])},
        fields=form_fields(tender.bid_form_schema),
        has_org=me().organisation_id is not None,
        chunk_size=min(int(config_value("TENDER_UPLOAD_MAX_CHUNK")), 1024 * 1024),
        **_deadline_context(tender),
    )


@bp.post("/tenders/<int:tender_id>/bid/withdraw")
@requires(BID)
def withdraw(tender_id: int) -> Any:
    tender = _tender(tender_id)
    # Not attempt(): the bid page's button shows every error but 401/403 as its message, a logged refusal and a
    # missing bid included.
    try:
        version = services_bids.withdraw_bid(actor=me(), tender=tender)
    except DomainError as exc:
        if exc.status in (401, 403) and not isinstance(exc, NotFound):
            raise
        discard()
        if isinstance(exc, LoggedRefusal):  # e.g. after the deadline: refused, shown, and logged like the API's
            log_refusal(exc)
        flash(_("Not withdrawn: %(reason)s", reason=exc.translated), "error")
        return redirect(url_for("tendering.bid_page", tender_id=tender_id), code=303)
    flash(_("Your bid is withdrawn (receipt no. %(number)s).", number=version.number), "success")
    return redirect(url_for("tendering.bid_page", tender_id=tender_id), code=303)


@bp.get("/tenders/<int:tender_id>/bid/receipts/<int:number>")
@requires(BID)
def receipt_page(tender_id: int, number: int) -> Any:
    """The receipt as a page a person reads, with its downloads (JSON, JSON with proof, PDF)."""
    tender = _tender(tender_id)
    _bid, version = receipts.own_version(me(), tender, number)
    facts = receipts.receipt_facts(tender, version)
    return render_template(
        "tendering/receipt.html", f=facts, qr=receipts.qr_svg(facts["verify_url"], _("Verify this receipt"))
    )


@bp.get("/tenders/<int:tender_id>/bid/receipts/<int:number>.pdf")
@requires(BID)
def receipt_pdf(tender_id: int, number: int) -> Any:
    tender = _tender(tender_id)
    _bid, version = receipts.own_version(me(), tender, number)
    pdf = receipts.render_receipt_pdf(receipts.receipt_facts(tender, version))
    filename = f"{tender.reference or tender.id}-receipt-{number}.pdf"
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": content_disposition(filename)})


@bp.get("/receipts/verify")
@public
def verify_receipt() -> Any:
    """The public verification page: checks run in the browser (dist/verify.js); the form is the fallback."""
    return _verify_page(None)


@bp.post("/receipts/verify")
@public
def verify_receipt_post() -> Any:
    """Without JavaScript: the receipt JSON (pasted or as a file; never a sealed file) checked by the Python
    verifier. Nothing is stored."""
    text = request.form.get("receipt_text", "")
    upload = request.files.get("receipt_file")
    if upload is not None and upload.filename:
        raw = upload.stream.read(receipts.MAX_RECEIPT_TEXT + 1)
        text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        return _verify_page(None, error=_("Choose the receipt file or paste its JSON.")), 400
    return _verify_page(receipts.verify_text(text))


def _verify_page(result: receipts.Verification | None, error: str | None = None) -> str:
    commitment = request.args.get("commitment", "")
    if not (len(commitment) == 64 and all(c in "0123456789abcdef" for c in commitment)):
        commitment = ""
    return render_template(
        "tendering/verify_receipt.html",
        result=result,
        error=error,
        commitment=commitment,
        zone=current_app.config["CENTER_TIMEZONE"],
    )


@bp.get("/tenders/<int:tender_id>/bid/receipts/<int:number>.json")
@requires(BID)
def receipt_json(tender_id: int, number: int) -> Any:
    tender = _tender(tender_id)
    _bid, version = receipts.own_version(me(), tender, number)
    document: dict[str, Any] = version.receipt
    filename = f"{tender.reference or tender.id}-receipt-{number}.json"
    if request.args.get("with") == "proof":
        # The receipt with its two-level inclusion proof, as `python -m crypto verify-receipt` reads it.
        proof = services_bids.receipt_proof(version)
        if proof is None:
            raise NotFound(
                N_("The inclusion proof is not ready yet: it comes with the next batch of the evidence log.")
            )
        document = {"receipt": version.receipt, "proof": proof}
        filename = f"{tender.reference or tender.id}-receipt-{number}-proof.json"
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return Response(
        body,
        content_type="application/json; charset=utf-8",
        headers={"Content-Disposition": content_disposition(filename), "X-Content-Type-Options": "nosniff"},
    )


# --- the opening record ------------------------------------------------------------------------------


@bp.get("/tenders/<int:tender_id>/opening")
@authenticated
def opening_record(tender_id: int) -> Any:
    tender = _tender(tender_id)
    records = opening.list_records(actor=me(), tender=tender)  # participants only; refusals are logged
    return render_template(
        "tendering/opening_record.html",
        tender=tender,
        records=[(r, r.document["payload"]) for r in records],
        zone=current_app.config["CENTER_TIMEZONE"],
    )


# The bid form's fields by their titles (opening record page and PDF).
bp.add_app_template_global(terms.bid_form_rows, "bid_form_rows")


@bp.app_template_global("envelope_label")
def envelope_label(name: Any, chinese: bool = False) -> str:
    """An envelope's label (translated; in Chinese for the bilingual PDF), or its name when it has none."""
    found = terms.ENVELOPE_LABELS.get(str(name))
    if found is None:
        return str(name)
    return found[1] if chinese else _(found[0])


@bp.app_template_global("envelope_labels")
def envelope_labels(envelopes: Any) -> dict[str, str]:
    """Each envelope's label by its name, for the bid page's script (its progress messages name envelopes)."""
    return {str(env["name"]): envelope_label(env["name"]) for env in envelopes or []}


@bp.app_template_global("currency_label")
def currency_label(code: Any, chinese: bool = False) -> str:
    """A currency by name ('CNY' → 人民币（元）), or its code when it is not one the platform names."""
    found = terms.CURRENCY_LABELS.get(str(code))
    if found is None:
        return str(code)
    return found[1] if chinese else _(found[0])


@bp.app_template_global("tender_category")
def tender_category(value: Any) -> str:
    """A tender's category: one of the law's kinds typed as a code ('goods') in words, else as the agency typed it."""
    found = terms.CATEGORY_LABELS.get(str(value).strip().lower())
    return str(_(found)) if found else str(value)


@bp.app_template_global("choice_label")
def choice_label(value: Any) -> str:
    """One choice of a bid-form field in words: a currency by name, yes/no for a boolean, else as the schema says."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if value is None:
        return "—"
    if isinstance(value, str) and value in terms.CURRENCY_LABELS:
        return currency_label(value)
    return str(value)


_KIND_WORDS = {
    "money": N_("Amount of money (yuan)"),
    "integer": N_("Whole number"),
    "string": N_("Text"),
    "boolean": N_("Yes / no"),
}


@bp.app_template_global("field_kind_words")
def field_kind_words(f: dict[str, Any]) -> str:
    """The kind of a bid-form field (form_fields) in words, with its choices: never a schema code. The only format
    a schema may give (money, on an integer) is the money widget."""
    widget = f.get("widget")
    if widget == "enum":
        return f"{_('Choice')}: {', '.join(choice_label(v) for v in f.get('enum') or [])}"
    if widget in _KIND_WORDS:
        return str(_(_KIND_WORDS[widget]))
    if f.get("type") == "array":
        return str(_("List of values (JSON)"))
    if f.get("type") == "object":
        return str(_("Group of values (JSON)"))
    return str(_("Any value (JSON)"))


@bp.app_template_filter("instant_center_time")
def instant_center_time(value: Any) -> str:
    """A signed document's instant ('2026-01-05T01:00:00.000000Z') in the center's zone, named."""
    return format_iso_instant(value, current_app.config["CENTER_TIMEZONE"])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("tendering.tender_list", _l("Tenders"), "@public", order=20)
    register_nav("tendering.my_bids", _l("My bids"), BID, order=21)
