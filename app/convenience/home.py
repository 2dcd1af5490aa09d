"""The convenience floor on the home page: a window staff member's windows, with who waits and who is signed on;
a citizen's coming appointments (to check in, change or cancel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.convenience import queue, services
from app.convenience.permissions import WINDOW_OPERATE
from app.core.home import Item, Section, register_personal
from app.core.security import caller_has


def staff_sections(user: Any, now: datetime) -> list[Section]:
    if not caller_has(WINDOW_OPERATE):
        return []
    mine = services.open_session(user_id=user.id)
    items = []
    for window in services.windows_of(user):
        note = _l("%(n)s waiting", n=queue.waiting_count(window))
        if mine is not None and mine.window_id == window.id:
            note = _l("Signed on · %(n)s waiting", n=queue.waiting_count(window))
        items.append(
            Item(
                str(_l("Window %(number)s", number=window.number)),
                url_for("convenience.panel", window_id=window.id),
                note=note,
            )
        )
    return [Section("convenience-windows", _l("My windows"), items)]


def appointment_sections(user: Any, now: datetime) -> list[Section]:
    from app.convenience import appointments

    items = [
        Item(
            str(_l("%(service)s · window %(number)s", service=row.service.name, number=row.window.number)),
            url_for("convenience.appointment", reference=row.reference),
            note=_l("Check in now") if appointments.can_check_in(row) else _l("Booked"),
            at=row.starts_at,
            at_label=_l("Time"),
            reference=row.reference,
        )
        for row in appointments.my_appointments(user)
        if row.status.value == "booked" and row.ends_at > now
    ]
    return [Section("convenience-appointments", _l("My appointments"), items[::-1])] if items else []


def init_app() -> None:
    register_personal("convenience.staff", staff_sections, order=50)
    register_personal("convenience.appointments", appointment_sections, order=51)
