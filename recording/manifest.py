"""Hash chain over segments, canonical JSON, the signed session manifest and its verification.

Canonical JSON is the platform's (crypto.canonical, RFC 8785 style): sorted keys, no whitespace, UTF-8;
only dicts with str keys, lists, str, int, bool and None (no floats: times are integer micro/nanoseconds).

Chain: for segment n of a session,

    meta_n       = {"session", "sequence", "period", "key", "size", "init_sha256",
                    "wall_start_us", "wall_end_us", "mono_start_ns", "mono_end_ns",
                    "video_duration_us", "audio_duration_us"}       (exactly these keys)
    chain_hash_n = SHA-256( chain_hash_{n-1} || segment_sha256_n || canonical(meta_n) )

where `||` is byte concatenation, both hashes are the 32 raw digest bytes (not hex), chain_hash_{-1} is
32 zero bytes (GENESIS), and hex strings are lower case. Binding the session, sequence, key and times
means a segment cannot be reordered, moved to another session or re-timed without breaking the chain;
binding init_sha256 covers the period's init section, which every media segment needs to play.

Manifest: {"manifest": body, "signature": {"alg": "Ed25519", "key_id": ..., "value": base64(sig)}} where
sig = signer(canonical(body)); see `build_manifest` for the body.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.canonical import CanonicalError, canonicalize
from recording.errors import ManifestError

FORMAT = "recording-manifest/1"
GENESIS = bytes(32)
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

Signer = Callable[[bytes], bytes]
BytesProvider = Callable[[str], bytes | None]


def canonical_json(value: object) -> bytes:
    """Canonical bytes of a JSON value: the platform's canonical JSON (crypto.canonical)."""
    try:
        return canonicalize(value)
    except CanonicalError as exc:
        raise ManifestError(str(exc)) from exc


