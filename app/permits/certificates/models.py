"""The certificate registry (证照库): every certificate the center issues, one row per version.

A certificate's number is readable and unique: XK-2026-000123 for the first version, XK-2026-000123-2 for the
second (a re-issue: new facts, a new sealed PDF; the earlier version is superseded at that instant). Revocation
(reason, when, by whom) takes effect at once. "Expired" is not stored: a version past its valid_until is
expired by the calendar. The sealed PDF is an object of the write-once store, named by its SHA-256.
The case it came from is a loose reference (`case_number`), to be wired to the case model.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc
from app.permits.catalogue.models import Item


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class CertificateKind(enum.StrEnum):
    LICENCE = "licence"  # 许可证
    APPROVAL = "approval"  # 批准文件
    QUALIFICATION = "qualification"  # 资格（资质）证书
    REGISTRATION = "registration"  # 登记证


class HolderKind(enum.StrEnum):
    ORGANISATION = "organisation"  # 法人或其他组织：统一社会信用代码
    PERSON = "person"  # 自然人：居民身份证号码


class CertificateState(enum.StrEnum):
    """Stored states; EXPIRED is derived from the dates (see Certificate.status_on)."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class Certificate(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_certificates"
    __table_args__ = (UniqueConstraint("series_year", "series_no", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    series_year: Mapped[int] = mapped_column(Integer)
    series_no: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    item_id: Mapped[int] = mapped_column(ForeignKey("permit_items.id"), index=True)
    kind: Mapped[CertificateKind] = mapped_column(_enum(CertificateKind))
    title: Mapped[str] = mapped_column(String(200))  # e.g. 食品经营许可证
    holder_kind: Mapped[HolderKind] = mapped_column(_enum(HolderKind))
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_code: Mapped[str] = mapped_column(String(18), index=True)  # USCC or resident ID number
    scope: Mapped[str] = mapped_column(Text, default="")  # 许可范围 / 项目
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)  # None: without time limit (长期)
    state: Mapped[CertificateState] = mapped_column(_enum(CertificateState), default=CertificateState.VALID)
    case_number: Mapped[str | None] = mapped_column(String(40), index=True)  # loose link to the case
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reissue_reason: Mapped[str] = mapped_column(Text, default="")
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("permit_certificates.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str] = mapped_column(Text, default="")
    pdf_bucket: Mapped[str] = mapped_column(String(63))
    pdf_key: Mapped[str] = mapped_column(String(300))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(Integer)
    seal_backend: Mapped[str] = mapped_column(String(20))

    item: Mapped[Item] = relationship()
    superseded_by: Mapped[Certificate | None] = relationship(remote_side=[id], foreign_keys=[superseded_by_id])

    @property
    def series(self) -> str:
        return f"XK-{self.series_year}-{self.series_no:06d}"

    @property
    def audit_ref(self) -> str:
        return f"permit_certificate:{self.number}"

    def status_on(self, today: date) -> CertificateState:
        if self.state is CertificateState.VALID and self.valid_until is not None and today > self.valid_until:
            return CertificateState.EXPIRED
        return self.state
