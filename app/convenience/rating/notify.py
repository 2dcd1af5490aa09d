"""How rating invitations leave the platform: a `Notifier` protocol and its default, the outbox table.

The default writes an `OutboxMessage` row in the caller's transaction (so an invitation and its message are
stored together or not at all); a delivery worker (SMS gateway, the account's inbox) would mark `sent_at`. Tests
and other floors can put their own notifier in place with `set_notifier`. Another outbox may join this one later:
it only has to implement `send`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.convenience.rating.models import OutboxMessage
from app.core.db import db


@dataclass(frozen=True)
class Message:
    channel: str  # "account" (the applicant's account), "sms" (a phone number), "ticket_page" (no address)
    address: str
    subject: str
    body: str
    link: str = ""


class Notifier(Protocol):
    def send(self, message: Message) -> int | None:
        """Queue the message in the caller's transaction; returns the outbox row's id when there is one."""
        ...


class OutboxNotifier:
    def send(self, message: Message) -> int | None:
        row = OutboxMessage(
            channel=message.channel,
            address=message.address[:200],
            subject=message.subject[:200],
            body=message.body,
            link=message.link[:500],
        )
        db.session.add(row)
        db.session.flush()
        return int(row.id)


_notifier: Notifier = OutboxNotifier()


def get_notifier() -> Notifier:
    return _notifier


def set_notifier(notifier: Notifier) -> Notifier:
    """Put another notifier in place; returns the previous one (tests put it back)."""
    global _notifier
    previous, _notifier = _notifier, notifier
    return previous
