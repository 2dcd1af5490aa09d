"""After-hours sessions and door-to-door service (下班延时、上门服务) and the matter the citizen follows.

- A plan exception changes one day of a window's weekly working plan (or of every window): closed that day, or
  open with other hours — an after-hours session (延时服务) on a weekday evening or a Saturday morning is one.
- A home visit (上门服务) is a request for a service that can be done at home, for an elderly or disabled citizen:
  who, where, what, when they would like it; the center schedules a staff member, the staff member records each
  visit. Its public id is the tracking link's secret: the citizen follows the matter there without an account.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.convenience.models import Service, Window
from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum


class PlanException(db.Model):  # type: ignore[name-defined,misc]
    """One day's hours of a window (or, with no window, of every window) in place of its weekly plan."""

    __tablename__ = "convenience_plan_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("convenience_windows.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    break_starts_at: Mapped[time | None] = mapped_column(Time)
    break_ends_at: Mapped[time | None] = mapped_column(Time)
    extended_until: Mapped[time | None] = mapped_column(Time)  # 下班延时: served until then
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    window: Mapped[Window | None] = relationship()


class VisitReason(enum.StrEnum):
    ELDERLY = "elderly"  # 高龄老人
    DISABLED = "disabled"  # 残疾人
    ILL = "ill"  # 重病、行动不便
    OTHER = "other"


class DayPeriod(enum.StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    ANY = "any"


class HomeVisitStatus(enum.StrEnum):
    REQUESTED = "requested"  # waiting for the center to schedule it (again, after a visit that could not finish)
    SCHEDULED = "scheduled"  # a staff member and a day
    COMPLETED = "completed"  # done at the citizen's home
    DECLINED = "declined"  # the center cannot do it this way (reason and what to do instead)
    CANCELLED = "cancelled"  # by the citizen

    @classmethod
    def open(cls) -> tuple[HomeVisitStatus, ...]:
        return (cls.REQUESTED, cls.SCHEDULED)


class HomeVisit(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "convenience_home_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # the tracking link's secret
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # SM20261207001: what the citizen quotes
    service_id: Mapped[int] = mapped_column(ForeignKey("convenience_services.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # when asked while signed in
    name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(200))
    reason: Mapped[VisitReason] = mapped_column(_enum(VisitReason))
    details: Mapped[str] = mapped_column(Text, default="")
    preferred_day: Mapped[date] = mapped_column(Date)
    preferred_period: Mapped[DayPeriod] = mapped_column(_enum(DayPeriod))
    status: Mapped[HomeVisitStatus] = mapped_column(
        _enum(HomeVisitStatus), index=True, default=HomeVisitStatus.REQUESTED
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    scheduled_day: Mapped[date | None] = mapped_column(Date)
    scheduled_period: Mapped[DayPeriod | None] = mapped_column(_enum(DayPeriod))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closing_note: Mapped[str] = mapped_column(Text, default="")  # the decline's reason, the citizen's cancellation

    service: Mapped[Service] = relationship()
    staff = relationship("User", foreign_keys=[staff_id])
    records: Mapped[list[VisitRecord]] = relationship(back_populates="visit", order_by="VisitRecord.id")


class VisitRecord(db.Model):  # type: ignore[name-defined,misc]
    """What happened at one visit: done, or not (the matter goes back to be scheduled again)."""

    __tablename__ = "convenience_visit_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("convenience_home_visits.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    visited_on: Mapped[date] = mapped_column(Date)
    completed: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sequence: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the visit

    visit: Mapped[HomeVisit] = relationship(back_populates="records")
    staff = relationship("User", foreign_keys=[staff_id])
