"""Periodic work of the evaluation floor: the end of publicity periods and late objection answers."""

from __future__ import annotations

from datetime import timedelta

from app.core.tasks import sweep
from app.evaluation import services_report


@sweep("evaluation.publicity_due", every=timedelta(minutes=5))
def publicity_due() -> dict[str, int]:
    """Mark publicity periods that have ended and flag objections not answered within the answer period."""
    return services_report.publicity_due()
