"""Bid receipts a person reads: the bidder's receipt page and PDF, and the public verification of a receipt.

The signed receipt (crypto.receipt) stays the evidence; this module turns it into facts for a page and a PDF
(times in the center's zone, sizes in KB/MB, the inclusion proof's status) and checks a receipt someone drops on
the public verification page without JavaScript (`verify_text`: the same checks the page runs in the browser,
done by the Python verifier). Nothing handed to `verify_text` is stored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _

from app.core.errors import NotFound
from app.core.keys import platform_public_keys
from app.core.problems import N_
from app.core.time import format_iso_instant
from app.tendering import services_bids
from app.tendering.common import LoggedRefusal
from app.tendering.models import Bid, BidVersion, Tender
from crypto.receipt import RECEIPT_FORMAT, verify_inclusion_proof, verify_receipt
from crypto.signing import SigningKeyError, load_public_key

# The largest receipt (with its proof) the fallback form accepts: a real one is a few KB.
MAX_RECEIPT_TEXT = 256 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ReceiptNotFound(LoggedRefusal, NotFound):
    """A bidder asked for a receipt its organisation does not hold; the attempt is logged (access.denied)."""

    audit_action = "access.denied"


def own_version(actor: Any, tender: Tender, number: int) -> tuple[Bid, BidVersion]:
    """The caller's organisation's receipt `number` on `tender`; a logged 404 for anything else."""
    try:
        bid = services_bids.get_own_bid(actor=actor, tender=tender)
    except NotFound:
        bid = None
    version = next((v for v in bid.versions if v.number == number), None) if bid is not None else None
    if bid is None or version is None:
        raise ReceiptNotFound(
            N_("No such receipt of your organisation."),
            actor=actor,
            subject=tender.audit_ref,
            data={"attempt": "receipt", "number": number},
        )
    return bid, version


def verification_url(payload: dict[str, Any]) -> str:
    """The public verification page, naming the receipt by its commitment (hiding: it reveals nothing)."""
    commitment = payload.get("commitment")
    args = {"commitment": commitment} if isinstance(commitment, str) and _HEX64.match(commitment) else {}
    return url_for("tendering.verify_receipt", _external=True, **args)


def receipt_facts(tender: Tender, version: BidVersion) -> dict[str, Any]:
    """What the receipt page and PDF show: the signed facts and the inclusion proof's status."""
    document = version.receipt
    payload: dict[str, Any] = document.get("payload", {})
    zone = current_app.config["CENTER_TIMEZONE"]
    proof = services_bids.receipt_proof(version)
    inclusion: dict[str, Any] | None = None
    if proof is not None:
        inclusion = {
            "entry": proof["entry"]["index"],
            "leaf": proof["batch"]["leaf_index"],
            "tree_size": proof["log"]["tree_size"],
        }
    elif payload.get("format") != RECEIPT_FORMAT and version.audit_index is not None:
        inclusion = {"entry": version.audit_index, "leaf": None, "tree_size": None}
    return {
        "payload": payload,
        "tender": tender,
        "number": version.number,
        "kind": payload.get("kind"),
        "bidder": payload.get("bidder") or {},
        "bid_id": (payload.get("bid") or {}).get("id"),
        "bid_version": (payload.get("bid") or {}).get("version"),
        "envelopes": list(payload.get("envelopes") or []),
        "received_at": format_iso_instant(payload.get("received_at"), zone),
        "zone": zone,
        "key_id": (document.get("signature") or {}).get("key_id"),
        "commitment": payload.get("commitment"),
        "format": payload.get("format"),
        "inclusion": inclusion,
        "has_proof": proof is not None,
        "verify_url": verification_url(payload),
    }


def qr_svg(url: str, title: str) -> str:
    """An inline SVG QR code of `url` (segno), for the page and the PDF."""
    import segno

    return str(segno.make(url, error="m").svg_inline(scale=4, border=2, title=title))


def render_receipt_pdf(facts: dict[str, Any]) -> bytes:
    """The receipt as a PDF (WeasyPrint, Noto CJK fonts), Chinese first, with a QR code to the verification page."""
    import segno
    from flask import render_template
    from weasyprint import HTML

    qr = segno.make(facts["verify_url"], error="m").svg_data_uri(scale=4, border=4)
    html = render_template("tendering/receipt_pdf.html", f=facts, qr=qr)
    return bytes(HTML(string=html).write_pdf())


# --- verification without JavaScript -----------------------------------------------------------------


@dataclass
class Check:
    """One check's outcome in words: ok True (passed), False (failed) or None (not run)."""

    name: str
    ok: bool | None
    detail: str = ""


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    payload: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok is not False for c in self.checks)


def _platform_keys() -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for entry in platform_public_keys():
        try:
            keys[str(entry["key_id"])] = load_public_key(str(entry["public_key"]))
        except (KeyError, SigningKeyError):
            continue
    return keys


def verify_text(text: str) -> Verification:
    """Check a receipt (or a {"receipt", "proof"} bundle) pasted or uploaded as JSON, with the Python verifier."""
    result = Verification()
    signature = _("Signature of the platform")
    if len(text) > MAX_RECEIPT_TEXT:
        result.checks.append(Check(signature, False, _("The file is too large to be a receipt.")))
        return result
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        result.checks.append(Check(signature, False, _("The file is not JSON.")))
        return result
    proof: Any = None
    if isinstance(document, dict) and "receipt" in document:
        proof = document.get("proof")
        document = document.get("receipt")
    keys = _platform_keys()
    try:
        check = verify_receipt(document, keys)
    except (ValueError, TypeError, RecursionError) as exc:  # ReceiptError, CanonicalError (a float), hostile shapes
        result.checks.append(Check(signature, False, _("Not verified: %(reason)s", reason=str(exc))))
        return result
    result.payload = check.payload
    result.checks.append(Check(signature, True, _("Signed by the platform's key %(key)s.", key=_key_id(document))))
    result.checks.append(Check(_("Commitment"), True, _("The commitment matches the receipt's contents.")))
    inclusion_name = _("Inclusion in the evidence log")
    if proof is None:
        result.checks.append(
            Check(inclusion_name, None, _("No inclusion proof given: download the receipt with its proof."))
        )
    else:
        try:
            inc = verify_inclusion_proof(check.payload, proof, keys)  # the receipt itself is verified above
        except (ValueError, TypeError, RecursionError) as exc:
            result.checks.append(Check(inclusion_name, False, _("Not verified: %(reason)s", reason=str(exc))))
        else:
            result.checks.append(
                Check(
                    inclusion_name,
                    True,
                    _(
                        "Included as leaf %(leaf)s of the batch in evidence-log entry %(entry)s, under the signed "
                        "checkpoint of %(size)s entries.",
                        leaf=inc.leaf_index,
                        entry=inc.log_index,
                        size=inc.tree_size,
                    ),
                )
            )
    return result


def _key_id(document: Any) -> str:
    sig = document.get("signature") if isinstance(document, dict) else None
    return str(sig.get("key_id")) if isinstance(sig, dict) else ""
