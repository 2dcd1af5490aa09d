"""Certificate pages: the public verification page of a certificate (status, facts, versions), its sealed PDF,
and the staff's register (issue, re-issue, revoke). Thin: the services do the work; one commit at the boundary.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError
from app.core.pages import attempt, me, messages
from app.core.security import caller_has, public, requires
from app.core.storage import content_disposition
from app.core.ui import labelled
from app.permits.catalogue.models import Item
from app.permits.certificates import services
from app.permits.certificates.models import Certificate, CertificateKind, HolderKind
from app.permits.permissions import CERTIFICATE_ISSUE, CERTIFICATE_REVOKE

bp = Blueprint("permits_certificates", __name__, url_prefix="/permits/certificates", template_folder="templates")

STATE_LABELS = services.STATE_LABELS
KIND_LABELS = {
    CertificateKind.LICENCE: _l("Licence"),
    CertificateKind.APPROVAL: _l("Approval document"),
    CertificateKind.QUALIFICATION: _l("Qualification certificate"),
    CertificateKind.REGISTRATION: _l("Registration certificate"),
}
HOLDER_LABELS = {
    HolderKind.ORGANISATION: _l("Organisation (unified social credit code)"),
    HolderKind.PERSON: _l("Person (resident identity card number)"),
}
FIELDS = ("item_code", "kind", "title", "holder_kind", "holder_name", "holder_code", "scope", "valid_from")


def masked_code(cert: Certificate) -> str:
    """A person's identity number is shown masked on public pages; an organisation's code in full."""
    if cert.holder_kind is HolderKind.PERSON:
        return cert.holder_code[:6] + "*" * 8 + cert.holder_code[-4:]
    return cert.holder_code


# The field each message is about, named as its form names it.
FIELD_LABELS = {
    "item_code": _l("Item"),
    "kind": _l("Kind"),
    "title": _l("Certificate title"),
    "holder_kind": _l("Holder"),
    "holder_name": _l("Holder's name"),
    "holder_code": _l("Unified social credit code or identity card number"),
    "scope": _l("Scope"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "case_number": _l("Case number"),
    "reason": _l("Reason"),
}


def _messages(error: DomainError | None) -> list[str]:
    """A refused attempt in the page's language: what was wrong, then each field's message after its label."""
    if error is None:
        return []
    found = error.extra.get("errors") if isinstance(error.extra, dict) else None
    out = [error.translated]
    for key, value in (found or {}).items():
        label = FIELD_LABELS.get(str(key))
        out.extend(str(labelled(label) + m) if label else m for m in messages(value))
    return out


def _form_data() -> dict[str, Any]:
    data: dict[str, Any] = {k: request.form.get(k, "") for k in FIELDS}
    for optional in ("valid_until", "case_number"):
        value = request.form.get(optional, "").strip()
        data[optional] = value or None
    return data


@bp.get("/<string:number>")
@public
def public_page(number: str) -> Any:
    cert = services.get(number)
    return _page(cert)


def _page(cert: Certificate, errors: DomainError | None = None, status: int = 200) -> Any:
    return (
        render_template(
            "permits_certificates/certificate.html",
            cert=cert,
            state=services.status(cert),
            versions=services.versions(cert),
            holder_code=masked_code(cert),
            can_issue=caller_has(CERTIFICATE_ISSUE),
            can_revoke=caller_has(CERTIFICATE_REVOKE),
            today=services.today(),
            errors=_messages(errors),
        ),
        status,
    )


@bp.get("/<string:number>/pdf")
@public
def pdf(number: str) -> Any:
    cert = services.get(number)
    headers = {
        "Content-Disposition": content_disposition(f"{cert.number}.pdf"),
        "ETag": f'"{cert.pdf_sha256}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(services.pdf_bytes(cert), headers=headers, content_type="application/pdf")


@bp.get("/")
@requires(CERTIFICATE_ISSUE)
def register() -> Any:
    return _register_page()


def _register_page(errors: DomainError | None = None, values: dict[str, Any] | None = None, status: int = 200) -> Any:
    from sqlalchemy import select

    from app.core.db import db

    items = list(db.session.scalars(select(Item).order_by(Item.code)))
    return (
        render_template(
            "permits_certificates/register.html",
            certificates=services.list_recent(),
            items=items,
            kinds=KIND_LABELS,
            holders=HOLDER_LABELS,
            errors=_messages(errors),
            values=values or {},
            today=services.today(),
        ),
        status,
    )


@bp.post("/")
@requires(CERTIFICATE_ISSUE)
def issue() -> Any:
    data = _form_data()
    with attempt() as outcome:
        cert = services.issue(actor=me(), data=data)
    if outcome.failed:
        return _register_page(errors=outcome.error, values=data, status=outcome.status)
    flash(_("Certificate %(number)s issued and sealed.", number=cert.number), "success")
    return redirect(url_for(".public_page", number=cert.number))


@bp.post("/<string:number>/reissue")
@requires(CERTIFICATE_ISSUE)
def reissue(number: str) -> Any:
    data: dict[str, Any] = {"reason": request.form.get("reason", "")}
    for key in ("holder_name", "scope"):
        if request.form.get(key, "").strip():
            data[key] = request.form[key]
    if "valid_until" in request.form:
        data["valid_until"] = request.form["valid_until"].strip() or None
    with attempt() as outcome:
        new = services.reissue(actor=me(), number=number, data=data)
    if outcome.failed:
        return _page(services.get(number), errors=outcome.error, status=outcome.status)
    flash(_("Certificate re-issued as %(number)s; the earlier version is superseded.", number=new.number), "success")
    return redirect(url_for(".public_page", number=new.number))


@bp.post("/<string:number>/revoke")
@requires(CERTIFICATE_REVOKE)
def revoke(number: str) -> Any:
    with attempt() as outcome:
        services.revoke(actor=me(), number=number, data={"reason": request.form.get("reason", "")})
    if outcome.failed:
        return _page(services.get(number), errors=outcome.error, status=outcome.status)
    flash(_("Certificate %(number)s revoked.", number=number), "success")
    return redirect(url_for(".public_page", number=number))


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "certificate_state": lambda state: STATE_LABELS[state],
        "certificate_kind": lambda kind: KIND_LABELS[kind],
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
