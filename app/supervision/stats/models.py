"""The nightly figures of the supervision statistics: one row per day, floor and department (history).

Today's figures are never stored: they are computed live from the same sources by the same function
(app.supervision.stats.aggregate.compute_day), so a day's row is exactly what the live figures were at midnight
plus what was recorded late (a rating excluded on appeal, an item closed by a delayed ingest).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, db

RATING_LEVELS = ("very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied")
COUNTS = (
    "intake",  # monitored items opened that day (matters taken in)
    "completed",  # monitored items closed that day
    "with_promise",  # of those closed, the ones with a promised due instant: the base of the on-time rate
    "on_time",  # of those, closed at or before the promised due instant
    "handling_seconds",  # of those, the sum of (closed − clock start)
    "promised_seconds",  # of those, the sum of (promised due − clock start)
    "deemed",  # permits: deemed acceptances (视为受理) and co-departments' deemed consents (超时默许) that day
    *(f"rated_{level}" for level in RATING_LEVELS),  # 好差评 given that day, not excluded on appeal
)


class DailyFigure(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "supervision_daily_figures"
    __table_args__ = (UniqueConstraint("day", "floor", "department", name="uq_supervision_daily_figures_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # in the center's time zone
    floor: Mapped[str] = mapped_column(String(20))
    department: Mapped[str] = mapped_column(String(200), default="")
    intake: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    with_promise: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    handling_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    promised_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    deemed: Mapped[int] = mapped_column(Integer, default=0)
    rated_very_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    rated_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    rated_basic: Mapped[int] = mapped_column(Integer, default=0)
    rated_dissatisfied: Mapped[int] = mapped_column(Integer, default=0)
    rated_very_dissatisfied: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
