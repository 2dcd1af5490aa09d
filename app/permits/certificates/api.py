"""The certificate registry's JSON API (/api/v1/permits/certificates): public status by number; issuing,
re-issuing and revoking for staff with the permission."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import request, url_for
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.fields import Instant, Integer
from app.core.pages import me
from app.core.security import public, requires
from app.permits.certificates import services
from app.permits.certificates.models import Certificate
from app.permits.certificates.views import masked_code
from app.permits.permissions import CERTIFICATE_ISSUE, CERTIFICATE_REVOKE

blp = Blueprint(
    "permits-certificates-api",
    __name__,
    url_prefix="/api/v1/permits/certificates",
    description="The certificate registry (证照库): sealed certificates, their versions and revocations.",
)


class CertificateVersionOut(ma.Schema):
    number = ma.fields.String(required=True)
    version = Integer(required=True)
    status = ma.fields.String(required=True)
    issued_at = Instant(required=True)


class CertificateOut(ma.Schema):
    number = ma.fields.String(required=True)
    version = Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": "valid, expired, revoked or superseded"})
    kind = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    item_code = ma.fields.String(required=True)
    holder = ma.fields.Dict(required=True, metadata={"description": "kind, name, code (a person's masked)"})
    scope = ma.fields.String(required=True)
    valid_from = ma.fields.Date(required=True)
    valid_until = ma.fields.Date(allow_none=True, required=True)
    case_number = ma.fields.String(allow_none=True, required=True)
    issued_at = Instant(required=True)
    revoked_at = Instant(allow_none=True, required=True)
    revocation_reason = ma.fields.String(required=True)
    superseded_by = ma.fields.String(allow_none=True, required=True)
    pdf = ma.fields.Dict(required=True, metadata={"description": "url, sha256, size of the sealed PDF"})
    versions = ma.fields.List(ma.fields.Nested(CertificateVersionOut), required=True)


def certificate_view(cert: Certificate) -> dict[str, Any]:
    today = services.today()
    return {
        "number": cert.number,
        "version": cert.version,
        "status": cert.status_on(today).value,
        "kind": cert.kind.value,
        "title": cert.title,
        "item_code": cert.item.code,
        "holder": {"kind": cert.holder_kind.value, "name": cert.holder_name, "code": masked_code(cert)},
        "scope": cert.scope,
        "valid_from": cert.valid_from,
        "valid_until": cert.valid_until,
        "case_number": cert.case_number,
        "issued_at": cert.issued_at,
        "revoked_at": cert.revoked_at,
        "revocation_reason": cert.revocation_reason,
        "superseded_by": cert.superseded_by.number if cert.superseded_by else None,
        "pdf": {
            "url": url_for("permits_certificates.pdf", number=cert.number),
            "sha256": cert.pdf_sha256,
            "size": cert.pdf_size,
        },
        "versions": [
            {"number": v.number, "version": v.version, "status": v.status_on(today).value, "issued_at": v.issued_at}
            for v in services.versions(cert)
        ],
    }


def _body() -> Any:
    return request.get_json(silent=True) or {}


@blp.route("/<string:number>", methods=["GET"])
@blp.response(200, CertificateOut)
@problem_responses(blp, 404)
@public
def get_certificate(number: str) -> Any:
    """A certificate's status and facts by its number (public, as on its verification page)."""
    return certificate_view(services.get(number))


@blp.route("", methods=["POST"])
@blp.arguments(services.IssueArgs)
@blp.response(201, CertificateOut)
@problem_responses(blp, 401, 403, 422, 503)
@requires(CERTIFICATE_ISSUE)
def issue_certificate(args: dict[str, Any]) -> Any:
    """Issue a certificate: rendered, sealed with the center's electronic seal, stored; version 1."""
    del args  # validated by the schema; the service loads the body itself
    return certificate_view(services.issue(actor=me(), data=_body()))


@blp.route("/<string:number>/reissue", methods=["POST"])
@blp.arguments(services.ReissueArgs)
@blp.response(201, CertificateOut)
@problem_responses(blp, 401, 403, 404, 409, 422, 503)
@requires(CERTIFICATE_ISSUE)
def reissue_certificate(args: dict[str, Any], number: str) -> Any:
    """Re-issue with changed facts: a new version and a new sealed PDF; the current version is superseded."""
    del args
    return certificate_view(services.reissue(actor=me(), number=number, data=_body()))


@blp.route("/<string:number>/revoke", methods=["POST"])
@blp.arguments(services.RevokeArgs)
@blp.response(200, CertificateOut)
@problem_responses(blp, 401, 403, 404, 409, 422)
@requires(CERTIFICATE_REVOKE)
def revoke_certificate(args: dict[str, Any], number: str) -> Any:
    """Revoke a certificate in force, with the reason; effective at once."""
    del args
    return certificate_view(services.revoke(actor=me(), number=number, data=_body()))


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
