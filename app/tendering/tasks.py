"""Periodic work of the tendering floor: the opening sweep and the expiry of abandoned uploads."""

from __future__ import annotations

from datetime import timedelta

from app.core.tasks import sweep
from app.tendering import opening, services_bids


@sweep("tendering.open_due", every=timedelta(seconds=15))
def open_due() -> dict[str, int]:
    """Move tenders whose opening time has come to `opening`, decrypt the current stage, publish records."""
    return opening.open_due()


@sweep("tendering.expire_uploads", every=timedelta(hours=1))
def expire_uploads() -> int:
    """Expire uploads that were never completed or used, and delete their stored chunks."""
    return services_bids.expire_uploads()
