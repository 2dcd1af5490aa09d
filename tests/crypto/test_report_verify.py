"""crypto.report: offline verification of a signed evaluation report bundle, and the PDF's recorded hash."""

from __future__ import annotations

import copy
import zlib
from typing import Any

import pytest

from crypto import report
from crypto.report import (
    SIGNATURE_KIND,
    ReportVerificationError,
    pdf_report_sha256,
    report_sha256,
    verify_signed_report,
)
from crypto.signing import generate_private_key, sign_document

KEY = generate_private_key()
DOCUMENT = {
    "kind": "evaluation-report",
    "tender": {"id": 7, "title": "道路养护"},
    "committee": {"members": [{"seat": 1, "name": "甲"}, {"seat": 2, "name": "乙"}, {"seat": 3, "name": "丙"}]},
    "ranking": [{"bid_id": 11, "rank": 1}, {"bid_id": 12, "rank": 2}],
}


def entry(seat: int, digest: str, dissent: str | None = None, key: Any = KEY, kind: str = SIGNATURE_KIND) -> Any:
    payload = {
        "kind": kind,
        "tender_id": 7,
        "seat": seat,
        "report_sha256": digest,
        "signed_at": "2026-11-30T01:00:00.000000Z",
        "audit_index": 40 + seat,
        "reauthenticated_with": "password",
        "dissent": dissent,
    }
    return sign_document(payload, key)


def bundle(seats: tuple[int, ...] = (1, 2, 3)) -> dict[str, Any]:
    digest = report_sha256(DOCUMENT)
    return {
        "report": copy.deepcopy(DOCUMENT),
        "report_sha256": digest,
        "signatures": [entry(s, digest, "异议" if s == 3 else None) for s in seats],
    }


def test_valid_final_bundle() -> None:
    summary = verify_signed_report(bundle(), KEY.public_key())
    assert summary["final"] is True and summary["signed_seats"] == [1, 2, 3] and summary["seats"] == [1, 2, 3]
    assert summary["dissents"] == {3: "异议"}
    assert summary["audit_indexes"] == {1: 41, 2: 42, 3: 43}


def test_incomplete_bundle_verifies_but_is_not_final() -> None:
    summary = verify_signed_report(bundle((2,)), KEY.public_key())
    assert summary["final"] is False and summary["signed_seats"] == [2]
    assert verify_signed_report(bundle(()), KEY.public_key())["final"] is False


def test_altered_document_is_refused() -> None:
    altered = bundle()
    altered["report"]["ranking"].reverse()
    with pytest.raises(ReportVerificationError, match="SHA-256"):
        verify_signed_report(altered, KEY.public_key())
    # changing the hash too does not help: the entries name the signed hash
    altered["report_sha256"] = report_sha256(altered["report"])
    with pytest.raises(ReportVerificationError, match="another document"):
        verify_signed_report(altered, KEY.public_key())


def test_forged_entry_and_wrong_kind_are_refused() -> None:
    forged = bundle()
    forged["signatures"][0]["payload"]["seat"] = 3
    with pytest.raises(ReportVerificationError, match="does not verify"):
        verify_signed_report(forged, KEY.public_key())
    other_kind = bundle()
    other_kind["signatures"][0] = entry(1, other_kind["report_sha256"], kind="evaluation-award")
    with pytest.raises(ReportVerificationError, match="another document"):
        verify_signed_report(other_kind, KEY.public_key())


def test_repeated_and_unknown_seats_are_refused() -> None:
    twice = bundle()
    twice["signatures"].append(twice["signatures"][0])
    with pytest.raises(ReportVerificationError, match="repeated seat 1"):
        verify_signed_report(twice, KEY.public_key())
    unknown = bundle()
    unknown["signatures"].append(entry(9, unknown["report_sha256"]))
    with pytest.raises(ReportVerificationError, match="unknown or repeated seat 9"):
        verify_signed_report(unknown, KEY.public_key())


def test_wrong_key_is_refused() -> None:
    with pytest.raises(ReportVerificationError, match="does not verify"):
        verify_signed_report(bundle(), generate_private_key().public_key())
    # an entry signed by another key inside an otherwise good bundle
    mixed = bundle()
    mixed["signatures"][1] = entry(2, mixed["report_sha256"], key=generate_private_key())
    with pytest.raises(ReportVerificationError, match="does not verify"):
        verify_signed_report(mixed, KEY.public_key())


