"""The convenience floor's name for the center's one notifier (app.core.notify): the same protocol, adapters,
outbox and delivery sweep, re-exported so the floor's code and tests read as before."""

from __future__ import annotations

from app.core.notify import (
    MAX_ATTEMPTS,
    Notifier,
    OutboxNotifier,
    SmsNotifier,
    SmtpNotifier,
    configured,
    deliver_pending,
    queue_message,
    queue_to,
)
from app.core.notify.models import OutboxChannel, OutboxMessage

__all__ = [
    "MAX_ATTEMPTS",
    "Notifier",
    "OutboxChannel",
    "OutboxMessage",
    "OutboxNotifier",
    "SmsNotifier",
    "SmtpNotifier",
    "configured",
    "deliver_pending",
    "queue_message",
    "queue_to",
]
