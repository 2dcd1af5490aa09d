"""The tender's documents: the agency uploads them to a draft or to a tender open for bids.

Thin views on the `tendering` blueprint (app/tendering/views.py): WTForms parses what the browser sends, the API's
marshmallow schemas validate the result exactly as the API does, and the services decide, flush and write the
evidence; the request boundary commits.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import flash, redirect, url_for
from flask_babel import gettext as _

from app.core.pages import Errors, attempt, me, messages
from app.core.security import requires
from app.tendering import schemas, services_tenders
from app.tendering.agency.forms import DocumentForm
from app.tendering.agency.pages import FORM_FIELD, managed_tender, plain_text, render_manage
from app.tendering.permissions import MANAGE
from app.tendering.views import bp


@bp.post("/agency/tenders/<int:tender_id>/documents")
@requires(MANAGE)
def agency_document_upload(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = DocumentForm()
    errors = Errors(FORM_FIELD)
    if not form.validate_on_submit():
        return render_manage(tender, 400, doc_form=form, doc_errors=errors)
    upload = form.document.data
    try:
        args = schemas.DocumentQuery().load(
            {
                "name": upload.filename or "",
                "content_type": upload.mimetype or "application/octet-stream",
                "text": plain_text(form.text.data),
            }
        )
    except ma.ValidationError as exc:
        errors.add("document", "; ".join(messages(exc.messages)), form)
        return render_manage(tender, 422, doc_form=form, doc_errors=errors)
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
        return render_manage(tender, outcome.status, doc_form=form, doc_errors=errors)
    flash(_("The document %(name)s was added (SHA-256 %(sha)s).", name=doc.name, sha=doc.sha256), "success")
    return redirect(url_for("tendering.agency_tender", tender_id=tender_id), code=303)
