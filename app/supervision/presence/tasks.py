"""Periodic work of window-staff monitoring: the absence and idleness alerts, the recordings' retention."""

from __future__ import annotations

from datetime import timedelta

from app.core.tasks import sweep


@sweep("supervision.presence.alerts", every=timedelta(minutes=1))
def alerts() -> dict[str, int]:
    """Absence and idleness signals now due (idempotent)."""
    from app.supervision.presence.alerts import sweep_alerts

    return sweep_alerts()


@sweep("supervision.presence.retention", every=timedelta(hours=1))
def retention() -> dict[str, int]:
    """Window recordings past the retention period, deleted and logged (never a tendering recording)."""
    from app.supervision.presence.retention import sweep_retention

    return sweep_retention()
