"""The acceptance notice (受理通知书) and the correction notice (补正材料通知书) as PDF (WeasyPrint, Noto CJK),
Chinese first, with a QR code (segno) to the public tracking page."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template

from app.core.errors import NotFound
from app.core.problems import N_
from app.core.sealing.documents import qr_data_uri
from app.core.time import format_center_time
from app.permits.cases.api import tracking_url
from app.permits.cases.models import Application, CorrectionNotice


def get_notice(application: Application, sequence: int) -> CorrectionNotice:
    notice = next((n for n in application.notices if n.sequence == sequence), None)
    if notice is None:
        raise NotFound(N_("No such correction notice."))
    return notice


def _facts(application: Application) -> dict[str, Any]:
    zone = current_app.config["CENTER_TIMEZONE"]
    url = tracking_url(application, external=True)
    return {
        "a": application,
        "url": url,
        "received_at": format_center_time(application.received_at, zone),
        "decided_at": format_center_time(application.decided_at, zone),
        "qr": _qr(url),
    }


def _qr(url: str) -> str:
    return qr_data_uri(url)


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=html).write_pdf())


def acceptance_pdf(application: Application) -> bytes:
    """The acceptance notice: case number, item, department, acceptance day, statutory and promised due dates."""
    return _pdf(render_template("permits_cases/acceptance_pdf.html", **_facts(application)))


def correction_pdf(application: Application, notice: CorrectionNotice) -> bytes:
    """The correction notice: every missing or defective material at once."""
    zone = current_app.config["CENTER_TIMEZONE"]
    return _pdf(
        render_template(
            "permits_cases/notice_pdf.html",
            n=notice,
            issued_at=format_center_time(notice.issued_at, zone),
            **_facts(application),
        )
    )
