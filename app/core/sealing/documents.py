"""A domain's sealed PDF: the QR code it prints, its HTML rendered to PDF, the seal put on it (or a refusal).

Certificates, permit decisions and supervision letters all render a template with a QR code to their public
verification page and seal the result; a seal that cannot be had refuses the whole issue with the domain's own
503 error, so nothing half-issued is stored.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from app.core.problems import N_
from app.core.sealing.base import SealingError
from app.core.sealing.config import get_sealer


def qr_data_uri(url: str) -> str:
    """The QR code of `url` as an SVG data URI (error correction M), for an <img> in a PDF template."""
    import segno

    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=4))


def render_pdf(template: str, **context: Any) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=render_template(template, **context)).write_pdf())


def seal_or_refuse(pdf: bytes, *, reason: str, location: str, unavailable: type[Exception]) -> tuple[bytes, str]:
    """The sealed PDF and the sealer's name; a SealingError is logged and becomes `unavailable` (a 503 the
    domain declares), so the caller's transaction rolls back."""
    sealer = get_sealer()
    try:
        sealed = sealer.seal(pdf, reason=reason, location=location)
    except SealingError as exc:
        current_app.logger.error("sealing %s failed: %s", reason, exc)
        raise unavailable(N_("The electronic seal is unavailable just now; nothing was issued.")) from exc
    return sealed, sealer.name
