"""Recognise any signed document the platform publishes and verify it offline with the platform's public key.

`check_document(document, key)` looks at the JSON's shape and format marker, and runs the verifier for it:

- opening record (开标记录): a signed document whose payload is `platform-opening-record/v1`; its signature, then
  that the record agrees with itself (valid bids counted, the result its counts give, opened envelopes hashed);
- evidence-log checkpoint: a signed document whose payload has `tree_size` and `root_hash`;
- evidence-log export: `platform-audit-export/v1` (crypto.cli_verify.verify_export);
- bid receipt: a signed `platform-bid-receipt/v1|v2`, or the platform's `{"receipt", "proof"}` answer whose proof
  is checked too (crypto.receipt.verify_receipt);
- evaluation report bundle: `{"report", "report_sha256", "signatures"}` (crypto.report.verify_signed_report); a
  report some seats have not signed yet verifies but is INCOMPLETE (not final);
- recording manifest: `{"manifest": recording-manifest/1, "signature"}` (its signature and whole hash chain);
- recording export: `recording-export/1` (statement, manifest, excerpt; crypto.cli_recording.verify_export).

Any other signed document (`{"payload", "signature"}`) has its signature checked and is reported as such.
Each result names what failed. Pure: no network, nothing of the platform; `check_file` adds the reading of a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto import cli_recording, cli_verify
from crypto.receipt import RECEIPT_FORMAT, RECEIPT_FORMAT_V1, ReceiptError, verify_receipt
from crypto.report import ReportVerificationError, verify_signed_report
from crypto.signing import SignatureError, verify_document

OPENING_RECORD_FORMAT = "platform-opening-record/v1"
OK, FAIL, INCOMPLETE, UNREADABLE = "ok", "fail", "incomplete", "unreadable"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class DocumentResult:
    """What one document is and whether it verified: status ok | fail | incomplete | unreadable."""

    source: str
    kind: str
    status: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def render(self) -> str:
        label = {OK: "OK", FAIL: "FAIL", INCOMPLETE: "INCOMPLETE", UNREADABLE: "UNREADABLE"}[self.status]
        return f"{label:10} {self.kind:22} {self.source}: {self.message}"

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class _Failed(Exception):
    """A check failed; the message says which."""


def _signed_payload(document: Any, what: str, key: Ed25519PublicKey) -> dict[str, Any]:
    try:
        return verify_document(document, key)
    except SignatureError as exc:
        raise _Failed(f"{what}: {exc}") from exc


def _opening_record(document: Any, key: Ed25519PublicKey) -> tuple[str, dict[str, Any]]:
    payload = _signed_payload(document, "the opening record's signature", key)
    tender, bids = payload.get("tender"), payload.get("bids")
    stage, stages = payload.get("stage"), payload.get("stages")
    if not isinstance(tender, Mapping) or not isinstance(bids, list):
        raise _Failed("the opening record names no tender or no bid list")
    if not (isinstance(stage, int) and isinstance(stages, int) and 1 <= stage <= stages):
        raise _Failed(f"the opening record's stage {stage!r} of {stages!r} is not a stage")
    valid = 0
    for position, bid in enumerate(bids):
        if not isinstance(bid, Mapping) or not isinstance(bid.get("envelopes"), list):
            raise _Failed(f"bid {position} of the opening record is malformed")
        valid += bid.get("outcome") == "valid"
        for env in bid["envelopes"]:
            if not isinstance(env, Mapping) or not _HEX64.match(str(env.get("sha256"))):
                raise _Failed(f"bid {bid.get('bid_id')}: an envelope has no SHA-256 of its sealed file")
            if env.get("outcome") == "opened" and not _HEX64.match(str(env.get("plaintext_sha256"))):
                raise _Failed(f"bid {bid.get('bid_id')}: opened envelope {env.get('name')!r} has no plaintext SHA-256")
    if payload.get("valid_bids") != valid:
        raise _Failed(f"the record counts {payload.get('valid_bids')!r} valid bids, its bid list {valid}")
    min_bids = payload.get("min_bids")
    if not isinstance(min_bids, int):
        raise _Failed("the record states no minimum number of bids")
    expected = "failed" if valid < min_bids else ("opened" if stage >= stages else "next-stage")
    if payload.get("result") != expected:
        raise _Failed(f"the record's result {payload.get('result')!r} is not what its counts give ({expected!r})")
    details = {
        "tender": tender.get("reference"),
        "tender_id": tender.get("id"),
        "stage": stage,
        "bids": len(bids),
        "valid_bids": valid,
        "result": expected,
        "published_at": payload.get("published_at"),
    }
    message = (
        f"signed opening record: tender {tender.get('reference')} (id {tender.get('id')}) stage {stage} of {stages}, "
        f"{len(bids)} bids, {valid} valid, result {expected}, published {payload.get('published_at')}"
    )
    return message, details


def _checkpoint(document: Any, key: Ed25519PublicKey) -> tuple[str, dict[str, Any]]:
    payload = _signed_payload(document, "the checkpoint's signature", key)
    size, root = payload.get("tree_size"), payload.get("root_hash")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not _HEX64.match(str(root)):
        raise _Failed("the checkpoint lacks a valid tree_size and root_hash")
    details = {"origin": payload.get("origin"), "tree_size": size, "root_hash": root}
    details["issued_at"] = payload.get("issued_at")
    return f"signed checkpoint: tree size {size}, root {root}, issued {payload.get('issued_at')}", details


def _receipt(document: Any, key: Ed25519PublicKey) -> tuple[str, dict[str, Any]]:
    proof: Any = None
    if isinstance(document, Mapping) and "receipt" in document:
        proof, document = document.get("proof"), document["receipt"]
    try:
        check = verify_receipt(document, key, proof=proof)
    except ReceiptError as exc:
        raise _Failed(f"the receipt: {exc}") from exc
    p = check.payload
    details = {
        "kind": p.get("kind"),
        "tender_id": (p.get("tender") or {}).get("id"),
        "bid": (p.get("bid") or {}).get("id"),
        "version": (p.get("bid") or {}).get("version"),
        "commitment": p.get("commitment"),
        "inclusion_checked": check.inclusion is not None,
    }
    return check.summary(), details


def _report(document: Any, key: Ed25519PublicKey) -> tuple[str, dict[str, Any], bool]:
    try:
        summary = verify_signed_report(document, key)
    except ReportVerificationError as exc:
        raise _Failed(f"the report: {exc}") from exc
    signed, seats = summary["signed_seats"], summary["seats"]
    details = {k: summary[k] for k in ("report_sha256", "seats", "signed_seats", "final")}
    message = f"evaluation report {summary['report_sha256']}: signed by {len(signed)} of {len(seats)} seats"
    if not summary["final"]:
        message += f"; seats {[s for s in seats if s not in signed]} have not signed: not final"
    return message, details, bool(summary["final"])


def _manifest(document: Any, key: Ed25519PublicKey) -> tuple[str, dict[str, Any]]:
    try:
        body = cli_recording.verify_manifest_document(document, key)
    except cli_recording.ExportInvalid as exc:
        raise _Failed(f"the manifest: {exc}") from exc
    segments = body["segments"]
    details = {"session": body.get("session"), "segments": len(segments), "final_chain_hash": body["final_chain_hash"]}
    return f"signed recording manifest: session {body.get('session')}, {len(segments)} segments, chain intact", details


def _outcome(outcome: cli_verify.Outcome) -> tuple[str, dict[str, Any]]:
    if not outcome.ok:
        raise _Failed(outcome.message if outcome.first_bad_index is None else outcome.render()[5:])
    return outcome.message, {}


def kind_of(document: Any) -> str:
    """The kind of platform document this JSON is, by its shape and format marker ('unknown' otherwise)."""
    if not isinstance(document, Mapping):
        return "unknown"
    fmt = document.get("format")
    if fmt == cli_verify.EXPORT_FORMAT:
        return "evidence-log export"
    if fmt == cli_recording.EXPORT_FORMAT:
        return "recording export"
    if "receipt" in document:
        return "bid receipt"
    if {"report", "report_sha256", "signatures"} <= set(document):
        return "evaluation report"
    if isinstance(document.get("manifest"), Mapping) and "signature" in document:
        return "recording manifest"
    payload = document.get("payload")
    if isinstance(payload, Mapping) and "signature" in document:
        if payload.get("format") == OPENING_RECORD_FORMAT:
            return "opening record"
        if payload.get("format") in (RECEIPT_FORMAT, RECEIPT_FORMAT_V1):
            return "bid receipt"
        if "tree_size" in payload and "root_hash" in payload:
            return "checkpoint"
        return "signed document"
    return "unknown"


def check_document(document: Any, key: Ed25519PublicKey, source: str = "-", mp4: Path | None = None) -> DocumentResult:
    """Verify one parsed document (a recording export with its MP4 when `mp4` is given); never raises for anything
    the document holds."""
    kind = kind_of(document)
    status = OK
    try:
        if kind == "unknown":
            return DocumentResult(source, kind, UNREADABLE, "not a signed document of the platform")
        if kind == "opening record":
            message, details = _opening_record(document, key)
        elif kind == "checkpoint":
            message, details = _checkpoint(document, key)
        elif kind == "bid receipt":
            message, details = _receipt(document, key)
        elif kind == "evaluation report":
            message, details, final = _report(document, key)
            status = OK if final else INCOMPLETE
        elif kind == "recording manifest":
            message, details = _manifest(document, key)
        elif kind == "evidence-log export":
            message, details = _outcome(cli_verify.verify_export(document, key))
        elif kind == "recording export":
            message, details = _outcome(cli_recording.verify_export(document, key, mp4))
        else:
            payload = _signed_payload(document, "the signature", key)
            message, details = f"signed document; payload keys {sorted(payload)}", {}
    except _Failed as exc:
        return DocumentResult(source, kind, FAIL, str(exc))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a malformed value deep inside a document
        return DocumentResult(source, kind, FAIL, f"malformed {kind}: {exc!r}")
    return DocumentResult(source, kind, status, message, details)


def check_file(path: str | Path, key: Ed25519PublicKey) -> DocumentResult:
    """Read the JSON file `path` and verify the document in it; a recording export's MP4 is checked when it lies
    beside it under the same name (`export7.json` and `export7.mp4`, as the evidence export writes them)."""
    name = str(path)
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return DocumentResult(name, "unknown", UNREADABLE, f"cannot read the file: {exc}")
    except ValueError as exc:
        return DocumentResult(name, "unknown", UNREADABLE, f"not JSON: {exc}")
    mp4 = Path(path).with_suffix(".mp4")
    return check_document(document, key, name, mp4 if mp4.is_file() else None)
