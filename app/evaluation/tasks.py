"""Periodic work of the evaluation floor: the end of publicity periods, late objection answers, overdue
clarification requests."""

from __future__ import annotations

from datetime import timedelta

from app.core.tasks import sweep
from app.evaluation.clarifications import services as services_clarifications
from app.evaluation.report import services as services_report


@sweep("evaluation.publicity_due", every=timedelta(minutes=5))
def publicity_due() -> dict[str, int]:
    """Mark publicity periods that have ended and flag objections not answered within the answer period."""
    return services_report.publicity_due()


@sweep("evaluation.clarifications_due", every=timedelta(minutes=1))
def clarifications_due() -> dict[str, int]:
    """Mark clarification requests not answered by their deadline expired."""
    return services_clarifications.expire_due()
