"""Catalogue tables: departments, items with their limits, fees, form (restricted JSON Schema) and materials.

Limits are stored twice, apart: the statutory limit (法定时限, the law's) and the promised one (承诺时限, the
center's); warnings run on the promised one. Money is in 分. Template and sample files are content-addressed
(SHA-256) objects in the write-once store.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class ItemKind(enum.StrEnum):
    LICENCE = "licence"  # 行政许可
    NON_LICENCE = "non_licence"  # 非行政许可审批
    PUBLIC_SERVICE = "public_service"  # 公共服务


class DayCount(enum.StrEnum):
    WORKING = "working"  # 工作日 (the center's holiday calendar, with 调休)
    CALENDAR = "calendar"  # 自然日


class Channel(enum.StrEnum):
    ONLINE = "online"  # 网上办理 (online only)
    DESK = "desk"  # 窗口办理 (at the desk only)
    BOTH = "both"  # online or at the desk


class FeeKind(enum.StrEnum):
    """How a fee rule computes its amount (中心收费): once, per unit of a form answer, or not at all."""

    FIXED = "fixed"  # amount_fen once per case
    PER_UNIT = "per_unit"  # amount_fen × the number the applicant gave in the form attribute `per`
    FREE = "free"  # listed for its legal basis (免收), amount 0


class MaterialRequirement(enum.StrEnum):
    REQUIRED = "required"
    CONDITIONAL = "conditional"


class Department(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    window: Mapped[str] = mapped_column(String(100), default="")  # e.g. 二楼A区 12–14 号窗口
    phone: Mapped[str] = mapped_column(String(40), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)

    items: Mapped[list[Item]] = relationship(back_populates="department", order_by="Item.code")


class CatalogueFile(db.Model):  # type: ignore[name-defined,misc]
    """A template (空白表格) or sample (填写样本) file, stored once by its SHA-256."""

    __tablename__ = "permit_catalogue_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    bucket: Mapped[str] = mapped_column(String(63))
    key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class Item(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_en: Mapped[str] = mapped_column(String(300), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"), index=True)
    kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    statutory_limit_days: Mapped[int] = mapped_column(Integer)  # 法定时限
    promised_limit_days: Mapped[int] = mapped_column(Integer)  # 承诺时限 (never more than the statutory one)
    day_count: Mapped[DayCount] = mapped_column(_enum(DayCount), default=DayCount.WORKING)
    acceptance_day_counts: Mapped[bool] = mapped_column(Boolean, default=False)  # 受理当日是否计入
    deemed_approval: Mapped[bool] = mapped_column(Boolean, default=False)  # 超时默许: per item, never global
    joint_mode: Mapped[str] = mapped_column(String(20), default="notify")  # a joint case's default: 抄告/联审制
    output_name: Mapped[str] = mapped_column(String(200), default="")  # certificate type (证照名称)
    output_validity_months: Mapped[int | None] = mapped_column(Integer)  # None: without limit (长期有效)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), default=Channel.BOTH)
    # The application form: a JSON Schema restricted to app/permits/catalogue/forms.py's subset.
    form_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_sha256: Mapped[str] = mapped_column(
        String(64)
    )  # of the loaded entry: a reload that changes nothing is a no-op
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    department: Mapped[Department] = relationship(back_populates="items")
    fees: Mapped[list[ItemFee]] = relationship(
        back_populates="item", order_by="ItemFee.position", cascade="all, delete-orphan"
    )
    materials: Mapped[list[ItemMaterial]] = relationship(
        back_populates="item", order_by="ItemMaterial.position", cascade="all, delete-orphan"
    )

    @property
    def free(self) -> bool:
        return all(fee.amount_fen == 0 for fee in self.fees)


class ItemFee(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_item_fees"
    __table_args__ = (UniqueConstraint("item_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("permit_items.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # the standard (收费标准), in 分 (per unit for per_unit)
    unit: Mapped[str] = mapped_column(String(50), default="")  # 每件, 每证, …
    kind: Mapped[FeeKind] = mapped_column(_enum(FeeKind), default=FeeKind.FIXED)
    per: Mapped[str | None] = mapped_column(String(40))  # per_unit: the number attribute of the form counted
    legal_basis: Mapped[str] = mapped_column(Text, default="")  # 收费依据

    item: Mapped[Item] = relationship(back_populates="fees")


class ItemMaterial(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_item_materials"
    __table_args__ = (UniqueConstraint("item_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("permit_items.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    requirement: Mapped[MaterialRequirement] = mapped_column(_enum(MaterialRequirement))
    # A conditional material's condition, as written (conditions.py's language) and parsed (its tree).
    condition: Mapped[str | None] = mapped_column(String(500))
    condition_tree: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    originals: Mapped[int] = mapped_column(Integer, default=0)  # 原件份数
    copies: Mapped[int] = mapped_column(Integer, default=0)  # 复印件份数
    note: Mapped[str] = mapped_column(Text, default="")
    template_id: Mapped[int | None] = mapped_column(ForeignKey("permit_catalogue_files.id"))
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("permit_catalogue_files.id"))

    item: Mapped[Item] = relationship(back_populates="materials")
    template: Mapped[CatalogueFile | None] = relationship(foreign_keys=[template_id])
    sample: Mapped[CatalogueFile | None] = relationship(foreign_keys=[sample_id])
