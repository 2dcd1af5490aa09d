"""Periodic work of 政民互动: marking the requests that passed their due instant unreplied."""

from __future__ import annotations

from datetime import timedelta

from app.convenience.interaction import services
from app.core.tasks import sweep


@sweep("convenience.interaction.mark_overdue", every=timedelta(minutes=10))
def mark_overdue() -> dict[str, int]:
    """Each open request past its due instant is marked once, with an evidence-log entry (idempotent)."""
    return services.mark_overdue()
