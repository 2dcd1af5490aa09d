"""`python -m crypto verify-recording EXPORT.json --key KEY [--mp4 FILE]`: check a recording export offline.

An export (made by the platform's replay page) holds a signed statement, the session's signed manifest
and the excerpt of segments the MP4 was cut from. This checks, with nothing but the platform's public key:

1. the statement's signature (crypto.signing signed document over RFC 8785-style canonical JSON);
2. the manifest's signature and that its bytes hash to the statement's `manifest_sha256`;
3. the manifest's hash chain from genesis to its signed `final_chain_hash`, link by link;
4. that the excerpt's segments are exactly the manifest's entries for the statement's sequences;
5. with --mp4, that the file's SHA-256 and size are the ones the statement signs;
6. the evidence-log checkpoints the manifest carries (start and end of the session), when present.

The chain and the manifest use the platform's canonical JSON (crypto.canonical), as recording/manifest.py
does. The chain-hash rule is restated here in a few lines, on purpose: `crypto` stays pure and light (no
OpenCV, PyAV or numpy, which importing `recording` pulls in), and the tests check both agree on real recordings.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.canonical import CanonicalError, canonicalize
from crypto.cli_common import KEY_HELP, public_key_or_report, read_json_input
from crypto.cli_verify import Outcome
from crypto.signing import SignatureError, key_id, verify_bytes, verify_document

EXPORT_FORMAT = "recording-export/1"
STATEMENT_FORMAT = "recording-export-statement/1"
MANIFEST_FORMAT = "recording-manifest/1"
GENESIS = bytes(32)
# The chained metadata of a segment, exactly these keys (recording/manifest.py META_KEYS).
META_KEYS = (
    "session",
    "sequence",
    "period",
    "key",
    "size",
    "init_sha256",
    "wall_start_us",
    "wall_end_us",
    "mono_start_ns",
    "mono_end_ns",
    "video_duration_us",
    "audio_duration_us",
)


class ExportInvalid(ValueError):
    """The export is malformed or fails a check; the message says which and where."""


def manifest_canonical(value: Any) -> bytes:
    """The recording manifest's canonical bytes: the platform's canonical JSON (integers only)."""
    try:
        return canonicalize(value)
    except CanonicalError as exc:
        raise ExportInvalid(str(exc)) from exc


def _hex32(value: Any, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ExportInvalid(f"{what} is not a 32-byte hex hash")
    return raw


def chain_link(prev: bytes, entry: Mapping[str, Any]) -> bytes:
    """chain_hash_n = SHA-256(chain_hash_{n-1} || segment_sha256_n || canonical(meta_n))."""
    try:
        meta = {k: entry[k] for k in META_KEYS}
    except KeyError as exc:
        raise ExportInvalid(f"segment entry lacks {exc.args[0]!r}") from exc
    seg = _hex32(entry.get("sha256"), f"sha256 of segment {entry.get('sequence')}")
    return hashlib.sha256(prev + seg + manifest_canonical(meta)).digest()


def verify_manifest_document(manifest: Any, key: Ed25519PublicKey) -> dict[str, Any]:
    """Check a signed recording manifest (signature and whole chain); returns its body."""
    if not isinstance(manifest, Mapping) or not isinstance(manifest.get("manifest"), Mapping):
        raise ExportInvalid("the export carries no signed manifest")
    body = dict(manifest["manifest"])
    sig = manifest.get("signature")
    if not isinstance(sig, Mapping) or sig.get("alg") != "Ed25519":
        raise ExportInvalid("the manifest's signature block is missing or not Ed25519")
    if sig.get("key_id") != key_id(key):
        raise ExportInvalid(f"the manifest is signed by key {sig.get('key_id')}, not by the given key {key_id(key)}")
    try:
        signature = base64.b64decode(str(sig.get("value", "")), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ExportInvalid("the manifest's signature is not base64") from exc
    if len(signature) != 64 or not verify_bytes(key, manifest_canonical(body), signature):
        raise ExportInvalid("the manifest's signature does not verify")
    if body.get("format") != MANIFEST_FORMAT:
        raise ExportInvalid(f"unknown manifest format {body.get('format')!r}")
    segments = body.get("segments")
    if not isinstance(segments, list):
        raise ExportInvalid("the manifest lists no segments")
    prev = _hex32((body.get("chain") or {}).get("genesis", GENESIS.hex()), "chain genesis")
    for position, entry in enumerate(segments):
        if not isinstance(entry, Mapping) or entry.get("sequence") != position:
            raise ExportInvalid(f"manifest entry {position} is out of sequence")
        if entry.get("session") != body.get("session"):
            raise ExportInvalid(f"segment {position} names another session")
        link = chain_link(prev, entry)
        if link != _hex32(entry.get("chain_hash"), f"chain hash of segment {position}"):
            raise ExportInvalid(f"the hash chain breaks at segment {position}")
        prev = link
    if _hex32(body.get("final_chain_hash"), "final chain hash") != prev:
        raise ExportInvalid("the final chain hash is not the last link")
    return body


def _file_digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _checkpoint(doc: Any, key: Ed25519PublicKey, what: str) -> str | None:
    if doc is None:
        return None
    try:
        payload = verify_document(doc, key)
    except SignatureError as exc:
        raise ExportInvalid(f"the {what} checkpoint: {exc}") from exc
    return f"{what} log tree size {payload.get('tree_size')}"


def verify_export(document: Any, key: Ed25519PublicKey, mp4: Path | None = None) -> Outcome:
    """Verify an EXPORT.json document (and optionally its MP4) with the platform's public key."""
    try:
        return Outcome(True, _verify(document, key, mp4))
    except ExportInvalid as exc:
        return Outcome(False, str(exc))


