"""Appointment tables (预约服务): booked visits and the tally of recent calls (the outbox is app.core.notify's).

A booking takes a slot of a window's working plan (its start is the slot's key); the service's planned time plus
the rest time is what it uses of the slot's booking budget. Bookings of one window are serialised by a row lock
on the window (PostgreSQL), so a slot's budget is never sold twice.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.convenience.models import Service, Ticket, Window
from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum

# The outbox is the center's one notification mechanism (app.core.notify); re-exported for this floor's code.
from app.core.notify.models import OutboxChannel, OutboxMessage

__all__ = ["Appointment", "AppointmentStatus", "CallTally", "OutboxChannel", "OutboxMessage"]


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"  # has a queue ticket
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"  # not checked in by the slot's end plus the grace time

    @classmethod
    def active(cls) -> tuple[AppointmentStatus, ...]:
        """The states that hold a place in a slot."""
        return (cls.BOOKED, cls.CHECKED_IN)


class Appointment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "convenience_appointments"
    __table_args__ = (Index("ix_convenience_appointments_window_slot", "window_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)  # what the citizen keys in at the kiosk
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("convenience_services.id"), index=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("convenience_windows.id"))
    day: Mapped[date] = mapped_column(Date, index=True)  # the center's day of the slot
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    seconds: Mapped[int] = mapped_column(Integer)  # of the slot's budget: the service's time plus the rest time
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[AppointmentStatus] = mapped_column(
        _enum(AppointmentStatus), index=True, default=AppointmentStatus.BOOKED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("convenience_tickets.id"))

    service: Mapped[Service] = relationship()
    window: Mapped[Window] = relationship()
    ticket: Mapped[Ticket | None] = relationship()


class CallTally(db.Model):  # type: ignore[name-defined,misc]
    """A group's last calls of the day ("B" booked, "W" walk-in, newest last): the quota rule reads it."""

    __tablename__ = "convenience_call_tallies"

    group_id: Mapped[int] = mapped_column(ForeignKey("convenience_window_groups.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    recent: Mapped[str] = mapped_column(String(64), default="")
    calls: Mapped[int] = mapped_column(Integer, default=0)
