"""Certificate registry services: issue, re-issue (a new version; the old one superseded), revoke, read.

Each state change writes its evidence-log entry in the caller's transaction. Issuing renders the certificate
as a Chinese PDF (WeasyPrint) with a QR code to its public verification page, seals it with the configured
Sealer (app.core.sealing) and stores it in the write-once store under its SHA-256; the row keeps the hash.
"""

from __future__ import annotations

import hashlib
import re
from calendar import monthrange
from datetime import date
from typing import Any

import marshmallow as ma
from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from marshmallow import validate
from sqlalchemy import func, select

from app import audit
from app.accounts.uscc import is_valid_uscc
from app.core.db import db
from app.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from app.core.problems import N_
from app.core.sealing.documents import qr_data_uri, render_pdf, seal_or_refuse
from app.core.storage import DOCUMENTS, get_storage
from app.core.time import now_utc, to_center_time
from app.permits.cases.services import normalise_resident_id
from app.permits.catalogue.models import Item
from app.permits.certificates.models import Certificate, CertificateKind, CertificateState, HolderKind

NUMBER = re.compile(r"^XK-(\d{4})-(\d{6})(?:-(\d{1,3}))?$")

# A state in words, with the colour of its tag.
STATE_LABELS = {
    CertificateState.VALID: (_l("Valid"), "green"),
    CertificateState.EXPIRED: (_l("Expired"), "grey"),
    CertificateState.REVOKED: (_l("Revoked by the issuer"), "red"),
    CertificateState.SUPERSEDED: (_l("Superseded"), "yellow"),
}


class CertificateNotFound(NotFound):
    pass


class CertificateConflict(Conflict):
    pass


class SealUnavailable(DomainError):
    status = 503
    code = "seal-unavailable"
    title = N_("The electronic seal is unavailable")
    description = N_("The certificate could not be sealed just now; nothing was issued. Try again later.")


# Every message a field can show is N_-marked (the page translates it; the API answers with the msgid).
REQUIRED = N_("This field is required.")
Messages = dict[str, str | list[Any] | dict[Any, Any]]
_REQUIRED: Messages = {"required": REQUIRED, "null": REQUIRED}
_DATE: Messages = {**_REQUIRED, "invalid": N_("Give the date as year-month-day, such as 2026-12-07.")}


class _Text(ma.fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs)).strip()
        if any(not c.isprintable() and c not in "\n\t" for c in text):
            raise ma.ValidationError(N_("Control characters are not allowed."))
        return text


def _length(at_most: int, message: str, at_least: int | None = None) -> validate.Length:
    return validate.Length(min=at_least, max=at_most, error=message)


class IssueArgs(ma.Schema):
    item_code = ma.fields.String(
        required=True, error_messages=_REQUIRED, validate=_length(40, N_("Choose the item of the catalogue."), 1)
    )
    kind = ma.fields.Enum(
        CertificateKind,
        by_value=True,
        required=True,
        error_messages={**_REQUIRED, "unknown": N_("Choose the kind of certificate.")},
    )
    title = _Text(load_default="", validate=_length(200, N_("The title has at most 200 characters.")))
    holder_kind = ma.fields.Enum(
        HolderKind,
        by_value=True,
        required=True,
        error_messages={**_REQUIRED, "unknown": N_("Choose whether the holder is an organisation or a person.")},
    )
    holder_name = _Text(
        required=True,
        error_messages=_REQUIRED,
        validate=_length(200, N_("Give the holder's name, in at most 200 characters."), 1),
    )
    holder_code = ma.fields.String(
        required=True,
        error_messages=_REQUIRED,
        validate=_length(40, N_("An identity card number or a credit code has 18 characters.")),
    )
    scope = _Text(load_default="", validate=_length(2000, N_("The scope has at most 2000 characters.")))
    valid_from = ma.fields.Date(required=True, error_messages=_DATE)
    valid_until = ma.fields.Date(load_default=None, allow_none=True, error_messages=_DATE)
    case_number = _Text(
        load_default=None, allow_none=True, validate=_length(40, N_("A case number has at most 40 characters."))
    )

    @ma.validates_schema
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        raw = str(data.get("holder_code", ""))
        if data.get("holder_kind") is HolderKind.ORGANISATION:
            data["holder_code"] = "".join(raw.split()).upper()
            if not is_valid_uscc(data["holder_code"]):
                raise ma.ValidationError(
                    N_("Not a valid unified social credit code (18 characters with its check character)."),
                    "holder_code",
                )
        if data.get("holder_kind") is HolderKind.PERSON:
            try:  # the cases' rule, one for the floor: 18 characters, a birth date, the GB 11643 check character
                data["holder_code"] = normalise_resident_id(raw)
            except ValidationFailed as exc:
                raise ma.ValidationError(exc.message, "holder_code") from None
        until, start = data.get("valid_until"), data.get("valid_from")
        if until is not None and start is not None and until < start:
            raise ma.ValidationError(N_("The end of validity is before its start."), "valid_until")


