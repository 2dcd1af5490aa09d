"""Convenience floor tables: services and window groups, windows and their weekly plans, staff and sign-ons,
the queue (tickets, the daily counter per group) and the hall's change counter.

Times of day in working plans are the center's local wall-clock times; instants are UTC. A ticket's number is
its group's prefix and its place in the group's daily sequence (A001); the counter row is the one place that
sequence is drawn from, so numbers never repeat and never skip.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.time import now_utc


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"  # in the queue (again, after a transfer or one re-queue)
    CALLED = "called"  # on the display, the visitor walks to the window
    SERVED = "served"
    NO_SHOW = "no_show"  # missed twice: out of the queue


class TicketChannel(enum.StrEnum):
    KIOSK = "kiosk"  # 取号机 in the hall
    PHONE = "phone"  # 手机取号


class Honorific(enum.StrEnum):
    NONE = ""
    MR = "mr"  # 先生
    MS = "ms"  # 女士


class WindowGroup(db.Model):  # type: ignore[name-defined,misc]
    """Windows serving the same kind of matters, and the letter their tickets start with."""

    __tablename__ = "convenience_window_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(2), unique=True)  # A, B, … (a ticket reads A001)
    position: Mapped[int] = mapped_column(Integer, default=0)

    services: Mapped[list[Service]] = relationship(back_populates="group", order_by="Service.position")
    windows: Mapped[list[Window]] = relationship(back_populates="group", order_by="Window.number")


class Service(db.Model):  # type: ignore[name-defined,misc]
    """A convenience matter the floor handles (办理事项), the department behind it and how it may be done."""

    __tablename__ = "convenience_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    department: Mapped[str] = mapped_column(String(100))
    department_en: Mapped[str] = mapped_column(String(200), default="")
    group_id: Mapped[int] = mapped_column(ForeignKey("convenience_window_groups.id"), index=True)
    average_service_seconds: Mapped[int] = mapped_column(Integer)  # planned; the queue's ETA uses measured times
    is_bookable: Mapped[bool] = mapped_column(Boolean, default=False)  # 预约服务
    is_at_home: Mapped[bool] = mapped_column(Boolean, default=False)  # 上门服务
    is_after_hours: Mapped[bool] = mapped_column(Boolean, default=False)  # 下班延时服务
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    group: Mapped[WindowGroup] = relationship(back_populates="services")


class Window(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "convenience_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(8), unique=True)  # "01", what the display says (请到01号窗口)
    name: Mapped[str] = mapped_column(String(100), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(100), default="")  # 一楼东区
    group_id: Mapped[int] = mapped_column(ForeignKey("convenience_window_groups.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    group: Mapped[WindowGroup] = relationship(back_populates="windows")
    plans: Mapped[list[WorkingPlan]] = relationship(
        back_populates="window", order_by="WorkingPlan.weekday", cascade="all, delete-orphan"
    )


class WorkingPlan(db.Model):  # type: ignore[name-defined,misc]
    """A window's day of the week: opening hours, an optional break, an optional after-hours extension."""

    __tablename__ = "convenience_working_plans"
    __table_args__ = (UniqueConstraint("window_id", "weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("convenience_windows.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday … 6 = Sunday
    opens_at: Mapped[time] = mapped_column(Time)
    closes_at: Mapped[time] = mapped_column(Time)
    break_starts_at: Mapped[time | None] = mapped_column(Time)
    break_ends_at: Mapped[time | None] = mapped_column(Time)
    extended_until: Mapped[time | None] = mapped_column(Time)  # 下班延时: served until then on this day

    window: Mapped[Window] = relationship(back_populates="plans")


class StaffAssignment(db.Model):  # type: ignore[name-defined,misc]
    """Who may sign on at a window."""

    __tablename__ = "convenience_staff_assignments"
    __table_args__ = (UniqueConstraint("window_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("convenience_windows.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    window: Mapped[Window] = relationship()


class WindowSession(db.Model):  # type: ignore[name-defined,misc]
    """A staff member at a window, from sign-on to sign-off (open while `signed_off_at` is empty)."""

    __tablename__ = "convenience_window_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("convenience_windows.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    signed_on_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    window: Mapped[Window] = relationship()


class TicketCounter(db.Model):  # type: ignore[name-defined,misc]
    """The last number given in a group on a day (the center's day)."""

    __tablename__ = "convenience_ticket_counters"

    group_id: Mapped[int] = mapped_column(ForeignKey("convenience_window_groups.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "convenience_tickets"
    __table_args__ = (
        UniqueConstraint("group_id", "day", "sequence"),
        # measured_seconds(): a group's last served tickets, read by every issue and call (without it, a scan of
        # all the group's served tickets that grows through the day)
        Index("ix_convenience_tickets_group_status_served", "group_id", "status", "served_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)  # the tracking link's secret
    group_id: Mapped[int] = mapped_column(ForeignKey("convenience_window_groups.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("convenience_services.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(10))  # A001
    channel: Mapped[TicketChannel] = mapped_column(_enum(TicketChannel))
    surname: Mapped[str] = mapped_column(String(20), default="")  # only what the display shows, masked
    honorific: Mapped[Honorific] = mapped_column(_enum(Honorific), default=Honorific.NONE)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), index=True, default=TicketStatus.WAITING)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the place in line: issue, or the re-queue
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("convenience_windows.id"), index=True)  # last caller
    for_window_id: Mapped[int | None] = mapped_column(ForeignKey("convenience_windows.id"))  # after a transfer
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    is_requeued: Mapped[bool] = mapped_column(Boolean, default=False)
    is_booked: Mapped[bool] = mapped_column(Boolean, default=False)  # a booked visitor's check-in (预约)
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    service_seconds: Mapped[int | None] = mapped_column(Integer)  # measured: called → served
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[WindowGroup] = relationship()
    service: Mapped[Service] = relationship()
    window: Mapped[Window | None] = relationship(foreign_keys=[window_id])
    for_window: Mapped[Window | None] = relationship(foreign_keys=[for_window_id])


class HallState(db.Model):  # type: ignore[name-defined,misc]
    """One row: bumped by every queue change, so the display's stream polls one cheap value."""

    __tablename__ = "convenience_hall_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
