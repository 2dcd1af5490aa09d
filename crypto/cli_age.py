"""age-compatible commands of ``python -m crypto``: keygen, seal (encrypt) and open (decrypt).

    python -m crypto keygen [-o FILE]
    python -m crypto seal -r RECIPIENT [-r ...] [-R RECIPIENTS_FILE] [-a] [-o OUT] [IN]
    python -m crypto open -i IDENTITY_FILE [-i ...] [-o OUT] [IN]

Input defaults to stdin and output to stdout, both binary. Errors are one line on stderr and exit code 1; a
failed ``open`` (or ``seal``) with ``-o`` removes the partial output, so only fully verified plaintext is kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import UTC, datetime
from typing import BinaryIO, cast

from crypto.age import (
    X25519Identity,
    X25519Recipient,
    decrypt,
    encrypt,
    parse_identities,
    parse_recipient,
    parse_recipients,
)
from crypto.errors import CryptoError

__all__ = ["register"]

KEYGEN_DESCRIPTION = (
    "Generate an X25519 identity; the public key (age1…) is also printed to stderr when not writing to a terminal."
)


class CommandError(Exception):
    """A user-facing error: printed as one line, exit code 1."""


class _LazyOutput:
    """An output file created on first write (or at commit), removed again if the command fails."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._file: BinaryIO | None = None
        self._created = False

    def _open(self) -> BinaryIO:
        if self._file is None:
            if self._path is None:
                self._file = sys.stdout.buffer
            else:
                try:
                    self._file = open(self._path, "wb")  # noqa: SIM115 - closed in commit()/discard()
                except OSError as exc:
                    raise CommandError(f"failed to open output file {self._path!r}: {exc.strerror}") from None
                self._created = True
        return self._file

    def write(self, data: bytes | bytearray | memoryview) -> int:
        written = self._open().write(data)
        return len(data) if written is None else written

    def commit(self) -> None:
        out = self._open()
        out.flush()
        if self._path is not None:
            out.close()

    def discard(self) -> None:
        if self._file is not None and self._path is not None:
            self._file.close()
        if self._created and self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)


def _open_input(path: str | None) -> BinaryIO:
    if path is None or path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        raise CommandError(f"failed to open input file {path!r}: {exc.strerror}") from None


def _read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise CommandError(f"failed to read {what} {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{what} {path!r} is not UTF-8 text") from None


def _report(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _execute(args: argparse.Namespace, command: str) -> int:
    try:
        if command == "keygen":
            return _keygen(args)
        if command == "seal":
            return _seal(args)
        return _open_cmd(args)
    except CommandError as exc:
        return _report(str(exc))
    except CryptoError as exc:
        return _report(str(exc) or type(exc).__name__)
    except ValueError as exc:  # e.g. undecodable paths or arguments: still one line, never a traceback
        return _report(str(exc) or type(exc).__name__)
    except BrokenPipeError:
        return 1
    except OSError as exc:
        return _report(f"{exc.strerror or exc}" + (f": {exc.filename!r}" if exc.filename else ""))
    except KeyboardInterrupt:
        return _report("interrupted")


def _keygen(args: argparse.Namespace) -> int:
    identity = X25519Identity.generate()
    created = datetime.now(UTC).astimezone().isoformat(timespec="seconds").replace("+00:00", "Z")
    text = f"# created: {created}\n# public key: {identity.recipient}\n{identity.secret_string()}\n"
    if args.output:
        try:
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CommandError(f"failed to open output file {args.output!r}: {exc.strerror}") from None
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(text)
        print(f"Public key: {identity.recipient}", file=sys.stderr)
        return 0
    sys.stdout.write(text)
    sys.stdout.flush()
    if not sys.stdout.isatty():
        print(f"Public key: {identity.recipient}", file=sys.stderr)
    return 0


def _seal(args: argparse.Namespace) -> int:
    recipients: list[X25519Recipient] = [parse_recipient(r) for r in args.recipient]
    for path in args.recipients_file:
        recipients.extend(parse_recipients(_read_text(path, "recipients file")))
    if not recipients:
        raise CommandError("missing recipients: use -r RECIPIENT or -R FILE")
    if args.output is None and not args.armor and sys.stdout.isatty():
        raise CommandError("refusing to output binary to the terminal; use -a (armor) or -o FILE")
    src = _open_input(args.input)
    out = _LazyOutput(args.output)
    try:
        encrypt(src, cast(BinaryIO, out), recipients, armor=args.armor)
        out.commit()
    except BaseException:
        out.discard()
        raise
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    return 0


def _open_cmd(args: argparse.Namespace) -> int:
    identities: list[X25519Identity] = []
    for path in args.identity:
        identities.extend(parse_identities(_read_text(path, "identity file")))
    src = _open_input(args.input)
    out = _LazyOutput(args.output)
    try:
        decrypt(src, cast(BinaryIO, out), identities)
        out.commit()
    except BaseException:
        out.discard()
        raise
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the keygen, seal and open commands to ``python -m crypto``."""
    keygen = subparsers.add_parser(
        "keygen", help="generate an X25519 age identity (like age-keygen)", description=KEYGEN_DESCRIPTION
    )
    keygen.add_argument("-o", "--output", metavar="FILE", help="write the identity to FILE (created with mode 0600)")
    keygen.set_defaults(func=lambda a: _execute(a, "keygen"))

    seal = subparsers.add_parser("seal", help="encrypt a file to age recipients (like age -e)")
    seal.add_argument("-r", "--recipient", action="append", default=[], metavar="RECIPIENT", help="age1… recipient")
    seal.add_argument(
        "-R", "--recipients-file", action="append", default=[], metavar="FILE", help="file of recipients, one a line"
    )
    seal.add_argument("-a", "--armor", action="store_true", help="ASCII-armored (PEM-style) output")
    seal.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout)")
    seal.add_argument("input", nargs="?", metavar="IN", help="input file (default: stdin)")
    seal.set_defaults(func=lambda a: _execute(a, "seal"))

    open_ = subparsers.add_parser("open", help="decrypt an age file with identities (like age -d)")
    open_.add_argument(
        "-i", "--identity", action="append", required=True, metavar="FILE", help="identity file (AGE-SECRET-KEY-1…)"
    )
    open_.add_argument("-o", "--output", metavar="OUT", help="output file (default: stdout); removed on failure")
    open_.add_argument("input", nargs="?", metavar="IN", help="input file, binary or armored (default: stdin)")
    open_.set_defaults(func=lambda a: _execute(a, "open"))
