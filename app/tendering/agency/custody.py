"""The custodian's pages (committee custody): the duties, the one-time share download, bringing a share back.

Thin views on the `tendering` blueprint (app/tendering/views.py): WTForms parses what the browser sends, the API's
marshmallow schemas validate the result exactly as the API does, and the services decide, flush and write the
evidence; the request boundary commits.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.core.db import db
from app.core.errors import ValidationFailed
from app.core.pages import attempt, me
from app.core.problems import N_
from app.core.security import authenticated
from app.core.storage import content_disposition
from app.core.time import now_utc
from app.core.views import register_nav
from app.tendering import custody, services_tenders
from app.tendering.agency.forms import SHARE_FILE_LIMIT, BringShareForm, ShareForm
from app.tendering.agency.pages import plain_text
from app.tendering.common import AccessRefused
from app.tendering.models import CustodyMode, CustodyShare, Tender, TenderStatus
from app.tendering.permissions import READ_OPENED
from app.tendering.views import bp

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
    text = plain_text(form.share.data).strip()
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
    register_nav("tendering.custody_duties", _l("Key custody"), READ_OPENED, order=23)