def _verify(document: Any, key: Ed25519PublicKey, mp4: Path | None) -> str:
    if not isinstance(document, Mapping) or document.get("format") != EXPORT_FORMAT:
        raise ExportInvalid(f"not a {EXPORT_FORMAT} document")
    signed = document.get("statement")
    if not isinstance(signed, Mapping):
        raise ExportInvalid("the export carries no signed statement")
    try:
        statement = verify_document(signed, key)
    except SignatureError as exc:
        raise ExportInvalid(f"the export statement: {exc}") from exc
    if statement.get("format") != STATEMENT_FORMAT:
        raise ExportInvalid("the signed statement is not a recording export statement")
    manifest = document.get("manifest")
    body = verify_manifest_document(manifest, key)
    if hashlib.sha256(manifest_canonical(manifest)).hexdigest() != statement.get("manifest_sha256"):
        raise ExportInvalid("the manifest is not the one the statement signs")
    if body.get("session") != statement.get("session"):
        raise ExportInvalid("the statement and the manifest name different sessions")
    seqs = statement.get("sequences")
    if not isinstance(seqs, Mapping):
        raise ExportInvalid("the statement names no sequences")
    first, last = seqs.get("first"), seqs.get("last")
    listed = body["segments"]
    if not (isinstance(first, int) and isinstance(last, int) and 0 <= first <= last < len(listed)):
        raise ExportInvalid(f"sequences {first}-{last} are not in the manifest ({len(listed)} segments)")
    if listed[last].get("chain_hash") != statement.get("last_chain_hash"):
        raise ExportInvalid(f"the statement's last chain hash is not segment {last}'s")
    excerpt = document.get("excerpt")
    if not isinstance(excerpt, Mapping) or not isinstance(excerpt.get("segments"), list):
        raise ExportInvalid("the export carries no excerpt")
    chosen = excerpt["segments"]
    if len(chosen) != last - first + 1:
        raise ExportInvalid(f"the excerpt holds {len(chosen)} segments, the statement {last - first + 1}")
    for offset, entry in enumerate(chosen):
        if dict(entry) != dict(listed[first + offset]):
            raise ExportInvalid(f"excerpt segment {first + offset} differs from the signed manifest")
    expected_prev = listed[first - 1]["chain_hash"] if first > 0 else body["chain"]["genesis"]
    if excerpt.get("prev_chain_hash") != expected_prev:
        raise ExportInvalid("the excerpt does not link to the segment before it")
    signed_mp4 = statement.get("mp4")
    if not isinstance(signed_mp4, Mapping):
        raise ExportInvalid("the statement signs no MP4")
    if dict(excerpt.get("export") or {}) != {"sha256": signed_mp4.get("sha256"), "size": signed_mp4.get("size")}:
        raise ExportInvalid("the excerpt's MP4 hash differs from the signed one")
    notes = [f"session {body['session']}", f"segments {first}-{last} of {len(listed)}"]
    if mp4 is not None:
        sha, size = _file_digest(mp4)
        if (sha, size) != (signed_mp4.get("sha256"), signed_mp4.get("size")):
            raise ExportInvalid(f"{mp4.name}: SHA-256 {sha} ({size} bytes) is not the signed MP4's")
        notes.append(f"MP4 {sha[:16]}… matches")
    else:
        notes.append("MP4 not checked (give --mp4)")
    for what in ("start", "end"):
        found = _checkpoint(body.get(f"checkpoint_{what}"), key, what)
        if found:
            notes.append(found)
    return "export verified: " + ", ".join(notes)


# --- command line -----------------------------------------------------------------------------------


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("export", help="EXPORT.json downloaded with the MP4")
    parser.add_argument("--key", required=True, help=KEY_HELP)
    parser.add_argument("--mp4", help="the exported MP4, to check it is the one the statement signs")


def run_verify_recording(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    key = public_key_or_report(args.key, out)
    if key is None:
        return 2
    try:
        document = read_json_input(args.export)
    except (OSError, ValueError) as exc:
        print(f"FAIL cannot read input: {exc}", file=out)
        return 2
    mp4 = Path(args.mp4) if args.mp4 else None
    if mp4 is not None and not mp4.is_file():
        print(f"FAIL cannot read {mp4}", file=out)
        return 2
    outcome = verify_export(document, key, mp4)
    print(outcome.render(), file=out)
    return 0 if outcome.ok else 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "verify-recording",
        help="verify a recording export (EXPORT.json and its MP4) offline",
        description=__doc__.split("\n", 1)[0] if __doc__ else None,
    )
    _add_arguments(parser)
    parser.set_defaults(func=run_verify_recording)


def main(argv: Sequence[str] | None = None) -> int:
    """Run alone: `python -m crypto.cli_recording verify-recording …` (until COMMAND_MODULES lists this module)."""
    parser = argparse.ArgumentParser(prog="python -m crypto.cli_recording")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
