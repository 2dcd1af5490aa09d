"""Joint review (联审制) and joint site inspection (联合踏勘) of a joint case.

- The mode of a joint case is chosen at acceptance (`Application.joint_mode`, the item's default from the
  catalogue): 抄告制 (`notify`: every co-department answers its task on its own) or 联审制 (`meeting`: the
  chief representatives meet, state their opinions and the meeting decides on the spot).
- A joint meeting (`JointMeeting`) is scheduled by the lead department with time, place and the co-departments
  invited; each department has a `MeetingParticipant` row: attendance (present under its representative's
  authorisation, or absent), its opinion, and what the conclusion did to its task. The conclusion seals the
  minutes (会议纪要) as a PDF.
- A joint site inspection (`Inspection`) is scheduled by the lead with one inspector of every department
  involved (`Inspector`); each reports pass / rectification needed (with the items) / fail, with notes and
  photos (`InspectionPhoto`, write-once with their SHA-256). When all have reported the inspection is complete
  with the combined outcome; rectification notifies the applicant and the lead schedules a reinspection (the
  next round).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc
from app.permits.catalogue.models import Department


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class JointMode(enum.StrEnum):
    NOTIFY = "notify"  # 抄告制
    MEETING = "meeting"  # 联审制


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CONCLUDED = "concluded"


class Attendance(enum.StrEnum):
    PENDING = "pending"  # not recorded yet
    PRESENT = "present"
    ABSENT = "absent"


class MeetingEffect(enum.StrEnum):
    """What the conclusion did to a co-department's task."""

    ANSWERED = "answered"  # its opinion in the meeting is its answer
    DEEMED = "deemed"  # absent, the item allows deemed consent
    UNDECIDED = "undecided"  # absent, no deemed consent: the meeting could not decide for it
    ALREADY_CLOSED = "already_closed"  # its task was closed before (deemed by the sweep)


class InspectionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"


class Finding(enum.StrEnum):
    PASS = "pass"  # noqa: S105 (合格, not a password)
    RECTIFY = "rectify"  # 需整改
    FAIL = "fail"  # 不合格


class JointMeeting(db.Model):  # type: ignore[name-defined,misc]
    """联审会议: the chief representatives' joint meeting on a case, its minutes sealed at the conclusion."""

    __tablename__ = "permit_joint_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    status: Mapped[MeetingStatus] = mapped_column(_enum(MeetingStatus), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(200))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    scheduled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scheduled_by_name: Mapped[str] = mapped_column(String(200), default="")
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    concluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    concluded_by_name: Mapped[str] = mapped_column(String(200), default="")
    authorisation_id: Mapped[int | None] = mapped_column(ForeignKey("permit_authorisations.id"))
    minutes: Mapped[str] = mapped_column(Text, default="")
    pdf_key: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    sealed_by: Mapped[str] = mapped_column(String(50), default="")
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # flagged once: not held in time (tasks.py)

    participants: Mapped[list[MeetingParticipant]] = relationship(
        back_populates="meeting", order_by="MeetingParticipant.position"
    )

    @property
    def audit_ref(self) -> str:
        return f"permits.meeting:{self.id}"


class MeetingParticipant(db.Model):  # type: ignore[name-defined,misc]
    """One department at a joint meeting: the lead (chairs, position 0) or an invited co-department."""

    __tablename__ = "permit_meeting_participants"
    __table_args__ = (UniqueConstraint("meeting_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("permit_joint_meetings.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"))
    position: Mapped[int] = mapped_column(Integer)
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("permit_department_tasks.id"))
    attendance: Mapped[Attendance] = mapped_column(_enum(Attendance))
    attendance_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendance_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # who recorded it
    representative_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    representative_name: Mapped[str] = mapped_column(String(200), default="")
    authorisation_id: Mapped[int | None] = mapped_column(ForeignKey("permit_authorisations.id"))
    opinion: Mapped[str | None] = mapped_column(String(30))  # a TaskAnswer value
    reasons: Mapped[str] = mapped_column(Text, default="")
    opinion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effect: Mapped[MeetingEffect | None] = mapped_column(_enum(MeetingEffect))

    meeting: Mapped[JointMeeting] = relationship(back_populates="participants")
    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class Inspection(db.Model):  # type: ignore[name-defined,misc]
    """联合踏勘: one round of a joint site inspection (a reinspection is the next round)."""

    __tablename__ = "permit_inspections"
    __table_args__ = (UniqueConstraint("application_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    status: Mapped[InspectionStatus] = mapped_column(_enum(InspectionStatus), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(String(300))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    scheduled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scheduled_by_name: Mapped[str] = mapped_column(String(200), default="")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[Finding | None] = mapped_column(_enum(Finding))
    rectification: Mapped[list[str]] = mapped_column(JSON, default=list)  # every inspector's items, together
    applicant_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    inspectors: Mapped[list[Inspector]] = relationship(back_populates="inspection", order_by="Inspector.position")

    @property
    def audit_ref(self) -> str:
        return f"permits.inspection:{self.id}"


class Inspector(db.Model):  # type: ignore[name-defined,misc]
    """One department's inspector at an inspection, and the findings they report."""

    __tablename__ = "permit_inspectors"
    __table_args__ = (UniqueConstraint("inspection_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("permit_inspections.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"))
    position: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    user_name: Mapped[str] = mapped_column(String(200), default="")
    finding: Mapped[Finding | None] = mapped_column(_enum(Finding))
    items: Mapped[list[str]] = mapped_column(JSON, default=list)  # rectification items
    notes: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    inspection: Mapped[Inspection] = relationship(back_populates="inspectors")
    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)
    photos: Mapped[list[InspectionPhoto]] = relationship(order_by="InspectionPhoto.id")


class InspectionPhoto(db.Model):  # type: ignore[name-defined,misc]
    """A photo of an inspector's report: write-once in the documents bucket, with its SHA-256."""

    __tablename__ = "permit_inspection_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("permit_inspectors.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
