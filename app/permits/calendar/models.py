"""One row per day of every loaded year."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import db


class CalendarDay(db.Model):  # type: ignore[name-defined,misc]
    """A day: a workday or not, its holiday name or 调休 note ('' for an ordinary day), its source."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column("date", Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    source: Mapped[str] = mapped_column(String(200), nullable=False)

    @property
    def is_makeup_workday(self) -> bool:
        """调休上班: a Saturday or Sunday worked in exchange for a holiday."""
        return self.is_workday and self.day.weekday() >= 5

    @property
    def is_holiday(self) -> bool:
        """A named rest day (a statutory holiday or a day off moved next to it), not an ordinary weekend."""
        return not self.is_workday and bool(self.name)
