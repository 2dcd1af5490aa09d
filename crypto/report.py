"""Offline verification of a signed evaluation report (评标报告) bundle with nothing but the platform's public key.

A bundle is ``{"report": <canonical-JSON document>, "report_sha256": <hex>, "signatures": [<signed entry>, …]}``
(the JSON of ``GET /api/v1/tenders/<id>/evaluation/report`` is one: extra keys are ignored). Each signature entry
is a document signed by the platform (crypto.signing) whose payload is::

    {"kind": "evaluation-report-signature", "tender_id", "seat", "report_sha256", "signed_at",
     "audit_index", "reauthenticated_with", "dissent"}

The rules: the document hashes (SHA-256 of its canonical JSON) to report_sha256; every entry verifies with the
platform key, is of this kind and names this hash; at most one entry per committee seat, and only seats of the
committee the document lists. The report is final when every seat has signed. Pure: no I/O, no app.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.canonical import CanonicalError, canonicalize
from crypto.signing import SignatureError, verify_document

SIGNATURE_KIND = "evaluation-report-signature"


class ReportVerificationError(ValueError):
    """A report bundle does not verify."""


def report_sha256(document: Any) -> str:
    """The hex SHA-256 of a document's canonical JSON."""
    return hashlib.sha256(canonicalize(document)).hexdigest()


def _seats(document: Mapping[str, Any]) -> list[int]:
    committee = document.get("committee")
    members = committee.get("members", []) if isinstance(committee, Mapping) else None
    if not isinstance(members, list):
        raise ReportVerificationError("the report lists no committee members")
    seats: list[int] = []
    for member in members:
        seat = member.get("seat") if isinstance(member, Mapping) else None
        if not isinstance(seat, int) or isinstance(seat, bool):
            raise ReportVerificationError("the report lists a committee member without a seat number")
        seats.append(seat)
    return sorted(seats)


def verify_signed_report(data: Mapping[str, Any], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Verify a report bundle: the document's hash, each signature entry with the platform's public key, one
    signature per committee seat. Returns a summary {report_sha256, seats, signed_seats, final, dissents,
    audit_indexes}; raises ReportVerificationError on the first problem."""
    if not isinstance(data, Mapping):
        raise ReportVerificationError("the bundle is not a JSON object")
    document = data.get("report")
    if not isinstance(document, Mapping):
        raise ReportVerificationError("the bundle has no report document")
    try:
        digest = report_sha256(document)
    except CanonicalError as exc:
        raise ReportVerificationError(f"the report is not canonical JSON: {exc}") from exc
    if digest != data.get("report_sha256"):
        raise ReportVerificationError("the report does not match its SHA-256")
    seats = _seats(document)
    entries = data.get("signatures") or []
    if not isinstance(entries, list):
        raise ReportVerificationError("the bundle's signatures are not a list")
    signed: dict[int, dict[str, Any]] = {}
    for item in entries:
        try:
            payload = verify_document(item, public_key)
        except SignatureError as exc:
            raise ReportVerificationError(f"a signature entry does not verify: {exc}") from exc
        if payload.get("kind") != SIGNATURE_KIND or payload.get("report_sha256") != digest:
            raise ReportVerificationError("a signature entry is for another document")
        seat = payload.get("seat")
        if not isinstance(seat, int) or seat not in seats or seat in signed:
            raise ReportVerificationError(f"signature entry for an unknown or repeated seat {seat!r}")
        signed[seat] = dict(payload)
    return {
        "report_sha256": digest,
        "seats": seats,
        "signed_seats": sorted(signed),
        "final": sorted(signed) == seats and bool(seats),
        "dissents": {s: p["dissent"] for s, p in sorted(signed.items()) if p.get("dissent")},
        "audit_indexes": {s: p["audit_index"] for s, p in sorted(signed.items())},
    }


# --- the PDF rendering ------------------------------------------------------------------------------------

PDF_SUBJECT_PREFIX = "report-sha256:"  # app/evaluation/report_pdf.py writes the PDF's /Subject as this + the hash
_PDF_SUBJECT = re.compile(rb"/Subject\s*\(" + PDF_SUBJECT_PREFIX.encode() + rb"([0-9a-f]{64})\)")
_PDF_STREAM = re.compile(rb">>\s*stream\r?\n")  # where a stream's data begins, after its dictionary
_PDF_MAX_INFLATED = 64 << 20  # a hostile PDF does not get to inflate beyond this


def pdf_report_sha256(pdf: bytes) -> str:
    """The report SHA-256 recorded in the PDF's metadata (/Subject), looked for in the file and in its
    Flate-compressed streams (WeasyPrint puts the Info dictionary in an object stream): every stream is tried,
    those that are not zlib data fail at once. Raises ReportVerificationError when the PDF names no report
    hash or names several."""
    if not pdf.startswith(b"%PDF-"):
        raise ReportVerificationError("the file is not a PDF")
    found = {m.group(1) for m in _PDF_SUBJECT.finditer(pdf)}
    budget = _PDF_MAX_INFLATED
    for match in _PDF_STREAM.finditer(pdf):
        if budget <= 0:
            break
        end = pdf.find(b"endstream", match.end())
        try:
            data = zlib.decompressobj().decompress(pdf[match.end() : end if end >= 0 else len(pdf)], budget)
        except zlib.error:
            data = b""
        budget -= len(data)
        found |= {m.group(1) for m in _PDF_SUBJECT.finditer(data)}
        if end < 0:
            break  # truncated: the rest of the file was this stream's data
    if not found:
        raise ReportVerificationError("the PDF does not name a report SHA-256 in its metadata")
    if len(found) > 1:
        raise ReportVerificationError("the PDF names more than one report SHA-256")
    return found.pop().decode("ascii")
