"""政民互动 on the home page: the requests waiting for the caller (the department's inbox, the dispatcher's
overdue ones, the operator's call-backs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.convenience.interaction import services
from app.convenience.interaction.permissions import DISPATCH, HANDLE, INTAKE
from app.core.home import Item, Section, register_personal
from app.core.security import caller_has


def _item(r: Any) -> Item:
    return Item(
        r.reference,
        url_for("convenience_interaction.detail", reference=r.reference),
        note=_l("Due %(day)s", day=r.due_on.isoformat()) if r.due_on else _l("No due date yet"),
    )


def sections(user: Any, now: datetime) -> list[Section]:
    out: list[Section] = []
    if caller_has(HANDLE):
        out.append(
            Section(
                "interaction-inbox", _l("Citizens' requests to handle"), [_item(r) for r in services.inbox(user)[:20]]
            )
        )
    if caller_has(DISPATCH):
        overdue = [r for r in services.open_requests() if r.is_overdue][:20]
        out.append(Section("interaction-overdue", _l("Overdue citizens' requests"), [_item(r) for r in overdue]))
    if caller_has(INTAKE):
        out.append(
            Section(
                "interaction-callbacks",
                _l("Closed requests to call back"),
                [_item(r) for r in services.to_call_back()[:20]],
            )
        )
    return out


def init_app() -> None:
    register_personal("convenience.interaction", sections, order=56)
