"""Periodic work of the convenience floor: closing the days gone by (their queues and sign-ons); appointments'
no-shows, the reminders of the day before and the delivery of the outbox."""

from __future__ import annotations

from datetime import timedelta

from app.convenience import appointments, notify, queue
from app.core.tasks import sweep


@sweep("convenience.close_past_days", every=timedelta(minutes=10))
def close_past_days() -> dict[str, int]:
    """Yesterday's tickets still waiting or called become no-shows; forgotten sign-ons end."""
    return queue.close_past_days()


@sweep("convenience.appointments_sweep", every=timedelta(minutes=5))
def appointments_sweep() -> dict[str, int]:
    """Booked visitors not checked in by the slot's end plus the grace become no-shows; tomorrow's bookings get
    their reminder in the outbox (once: `reminded_at`)."""
    return {"no_shows": appointments.mark_no_shows(), "reminders": appointments.send_reminders()}


@sweep("convenience.deliver_notifications", every=timedelta(minutes=1))
def deliver_notifications() -> dict[str, int]:
    """Send the outbox's pending messages through the configured adapter (outbox, SMS gateway or SMTP)."""
    return notify.deliver_pending()