_REASON = _length(2000, N_("Give the reason, in 2 to 2000 characters."), 2)


class ReissueArgs(ma.Schema):
    reason = _Text(required=True, error_messages=_REQUIRED, validate=_REASON)
    holder_name = _Text(validate=_length(200, N_("Give the holder's name, in at most 200 characters."), 1))
    scope = _Text(validate=_length(2000, N_("The scope has at most 2000 characters.")))
    valid_until = ma.fields.Date(allow_none=True, error_messages=_DATE)


class RevokeArgs(ma.Schema):
    reason = _Text(required=True, error_messages=_REQUIRED, validate=_REASON)


def _load(schema: ma.Schema, data: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ma.ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        raise ValidationFailed(N_("The certificate's details are not valid."), errors=errors) from None
    return loaded


def today() -> date:
    return to_center_time(now_utc(), current_app.config["CENTER_TIMEZONE"]).date()


def add_months(start: date, months: int) -> date:
    """The day before the same date `months` later (a 5-year licence from 2026-03-01 runs to 2031-02-28)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    day = min(start.day, monthrange(year, month)[1])
    return date.fromordinal(date(year, month, day).toordinal() - 1)


def get(number: str) -> Certificate:
    row: Certificate | None = db.session.scalar(select(Certificate).where(Certificate.number == number))
    if row is None:
        raise CertificateNotFound(N_("No certificate with this number."))
    return row


def versions(cert: Certificate) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.series_year == cert.series_year, Certificate.series_no == cert.series_no)
            .order_by(Certificate.version)
        )
    )


def current_version(cert: Certificate) -> Certificate:
    latest: Certificate = versions(cert)[-1]
    return latest


def status(cert: Certificate) -> CertificateState:
    return cert.status_on(today())


def list_recent(limit: int = 50) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).order_by(Certificate.id.desc()).limit(limit)))


def _number(year: int, no: int, version: int) -> str:
    base = f"XK-{year}-{no:06d}"
    return base if version == 1 else f"{base}-{version}"


def _render_and_seal(facts: dict[str, Any]) -> tuple[bytes, str]:
    pdf = render_pdf("permits_certificates/certificate_pdf.html", f=facts, qr=qr_data_uri(facts["verify_url"]))
    return seal_or_refuse(
        pdf, reason=f"{facts['title']} {facts['number']}", location=facts["issuer"], unavailable=SealUnavailable
    )


def _create(
    *, actor: Any, item: Item, fields: dict[str, Any], year: int, no: int, version: int, reason: str = ""
) -> Certificate:
    number = _number(year, no, version)
    facts = {
        **fields,
        "number": number,
        "version": version,
        "item": item,
        "issuer": current_app.config.get("SEAL_ORGANISATION") or current_app.config["CENTER_NAME"],
        "issued_on": today(),
        "verify_url": url_for("permits_certificates.public_page", number=number, _external=True),
        "reason": reason,
    }
    sealed, backend = _render_and_seal(facts)
    sha256 = hashlib.sha256(sealed).hexdigest()
    key = f"permits/certificates/{sha256}.pdf"
    storage = get_storage()
    if not storage.exists(DOCUMENTS, key):
        storage.put(DOCUMENTS, key, sealed, length=len(sealed), content_type="application/pdf")
    cert = Certificate(
        number=number,
        series_year=year,
        series_no=no,
        version=version,
        item_id=item.id,
        kind=fields["kind"],
        title=fields["title"],
        holder_kind=fields["holder_kind"],
        holder_name=fields["holder_name"],
        holder_code=fields["holder_code"],
        scope=fields["scope"],
        valid_from=fields["valid_from"],
        valid_until=fields["valid_until"],
        case_number=fields.get("case_number"),
        state=CertificateState.VALID,
        issued_at=now_utc(),
        issued_by_id=getattr(actor, "id", None),
        reissue_reason=reason,
        pdf_bucket=DOCUMENTS,
        pdf_key=key,
        pdf_sha256=sha256,
        pdf_size=len(sealed),
        seal_backend=backend,
    )
    db.session.add(cert)
    db.session.flush()
    return cert


def issue(*, actor: Any, data: Any) -> Certificate:
    """Issue version 1 of a new certificate (number XK-<year>-<serial>)."""
    args = _load(IssueArgs(), data)
    item = db.session.scalar(select(Item).where(Item.code == args["item_code"]))
    if item is None:
        raise ValidationFailed(
            N_("The certificate's details are not valid."),
            errors={"item_code": [N_("No item of the catalogue has this code.")]},
        )
    from app.permits.fees.services import require_paid_for_case_number

    require_paid_for_case_number(args.get("case_number"))  # 制证 waits for the case's fees
    args["title"] = args["title"] or item.output_name or item.name
    if args["valid_until"] is None and item.output_validity_months:
        args["valid_until"] = add_months(args["valid_from"], item.output_validity_months)
    year = today().year
    last = db.session.scalar(select(func.max(Certificate.series_no)).where(Certificate.series_year == year))
    cert = _create(actor=actor, item=item, fields=args, year=year, no=(last or 0) + 1, version=1)
    audit.record(
        "permits.certificate.issued",
        actor=actor,
        subject=cert.audit_ref,
        data=_evidence(cert),
    )
    return cert


def _in_force(number: str, refusal: str, **params: Any) -> Certificate:
    """The certificate `number` when it is in force; else CertificateConflict with `refusal` (naming its state)."""
    cert = get(number)
    if cert.state is not CertificateState.VALID:
        raise CertificateConflict(refusal, params={"state": STATE_LABELS[cert.state][0], **params})
    return cert


def reissue(*, actor: Any, number: str, data: Any) -> Certificate:
    """A new version with the changed facts (换证、变更); the current one is superseded at once."""
    args = _load(ReissueArgs(), data)
    old = _in_force(number, N_("Only a certificate in force can be re-issued; this one is %(state)s."))
    fields = {
        "kind": old.kind,
        "title": old.title,
        "holder_kind": old.holder_kind,
        "holder_name": args.get("holder_name", old.holder_name),
        "holder_code": old.holder_code,
        "scope": args.get("scope", old.scope),
        "valid_from": today(),
        "valid_until": args.get("valid_until", old.valid_until),
        "case_number": old.case_number,
    }
    if fields["valid_until"] is not None and fields["valid_until"] < fields["valid_from"]:
        raise ValidationFailed(
            N_("The certificate's details are not valid."),
            errors={"valid_until": [N_("The end of validity is before its start.")]},
        )
    new = _create(
        actor=actor,
        item=old.item,
        fields=fields,
        year=old.series_year,
        no=old.series_no,
        version=old.version + 1,
        reason=args["reason"],
    )
    old.state = CertificateState.SUPERSEDED
    old.superseded_at = new.issued_at
    old.superseded_by_id = new.id
    db.session.flush()
    audit.record(
        "permits.certificate.superseded",
        actor=actor,
        subject=old.audit_ref,
        data={"number": old.number, "superseded_by": new.number, "reason": args["reason"]},
    )
    audit.record(
        "permits.certificate.reissued",
        actor=actor,
        subject=new.audit_ref,
        data={**_evidence(new), "replaces": old.number, "reason": args["reason"]},
    )
    return new


def revoke(*, actor: Any, number: str, data: Any) -> Certificate:
    """Revoke (撤销/吊销) a certificate in force: effective at once, with the reason and who did it."""
    args = _load(RevokeArgs(), data)
    cert = _in_force(number, N_("Only a certificate in force can be revoked; this one is %(state)s."))
    cert.state = CertificateState.REVOKED
    cert.revoked_at = now_utc()
    cert.revoked_by_id = getattr(actor, "id", None)
    cert.revocation_reason = args["reason"]
    db.session.flush()
    audit.record(
        "permits.certificate.revoked",
        actor=actor,
        subject=cert.audit_ref,
        data={"number": cert.number, "reason": cert.revocation_reason},
    )
    return cert


def pdf_bytes(cert: Certificate) -> bytes:
    return b"".join(get_storage().get(cert.pdf_bucket, cert.pdf_key))


def _evidence(cert: Certificate) -> dict[str, Any]:
    return {
        "number": cert.number,
        "version": cert.version,
        "item": cert.item.code,
        "kind": cert.kind.value,
        "holder": {"kind": cert.holder_kind.value, "name": cert.holder_name, "code": cert.holder_code},
        "valid_from": cert.valid_from.isoformat(),
        "valid_until": cert.valid_until.isoformat() if cert.valid_until else None,
        "case_number": cert.case_number,
        "pdf_sha256": cert.pdf_sha256,
        "seal_backend": cert.seal_backend,
    }
