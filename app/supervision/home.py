"""Supervision on the home page: the signals waiting for the caller's explanation, and for supervisors those
waiting for review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.core.db import db
from app.core.home import Item, Section, register_personal
from app.supervision import services
from app.supervision.models import Signal, SignalAnswer

LIMIT = 20


def _item(signal: Signal, note: Any) -> Item:
    name = signal.rule.name
    return Item(
        f"{name} · {signal.reference or signal.subject}",
        url_for("supervision.signal", signal_id=signal.id),
        note=note,
        at=signal.fired_at,
        at_label=_l("Turned on at"),
    )


def sections(user: Any, now: datetime) -> list[Section]:
    del now
    found = [
        Section(
            "supervision-to-explain",
            _l("Supervision signals to explain"),
            [
                _item(s, _l("Red light: warning") if s.colour == "red" else _l("Yellow light: reminder"))
                for s in services.signals_to_answer(user)[:LIMIT]
            ],
        )
    ]
    if services.is_supervisor(user):
        answered = select(SignalAnswer.signal_id).distinct()
        rows = db.session.scalars(
            select(Signal).where(Signal.id.in_(answered)).options(selectinload(Signal.answers)).order_by(Signal.id)
        )
        waiting = [s for s in rows if services.status_of(s) is services.SignalStatus.AWAITING_REVIEW][:LIMIT]
        found.append(
            Section(
                "supervision-to-review",
                _l("Explanations to review"),
                [_item(s, _l("Explained: waiting for review")) for s in waiting],
            )
        )
    found.extend(_follow_up(user))
    return found


def _follow_up(user: Any) -> list[Section]:
    """A department head's letters to reply to and instructions to report on; a leader's instructions to close."""
    from app.supervision import duty
    from app.supervision.models import Instruction, InstructionState, Letter, LetterState

    found: list[Section] = []
    heads = services.departments_of(user)
    if heads:
        letters = db.session.scalars(
            select(Letter)
            .where(Letter.department.in_(heads), Letter.state == LetterState.ISSUED)
            .order_by(Letter.reply_due)
            .limit(LIMIT)
        )
        found.append(
            Section(
                "supervision-letters-to-reply",
                _l("Recommendation letters to reply to"),
                [
                    Item(
                        f"{row.number} · {row.department}",
                        url_for("supervision_oversight.letter", letter_id=row.id),
                        note=_l("Reply due by %(d)s", d=row.reply_due.isoformat()),
                    )
                    for row in letters
                ],
            )
        )
        orders = db.session.scalars(
            select(Instruction)
            .where(Instruction.department.in_(heads), Instruction.state == InstructionState.OPEN)
            .order_by(Instruction.due_on)
            .limit(LIMIT)
        )
        found.append(
            Section(
                "supervision-instructions-to-report",
                _l("Leaders’ instructions to report on"),
                [_instruction(row, _l("Due %(d)s", d=row.due_on.isoformat())) for row in orders],
            )
        )
    if duty.is_leader(user):
        reported = db.session.scalars(
            select(Instruction)
            .where(Instruction.state == InstructionState.REPORTED)
            .order_by(Instruction.id)
            .limit(LIMIT)
        )
        found.append(
            Section(
                "supervision-instructions-to-close",
                _l("Instructions reported on, to close"),
                [_instruction(row, _l("Reported: waiting for the leader")) for row in reported],
            )
        )
    return found


def _instruction(row: Any, note: Any) -> Item:
    text = row.text if len(row.text) <= 40 else row.text[:39] + "…"
    return Item(
        f"{row.department} · {text}",
        url_for("supervision_oversight.instruction", instruction_id=row.id),
        note=note,
        at=row.issued_at,
        at_label=_l("Given at"),
    )


def init_app() -> None:
    register_personal("supervision", sections, order=60)
