"""Periodic work of the convenience floor: closing the days gone by (their queues and sign-ons)."""

from __future__ import annotations

from datetime import timedelta

from app.convenience import queue
from app.core.tasks import sweep


@sweep("convenience.close_past_days", every=timedelta(minutes=10))
def close_past_days() -> dict[str, int]:
    """Yesterday's tickets still waiting or called become no-shows; forgotten sign-ons end."""
    return queue.close_past_days()
