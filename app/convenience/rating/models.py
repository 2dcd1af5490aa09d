"""好差评 tables: one rating per served ticket or per decided permit application, the rectification task a bad
rating opens (with its call-backs), the appeals against mistaken or malicious ratings, and the invitations sent
three days after a matter closed unrated (their messages go through the floor's one outbox, app/convenience/notify.py).

A rating names its subject by kind and id (`ticket` → convenience_tickets, `application` → permit_applications,
`interaction` → interaction_requests, `household` → household_orders);
the pair is unique, so a second rating for the same matter cannot be stored even by two requests at once. The
window, staff member and department are copied onto the rating when it is given, so results read one table.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.time import now_utc


class Level(enum.StrEnum):
    VERY_SATISFIED = "very_satisfied"  # 非常满意
    SATISFIED = "satisfied"  # 满意
    BASIC = "basic"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意
    VERY_DISSATISFIED = "very_dissatisfied"  # 非常不满意


LEVELS = list(Level)
GOOD_LEVELS = (Level.VERY_SATISFIED, Level.SATISFIED, Level.BASIC)  # count towards the satisfaction rate
BAD_LEVELS = (Level.DISSATISFIED, Level.VERY_DISSATISFIED)  # open a rectification task


class SubjectKind(enum.StrEnum):
    TICKET = "ticket"  # a served queue ticket (a visit)
    APPLICATION = "application"  # a permit application the desk decided (a matter)
    INTERACTION = "interaction"  # a closed citizens' request of 政民互动 (app/convenience/interaction)
    HOUSEHOLD = "household"  # a household-service order a provider completed (app/convenience/household)


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CallOutcome(enum.StrEnum):
    REACHED = "reached"  # spoke with the citizen
    NOT_REACHED = "not_reached"  # no answer, wrong number


class AppealStatus(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"  # the rating is excluded from results (kept, marked)
    REJECTED = "rejected"


class Rating(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "convenience_ratings"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", name="uq_convenience_ratings_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind))
    subject_id: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(40))  # what people read: the ticket's number, the application's
    level: Mapped[Level] = mapped_column(_enum(Level), index=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, index=True)
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # signed in, or None (holder's link)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the matter closed (served, decided)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("convenience_windows.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    department: Mapped[str] = mapped_column(String(100), default="")
    department_en: Mapped[str] = mapped_column(String(200), default="")
    is_excluded: Mapped[bool] = mapped_column(Boolean, default=False)  # an appeal was upheld
    excluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    window = relationship("Window")
    staff = relationship("User", foreign_keys=[staff_id])
    task: Mapped[RectificationTask | None] = relationship(back_populates="rating", uselist=False)
    appeals: Mapped[list[Appeal]] = relationship(back_populates="rating", order_by="Appeal.id")

    @property
    def audit_ref(self) -> str:
        return f"convenience.rating:{self.id}"

    @property
    def is_bad(self) -> bool:
        return self.level in BAD_LEVELS


class RectificationTask(db.Model):  # type: ignore[name-defined,misc]
    """整改: opened by a bad rating for the window's or department's responsible person, due in N working days."""

    __tablename__ = "convenience_rectification_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("convenience_ratings.id"), unique=True)
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), index=True, default=TaskStatus.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    due_on: Mapped[date | None] = mapped_column(Date)  # None: the working-day calendar did not reach it
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action_taken: Mapped[str] = mapped_column(Text, default="")

    rating: Mapped[Rating] = relationship(back_populates="task")
    responsible = relationship("User", foreign_keys=[responsible_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    callbacks: Mapped[list[CallBack]] = relationship(back_populates="task", order_by="CallBack.id")

    @property
    def audit_ref(self) -> str:
        return f"convenience.rectification:{self.id}"


class CallBack(db.Model):  # type: ignore[name-defined,misc]
    """回访: who called the citizen, when, and what came of it."""

    __tablename__ = "convenience_rating_callbacks"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("convenience_rectification_tasks.id"), index=True)
    called_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    outcome: Mapped[CallOutcome] = mapped_column(_enum(CallOutcome))
    note: Mapped[str] = mapped_column(Text, default="")

    task: Mapped[RectificationTask] = relationship(back_populates="callbacks")
    called_by = relationship("User")


class Appeal(db.Model):  # type: ignore[name-defined,misc]
    """申诉: staff asks that a mistaken or malicious rating be excluded; a supervisor upholds or rejects it."""

    __tablename__ = "convenience_rating_appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("convenience_ratings.id"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    reasons: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus), index=True, default=AppealStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    rating: Mapped[Rating] = relationship(back_populates="appeals")
    filed_by = relationship("User", foreign_keys=[filed_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def audit_ref(self) -> str:
        return f"convenience.rating_appeal:{self.id}"


class Invitation(db.Model):  # type: ignore[name-defined,misc]
    """An invitation to rate a matter (of any kind) that closed three days ago unrated: at most one per matter (the
    sweep's idempotence rests on this unique pair)."""

    __tablename__ = "convenience_rating_invitations"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", name="uq_convenience_rating_invitations_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(_enum(SubjectKind))
    subject_id: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(40))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("convenience_outbox.id"))
