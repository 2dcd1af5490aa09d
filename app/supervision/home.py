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
    return found


def init_app() -> None:
    register_personal("supervision", sections, order=60)