@pytest.mark.parametrize(
    "data",
    [[], {}, {"report": "x"}, {"report": {"committee": {"members": [{"name": "no seat"}]}}, "report_sha256": None}],
)
def test_malformed_bundles_are_refused(data: Any) -> None:
    if isinstance(data, dict) and isinstance(data.get("report"), dict):
        data["report_sha256"] = report_sha256(data["report"])
    with pytest.raises(ReportVerificationError):
        verify_signed_report(data, KEY.public_key())


def _pdf_with_info(info: bytes, compressed: bool) -> bytes:
    if not compressed:
        return b"%PDF-1.7\n1 0 obj\n" + info + b"\nendobj\ntrailer\n<</Info 1 0 R>>\n%%EOF\n"
    body = zlib.compress(b"1 0 " + info)
    return (
        b"%PDF-1.7\n2 0 obj\n<</Type /ObjStm/N 1/First 4/Filter /FlateDecode/Length "
        + str(len(body)).encode()
        + b">>\nstream\n"
        + body
        + b"\nendstream\nendobj\n%%EOF\n"
    )


@pytest.mark.parametrize("compressed", [False, True])
def test_pdf_hash_is_read_from_the_info_dictionary(compressed: bool) -> None:
    digest = "ab" * 32
    pdf = _pdf_with_info(b"<</Producer (x)/Subject (report-sha256:" + digest.encode() + b")>>", compressed)
    assert pdf_report_sha256(pdf) == digest
    with pytest.raises(ReportVerificationError, match="does not name"):
        pdf_report_sha256(_pdf_with_info(b"<</Subject (something else)>>", compressed))
    with pytest.raises(ReportVerificationError, match="not a PDF"):
        pdf_report_sha256(b"hello")


def _stream(data: bytes) -> bytes:
    head = b"3 0 obj\n<</Filter /FlateDecode/Length " + str(len(data)).encode() + b">>\nstream\n"
    return head + data + b"\nendstream\n"


def test_pdf_hash_refused_when_several_are_named() -> None:
    one, two = ("ab" * 32).encode(), ("cd" * 32).encode()
    pdf = _pdf_with_info(b"<</Subject (report-sha256:" + one + b")>>", False)
    pdf += _stream(zlib.compress(b"<</Subject (report-sha256:" + two + b")>>"))
    with pytest.raises(ReportVerificationError, match="more than one"):
        pdf_report_sha256(pdf)


def test_pdf_corrupt_and_truncated_streams_are_skipped() -> None:
    digest = "ab" * 32
    named = zlib.compress(b"1 0 <</Subject (report-sha256:" + digest.encode() + b")>>")
    corrupt = _stream(b"\x78\x9c" + bytes(range(200)))  # a zlib header, then no valid deflate data
    pdf = b"%PDF-1.7\n" + corrupt + _stream(named) + b"%%EOF\n"
    assert pdf_report_sha256(pdf) == digest
    # cut inside the stream that names the hash: no endstream, and the data ends early
    cut = b"%PDF-1.7\n" + corrupt + _stream(named)[: -len(b"\nendstream\n") - 5]
    assert pdf_report_sha256(cut) == digest
    with pytest.raises(ReportVerificationError, match="does not name"):
        pdf_report_sha256(b"%PDF-1.7\n" + _stream(named)[:60])


def test_pdf_inflation_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A compression bomb inflates no further than the cap, and a hash hidden after it is not looked for."""
    monkeypatch.setattr(report, "_PDF_MAX_INFLATED", 1 << 20)
    digest = "ab" * 32
    named = _stream(zlib.compress(b"<</Subject (report-sha256:" + digest.encode() + b")>>"))
    bomb = _stream(zlib.compress(bytes(8 << 20), 9))  # 8 MiB of zeros in about 8 KiB
    assert pdf_report_sha256(b"%PDF-1.7\n" + named + bomb) == digest
    with pytest.raises(ReportVerificationError, match="does not name"):
        pdf_report_sha256(b"%PDF-1.7\n" + bomb + named)
