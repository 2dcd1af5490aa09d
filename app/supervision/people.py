"""One staff member's monitoring record (§6 of issue 13): the windows they sat at and what the cameras saw there,
the signals naming them and how they were answered, the 好差评 ratings of their work.

Who may see it: supervisors and the leaders on duty everyone (services.sees_all); a department head the people of
the departments headed (a person belongs to the departments of their windows, their signals, their monitored
steps and their ratings); anybody their own record. Every view of a person's monitoring data — this page, the
signal list filtered to a person, a signal naming a person (page or API) — is an evidence-log entry
(`supervision.person.viewed`: viewer, person, what was shown), noted in the request's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import audit
from app.core.db import db, is_valid_id
from app.core.errors import NotFound, PermissionDenied
from app.core.problems import N_
from app.core.time import now_utc
from app.supervision import services
from app.supervision.models import MonitoredItem, Signal
from app.supervision.presence import services as presence

SIGNALS_SHOWN = 50
RATINGS_SHOWN = 20


def person_departments(user_id: int) -> set[str]:
    """The departments a person works for, as the floors spell them: their windows' services, their signals, their
    monitored steps, their ratings."""
    from app.convenience.models import StaffAssignment, Window
    from app.convenience.rating.models import Rating

    names: set[str] = set()
    names.update(db.session.scalars(select(Signal.department).where(Signal.person_id == user_id).distinct()))
    names.update(
        db.session.scalars(select(MonitoredItem.department).where(MonitoredItem.person_id == user_id).distinct())
    )
    names.update(db.session.scalars(select(Rating.department).where(Rating.staff_id == user_id).distinct()))
    windows = db.session.scalars(
        select(Window)
        .join(StaffAssignment, StaffAssignment.window_id == Window.id)
        .where(StaffAssignment.user_id == user_id)
    )
    for window in windows:
        names.update(s.department for s in window.group.services)
    names.discard("")
    return names


def may_view(viewer: Any, user_id: int) -> bool:
    if not getattr(viewer, "is_authenticated", False):
        return False
    if services.sees_all(viewer) or viewer.id == user_id:
        return True
    heads = set(services.departments_of(viewer))
    return bool(heads and heads & person_departments(user_id))


def get_person(viewer: Any, user_id: int) -> Any:
    """The user whose record `viewer` may see. NotFound for no such user, PermissionDenied when not allowed."""
    from app.accounts.models import User

    person = db.session.get(User, user_id) if is_valid_id(user_id) else None
    if person is None:
        raise NotFound(N_("No such person."))
    if not may_view(viewer, person.id):
        raise PermissionDenied(
            N_("A person's monitoring record is for supervisors, the heads of their department and themselves.")
        )
    return person


def log_view(viewer: Any, person_id: int, what: str, **data: Any) -> None:
    """The evidence-log entry of one view of a person's monitoring data (appended when the request commits)."""
    audit.note("supervision.person.viewed", actor=viewer, subject=f"user:{person_id}", data={"what": what, **data})


@dataclass
class Stint:
    """A sign-on at a window on the day, with what the window's camera saw during it."""

    window: Any
    signed_on_at: datetime
    signed_off_at: datetime | None
    bars: list[presence.Bar]
    present: int  # seconds at the seat
    seen: int  # seconds observed
    has_camera: bool


@dataclass
class PersonRecord:
    person: Any
    day: date
    departments: list[str]
    windows: list[Any]
    stints: list[Stint]
    signals: list[Signal]
    signals_total: int
    ratings: dict[str, int]
    recent_ratings: list[Any]
    hours: list[int] = field(default_factory=list)
    span: int = 11


def _clip(bars: list[presence.Bar], a: datetime, b: datetime, start: datetime, end: datetime) -> list[presence.Bar]:
    """The bars inside [a, b), placed on the day's span [start, end)."""
    total = (end - start).total_seconds()
    out = []
    for bar in bars:
        lo, hi = max(bar.start, a), min(bar.end, b)
        if hi <= lo:
            continue
        out.append(
            presence.Bar(
                bar.state, lo, hi, (lo - start).total_seconds() * 100 / total, (hi - lo).total_seconds() * 100 / total
            )
        )
    return out


def stints(user_id: int, day: date, *, now: datetime) -> list[Stint]:
    from app.convenience.models import WindowSession
    from app.supervision.presence.models import WindowCamera

    start, end = presence.day_span(day)
    sessions = db.session.scalars(
        select(WindowSession)
        .where(
            WindowSession.user_id == user_id,
            WindowSession.signed_on_at < end,
            (WindowSession.signed_off_at.is_(None)) | (WindowSession.signed_off_at > start),
        )
        .order_by(WindowSession.signed_on_at)
    )
    cameras = set(db.session.scalars(select(WindowCamera.window_id)))
    timelines: dict[int, list[presence.Bar]] = {}
    out = []
    for session in sessions:
        if session.window_id not in timelines:
            timelines[session.window_id] = presence.timeline(session.window_id, day, now=now)
        a = max(session.signed_on_at, start)
        b = min(session.signed_off_at or now, end)
        bars = _clip(timelines[session.window_id], a, b, start, end)
        present, seen = presence.share_present(bars)
        out.append(
            Stint(
                session.window,
                session.signed_on_at,
                session.signed_off_at,
                bars,
                present,
                seen,
                session.window_id in cameras,
            )
        )
    return out


