"""The center's notifications behind one protocol: the embedded outbox (default), SMS through an HTTP gateway,
e-mail through SMTP. The convenience floor's appointment reminders and rating invitations and the permits floor's
applicant notices (correction notice, acceptance, rectification, decision) all go through here.

Messages are written to the outbox table in the transaction that decides them (`queue_message`); a sweep delivers
the pending ones afterwards through the adapter the setting `CONVENIENCE_NOTIFIER` names, so a rolled-back
decision sends nothing and a failed delivery is retried (at least once; `attempts` and `last_error` say how it
went). The embedded adapter's delivery is the outbox row itself, which the staff's outbox page shows. A message
with no address for the configured channel is written with the channel `page` (the citizen's own page shows the
matter; no adapter sends it, so it never counts as sent).

A message about a matter names it (`subject_ref`, e.g. `permits.application:12`): its delivery is an evidence entry
`notify.notice_sent` on that subject. Settings keep the names the convenience floor gave them (they configure the
center's one notifier): CONVENIENCE_NOTIFIER ("outbox", "sms" or "email"); for e-mail CONVENIENCE_SMTP_HOST,
CONVENIENCE_SMTP_PORT, CONVENIENCE_SMTP_FROM, CONVENIENCE_SMTP_TIMEOUT; for SMS CONVENIENCE_SMS_URL (the gateway:
a JSON POST {"to", "text"}), CONVENIENCE_SMS_TOKEN (a bearer token), CONVENIENCE_SMS_TIMEOUT.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any, Protocol

from flask import current_app

from app import audit
from app.core.db import db
from app.core.notify.models import OutboxChannel, OutboxMessage
from app.core.time import now_utc


class Notifier(Protocol):
    channel: OutboxChannel

    def send(self, message: OutboxMessage) -> None:
        """Deliver the message or raise."""


class OutboxNotifier:
    """The embedded default: the outbox row is the delivery; the outbox page shows it."""

    channel = OutboxChannel.OUTBOX

    def send(self, message: OutboxMessage) -> None:
        return None


class SmtpNotifier:
    channel = OutboxChannel.EMAIL

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, message: OutboxMessage) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(mail)


class SmsNotifier:
    """An HTTP SMS gateway: POST {"to": phone, "text": body} as JSON with a bearer token; any 2xx is delivered."""

    channel = OutboxChannel.SMS

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("CONVENIENCE_SMS_URL must be an http(s) URL")
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: OutboxMessage) -> None:
        data = json.dumps({"to": message.recipient, "text": message.body}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 (scheme checked above)
            if not 200 <= resp.status < 300:
                raise RuntimeError(f"SMS gateway answered {resp.status}")


def configured() -> Notifier:
    cfg = current_app.config
    kind = cfg.get("CONVENIENCE_NOTIFIER", "outbox")
    if kind == "email":
        return SmtpNotifier(
            cfg["CONVENIENCE_SMTP_HOST"],
            int(cfg["CONVENIENCE_SMTP_PORT"]),
            cfg["CONVENIENCE_SMTP_FROM"],
            float(cfg["CONVENIENCE_SMTP_TIMEOUT"]),
        )
    if kind == "sms":
        return SmsNotifier(
            cfg["CONVENIENCE_SMS_URL"], cfg["CONVENIENCE_SMS_TOKEN"], float(cfg["CONVENIENCE_SMS_TIMEOUT"])
        )
    if kind != "outbox":
        raise ValueError(f"CONVENIENCE_NOTIFIER must be outbox, sms or email, got {kind!r}")
    return OutboxNotifier()


def queue_message(
    *,
    recipient: str,
    subject: str,
    body: str,
    kind: str,
    appointment_id: int | None = None,
    channel: OutboxChannel | None = None,
    subject_ref: str = "",
) -> OutboxMessage:
    """Write a message to the outbox for the configured channel, or the one given (`page`: nowhere to send it);
    flushes; delivered after commit by the sweep."""
    row = OutboxMessage(
        channel=channel or configured().channel,
        recipient=recipient[:200],
        subject=subject[:200],
        body=body,
        kind=kind,
        appointment_id=appointment_id,
        subject_ref=subject_ref[:100],
        created_at=now_utc(),
        attempts=0,
        last_error="",
    )
    db.session.add(row)
    db.session.flush()
    return row


def queue_to(
    *,
    phone: str,
    email: str,
    page: str,
    subject: str,
    body: str,
    kind: str,
    appointment_id: int | None = None,
    subject_ref: str = "",
) -> OutboxMessage:
    """Write a message to the citizen at the configured channel's address: the e-mail address for e-mail, the phone
    for SMS and the embedded outbox. With no such address it is written for the citizen's own page (channel
    `page`, named by `page`, e.g. the matter's reference), which no adapter sends: never to a phone number on the
    e-mail channel."""
    channel = configured().channel
    recipient = email if channel is OutboxChannel.EMAIL else phone
    if not recipient:
        channel, recipient = OutboxChannel.PAGE, page
    return queue_message(
        recipient=recipient,
        subject=subject,
        body=body,
        kind=kind,
        appointment_id=appointment_id,
        channel=channel,
        subject_ref=subject_ref,
    )


MAX_ATTEMPTS = 5


def deliver_pending(notifier: Notifier | None = None, *, limit: int = 200) -> dict[str, int]:
    """Send the outbox's pending messages of the notifier's channel; each failure is counted and kept."""
    from sqlalchemy import select

    from app.core.db import is_postgresql

    notifier = notifier or configured()
    stmt: Any = (
        select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.channel == notifier.channel,
            OutboxMessage.attempts < MAX_ATTEMPTS,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if is_postgresql():
        stmt = stmt.with_for_update(skip_locked=True)
    sent = failed = 0
    for message in db.session.scalars(stmt):
        message.attempts += 1
        try:
            notifier.send(message)
        except Exception as exc:  # noqa: BLE001 (any failure of the outside service is kept and retried)
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            failed += 1
            continue
        message.sent_at = now_utc()
        message.last_error = ""
        sent += 1
        if message.appointment_id is not None:
            audit.record(
                "convenience.appointment_reminder_sent",
                actor="system:sweep",
                subject=f"convenience.appointment:{message.appointment_id}",
                data={"channel": message.channel.value, "message": message.id},
            )
        elif message.subject_ref:
            audit.record(
                "notify.notice_sent",
                actor="system:sweep",
                subject=message.subject_ref,
                data={"kind": message.kind, "channel": message.channel.value, "message": message.id},
            )
        else:
            audit.record(
                "convenience.outbox_message_sent",
                actor="system:sweep",
                subject=f"convenience.outbox:{message.id}",
                data={"kind": message.kind, "channel": message.channel.value},
            )
    db.session.flush()
    return {"sent": sent, "failed": failed}
