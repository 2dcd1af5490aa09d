"""Periodic work of the 8188890 platform: re-dispatching the orders whose provider did not acknowledge in time."""

from __future__ import annotations

from datetime import timedelta

from app.convenience.household import services
from app.core.tasks import sweep


@sweep("convenience.household.ack_timeouts", every=timedelta(minutes=1))
def ack_timeouts() -> dict[str, int]:
    """Orders not acknowledged within the time limit go to the next provider, or escalate after N failures."""
    return services.sweep_timeouts()
