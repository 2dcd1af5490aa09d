"""`python -m crypto verify-receipt RECEIPT --key PUBKEY [--proof PROOF] [--file SEALED] [--envelope NAME]`.

Checks a bid receipt offline: its signature and commitment; with --proof (or when RECEIPT is the platform's
{"receipt": …, "proof": …} answer), the two-level inclusion proof: the commitment is a leaf of a batch whose root
an evidence-log entry carries, and a checkpoint signed by the key includes that entry; with --file, that the
sealed file is one of the receipted envelopes. --require-proof fails a receipt that comes without its proof.

Exit status 0 when everything given verifies, 1 when something does not, 2 when the inputs cannot be read.
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
    parser.add_argument("--proof", help="the receipt's inclusion proof (JSON), fetched after the next batch")
    parser.add_argument(
        "--require-proof", action="store_true", help="fail when no inclusion proof is given (or it is still null)"
    )


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
    proof: Any = None
    if isinstance(document, dict) and "receipt" in document:  # the platform's {"receipt", "proof", …} answer
        proof = document.get("proof")
        document = document["receipt"]
    if args.proof:
        try:
            proof = read_json_input(args.proof)
        except (OSError, ValueError) as exc:
            print(f"FAIL cannot read the proof: {exc}", file=out)
            return 2
    if args.require_proof and proof is None:
        print("FAIL no inclusion proof given (it is available after the next batch)", file=out)
        return 1
    try:
        if args.file:
            with open(args.file, "rb") as sealed:
                check = verify_receipt(document, key, sealed=sealed, envelope=args.envelope, proof=proof)
        else:
            check = verify_receipt(document, key, proof=proof)
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
