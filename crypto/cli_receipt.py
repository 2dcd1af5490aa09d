"""`python -m crypto verify-receipt RECEIPT --key PUBKEY [--file SEALED] [--envelope NAME]`: check a receipt offline.

Exit status 0 when the receipt verifies (and the file, when given, is one of its envelopes), 1 when it
does not, 2 when the inputs cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from crypto.cli_common import KEY_HELP, public_key_or_report, read_json_input
from crypto.receipt import ReceiptError, verify_receipt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("receipt", help="the receipt (JSON as returned when the bid was submitted); '-' for stdin")
    parser.add_argument("--key", required=True, help=KEY_HELP)
    parser.add_argument("--file", help="the sealed envelope file that was uploaded, to check its hash and size")
    parser.add_argument("--envelope", help="with --file: the name of the envelope the file should be")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    key = public_key_or_report(args.key, out)
    if key is None:
        return 2
    try:
        document = read_json_input(args.receipt)
    except (OSError, ValueError) as exc:
        print(f"FAIL cannot read the receipt: {exc}", file=out)
        return 2
    try:
        if args.file:
            with open(args.file, "rb") as sealed:
                check = verify_receipt(document, key, sealed=sealed, envelope=args.envelope)
        else:
            check = verify_receipt(document, key)
    except OSError as exc:
        print(f"FAIL cannot read the sealed file: {exc}", file=out)
        return 2
    except ReceiptError as exc:
        print(f"FAIL {exc}", file=out)
        return 1
    print(f"OK {check.summary()}", file=out)
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify-receipt",
        help="verify a signed bid receipt (and optionally the sealed file)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    """Run alone: `python -m crypto.cli_receipt verify-receipt …` (until crypto/__main__.py lists this module)."""
    parser = argparse.ArgumentParser(prog="python -m crypto.cli_receipt")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
