"""Check a sealed PDF with pyHanko's validator against the platform's trust roots, and say what it found.

For every signature in the file: integrity (the signed bytes hash to the sealed digest, the signature value
verifies), the signer (its certificate, and whether it chains to a trusted seal root), the signing time (the
timestamp token's, else the time the signer claims), coverage (whether the seal covers the whole file or
content was added after it, located by byte offsets and revisions), and the signer certificate's state
(revoked by its issuer's CRL, expired, not yet valid).

Messages are msgids (English) with their values apart, so that a page translates them and the JSON API
returns them in English; the checks also carry a stable `code`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from io import BytesIO
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleTrustManager

from app.core.problems import N_


@dataclass(frozen=True)
class Check:
    """One check: ok True (passed), False (failed) or None (could not be told); message is a msgid."""

    code: str
    name: str
    ok: bool | None
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        """The message in English, its instants in UTC (the JSON API's text)."""
        return self.message % self.formatted(_utc) if self.params else self.message

    def formatted(self, instant: Callable[[datetime], str]) -> dict[str, Any]:
        """The values, each instant (a datetime) written by `instant`: a page writes it in the center's zone."""
        return {k: instant(v) if isinstance(v, datetime) else v for k, v in self.params.items()}


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class SignatureReport:
    field_name: str
    signer: str = ""
    organisation: str = ""
    serial: str = ""
    issuer: str = ""
    signing_time: datetime | None = None
    timestamped: bool = False
    not_after: datetime | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check failed (a check that could not be told, such as a B-B seal's time, does not fail it)."""
        return bool(self.checks) and all(c.ok is not False for c in self.checks)


@dataclass
class SealReport:
    """What the verifier found in one file. `problem` is set when the file could not be checked at all."""

    size: int
    signatures: list[SignatureReport] = field(default_factory=list)
    problem: Check | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and bool(self.signatures) and all(s.ok for s in self.signatures)


@dataclass(frozen=True)
class TrustSettings:
    """The seal roots the verifier trusts (asn1crypto certificates) and the CRLs it may consult.

    Built once per set of roots and CRLs (app.core.sealing.config keeps one per process and builds it again
    when a file changes): the trust manager, the parsed CRLs and their issuers are computed on first use and
    kept. A pyHanko ValidationContext is made per validation from them: it fixes its validation time when it
    is made and gathers caches while it validates, so one kept across requests would judge expiry at the
    time it was made.
    """

    roots: list[asn1_x509.Certificate]
    crls: list[bytes] = field(default_factory=list)

    @cached_property
    def trust_manager(self) -> SimpleTrustManager:
        return SimpleTrustManager.build(trust_roots=list(self.roots))

    @cached_property
    def crl_lists(self) -> list[asn1_crl.CertificateList]:
        return [asn1_crl.CertificateList.load(der) for der in self.crls]

    @cached_property
    def _crl_issuers(self) -> frozenset[bytes]:
        return frozenset(c.issuer.dump() for c in self.crl_lists)

    def crl_issuers(self) -> set[bytes]:
        return set(self._crl_issuers)

    def context(self, signer_issuer: asn1_x509.Name | None = None) -> ValidationContext:
        """Certificates whose issuer gave us its CRL (the platform's own chain, whose certificates name no
        distribution point) must be checked against it ("require"); others as far as their data allows."""
        own = signer_issuer is not None and signer_issuer.dump() in self._crl_issuers
        return ValidationContext(
            trust_manager=self.trust_manager,
            crls=list(self.crl_lists),
            allow_fetching=False,
            revocation_mode="require" if own else "soft-fail",
        )


def _name_part(name: asn1_x509.Name, key: str) -> str:
    value = name.native.get(key, "")
    return str(value[-1] if isinstance(value, list) else value)


def _problem(size: int, code: str, message: str, **params: Any) -> SealReport:
    return SealReport(size=size, problem=Check(code, N_("File"), False, message, params))


def verify_pdf(data: bytes, trust: TrustSettings, *, now: datetime | None = None) -> SealReport:
    """Validate every signature of `data` (a PDF) against `trust`."""
    size = len(data)
    if data.lstrip()[:5] != b"%PDF-":
        return _problem(size, "not-pdf", N_("The file is not a PDF document."))
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        if reader.encrypted:
            return _problem(size, "encrypted", N_("The PDF is encrypted; a sealed decision is never encrypted."))
        embedded = list(reader.embedded_regular_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
        return _problem(size, "unreadable", N_("The PDF cannot be read: %(reason)s"), reason=str(exc)[:200])
    if not embedded:
        return _problem(size, "no-signature", N_("The PDF carries no electronic seal (no signature)."))
    now = now or datetime.now(UTC)
    report = SealReport(size=size)
    revisions = reader.xrefs.total_revisions
    for sig in embedded:
        report.signatures.append(_one(sig, trust, now, size, revisions))
    return report


def _one(sig: Any, trust: TrustSettings, now: datetime, size: int, revisions: int) -> SignatureReport:
    out = SignatureReport(field_name=str(sig.field_name))
    try:
        issuer = sig.signer_cert.issuer
        status: PdfSignatureStatus = validate_pdf_signature(
            sig, signer_validation_context=trust.context(issuer), ts_validation_context=trust.context(issuer)
        )
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        out.checks.append(
            Check(
                "integrity",
                N_("Integrity"),
                False,
                N_("The seal cannot be checked: %(reason)s"),
                {"reason": str(exc)[:200]},
            )
        )
        return out
    cert = status.signing_cert
    out.signer = _name_part(cert.subject, "common_name")
    out.organisation = _name_part(cert.subject, "organization_name")
    out.issuer = _name_part(cert.issuer, "common_name")
    out.serial = format(cert.serial_number, "x")
    out.not_after = cert["tbs_certificate"]["validity"]["not_after"].native
    byte_range = [int(x) for x in sig.sig_object["/ByteRange"]]
    ranges = {
        "a": byte_range[0],
        "b": byte_range[0] + byte_range[1] - 1,
        "c": byte_range[2],
        "d": byte_range[2] + byte_range[3] - 1,
    }
    # Integrity: the digest of the signed bytes, then the signature value over the signed attributes.
    if not status.intact:
        out.checks.append(
            Check(
                "integrity",
                N_("Integrity"),
                False,
                N_(
                    "The document was changed after sealing: the signed bytes %(a)s–%(b)s and %(c)s–%(d)s no "
                    "longer match the digest in the seal."
                ),
                ranges,
            )
        )
    elif not status.valid:
        out.checks.append(
            Check(
                "integrity",
                N_("Integrity"),
                False,
                N_("The seal's signature value does not verify with the signer's certificate."),
            )
        )
    else:
        out.checks.append(
            Check(
                "integrity",
                N_("Integrity"),
                True,
                N_("The signed bytes %(a)s–%(b)s and %(c)s–%(d)s are exactly those that were sealed."),
                ranges,
            )
        )
    # Signer and trust.
    if status.revoked:
        details = status.revocation_details
        when = details.revocation_date if details is not None else None
        out.checks.append(
            Check(
                "revocation",
                N_("Revocation"),
                False,
                N_("The seal certificate was revoked by its issuer on %(when)s."),
                {"when": when if when else "?"},
            )
        )
    not_before = cert["tbs_certificate"]["validity"]["not_before"].native
    if out.not_after is not None and now > out.not_after:
        out.checks.append(
            Check(
                "expiry",
                N_("Validity of the certificate"),
                False,
                N_("The seal certificate expired on %(when)s."),
                {"when": out.not_after},
            )
        )
    elif now < not_before:
        out.checks.append(
            Check(
                "expiry",
                N_("Validity of the certificate"),
                False,
                N_("The seal certificate is not valid before %(when)s."),
                {"when": not_before},
            )
        )
    else:
        out.checks.append(
            Check(
                "expiry",
                N_("Validity of the certificate"),
                True,
                N_("The seal certificate is valid until %(when)s."),
                {"when": out.not_after if out.not_after else "?"},
            )
        )
    if status.trusted:
        out.checks.append(
            Check(
                "signer",
                N_("Signer"),
                True,
                N_("Sealed by %(signer)s, whose certificate was issued by %(issuer)s, a trusted seal root."),
                {"signer": out.signer, "issuer": out.issuer},
            )
        )
    elif not (status.intact and status.valid):
        out.checks.append(
            Check(
                "signer",
                N_("Signer"),
                False,
                N_("The signer (%(signer)s) cannot be confirmed: the document does not match its seal."),
                {"signer": out.signer},
            )
        )
    elif not status.revoked:
        out.checks.append(
            Check(
                "signer",
                N_("Signer"),
                False,
                N_("Sealed by %(signer)s, but its certificate does not lead to a seal root this platform trusts."),
                {"signer": out.signer},
            )
        )
    # Signing time.
    ts = status.timestamp_validity
    if ts is not None:
        out.signing_time = ts.timestamp
        out.timestamped = True
        ts_ok = ts.intact and ts.valid and ts.trusted
        out.checks.append(
            Check(
                "time",
                N_("Signing time"),
                ts_ok,
                N_("Sealed at %(when)s, attested by the timestamp authority %(tsa)s.")
                if ts_ok
                else N_("The timestamp of the seal does not verify."),
                {
                    "when": ts.timestamp,
                    "tsa": _name_part(ts.signing_cert.subject, "common_name"),
                }
                if ts_ok
                else {},
            )
        )
    else:
        out.signing_time = status.signer_reported_dt
        claimed = status.signer_reported_dt
        out.checks.append(
            Check(
                "time",
                N_("Signing time"),
                None,
                N_("No timestamp: the time the signer claims is %(when)s.")
                if claimed
                else N_("No timestamp and no claimed time."),
                {"when": claimed} if claimed else {},
            )
        )
    # Coverage: the whole file, or revisions added after the seal.
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        out.checks.append(
            Check(
                "coverage", N_("Coverage"), True, N_("The seal covers the whole document; nothing was added after it.")
            )
        )
    elif status.coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        end = ranges["d"] + 1
        later = revisions - sig.signed_revision - 1
        level = status.modification_level
        harmless = level is not None and level.value <= ModificationLevel.FORM_FILLING.value and bool(status.docmdp_ok)
        params = {"start": end, "end": size - 1, "added": size - end, "revisions": later}
        out.checks.append(
            Check(
                "coverage",
                N_("Coverage"),
                harmless,
                N_(
                    "%(added)s bytes (%(start)s–%(end)s, %(revisions)s later revision(s)) were added after the seal; "
                    "they only add signatures or validation data."
                )
                if harmless
                else N_(
                    "%(added)s bytes (%(start)s–%(end)s, %(revisions)s later revision(s)) were added after the seal "
                    "and change the document: what is shown now is not what was sealed."
                ),
                params,
            )
        )
    else:
        out.checks.append(
            Check(
                "coverage",
                N_("Coverage"),
                False,
                N_("The seal does not cover its whole revision of the document: parts were never sealed."),
            )
        )
    return out
