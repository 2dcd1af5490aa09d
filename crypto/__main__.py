"""`python -m crypto`: the bidder's and auditor's command line (age-compatible sealing and offline verifiers)."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module defines register(subparsers) adding its commands; each command sets `func`.
COMMAND_MODULES = [
    "crypto.cli_age",
    "crypto.cli_verify",
    "crypto.cli_receipt",
    "crypto.cli_recording",
    "crypto.cli_report",
    "crypto.cli_document",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crypto", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
