"""The applicant's notices by SMS or e-mail, through the center's one notifier (app.core.notify): the one-time
correction notice (一次性告知), the acceptance (受理, also deemed), the site inspection's rectification request (整改)
and the decision ready to collect — the same matters the tracking page shows, with its address.

Each message is written to the outbox in the transaction that decides the matter and delivered after the commit by
the outbox's sweep (a rolled-back decision sends nothing). The address is the one given with the application (its
contact phone) or the applicant's account's (phone, e-mail); with none for the configured channel the message is
written for the tracking page only (channel `page`), never sent. Its delivery is an evidence entry
`notify.notice_sent` on the application.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context

from app.core import notify
from app.core.notify.models import OutboxMessage
from app.permits.cases.models import Application

SUBJECTS = {
    "correction": "补正材料通知（一次性告知）",
    "acceptance": "行政许可申请受理通知",
    "rectification": "现场踏勘整改通知",
    "decision": "行政许可决定已作出",
}


def _addresses(application: Application) -> tuple[str, str]:
    from app.accounts.models import User
    from app.core.db import db

    user = db.session.get(User, application.submitted_by_id) if application.submitted_by_id is not None else None
    phone = application.contact_phone or ((user.phone or "") if user is not None else "")
    return phone, (user.email or "") if user is not None else ""


def _link(application: Application) -> str:
    """The tracking page's address (also outside a request: the sweeps run in a worker)."""
    from app.permits.cases.api import tracking_url

    if has_request_context():
        return tracking_url(application, external=True)
    with current_app.test_request_context():
        return tracking_url(application, external=True)


def _send(application: Application, kind: str, text: str) -> OutboxMessage:
    phone, email = _addresses(application)
    body = f"【{current_app.config['CENTER_NAME']}】{text} 办理进度：{_link(application)}"
    return notify.queue_to(
        phone=phone,
        email=email,
        page=application.number,
        subject=SUBJECTS[kind],
        body=body,
        kind=f"permits_{kind}",
        subject_ref=application.audit_ref,
    )


def correction(application: Application, entries: list[dict[str, Any]]) -> OutboxMessage:
    names = "、".join(str(e.get("name", "")) for e in entries)
    return _send(
        application,
        "correction",
        f"您申请的“{application.item.name}”（申请编号{application.number}）需一次性补正以下材料：{names}。"
        "请补齐后在办理进度页重新提交。",
    )


def acceptance(application: Application) -> OutboxMessage:
    due = application.promised_due.isoformat() if application.promised_due else "—"
    how = "（逾期未告知补正，依法视为受理）" if application.is_deemed else ""
    return _send(
        application,
        "acceptance",
        f"您申请的“{application.item.name}”已受理{how}，受理编号{application.case_number}，承诺办结日期{due}。",
    )


def rectification(application: Application, items: list[str]) -> OutboxMessage:
    return _send(
        application,
        "rectification",
        f"您申请的“{application.item.name}”（受理编号{application.case_number}）联合踏勘需整改：{'；'.join(items)}。"
        "整改完成后将安排复查，整改期间不计入办理时限。",
    )


def decision(application: Application, approved: bool) -> OutboxMessage:
    outcome = "准予许可" if approved else "不予许可"
    return _send(
        application,
        "decision",
        f"您申请的“{application.item.name}”（受理编号{application.case_number}）已作出{outcome}决定，"
        "决定书可在办理进度页下载。",
    )
