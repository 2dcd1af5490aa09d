"""Periodic work of the permits desk and cases: deemed acceptance after 5 working days without a decision, the
co-departments' deemed consent, the deadline sweep over the stored due dates, joint meetings not held."""

from __future__ import annotations

from datetime import timedelta

from app.core.tasks import sweep
from app.permits.cases import services


@sweep("permits.deem_overdue", every=timedelta(minutes=10))
def deem_overdue() -> dict[str, int]:
    """Accept (as deemed, from receipt) the applications the desk left undecided for 5 working days."""
    return services.deem_overdue()


@sweep("permits.deem_tasks", every=timedelta(minutes=5))
def deem_tasks() -> dict[str, int]:
    """Co-departments' tasks past their due instant: deemed consent where the item allows it, else overdue; both
    flagged for accountability (超时问责)."""
    from app.permits.cases import processing

    return processing.deem_tasks()


@sweep("permits.sweep_deadlines", every=timedelta(minutes=10))
def sweep_deadlines() -> dict[str, int]:
    """Running steps past their due instant and undecided cases past their promised or statutory due date, flagged
    once each (paused cases skipped)."""
    from app.permits.cases import clock

    return clock.sweep_deadlines()


@sweep("permits.sweep_meetings", every=timedelta(minutes=10))
def sweep_meetings() -> dict[str, int]:
    """Joint meetings whose start passed by PERMITS_MEETING_MISSED_MINUTES without a conclusion, flagged once."""
    from app.permits.cases import joint

    return joint.sweep_missed_meetings()
