"""Fees (中心收费): one fee bill per accepted case, its lines, and the payments recorded against it.

A bill is computed from the catalogue's fee rules (app.permits.catalogue.models.ItemFee) and the application's
answers: one line per rule of the case's item and, for a joint case (并联审批), of the co-departments' items the
desk adds — one combined fee notice (联合收费通知). Amounts are in 分. A line keeps the standard amount beside the
amount charged: a clerk may charge outside the standard only with a reason, and that line is marked.

A payment is recorded through a payment channel (payments.py) with its receipt number (票据号); the same receipt
on the same channel is one payment (unique), so recording it twice changes nothing.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Enum, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc
from app.permits.catalogue.models import Department, FeeKind, Item

if TYPE_CHECKING:
    from app.permits.cases.models import Application


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class BillStatus(enum.StrEnum):
    UNPAID = "unpaid"  # 待缴费
    PAID = "paid"  # 已缴费
    NOTHING_DUE = "nothing_due"  # 免收: every line is 0


class FeeBill(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_fee_bills"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 缴费通知书编号: JF + the case number
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), unique=True)
    status: Mapped[BillStatus] = mapped_column(_enum(BillStatus), index=True)
    total_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    application: Mapped[Application] = relationship()
    lines: Mapped[list[FeeLine]] = relationship(
        back_populates="bill", order_by="FeeLine.position", cascade="all, delete-orphan"
    )
    payments: Mapped[list[FeePayment]] = relationship(back_populates="bill", order_by="FeePayment.id")

    @property
    def outstanding_fen(self) -> int:
        return max(self.total_fen - self.paid_fen, 0)

    @property
    def audit_ref(self) -> str:
        return f"permits.fee_bill:{self.id}"


class FeeLine(db.Model):  # type: ignore[name-defined,misc]
    """One charge: a fee rule of an item applied to the answers (quantity × unit amount = standard amount)."""

    __tablename__ = "permit_fee_lines"
    __table_args__ = (UniqueConstraint("bill_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("permit_fee_bills.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("permit_items.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[FeeKind] = mapped_column(_enum(FeeKind))
    unit: Mapped[str] = mapped_column(String(50), default="")
    unit_fen: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    standard_fen: Mapped[int] = mapped_column(BigInteger)  # what the rule gives
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # what is charged (the standard unless overridden)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    override_reason: Mapped[str] = mapped_column(Text, default="")
    overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    bill: Mapped[FeeBill] = relationship(back_populates="lines")
    item: Mapped[Item] = relationship()
    department: Mapped[Department] = relationship()

    @property
    def outside_standard(self) -> bool:
        return self.amount_fen != self.standard_fen


class FeePayment(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_fee_payments"
    __table_args__ = (UniqueConstraint("channel", "receipt_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("permit_fee_bills.id"), index=True)
    channel: Mapped[str] = mapped_column(String(30))  # the payment channel's name (cashier, …)
    receipt_number: Mapped[str] = mapped_column(String(64))  # 票据号 / the gateway's transaction id
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_name: Mapped[str] = mapped_column(String(200), default="")
    payer: Mapped[str] = mapped_column(String(200), default="")

    bill: Mapped[FeeBill] = relationship(back_populates="payments")
