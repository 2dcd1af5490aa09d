"""Periodic work of unified acceptance: deemed acceptance after 5 working days without a decision."""

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
