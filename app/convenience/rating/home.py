"""好差评 on the home page: the caller's open rectification tasks (with their due dates) and, for a supervisor,
the appeals waiting for a decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.convenience.rating import services
from app.convenience.rating.permissions import RECTIFY, SUPERVISE
from app.core.home import Item, Section, register_personal
from app.core.security import caller_has


def sections(user: Any, now: datetime) -> list[Section]:
    out: list[Section] = []
    if caller_has(RECTIFY):
        mine = [t for t in services.list_tasks(user, "open") if t.responsible_id == user.id]
        items = [
            Item(
                str(_l("Rectification: %(reference)s", reference=t.rating.reference)),
                url_for("convenience_rating.task", task_id=t.id),
                note=_l("Due %(day)s", day=t.due_on.isoformat()) if t.due_on else _l("No due date yet"),
            )
            for t in mine
        ]
        out.append(Section("rating-rectification", _l("Bad ratings to rectify"), items))
    if caller_has(SUPERVISE):
        pending = services.list_appeals("pending")
        items = [
            Item(
                str(_l("Appeal against the rating of %(reference)s", reference=a.rating.reference)),
                url_for("convenience_rating.decide", appeal_id=a.id),
            )
            for a in pending
        ]
        out.append(Section("rating-appeals", _l("Rating appeals to decide"), items))
    return out


def init_app() -> None:
    register_personal("convenience.rating", sections, order=55)
