"""The bundle (一照三证联办): one application for several catalogue items handled by their departments in parallel.

A `BundleDefinition` names its member items (for 一照三证: 市场监管's business licence, 质监's organisation code,
国税's and 地税's tax registration) and which of them produces the licence. Its form is the union of the members'
forms and its materials the members' materials de-duplicated by name (services.py computes both from the
catalogue, and refuses a definition whose members define one attribute differently).

A `BundleCase` is one submission: the applicant, the answers to the union form, one `BundlePart` per member — an
ordinary application of app.permits.cases, accepted together into parallel department cases — and the output:
the business licence (a certificate of the registry) carrying the unified social credit code, with the
organisation code and the tax registration number recorded on it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc
from app.permits.cases.models import ApplicantKind, Application, ApplicationChannel
from app.permits.catalogue.models import Item


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class BundleStatus(enum.StrEnum):
    RECEIVED = "received"  # waiting for the desk
    ACCEPTED = "accepted"  # the department cases run in parallel
    ISSUED = "issued"  # the licence with the credit code is issued


class BundleDefinition(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_bundles"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    licence_item_id: Mapped[int] = mapped_column(ForeignKey("permit_items.id"))
    defined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    defined_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    licence_item: Mapped[Item] = relationship()
    members: Mapped[list[BundleMember]] = relationship(
        back_populates="bundle", order_by="BundleMember.position", cascade="all, delete-orphan"
    )

    @property
    def items(self) -> list[Item]:
        return [m.item for m in self.members]

    @property
    def audit_ref(self) -> str:
        return f"permits.bundle:{self.code}"


class BundleMember(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_bundle_members"
    __table_args__ = (
        UniqueConstraint("bundle_id", "item_id", name="uq_permit_bundle_members_item"),
        UniqueConstraint("bundle_id", "position", name="uq_permit_bundle_members_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("permit_bundles.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("permit_items.id"))
    position: Mapped[int] = mapped_column(Integer)

    bundle: Mapped[BundleDefinition] = relationship(back_populates="members")
    item: Mapped[Item] = relationship()


class BundleCase(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_bundle_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. LB20261207-7F3K2Q
    tracking_token: Mapped[str] = mapped_column(String(64))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("permit_bundles.id"), index=True)
    applicant_kind: Mapped[ApplicantKind] = mapped_column(_enum(ApplicantKind))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_code: Mapped[str] = mapped_column(String(18))
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[ApplicationChannel] = mapped_column(_enum(ApplicationChannel))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    status: Mapped[BundleStatus] = mapped_column(_enum(BundleStatus), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The output set: the licence (a certificate) with the credit code, and the other three recorded on it.
    uscc: Mapped[str | None] = mapped_column(String(18))
    organisation_code: Mapped[str | None] = mapped_column(String(10))  # 组织机构代码: the code's 9th–17th
    tax_number: Mapped[str | None] = mapped_column(String(18))  # 纳税人识别号 (国税 and 地税): the credit code
    certificate_number: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    bundle: Mapped[BundleDefinition] = relationship()
    parts: Mapped[list[BundlePart]] = relationship(back_populates="bundle_case", order_by="BundlePart.position")

    @property
    def audit_ref(self) -> str:
        return f"permits.bundle_case:{self.id}"


class BundlePart(db.Model):  # type: ignore[name-defined,misc]
    """One member item's application (and, once accepted, its department case) within a bundle case."""

    __tablename__ = "permit_bundle_parts"
    __table_args__ = (UniqueConstraint("bundle_case_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_case_id: Mapped[int] = mapped_column(ForeignKey("permit_bundle_cases.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), unique=True)
    position: Mapped[int] = mapped_column(Integer)

    bundle_case: Mapped[BundleCase] = relationship(back_populates="parts")
    application: Mapped[Application] = relationship()
