"""Supervision tables: the ingest cursor, monitored items, rules, signals (immutable) and their answers.

Everything here is fed from the evidence log (app.supervision.ingest) and the floors' models; no floor writes here.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.core.db import UTCDateTime, db
from app.core.db import value_enum as _enum
from app.core.time import now_utc


class Floor(enum.StrEnum):
    TENDERING = "tendering"
    PERMITS = "permits"
    CONVENIENCE = "convenience"


class ItemState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Light(enum.StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Metric(enum.StrEnum):
    SHARE_USED = "share_used"  # percent of the promised time used ≥ threshold
    WORKDAYS_LEFT = "workdays_left"  # working days left after today ≤ threshold
    OVERDUE = "overdue"  # past the promised due instant by more than threshold minutes (open or closed late)
    EVENT = "event"  # an evidence-log action (with an optional data flag)


class AnswerKind(enum.StrEnum):
    EXPLANATION = "explanation"  # by the responsible person
    ACCEPTED = "accepted"  # by a supervisor
    REJECTED = "rejected"  # by a supervisor: the person explains again


class IngestCursor(db.Model):  # type: ignore[name-defined,misc]
    """One row: the next evidence-log index the ingest sweep reads. Moved in the transaction that used the entries."""

    __tablename__ = "supervision_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MonitoredItem(db.Model):  # type: ignore[name-defined,misc]
    """One step being watched: a tender milestone, a permits application at the desk, a convenience ticket waiting.

    `key` tells apart several items of one kind under one subject (a seat, an objection); (kind, opened_index, key)
    is unique, so ingesting the same log entry twice can never open the same item twice.
    """

    __tablename__ = "supervision_items"
    __table_args__ = (UniqueConstraint("kind", "opened_index", "key", name="uq_supervision_items_opened"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    floor: Mapped[Floor] = mapped_column(_enum(Floor), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300), index=True)  # the evidence-log subject it follows
    key: Mapped[str] = mapped_column(String(60), default="")
    reference: Mapped[str] = mapped_column(String(200), default="")  # what people call it (A012, case number…)
    department: Mapped[str] = mapped_column(String(200), default="", index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the clock's start
    promised_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    statutory_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts_workdays: Mapped[bool] = mapped_column(Boolean, default=False)  # the limit is in working days
    # Days (working days when counts_workdays) the item's clock stood still and its due instants were moved out by
    # (a permits case's pauses under 行政许可法 第四十五条): not counted as time used.
    paused_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state: Mapped[ItemState] = mapped_column(_enum(ItemState), default=ItemState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    opened_index: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    closed_index: Mapped[int | None] = mapped_column(BigInteger)
    # Derived by the lights sweep (the signals are the record): the worst light so far and the rules that fired.
    light: Mapped[Light] = mapped_column(_enum(Light), default=Light.GREEN)
    fired_rules: Mapped[list[int]] = mapped_column(JSON, default=list)
    lights_done: Mapped[bool] = mapped_column(Boolean, default=False, index=True)  # closed and judged: never again
    # When the sweep must look again (the earliest instant an unfired rule may fire); NULL: at the next sweep. The
    # ingest clears it whenever the item changes (closed, due moved), so the sweep reads only what may have changed.
    check_after: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    person: Mapped[Any] = relationship("User")


class Rule(db.Model):  # type: ignore[name-defined,misc]
    """When a light turns on. An empty scope field matches anything; for one metric and colour the most specific
    matching rule wins (a tendering opening's own grace overrides the general overdue rule)."""

    __tablename__ = "supervision_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    floor: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(200))
    metric: Mapped[Metric] = mapped_column(_enum(Metric))
    threshold: Mapped[int] = mapped_column(Integer, default=0)
    action: Mapped[str | None] = mapped_column(String(100))  # for event rules
    data_flag: Mapped[str | None] = mapped_column(String(60))  # for event rules: this data key must be true
    colour: Mapped[Light] = mapped_column(_enum(Light))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Signal(db.Model):  # type: ignore[name-defined,misc]
    """A light that turned on. Immutable: no update (a database trigger) and no delete through the ORM; answers are
    rows of their own."""

    __tablename__ = "supervision_signals"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe: Mapped[str] = mapped_column(String(80), unique=True)  # item:<id>:rule:<id> or log:<index>:rule:<id>
    item_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_items.id"), index=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("supervision_rules.id"), index=True)
    colour: Mapped[Light] = mapped_column(_enum(Light))
    floor: Mapped[Floor] = mapped_column(_enum(Floor))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    reference: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(200), default="", index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    log_index: Mapped[int | None] = mapped_column(BigInteger)  # the entry an event rule fired on
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the measured value: share, days, minutes

    rule: Mapped[Rule] = relationship()
    item: Mapped[MonitoredItem | None] = relationship()
    person: Mapped[Any] = relationship("User")
    answers: Mapped[list[SignalAnswer]] = relationship(back_populates="signal", order_by="SignalAnswer.id")


class SignalAnswer(db.Model):  # type: ignore[name-defined,misc]
    """The responsible person's explanation, or a supervisor's acceptance or rejection of it."""

    __tablename__ = "supervision_signal_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("supervision_signals.id"), index=True)
    kind: Mapped[AnswerKind] = mapped_column(_enum(AnswerKind))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    signal: Mapped[Signal] = relationship(back_populates="answers")
    author: Mapped[Any] = relationship("User")


class DepartmentHead(db.Model):  # type: ignore[name-defined,misc]
    """A department head sees the signals and items of the department (by its name, as the floors spell it)."""

    __tablename__ = "supervision_department_heads"
    __table_args__ = (UniqueConstraint("user_id", "department"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department: Mapped[str] = mapped_column(String(200))


class Escalation(db.Model):  # type: ignore[name-defined,misc]
    """An unresolved red signal taken one level up (department head → discipline office → leader on duty).

    Immutable like the signal: (signal, level) is unique, so the sweep can never escalate one level twice."""

    __tablename__ = "supervision_escalations"
    __table_args__ = (UniqueConstraint("signal_id", "level", name="uq_supervision_escalations_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signal_id: Mapped[int] = mapped_column(ForeignKey("supervision_signals.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … in the order of SUPERVISION_ESCALATION_LEVELS
    addressee: Mapped[str] = mapped_column(String(40))  # department_head, discipline_office, duty_leader
    department: Mapped[str] = mapped_column(String(200), default="", index=True)
    workdays_unresolved: Mapped[int] = mapped_column(Integer)  # working days after the signal's day
    escalated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duty_leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the leader on duty that day

    signal: Mapped[Signal] = relationship()
    duty_leader: Mapped[Any] = relationship("User")


class LetterState(enum.StrEnum):
    ISSUED = "issued"  # waiting for the department's reply
    REPLIED = "replied"


class Letter(db.Model):  # type: ignore[name-defined,misc]
    """A supervision recommendation letter (监察建议书), numbered per year, sealed as a PDF; the reply recorded."""

    __tablename__ = "supervision_letters"
    __table_args__ = (UniqueConstraint("year", "serial", name="uq_supervision_letters_serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # 监建〔2026〕1号
    token: Mapped[str] = mapped_column(String(40), unique=True)  # in the QR code's verification address
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_signals.id"), index=True)
    department: Mapped[str] = mapped_column(String(200), index=True)
    facts: Mapped[str] = mapped_column(Text)
    rules_broken: Mapped[str] = mapped_column(Text)
    recommendation: Mapped[str] = mapped_column(Text)
    reply_due: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    pdf_key: Mapped[str] = mapped_column(String(300))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(Integer)
    seal_backend: Mapped[str] = mapped_column(String(20))
    state: Mapped[LetterState] = mapped_column(_enum(LetterState), default=LetterState.ISSUED)
    reply: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    signal: Mapped[Signal | None] = relationship()
    issued_by: Mapped[Any] = relationship("User", foreign_keys=[issued_by_id])
    replied_by: Mapped[Any] = relationship("User", foreign_keys=[replied_by_id])


class Grade(enum.StrEnum):
    EXCELLENT = "excellent"  # 优秀
    GOOD = "good"  # 良好
    SATISFACTORY = "satisfactory"  # 合格
    FAIL = "fail"  # 不合格


class DepartmentGrading(db.Model):  # type: ignore[name-defined,misc]
    """One department's grade for one quarter, with every term of its calculation; computed again until frozen."""

    __tablename__ = "supervision_gradings"
    __table_args__ = (UniqueConstraint("year", "quarter", "department", name="uq_supervision_gradings_quarter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(200))
    score: Mapped[str] = mapped_column(String(20))  # a decimal as text: exact on both databases
    grade: Mapped[Grade] = mapped_column(_enum(Grade))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)  # counts, weights, points and thresholds used
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    computed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DutyDay(db.Model):  # type: ignore[name-defined,misc]
    """The duty rota (市长带班制): who leads the center on a day."""

    __tablename__ = "supervision_duty_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(60))  # 市长, 副市长 …
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)

    leader: Mapped[Any] = relationship("User", foreign_keys=[leader_id])


class InstructionState(enum.StrEnum):
    OPEN = "open"  # waiting for the department's report
    REPORTED = "reported"  # the department reported: the leader closes it (or it waits for another report)
    CLOSED = "closed"


class Instruction(db.Model):  # type: ignore[name-defined,misc]
    """A leader's written instruction (领导批示): a task for a department with its due day, followed up."""

    __tablename__ = "supervision_instructions"

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department: Mapped[str] = mapped_column(String(200), index=True)
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_signals.id"))
    text: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    workdays: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[InstructionState] = mapped_column(_enum(InstructionState), default=InstructionState.OPEN)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # flagged by the sweep, once
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closing_note: Mapped[str] = mapped_column(Text, default="")

    leader: Mapped[Any] = relationship("User")
    signal: Mapped[Signal | None] = relationship()
    reports: Mapped[list[InstructionReport]] = relationship(
        back_populates="instruction", order_by="InstructionReport.id"
    )


class InstructionReport(db.Model):  # type: ignore[name-defined,misc]
    """The department's report on what it did about an instruction."""

    __tablename__ = "supervision_instruction_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    instruction_id: Mapped[int] = mapped_column(ForeignKey("supervision_instructions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    instruction: Mapped[Instruction] = relationship(back_populates="reports")
    author: Mapped[Any] = relationship("User")


class SignalImmutable(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _signals_are_immutable(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, Signal) and session.is_modified(obj, include_collections=False):
            raise SignalImmutable("a supervision signal never changes: answer it instead")
        if isinstance(obj, Escalation) and session.is_modified(obj, include_collections=False):
            raise SignalImmutable("an escalation never changes")
    for obj in session.deleted:
        if isinstance(obj, Signal | Escalation):
            raise SignalImmutable("a supervision signal or escalation is never deleted")
