"""Tables of the 8188890 social-service platform (社会服务平台): the household-service categories and the districts
the hotline dispatches to, the provider directory (companies, what and where they serve, their standing), the
citizens' household-service orders, every dispatch of an order to a provider (the rotation's slots), and the
complaints about providers.

Rotation: one row per (category, district) pair holds the rotation's cursor (the provider served last) and the
number of slots handed out; each dispatch by rotation takes the next slot, and (rotation, slot) is unique, so two
dispatches can never be given the same slot even when they run at once.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.time import now_utc


class ProviderStatus(enum.StrEnum):
    ACTIVE = "active"  # receives orders
    SUSPENDED = "suspended"  # skipped by dispatch until reinstated (a reason is recorded)
    WITHDRAWN = "withdrawn"  # left the platform for good


class OrderStatus(enum.StrEnum):
    DISPATCHED = "dispatched"  # sent to a provider, waiting for its acknowledgement
    ACCEPTED = "accepted"  # the provider acknowledged and takes the job
    COMPLETED = "completed"  # the provider recorded what was done and the price
    UNASSIGNED = "unassigned"  # no provider took it: escalated to the center


class OrderChannel(enum.StrEnum):
    WEB = "web"  # the citizen's own request page
    HOTLINE = "hotline"  # an operator of 8188890 on the citizen's behalf


class DispatchOutcome(enum.StrEnum):
    PENDING = "pending"  # waiting for the provider
    ACCEPTED = "accepted"
    DECLINED = "declined"  # with the provider's reason
    TIMED_OUT = "timed_out"  # not acknowledged within the time limit
    WITHDRAWN = "withdrawn"  # the provider was suspended or withdrawn while the order waited for it


class DispatchMode(enum.StrEnum):
    ROTATION = "rotation"  # the next provider in the (category, district) rotation
    MANUAL = "manual"  # a center administrator chose the provider (an unassigned order)


provider_categories = Table(
    "household_provider_categories",
    db.metadata,
    Column("provider_id", ForeignKey("household_providers.id"), primary_key=True),
    Column("category_id", ForeignKey("household_categories.id"), primary_key=True),
)

provider_districts = Table(
    "household_provider_districts",
    db.metadata,
    Column("provider_id", ForeignKey("household_providers.id"), primary_key=True),
    Column("district_id", ForeignKey("household_districts.id"), primary_key=True),
)


class Category(db.Model):  # type: ignore[name-defined,misc]
    """One of the 22 household-service categories the hotline dispatches (家政保洁、水电维修 …)."""

    __tablename__ = "household_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)  # HS01 … HS22
    name: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))
    sort: Mapped[int] = mapped_column(Integer, default=0)


class District(db.Model):  # type: ignore[name-defined,misc]
    """A district or county of 邯郸 the platform dispatches to (its administrative division code)."""

    __tablename__ = "household_districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)  # 130402 …
    name: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(80))


class Provider(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "household_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    contact_name: Mapped[str] = mapped_column(String(40))
    contact_phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[ProviderStatus] = mapped_column(_enum(ProviderStatus), index=True, default=ProviderStatus.ACTIVE)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)  # the portal's account
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    categories: Mapped[list[Category]] = relationship(secondary=provider_categories, order_by="Category.sort")
    districts: Mapped[list[District]] = relationship(secondary=provider_districts, order_by="District.code")
    account = relationship("User")

    @property
    def audit_ref(self) -> str:
        return f"convenience.household_provider:{self.id}"


class Rotation(db.Model):  # type: ignore[name-defined,misc]
    """The rotation of one (category, district): who was served last and how many slots were handed out."""

    __tablename__ = "household_rotations"
    __table_args__ = (UniqueConstraint("category_id", "district_id", name="uq_household_rotations_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("household_categories.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("household_districts.id"))
    last_provider_id: Mapped[int | None] = mapped_column(ForeignKey("household_providers.id"))
    slots: Mapped[int] = mapped_column(Integer, default=0)


class Order(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "household_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)  # JZ20261207-7F3K2Q
    token: Mapped[str] = mapped_column(String(43), unique=True)  # the citizen's tracking secret
    channel: Mapped[OrderChannel] = mapped_column(_enum(OrderChannel))
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the hotline operator
    category_id: Mapped[int] = mapped_column(ForeignKey("household_categories.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("household_districts.id"), index=True)
    address: Mapped[str] = mapped_column(String(200))
    preferred_time: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str] = mapped_column(String(40))
    contact_phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("household_providers.id"), index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # dispatches declined or timed out
    ack_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    work_done: Mapped[str] = mapped_column(Text, default="")
    price_fen: Mapped[int | None] = mapped_column(Integer)

    category: Mapped[Category] = relationship()
    district: Mapped[District] = relationship()
    provider: Mapped[Provider | None] = relationship()
    taken_by = relationship("User")
    dispatches: Mapped[list[Dispatch]] = relationship(back_populates="order", order_by="Dispatch.id")

    @property
    def audit_ref(self) -> str:
        return f"convenience.household_order:{self.id}"

    @property
    def current(self) -> Dispatch | None:
        """The dispatch waiting for the provider's acknowledgement, if any."""
        pending = [d for d in self.dispatches if d.outcome is DispatchOutcome.PENDING]
        return pending[-1] if pending else None


class Dispatch(db.Model):  # type: ignore[name-defined,misc]
    """One sending of an order to a provider and what came of it (the order's dispatch history)."""

    __tablename__ = "household_dispatches"
    __table_args__ = (UniqueConstraint("rotation_id", "slot", name="uq_household_dispatches_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("household_orders.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("household_providers.id"), index=True)
    mode: Mapped[DispatchMode] = mapped_column(_enum(DispatchMode))
    rotation_id: Mapped[int | None] = mapped_column(ForeignKey("household_rotations.id"))
    slot: Mapped[int | None] = mapped_column(Integer)  # the rotation's slot (rotation mode)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    ack_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[DispatchOutcome] = mapped_column(_enum(DispatchOutcome), default=DispatchOutcome.PENDING)
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # manual mode

    order: Mapped[Order] = relationship(back_populates="dispatches")
    provider: Mapped[Provider] = relationship()


class Complaint(db.Model):  # type: ignore[name-defined,misc]
    """A complaint about a provider: by the citizen of an order (its tracking token) or recorded by the center."""

    __tablename__ = "household_complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("household_providers.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("household_orders.id"))
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the citizen's own page

    provider: Mapped[Provider] = relationship()
    order: Mapped[Order | None] = relationship()

    @property
    def audit_ref(self) -> str:
        return f"convenience.household_complaint:{self.id}"
