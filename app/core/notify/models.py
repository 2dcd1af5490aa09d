"""The outbox table of the center's notifications (app.core.notify): one row a message, SMS, e-mail or page.

The table keeps the name it had when the convenience floor introduced it (`convenience_outbox`); every floor writes
to it now. `appointment_id` stays for the convenience floor's reminders (a string foreign key: no import of that
floor); `subject_ref` names the matter any other message is about (e.g. `permits.application:12`), for the
evidence entry of its delivery.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum


class OutboxChannel(enum.StrEnum):
    OUTBOX = "outbox"  # the embedded default: kept here, shown on the outbox page
    SMS = "sms"
    EMAIL = "email"
    PAGE = "page"  # no address to send to: only the citizen's own page (ticket, application) shows it; never sent


class OutboxMessage(db.Model):  # type: ignore[name-defined,misc]
    """A notification: written in the transaction that decides it, delivered after by the configured adapter."""

    __tablename__ = "convenience_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[OutboxChannel] = mapped_column(_enum(OutboxChannel))
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))  # appointment_reminder, rating_invitation, permits_acceptance…
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("convenience_appointments.id"), index=True)
    subject_ref: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
