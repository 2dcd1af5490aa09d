"""Applications (申请) at the unified desk: applicant, answers, materials received, notices, decisions, steps.

An application is for one catalogue item. It is received online or at the desk; the first member of staff who
handles it is recorded as responsible (首问负责人). The desk accepts it (a case number per year and the
statutory and promised due dates), refuses acceptance, or sends one correction notice (一次性告知) listing
every missing or defective material; a second notice needs a supervisor's override and is flagged. Without
a decision within 5 working days of receipt it counts as accepted from receipt (deemed, marked with the rule).
Materials are write-once objects with their SHA-256. Every step is a row of the tracking history.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc
from app.permits.catalogue.models import Item, ItemMaterial

if TYPE_CHECKING:
    from app.permits.cases.joint_models import Inspection, JointMeeting
    from app.permits.cases.processing_models import CaseDecision, CasePause, CaseStep, DepartmentTask


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class ApplicantKind(enum.StrEnum):
    CITIZEN = "citizen"  # 自然人: name and resident ID number
    ENTERPRISE = "enterprise"  # 法人或其他组织: name and unified social credit code


class ApplicationChannel(enum.StrEnum):
    ONLINE = "online"  # 网上申请
    DESK = "desk"  # 窗口申请 (entered by desk staff)


class ApplicationStatus(enum.StrEnum):
    RECEIVED = "received"  # 已收件, awaiting the desk's decision
    CORRECTION_REQUESTED = "correction_requested"  # 一次性告知补正
    RESUBMITTED = "resubmitted"  # 补正后再次提交
    ACCEPTED = "accepted"  # 已受理
    REFUSED = "refused"  # 不予受理


OPEN_STATUSES = (ApplicationStatus.RECEIVED, ApplicationStatus.RESUBMITTED)  # waiting for the desk


class StepKind(enum.StrEnum):
    RECEIVED = "received"
    FIRST_HANDLED = "first_handled"
    MATERIAL = "material"
    CORRECTION = "correction"
    RESUBMITTED = "resubmitted"
    ACCEPTED = "accepted"
    DEEMED = "deemed"
    REFUSED = "refused"
    SWEEP_SKIPPED = "sweep_skipped"
    RECTIFICATION = "rectification"  # 联合踏勘: rectification needed before the reinspection (joint.py)


class Holder(enum.StrEnum):
    """Who holds the application now: whose move it is."""

    DESK = "desk"
    APPLICANT = "applicant"
    DEPARTMENT = "department"
    NOBODY = "nobody"


class CaseCounter(db.Model):  # type: ignore[name-defined,misc]
    """The last case number handed out in a year (one row per year; incremented under its row lock)."""

    __tablename__ = "permit_case_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Application(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "permit_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 申请编号, e.g. SQ20261207-7F3K2Q
    tracking_token: Mapped[str] = mapped_column(String(64))  # the secret in the tracking page's address
    item_id: Mapped[int] = mapped_column(ForeignKey("permit_items.id"), index=True)
    applicant_kind: Mapped[ApplicantKind] = mapped_column(_enum(ApplicantKind))
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_code: Mapped[str] = mapped_column(String(18))  # resident ID number or USCC, normalised
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel: Mapped[ApplicationChannel] = mapped_column(_enum(ApplicationChannel))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # The latest receipt of a complete submission: the first one, or the resubmission after a notice.
    clock_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    first_handler_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # 首问负责人
    first_handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    case_number: Mapped[str | None] = mapped_column(String(20), unique=True)  # 受理编号, e.g. 2027-0001
    accepted_on: Mapped[date | None] = mapped_column(Date)
    statutory_due: Mapped[date | None] = mapped_column(Date, index=True)
    promised_due: Mapped[date | None] = mapped_column(Date, index=True)
    # The case clock (clock.py): stopped since (an open pause), and the deadline sweep's flags (once each).
    clock_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promised_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    statutory_overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_deemed: Mapped[bool] = mapped_column(Boolean, default=False)  # accepted by the 5-working-day rule
    deemed_rule: Mapped[str] = mapped_column(String(200), default="")
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    refusal_remedies: Mapped[str] = mapped_column(Text, default="")
    sweep_problem: Mapped[str] = mapped_column(String(500), default="")  # why the deemed sweep skipped it

    item: Mapped[Item] = relationship()
    materials: Mapped[list[ReceivedMaterial]] = relationship(
        back_populates="application", order_by="ReceivedMaterial.id"
    )
    notices: Mapped[list[CorrectionNotice]] = relationship(
        back_populates="application", order_by="CorrectionNotice.sequence"
    )
    steps: Mapped[list[ApplicationStep]] = relationship(back_populates="application", order_by="ApplicationStep.id")
    # Processing after acceptance (processing_models.py): the five steps, the co-departments' tasks, the decision.
    case_steps: Mapped[list[CaseStep]] = relationship(order_by="CaseStep.position", viewonly=True)
    tasks: Mapped[list[DepartmentTask]] = relationship(order_by="DepartmentTask.id", viewonly=True)
    decision: Mapped[CaseDecision | None] = relationship(viewonly=True)
    # 联审制 or 抄告制 for a joint case (joint_models.JointMode), chosen at acceptance; meetings and inspections.
    joint_mode: Mapped[str] = mapped_column(String(20), default="notify")
    meetings: Mapped[list[JointMeeting]] = relationship(order_by="JointMeeting.id", viewonly=True)
    inspections: Mapped[list[Inspection]] = relationship(order_by="Inspection.round", viewonly=True)
    pauses: Mapped[list[CasePause]] = relationship(order_by="CasePause.id", viewonly=True)

    @property
    def audit_ref(self) -> str:
        return f"permits.application:{self.id}"


class ReceivedMaterial(db.Model):  # type: ignore[name-defined,misc]
    """One file received for a catalogue material: write-once in the documents bucket, with its SHA-256."""

    __tablename__ = "permit_received_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    item_material_id: Mapped[int] = mapped_column(ForeignKey("permit_item_materials.id"))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    application: Mapped[Application] = relationship(back_populates="materials")
    item_material: Mapped[ItemMaterial] = relationship()


class CorrectionNotice(db.Model):  # type: ignore[name-defined,misc]
    """A one-time correction notice: every missing or defective material at once.

    `entries`: [{"material_id", "name", "problem": "missing" | "defective", "reason"}]. The second and any
    later notice carries the supervisor's override (who, why) and is flagged.
    """

    __tablename__ = "permit_correction_notices"
    __table_args__ = (UniqueConstraint("application_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    is_override: Mapped[bool] = mapped_column(Boolean, default=False)  # flagged: a notice after the first
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_reason: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the resubmission

    application: Mapped[Application] = relationship(back_populates="notices")


class ApplicationStep(db.Model):  # type: ignore[name-defined,misc]
    """One step of the application's history, as the tracking page shows it."""

    __tablename__ = "permit_application_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    kind: Mapped[StepKind] = mapped_column(_enum(StepKind))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    holder: Mapped[Holder] = mapped_column(_enum(Holder))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    application: Mapped[Application] = relationship(back_populates="steps")


from app.permits.cases import joint_models, processing_models  # noqa: E402,F401  (the tables named above)
