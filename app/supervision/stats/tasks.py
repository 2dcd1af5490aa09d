"""The nightly aggregation of the supervision statistics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from app.core.db import db
from app.core.tasks import sweep
from app.supervision.stats import aggregate
from app.supervision.stats.models import DailyFigure


@sweep("supervision.stats.nightly", every=timedelta(hours=1))
def nightly() -> dict[str, Any]:
    """Store every finished day not stored yet, and the last week again (idempotent: the same rows each time).

    Checked hourly: the first run after midnight stores yesterday; later runs that day find it stored and stop
    (a day with nothing to count stores no row, so on such a day the cheap week's recomputation simply repeats)."""
    stored = db.session.scalar(select(func.max(DailyFigure.day)))
    if stored is not None and stored >= aggregate.today() - timedelta(days=1):
        return {"days": 0, "rows": 0}
    return aggregate.sweep_days()
