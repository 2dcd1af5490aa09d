"""`python -m crypto verify-report BUNDLE --key PUBKEY [--pdf REPORT.pdf]`: check a signed evaluation report offline.

BUNDLE is the JSON of `GET /api/v1/tenders/<id>/evaluation/report` (or any object with "report",
"report_sha256" and "signatures"), as read by a committee member, an overseer, or anyone after publication.
With --pdf, the PDF (`…/evaluation/report.pdf`) must name the same report SHA-256 in its metadata.

Exit status 0 when the report verifies and every committee seat has signed (final), 3 when it verifies but
is not signed by every seat yet, 1 when it does not verify (or the PDF is not its rendering), 2 when the
inputs cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from crypto.cli_common import KEY_HELP, public_key_or_report, read_json_input
from crypto.report import ReportVerificationError, pdf_report_sha256, verify_signed_report

INCOMPLETE = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="the report bundle (JSON of GET …/evaluation/report); '-' for stdin")
    parser.add_argument("--key", required=True, help=KEY_HELP)
    parser.add_argument("--pdf", help="the report PDF, to check that it is the rendering of this report")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    key = public_key_or_report(args.key, out)
    if key is None:
        return 2
    try:
        data = read_json_input(args.bundle)
    except (OSError, ValueError) as exc:
        print(f"FAIL cannot read the report bundle: {exc}", file=out)
        return 2
    pdf: bytes | None = None
    if args.pdf:
        try:
            pdf = Path(args.pdf).read_bytes()
        except OSError as exc:
            print(f"FAIL cannot read the PDF: {exc}", file=out)
            return 2
    try:
        summary = verify_signed_report(data, key)
    except ReportVerificationError as exc:
        print(f"FAIL {exc}", file=out)
        if isinstance(data, dict) and data.get("names_redacted"):
            print(
                "     (this copy withholds the members' names, so it cannot match the signed hash: "
                "verify a copy read after publication, or by a committee member or an overseer)",
                file=out,
            )
        return 1
    digest = summary["report_sha256"]
    print(f"report SHA-256: {digest}", file=out)
    signed, seats = summary["signed_seats"], summary["seats"]
    print(f"signed by {len(signed)} of {len(seats)} committee seats: {signed}", file=out)
    for seat, note in summary["dissents"].items():
        print(f"dissent, seat {seat}: {note}", file=out)
    for seat, index in summary["audit_indexes"].items():
        print(f"seat {seat} signing logged at evidence-log index {index}", file=out)
    if pdf is not None:
        try:
            named = pdf_report_sha256(pdf)
        except ReportVerificationError as exc:
            print(f"FAIL {exc}", file=out)
            return 1
        if named != digest:
            print(f"FAIL the PDF is the rendering of another report (SHA-256 {named})", file=out)
            return 1
        print("PDF: the rendering of this report", file=out)
    if not summary["final"]:
        missing = [s for s in seats if s not in signed]
        print(f"INCOMPLETE the signatures verify, but seats {missing} have not signed: not final", file=out)
        return INCOMPLETE
    print("OK the report is final: every committee seat signed it", file=out)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify-report",
        help="verify a signed evaluation report bundle (and optionally its PDF)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
