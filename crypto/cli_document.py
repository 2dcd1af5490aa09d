"""`python -m crypto verify-document FILE [FILE …] --key PUBKEY [--json]`: verify any signed document offline.

Each FILE is recognised by its content — opening record, evaluation report bundle, bid receipt (with its inclusion
proof when the file is the platform's {"receipt", "proof"} answer), recording manifest, recording export (its MP4
is checked when it lies beside it with the same name), evidence-log checkpoint or evidence-log export — and
verified with the platform's public key (crypto.document). One line per document says what it is and what
verified, or what failed; --json prints one JSON object instead ({"ok", "documents": [...]}).

Exit status 0 when every document verifies, 1 when one does not (or a report is not signed by every seat yet),
2 when a file or the key cannot be read or a file is not a document of the platform.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from crypto.cli_common import KEY_HELP, public_key_or_report
from crypto.document import UNREADABLE, DocumentResult, check_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="signed documents (JSON files)")
    parser.add_argument("--key", required=True, help=KEY_HELP)
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")


def exit_status(results: list[DocumentResult]) -> int:
    if any(r.status == UNREADABLE for r in results):
        return 2
    return 0 if all(r.ok for r in results) else 1


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    key = public_key_or_report(args.key, out)
    if key is None:
        return 2
    results = [check_file(path, key) for path in args.files]
    status = exit_status(results)
    if args.json:
        report = {"ok": status == 0, "exit_status": status, "documents": [r.as_json() for r in results]}
        print(json.dumps(report, ensure_ascii=False, indent=1), file=out)
        return status
    for result in results:
        print(result.render(), file=out)
    if len(results) > 1:
        failed = sum(not r.ok for r in results)
        print(f"{'OK' if status == 0 else 'FAIL'} {len(results)} documents, {failed} did not verify", file=out)
    return status


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify-document",
        help="verify signed documents of the platform (kind recognised from the file)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
