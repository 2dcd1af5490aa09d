"""Periodic work of 好差评: inviting matters that closed three days ago and are still unrated."""

from __future__ import annotations

from datetime import timedelta

from app.convenience.rating import services
from app.core.tasks import sweep


@sweep("convenience.rating.invite_unrated", every=timedelta(hours=1))
def invite_unrated() -> dict[str, int]:
    """One invitation per unrated matter closed three days ago or more (idempotent)."""
    return services.invite_unrated()
