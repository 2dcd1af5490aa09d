"""Periodic work of the recordings module: make sessions follow the schedules."""

from __future__ import annotations

from datetime import timedelta

from app.core.tasks import sweep
from app.recordings import services


@sweep("recordings.apply_schedules", every=timedelta(seconds=15))
def apply_schedules_sweep() -> list[str]:
    """Ask for sessions whose window opened and stop those whose window closed (idempotent, locked).

    The room recorders in --follow-schedule mode apply the same rule on each poll; this sweep keeps the
    sessions' states right (and visible) even while a room's recorder is down.
    """
    return services.apply_schedules()
