"""Case processing (办理) after acceptance: the steps of a case, the co-departments' tasks of a joint case
(并联审批, 抄告制), department staff, the chief representatives' authorisations (首席代表授权委托书) and the
case decision.

- Steps: 受理 → 审查 → 决定 → 制证 → 送达, one row each, made at acceptance. A step's due day and due instant
  are computed once, by the deadline service, when the step starts (processing.py documents the split of the
  item's promised limit); started/finished instants, the responsible person and department are kept.
- A joint case has a lead department (主办: the item's department) and co-departments, each with a task
  (opened at acceptance, with its own due instant) that it answers agree / disagree (with reasons) / agree
  subject to higher approval, or that is deemed consent (超时默许, where the item allows it) or turns overdue.
- An authorisation says which items a department's representative decides, from when to when, approved by
  whom; every answer and decision records the authorisation it was made under. Revocation is immediate.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db, value_enum
from app.core.time import now_utc
from app.permits.catalogue.models import Department

if TYPE_CHECKING:
    from app.permits.cases.models import Application


def _enum(cls: type[enum.Enum]) -> Enum:
    return value_enum(cls, length=30)


class CaseStepKind(enum.StrEnum):
    ACCEPTANCE = "acceptance"  # 受理
    REVIEW = "review"  # 审查
    DECISION = "decision"  # 决定
    PRODUCTION = "production"  # 制证
    DELIVERY = "delivery"  # 送达


STEP_ORDER = (
    CaseStepKind.ACCEPTANCE,
    CaseStepKind.REVIEW,
    CaseStepKind.DECISION,
    CaseStepKind.PRODUCTION,
    CaseStepKind.DELIVERY,
)


class CaseStepStatus(enum.StrEnum):
    PENDING = "pending"  # not started yet
    OPEN = "open"  # started, running
    DONE = "done"
    SKIPPED = "skipped"  # 制证 after a refusal: nothing to produce


class TaskStatus(enum.StrEnum):
    OPEN = "open"  # waiting for the co-department's answer
    OVERDUE = "overdue"  # past its due instant, the item forbids deemed consent: open and flagged
    ANSWERED = "answered"
    DEEMED = "deemed"  # 超时默许: deemed consent at the due instant


OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.OVERDUE)


class TaskAnswer(enum.StrEnum):
    AGREE = "agree"  # 同意
    DISAGREE = "disagree"  # 不同意 (reasons required)
    AGREE_SUBJECT_TO_HIGHER = "agree_subject_to_higher"  # 同意，须报上级机关审批


class DecisionOutcome(enum.StrEnum):
    APPROVE = "approve"  # 准予许可
    REFUSE = "refuse"  # 不予许可


class DepartmentStaff(db.Model):  # type: ignore[name-defined,misc]
    """A member of a department's staff at the center (reviewer, or chief representative with authorisations)."""

    __tablename__ = "permit_department_staff"
    __table_args__ = (UniqueConstraint("department_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    department: Mapped[Department] = relationship()


class Authorisation(db.Model):  # type: ignore[name-defined,misc]
    """授权委托书: the department authorises its chief representative to decide these items, in this period.

    `item_ids`: the catalogue items covered. Valid from `valid_from` (included) to `valid_to` (excluded), unless
    revoked: revocation takes effect at its instant.
    """

    __tablename__ = "permit_authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"), index=True)
    representative_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    item_ids: Mapped[list[int]] = mapped_column(JSON)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_to: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str] = mapped_column(String(200))  # who signed it, e.g. 市住建局局长 张某
    reference: Mapped[str] = mapped_column(String(100), default="")  # the letter's number (文号)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[Department] = relationship()

    @property
    def audit_ref(self) -> str:
        return f"permits.authorisation:{self.id}"


class CaseStep(db.Model):  # type: ignore[name-defined,misc]
    """One processing step of an accepted case (受理/审查/决定/制证/送达)."""

    __tablename__ = "permit_case_steps"
    __table_args__ = (UniqueConstraint("application_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    kind: Mapped[CaseStepKind] = mapped_column(_enum(CaseStepKind))
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[CaseStepStatus] = mapped_column(_enum(CaseStepStatus), index=True)
    share_days: Mapped[int] = mapped_column(Integer)  # this step's share of the promised limit
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    responsible_name: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_on: Mapped[date | None] = mapped_column(Date)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)  # the end of the due day
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # flagged once by the deadline sweep

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)


class CasePause(db.Model):  # type: ignore[name-defined,misc]
    """Time that does not count toward the case's limits (行政许可法 第四十五条: 听证、招标、拍卖、检验、检测、检疫、
    鉴定和专家评审; the joint site inspection and the applicant's rectification after it), from `started_at` to
    `ended_at` (open while None). `reason`: app.permits.calendar.deadlines.PauseReason. `source`: "" for a pause
    staff record by hand, `inspection:<id>` for the ones the joint site inspection opens and closes itself."""

    __tablename__ = "permit_case_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(60), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_by_name: Mapped[str] = mapped_column(String(200), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_by_name: Mapped[str] = mapped_column(String(200), default="")

    @property
    def audit_ref(self) -> str:
        return f"permits.pause:{self.id}"


class DepartmentTask(db.Model):  # type: ignore[name-defined,misc]
    """A co-department's task in a joint case (抄告制): its answer, or its deemed consent, or overdue."""

    __tablename__ = "permit_department_tasks"
    __table_args__ = (UniqueConstraint("application_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"), index=True)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    answer: Mapped[TaskAnswer | None] = mapped_column(_enum(TaskAnswer))
    reasons: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_by_name: Mapped[str] = mapped_column(String(200), default="")
    authorisation_id: Mapped[int | None] = mapped_column(ForeignKey("permit_authorisations.id"))
    is_deemed: Mapped[bool] = mapped_column(Boolean, default=False)
    deemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deemed_rule: Mapped[str] = mapped_column(String(300), default="")
    accountability_flag: Mapped[bool] = mapped_column(Boolean, default=False)  # 超时问责
    flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flag_reason: Mapped[str] = mapped_column(String(300), default="")

    department: Mapped[Department] = relationship(lazy="joined", innerjoin=True)
    authorisation: Mapped[Authorisation | None] = relationship()
    application: Mapped[Application] = relationship()

    @property
    def audit_ref(self) -> str:
        return f"permits.task:{self.id}"


class CaseDecision(db.Model):  # type: ignore[name-defined,misc]
    """The lead department's decision on the case (准予/不予许可), with the remedies, and its sealed PDF."""

    __tablename__ = "permit_case_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("permit_applications.id"), unique=True)
    outcome: Mapped[DecisionOutcome] = mapped_column(_enum(DecisionOutcome))
    reasons: Mapped[str] = mapped_column(Text)
    remedies: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_name: Mapped[str] = mapped_column(String(200), default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("permit_departments.id"))
    authorisation_id: Mapped[int] = mapped_column(ForeignKey("permit_authorisations.id"))
    pdf_key: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    sealed_by: Mapped[str] = mapped_column(String(50), default="")  # the sealer's backend name
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the co-departments' answers, at decision

    department: Mapped[Department] = relationship()
    authorisation: Mapped[Authorisation] = relationship()