def segment_meta(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The chained metadata of a segment entry (a record's dict or a manifest entry)."""
    try:
        return {k: entry[k] for k in META_KEYS}
    except KeyError as exc:
        raise ManifestError(f"segment entry lacks {exc.args[0]!r}") from exc


def chain_hash(prev: bytes, segment_sha256: bytes, meta: Mapping[str, Any]) -> bytes:
    if len(prev) != 32 or len(segment_sha256) != 32:
        raise ValueError("chain inputs are raw 32-byte SHA-256 digests")
    return hashlib.sha256(prev + segment_sha256 + canonical_json(dict(meta))).digest()


class ProblemKind(StrEnum):
    HASH_MISMATCH = "hash_mismatch"
    SIZE_MISMATCH = "size_mismatch"
    CHAIN_BREAK = "chain_break"
    MISSING = "missing"
    SEQUENCE_GAP = "sequence_gap"
    SIGNATURE_INVALID = "signature_invalid"
    INIT_MISMATCH = "init_mismatch"


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    sequence: int | None  # None: the manifest as a whole or an init section
    key: str | None
    detail: str


@dataclass
class VerificationReport:
    problems: list[Problem] = field(default_factory=list)
    checked_segments: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad_sequences(self) -> list[int]:
        return sorted({p.sequence for p in self.problems if p.sequence is not None})


def _fetch(provider: BytesProvider, key: str) -> bytes | None:
    try:
        return provider(key)
    except (KeyError, FileNotFoundError):
        return None


def verify_chain(
    segments: Sequence[Mapping[str, Any]],
    provider: BytesProvider | None,
    *,
    inits: Mapping[int, str] | None = None,
    genesis: bytes = GENESIS,
    first_sequence: int = 0,
) -> VerificationReport:
    """Check segment entries (records' dicts) link up and, with a provider, that the bytes match.

    Each problem names its segment. A chain break is reported at the first link that does not
    recompute; the listed hash is then trusted for the next link so one bad entry is reported once.
    """
    report = VerificationReport()
    prev = genesis
    expected_seq = first_sequence
    for entry in segments:
        seq = int(entry["sequence"])
        key = str(entry["key"])
        if seq != expected_seq:
            report.problems.append(
                Problem(ProblemKind.SEQUENCE_GAP, seq, key, f"expected sequence {expected_seq}, found {seq}")
            )
        expected_seq = seq + 1
        listed_sha = bytes.fromhex(str(entry["sha256"]))
        listed_chain = bytes.fromhex(str(entry["chain_hash"]))
        if chain_hash(prev, listed_sha, segment_meta(entry)) != listed_chain:
            report.problems.append(
                Problem(ProblemKind.CHAIN_BREAK, seq, key, "chain hash does not follow from the previous one")
            )
        if inits is not None:
            period = int(entry["period"])
            if inits.get(period) != entry["init_sha256"]:
                report.problems.append(
                    Problem(ProblemKind.INIT_MISMATCH, seq, key, f"init section of period {period} differs")
                )
        prev = listed_chain
        report.checked_segments += 1
        if provider is None:
            continue
        data = _fetch(provider, key)
        if data is None:
            report.problems.append(Problem(ProblemKind.MISSING, seq, key, "segment object not found"))
            continue
        if len(data) != int(entry["size"]):
            report.problems.append(
                Problem(ProblemKind.SIZE_MISMATCH, seq, key, f"size {len(data)}, recorded {entry['size']}")
            )
        if hashlib.sha256(data).digest() != listed_sha:
            report.problems.append(Problem(ProblemKind.HASH_MISMATCH, seq, key, "SHA-256 of the bytes differs"))
    return report


def build_manifest(
    *,
    session: str,
    room: str,
    bucket: str,
    inits: Sequence[Mapping[str, Any]],
    segments: Sequence[Mapping[str, Any]],
    gaps: Sequence[Mapping[str, Any]],
    checkpoint_start: object,
    checkpoint_end: object,
    signer: Signer,
    key_id: str,
) -> dict[str, Any]:
    """The signed manifest of a closed session; checkpoints are opaque JSON values from the caller."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "session": session,
        "room": room,
        "bucket": bucket,
        "chain": {"algorithm": "sha256", "genesis": GENESIS.hex()},
        "checkpoint_start": checkpoint_start,
        "checkpoint_end": checkpoint_end,
        "inits": [dict(i) for i in inits],
        "segments": [{**segment_meta(s), "sha256": s["sha256"], "chain_hash": s["chain_hash"]} for s in segments],
        "gaps": [dict(g) for g in gaps],
        "final_chain_hash": segments[-1]["chain_hash"] if segments else GENESIS.hex(),
        "started_at_us": segments[0]["wall_start_us"] if segments else None,
        "ended_at_us": segments[-1]["wall_end_us"] if segments else None,
    }
    signature = signer(canonical_json(body))
    return {
        "manifest": body,
        "signature": {"alg": "Ed25519", "key_id": key_id, "value": base64.b64encode(signature).decode("ascii")},
    }


def _public_key(key: Ed25519PublicKey | bytes) -> Ed25519PublicKey:
    return key if isinstance(key, Ed25519PublicKey) else Ed25519PublicKey.from_public_bytes(key)


def verify_manifest(
    manifest: Mapping[str, Any], segment_bytes_provider: BytesProvider | None, public_key: Ed25519PublicKey | bytes
) -> VerificationReport:
    """Signature, init sections, chain, presence and hash of every segment; each problem names where it is."""
    try:
        body = manifest["manifest"]
        signature = base64.b64decode(manifest["signature"]["value"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"not a signed recording manifest: {exc}") from exc
    if body.get("format") != FORMAT:
        raise ManifestError(f"unknown manifest format {body.get('format')!r}")
    problems: list[Problem] = []
    try:
        _public_key(public_key).verify(signature, canonical_json(body))
    except (InvalidSignature, ValueError):
        problems.append(Problem(ProblemKind.SIGNATURE_INVALID, None, None, "manifest signature does not verify"))
    inits: dict[int, str] = {}
    for init in body["inits"]:
        inits[int(init["period"])] = str(init["sha256"])
        if segment_bytes_provider is None:
            continue
        data = _fetch(segment_bytes_provider, str(init["key"]))
        if data is None:
            problems.append(Problem(ProblemKind.MISSING, None, str(init["key"]), "init section not found"))
        elif hashlib.sha256(data).hexdigest() != init["sha256"]:
            problems.append(Problem(ProblemKind.HASH_MISMATCH, None, str(init["key"]), "init section hash differs"))
    genesis = bytes.fromhex(body["chain"]["genesis"])
    report = verify_chain(body["segments"], segment_bytes_provider, inits=inits, genesis=genesis)
    segments = body["segments"]
    last = segments[-1]["chain_hash"] if segments else genesis.hex()
    if body.get("final_chain_hash") != last:
        seq = int(segments[-1]["sequence"]) if segments else None
        problems.append(Problem(ProblemKind.CHAIN_BREAK, seq, None, "final chain hash differs from the last link"))
    report.problems[:0] = problems
    return report
