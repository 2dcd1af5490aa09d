"""Supervision tables: the ingest cursor, monitored items, rules, signals (immutable) and their answers.

Everything here is fed from the evidence log (app.supervision.ingest) and the floors' models; no floor writes here.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
    state: Mapped[ItemState] = mapped_column(_enum(ItemState), default=ItemState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    opened_index: Mapped[int] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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


class SignalImmutable(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _signals_are_immutable(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.dirty:
        if isinstance(obj, Signal) and session.is_modified(obj, include_collections=False):
            raise SignalImmutable("a supervision signal never changes: answer it instead")
    for obj in session.deleted:
        if isinstance(obj, Signal):
            raise SignalImmutable("a supervision signal is never deleted")
