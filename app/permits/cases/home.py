"""The acceptance desk on the home page: what waits for the desk's decision (with its deadline), and for an
applicant, the applications whose correction notice waits for their materials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l

from app.core.home import Item, Section, register_personal
from app.core.security import caller_has
from app.permits.calendar import services as calendar_services
from app.permits.calendar.deadlines import CalendarNotLoaded
from app.permits.cases import services
from app.permits.cases.models import ApplicationStatus
from app.permits.permissions import DESK

SHOWN = 10


def desk_sections(user: Any, now: datetime) -> list[Section]:
    if not caller_has(DESK):
        return []
    waiting = services.list_queue()
    if not waiting:
        return []
    calendar = calendar_services.load_calendar()  # once for the list, not once per application
    items = []
    for application in waiting[:SHOWN]:
        try:
            due = services.acceptance_deadline(calendar, services.local_date(application.clock_started_at))
            note = _l("Decide by %(date)s, or it counts as accepted", date=due.isoformat())
        except CalendarNotLoaded:
            note = _l("The calendar does not reach its deadline")
        items.append(
            Item(
                application.item.name,
                url_for("permits_cases.desk_application", application_id=application.id),
                note=note,
                reference=application.number,
            )
        )
    heading = _l("Applications waiting at the desk (%(n)s)", n=len(waiting))
    return [Section("permits-desk", heading, items)]


def applicant_sections(user: Any, now: datetime) -> list[Section]:
    items = [
        Item(
            a.item.name,
            url_for("permits_cases.correct", application_id=a.id),
            note=_l("Send the materials the correction notice lists"),
            reference=a.number,
        )
        for a in services.list_own(user)
        if a.status == ApplicationStatus.CORRECTION_REQUESTED
    ]
    return [Section("permits-corrections", _l("Applications to correct"), items)] if items else []


def init_app() -> None:
    register_personal("permits.desk", desk_sections, order=45)
    register_personal("permits.applicant", applicant_sections, order=46)