def record_of(viewer: Any, user_id: int, day: date, *, now: datetime | None = None) -> PersonRecord:
    """What the person page shows, for `viewer` (checked) on the center's `day`. Logs the view."""
    from app.convenience.models import StaffAssignment, Window
    from app.convenience.rating.models import LEVELS, Rating

    person = get_person(viewer, user_id)
    now = now or now_utc()
    signals = list(
        db.session.scalars(
            select(Signal)
            .options(selectinload(Signal.answers), selectinload(Signal.rule))
            .where(Signal.person_id == person.id)
            .order_by(Signal.fired_at.desc(), Signal.id.desc())
            .limit(SIGNALS_SHOWN)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(Signal).where(Signal.person_id == person.id)) or 0
    counted = dict(
        db.session.execute(
            select(Rating.level, func.count())
            .where(Rating.staff_id == person.id, Rating.is_excluded.is_(False))
            .group_by(Rating.level)
        ).all()
    )
    ratings = {level.value: int(counted.get(level, 0)) for level in LEVELS}
    recent = list(
        db.session.scalars(
            select(Rating)
            .where(Rating.staff_id == person.id, Rating.is_excluded.is_(False))
            .order_by(Rating.rated_at.desc(), Rating.id.desc())
            .limit(RATINGS_SHOWN)
        )
    )
    windows = list(
        db.session.scalars(
            select(Window)
            .join(StaffAssignment, StaffAssignment.window_id == Window.id)
            .where(StaffAssignment.user_id == person.id)
            .order_by(Window.number)
        )
    )
    start, end = presence.day_span(day)
    rec = PersonRecord(
        person=person,
        day=day,
        departments=sorted(person_departments(person.id)),
        windows=windows,
        stints=stints(person.id, day, now=now),
        signals=signals,
        signals_total=int(total),
        ratings=ratings,
        recent_ratings=recent,
        hours=list(range(start.hour, end.hour + 1)),
        span=end.hour - start.hour,
    )
    log_view(
        viewer,
        person.id,
        "person_page",
        day=day.isoformat(),
        shown=["presence", "signals", "ratings", "windows"],
        signals=len(signals),
    )
    return rec


def window_staff(window_id: int, day: date) -> list[Any]:
    """The people signed on at a window on the center's `day` (the presence page's link to each)."""
    from app.accounts.models import User
    from app.convenience.models import WindowSession

    start, end = presence.day_span(day)
    start -= timedelta(hours=8)  # the whole day, not only the timeline's hours
    end += timedelta(hours=5)
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.id.in_(
                    select(WindowSession.user_id).where(
                        WindowSession.window_id == window_id,
                        WindowSession.signed_on_at < end,
                        (WindowSession.signed_off_at.is_(None)) | (WindowSession.signed_off_at > start),
                    )
                )
            )
            .order_by(User.display_name)
        )
    )


@dataclass
class CaseRecord:
    """A permits application as supervision reads it: what the floor shows of its progress (no applicant details),
    the steps watched and the signals on them."""

    application: Any
    department: str
    items: list[MonitoredItem]
    signals: list[Signal]


def permits_case(viewer: Any, application_id: int) -> CaseRecord:
    """The supervisors' read-only view of one permits application (the desk's page needs the desk permission).
    Supervisors and leaders see every case, a department head the cases of the department; NotFound otherwise."""
    from app.permits.cases.models import Application

    found = db.session.get(Application, application_id) if is_valid_id(application_id) else None
    if found is None or not services.can_watch(viewer):
        raise NotFound(N_("No such case."))
    subject = f"permits.application:{found.id}"
    items = list(
        db.session.scalars(
            select(MonitoredItem)
            .where((MonitoredItem.subject == subject) | MonitoredItem.subject.startswith(subject + "/"))
            .order_by(MonitoredItem.started_at, MonitoredItem.id)
        )
    )
    department = found.item.department.name if found.item is not None else ""
    if not services.sees_all(viewer):
        heads = set(services.departments_of(viewer))
        if not heads & ({department} | {i.department for i in items}):
            raise NotFound(N_("No such case."))
    signals = list(
        db.session.scalars(
            select(Signal)
            .options(selectinload(Signal.answers), selectinload(Signal.rule), selectinload(Signal.person))
            .where((Signal.subject == subject) | Signal.subject.startswith(subject + "/"))
            .order_by(Signal.fired_at, Signal.id)
        )
    )
    return CaseRecord(found, department, items, signals)
