"""Offline verifiers for `python -m crypto`: `verify-log` checks an audit-log export against a signed checkpoint.

Each command is a (name, help, add_arguments, run) entry in COMMANDS; `register` wires them all into
the `python -m crypto` parser. Nothing here talks to the platform: an auditor needs only the export
file and the platform's public key (PEM or raw base64), obtained out of band.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.canonical import CanonicalError, canonicalize, loads_canonical
from crypto.cli_common import KEY_HELP, public_key_or_report, read_json_input
from crypto.merkle import HASH_SIZE, leaf_hash, root_from_range, verify_consistency
from crypto.signing import SignatureError, verify_document

EXPORT_FORMAT = "platform-audit-export/v1"
# The fields of a log entry that its canonical bytes encode, besides the version marker "v".
ENTRY_FIELDS = ("index", "created_at", "action", "actor", "subject", "data")
ENTRY_VERSION = 1


@dataclass
class Outcome:
    """Result of a verification: ok, a one-line message, and the first bad log index when one is known."""

    ok: bool
    message: str
    first_bad_index: int | None = None

    def render(self) -> str:
        if self.ok:
            return f"OK {self.message}"
        if self.first_bad_index is not None:
            return f"FAIL first bad index {self.first_bad_index}: {self.message}"
        return f"FAIL {self.message}"


def _hex32(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    return raw if len(raw) == HASH_SIZE else None


def _checkpoint(document: Any, key: Ed25519PublicKey, what: str) -> tuple[int, bytes]:
    """(tree_size, root) of a signed checkpoint; raises SignatureError/ValueError when it is not one."""
    payload = verify_document(document, key)
    size = payload.get("tree_size")
    root = _hex32(payload.get("root_hash"))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or root is None:
        raise ValueError(f"{what} payload lacks a valid tree_size and root_hash")
    return size, root


def check_entry(entry: Any, position: int) -> tuple[bytes | None, bytes | None, str | None]:
    """Check one exported entry: (claimed leaf hash, recomputed leaf hash, problem or None)."""
    if not isinstance(entry, Mapping):
        return None, None, "entry is not an object"
    claimed = _hex32(entry.get("leaf_hash"))
    if entry.get("index") != position:
        return claimed, None, f"entry at position {position} carries index {entry.get('index')!r}"
    try:
        canonical = base64.b64decode(str(entry.get("canonical", "")), validate=True)
    except (binascii.Error, ValueError):
        return claimed, None, "canonical bytes are not base64"
    recomputed = leaf_hash(canonical)
    try:
        content = loads_canonical(canonical)
    except CanonicalError as exc:
        return claimed, recomputed, f"stored bytes are not canonical JSON ({exc})"
    if not isinstance(content, dict) or content.get("v") != ENTRY_VERSION:
        return claimed, recomputed, "canonical bytes are not a version-1 log entry"
    if set(content) != {"v", *ENTRY_FIELDS}:
        return claimed, recomputed, "canonical bytes have unexpected fields"
    try:
        shown = canonicalize({name: entry.get(name) for name in ENTRY_FIELDS})
    except CanonicalError as exc:
        return claimed, recomputed, f"entry fields are not canonicalisable ({exc})"
    if shown != canonicalize({name: content[name] for name in ENTRY_FIELDS}):
        return claimed, recomputed, "entry fields differ from what its canonical bytes record"
    if claimed is None:
        return claimed, recomputed, "leaf_hash is missing or malformed"
    if claimed != recomputed:
        return claimed, recomputed, "canonical bytes do not hash to the logged leaf hash"
    return claimed, recomputed, None


def verify_export(export: Any, key: Ed25519PublicKey, previous: Any | None = None) -> Outcome:
    """Verify an audit-log export (the JSON of GET /api/v1/audit/export) with the platform key.

    Checks every entry (canonical bytes re-canonicalise identically, hash to the leaf hash, match
    the shown fields), rebuilds the signed root from the leaves and the range proof, and — when the
    export carries one, or `previous` (an earlier signed checkpoint) is given — the consistency proof.
    """
    if not isinstance(export, Mapping) or export.get("format") != EXPORT_FORMAT:
        return Outcome(False, f"not a {EXPORT_FORMAT} document")
    try:
        size, root = _checkpoint(export.get("checkpoint"), key, "checkpoint")
    except (SignatureError, ValueError) as exc:
        return Outcome(False, f"checkpoint: {exc}")
    start, end, entries = export.get("start"), export.get("end"), export.get("entries")
    if not (isinstance(start, int) and isinstance(end, int) and isinstance(entries, list)):
        return Outcome(False, "export lacks start, end or entries")
    if not 0 <= start < end <= size or len(entries) != end - start:
        return Outcome(False, f"range [{start}, {end}) with {len(entries)} entries does not fit tree size {size}")
    claimed: list[bytes] = []
    recomputed: list[bytes] = []
    first_bad: tuple[int, str] | None = None
    for offset, entry in enumerate(entries):
        index = start + offset
        got_claimed, got_recomputed, problem = check_entry(entry, index)
        claimed.append(got_claimed or b"")
        recomputed.append(got_recomputed or b"")
        if problem is not None and first_bad is None:
            first_bad = (index, problem)
    proof = [_hex32(p) for p in export.get("range_proof") or []]
    if any(p is None for p in proof):
        return Outcome(False, "range proof holds a malformed hash")
    proof_hashes = [p for p in proof if p is not None]
    if first_bad is not None:
        # The claimed leaf hashes are trustworthy when they rebuild the signed root; either way the
        # entry that fails its own checks is the first one we can name.
        return Outcome(False, first_bad[1], first_bad[0])
    if root_from_range(start, size, claimed, proof_hashes) != root:
        return Outcome(False, f"entries [{start}, {end}) do not rebuild the signed root of tree size {size}")
    consistency = export.get("consistency")
    checked_from: list[int] = []
    try:
        if previous is not None:
            old_size, old_root = _checkpoint(previous, key, "previous checkpoint")
            if old_size > size:
                return Outcome(False, f"previous checkpoint (size {old_size}) is newer than the export's ({size})")
            if old_size == size:
                if old_root != root:
                    return Outcome(False, f"two signed roots for tree size {size}: the log forked")
            else:
                if not isinstance(consistency, Mapping) or consistency.get("first") != old_size:
                    return Outcome(False, f"export carries no consistency proof from tree size {old_size}")
                if not _consistent(consistency, old_size, old_root, size, root):
                    return Outcome(False, f"tree size {old_size} is not a prefix of tree size {size}: the log forked")
            checked_from.append(old_size)
        if isinstance(consistency, Mapping) and consistency.get("first") not in checked_from:
            first_size, first_root = _checkpoint(consistency.get("first_checkpoint"), key, "first checkpoint")
            if consistency.get("first") != first_size or not _consistent(
                consistency, first_size, first_root, size, root
            ):
                return Outcome(False, f"tree size {first_size} is not a prefix of tree size {size}: the log forked")
            checked_from.append(first_size)
    except (SignatureError, ValueError) as exc:
        return Outcome(False, str(exc))
    extra = "".join(f", consistent with tree size {n}" for n in checked_from)
    return Outcome(True, f"{end - start} entries [{start}, {end}) verified against signed tree size {size}{extra}")


def _consistent(block: Mapping[str, Any], first: int, first_root: bytes, second: int, second_root: bytes) -> bool:
    raw = block.get("proof")
    if not isinstance(raw, list) or block.get("second") != second:
        return False
    proof = [_hex32(p) for p in raw]
    if any(p is None for p in proof):
        return False
    return verify_consistency(first, second, first_root, second_root, [p for p in proof if p is not None])


# --- command line -----------------------------------------------------------------------------------


def _add_verify_log(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", help="export file (JSON from GET /api/v1/audit/export)")
    parser.add_argument("--key", required=True, help=KEY_HELP)
    parser.add_argument(
        "--checkpoint", help="an earlier signed checkpoint (JSON) to check the export is consistent with"
    )


def run_verify_log(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    key = public_key_or_report(args.key, out)
    if key is None:
        return 2
    try:
        export = read_json_input(args.export)
        previous = read_json_input(args.checkpoint) if args.checkpoint else None
    except (OSError, ValueError) as exc:
        print(f"FAIL cannot read input: {exc}", file=out)
        return 2
    outcome = verify_export(export, key, previous)
    print(outcome.render(), file=out)
    return 0 if outcome.ok else 1


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# Add a verifier (e.g. verify-receipt) by appending one Command.
COMMANDS: list[Command] = [
    Command("verify-log", "verify an audit-log export against its signed checkpoint", _add_verify_log, run_verify_log),
]


def register(subparsers: Any) -> None:
    for command in COMMANDS:
        parser = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(parser)
        parser.set_defaults(func=command.run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run these verifiers alone: `python -m crypto.cli_verify verify-log …`."""
    parser = argparse.ArgumentParser(prog="python -m crypto.cli_verify")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
