"""The public verification of sealed documents: a page (/seals/verify) and its JSON API (/api/v1/seals/verify).

Anyone uploads a PDF; nothing is stored. The page says in words what the verifier found, per signature; a bad
upload (no file, too large, not a PDF) gets a readable 4xx message, the API a problem JSON.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Blueprint, Flask, current_app, render_template, request
from flask_babel import gettext as _
from flask_smorest import Blueprint as ApiBlueprint

from app.core.api import problem_responses
from app.core.errors import DomainError
from app.core.fields import Instant, Integer
from app.core.problems import N_
from app.core.problems import register as register_problem
from app.core.sealing.config import get_sealing
from app.core.sealing.verify import Check, SealReport, verify_pdf
from app.core.security import public
from app.core.time import format_center_time

bp = Blueprint("sealing", __name__, url_prefix="/seals", template_folder="templates")
blp = ApiBlueprint(
    "sealing-api",
    __name__,
    url_prefix="/api/v1/seals",
    description="Verification of documents sealed with an electronic seal (电子印章, PAdES signatures).",
)


# Each refusal of an upload: its HTTP status, problem type, title and description (one class serves all).
REFUSALS: dict[int, tuple[str, str, str]] = {
    400: (
        "seal-upload-refused",
        N_("The file cannot be checked"),
        N_("The upload is missing, too large or not a PDF document; nothing was stored."),
    ),
    413: (
        "seal-upload-too-large",
        N_("The file is too large to check"),
        N_("A document to verify has a size limit; nothing was stored."),
    ),
    415: (
        "seal-upload-not-pdf",
        N_("The file is not a PDF document"),
        N_("Only PDF documents carry the seals this page checks; nothing was stored."),
    ),
    422: (
        "seal-upload-unreadable",
        N_("The PDF document cannot be read"),
        N_("The file starts like a PDF document but its structure cannot be read; nothing was stored."),
    ),
}
for _status, (_code, _title, _description) in REFUSALS.items():
    register_problem(_code, _status, _title, _description)


class UploadRefused(DomainError):
    """A refused upload; its `status` (400, 413, 415 or 422) chooses its problem type from REFUSALS."""

    def __init__(self, detail: str, *, status: int = 400, params: Mapping[str, Any] | None = None) -> None:
        self.status = status
        self.code, self.title, self.description = REFUSALS[status]
        super().__init__(detail, params)


def read_upload() -> tuple[bytes, str]:
    """The uploaded PDF (multipart field `file`, or an application/pdf body) and its name; refusals are 4xx."""
    limit = int(current_app.config["SEAL_VERIFY_MAX_BYTES"])
    upload = request.files.get("file")
    name = ""
    if upload is not None and upload.filename:
        data = upload.stream.read(limit + 1)
        name = upload.filename
    elif request.mimetype == "application/pdf":
        data = request.stream.read(limit + 1)
    else:
        raise UploadRefused(N_("Choose the PDF file to check."))
    if len(data) > limit:
        raise UploadRefused(
            N_("The file is larger than %(limit)s MB, the largest this page checks."),
            status=413,
            params={"limit": limit // (1024 * 1024) or 1},
        )
    if not data:
        raise UploadRefused(N_("The file is empty."))
    return data, name


def check(data: bytes) -> SealReport:
    report = verify_pdf(data, get_sealing().trust())
    if report.problem is not None and report.problem.code == "not-pdf":
        raise UploadRefused(N_("The file is not a PDF document: only sealed PDF documents can be checked."), status=415)
    if report.problem is not None and report.problem.code in {"unreadable", "encrypted"}:
        raise UploadRefused(N_("The file cannot be read as a PDF document: it is damaged or encrypted."), status=422)
    return report


def translated(c: Check) -> str:
    """The check's message in the page's language, its instants in the center's zone with the zone named."""
    zone = current_app.config["CENTER_TIMEZONE"]
    return str(_(c.message, **c.formatted(lambda instant: format_center_time(instant, zone))))


@bp.get("/verify")
@public
def verify_page() -> Any:
    return render_template("sealing/verify.html", report=None, error=None)


@bp.post("/verify")
@public
def verify_post() -> Any:
    try:
        data, name = read_upload()
        report = check(data)
    except UploadRefused as exc:
        return render_template("sealing/verify.html", report=None, error=exc.translated), exc.status
    return render_template(
        "sealing/verify.html",
        report=report,
        error=None,
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        translated=translated,
    )


# --- the JSON API -------------------------------------------------------------------------------------


class SealCheckOut(ma.Schema):
    code = ma.fields.String(
        required=True, metadata={"description": "integrity, signer, revocation, expiry, time, coverage"}
    )
    name = ma.fields.String(required=True)
    ok = ma.fields.Boolean(allow_none=True, required=True, metadata={"description": "null: could not be told"})
    message = ma.fields.String(required=True)


class SealSignatureOut(ma.Schema):
    field = ma.fields.String(required=True)
    ok = ma.fields.Boolean(required=True)
    signer = ma.fields.String(required=True)
    organisation = ma.fields.String(required=True)
    issuer = ma.fields.String(required=True)
    serial = ma.fields.String(required=True)
    signing_time = Instant(allow_none=True, required=True)
    timestamped = ma.fields.Boolean(required=True)
    certificate_not_after = Instant(allow_none=True, required=True)
    checks = ma.fields.List(ma.fields.Nested(SealCheckOut), required=True)


class SealReportOut(ma.Schema):
    ok = ma.fields.Boolean(required=True, metadata={"description": "every seal verified and nothing was changed"})
    size = Integer(required=True)
    sha256 = ma.fields.String(required=True)
    problem = ma.fields.Nested(SealCheckOut, allow_none=True, required=True)
    signatures = ma.fields.List(ma.fields.Nested(SealSignatureOut), required=True)


class SealUploadFiles(ma.Schema):
    file = ma.fields.Raw(metadata={"type": "string", "format": "binary", "description": "The PDF to check"})


def _check_out(c: Check) -> dict[str, Any]:
    return {"code": c.code, "name": c.name, "ok": c.ok, "message": c.english()}


def report_view(report: SealReport, data: bytes) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "size": report.size,
        "sha256": hashlib.sha256(data).hexdigest(),
        "problem": _check_out(report.problem) if report.problem else None,
        "signatures": [
            {
                "field": s.field_name,
                "ok": s.ok,
                "signer": s.signer,
                "organisation": s.organisation,
                "issuer": s.issuer,
                "serial": s.serial,
                "signing_time": s.signing_time,
                "timestamped": s.timestamped,
                "certificate_not_after": s.not_after,
                "checks": [_check_out(c) for c in s.checks],
            }
            for s in report.signatures
        ],
    }


@blp.route("/verify", methods=["POST"])
@blp.arguments(SealUploadFiles, location="files")
@blp.response(200, SealReportOut)
@problem_responses(blp, 400, 413, 415, 422)
@public
def verify_api(files: dict[str, Any]) -> Any:
    """Check a sealed PDF (multipart field `file`, or the PDF itself as an application/pdf body); nothing is
    stored. `ok` is true when every seal verifies against the platform's trust roots and nothing was changed
    after it; each check says what it found, in English."""
    del files
    data, _name = read_upload()
    return report_view(check(data), data)


def init_app(app: Flask) -> None:
    from app.extensions import api

    app.register_blueprint(bp)
    api.register_blueprint(blp)
