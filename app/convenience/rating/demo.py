"""Demo ratings for `make run`: yesterday's served tickets at window 01 rated (one very dissatisfied, with its open
rectification task), the refused demo application rated by its applicant, and one ticket served four days ago left
unrated so the worker's invitation sweep has something to send.

Idempotent: nothing is seeded once any rating exists, or when the demo window staff account is missing. A fake
clock places the visits in the past (with real service times, so the queue's measured times stay sensible); the
real clock is put back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.accounts.models import User
from app.convenience import queue
from app.convenience import services as floor
from app.convenience.models import Window
from app.convenience.rating import services
from app.convenience.rating.models import Rating
from app.core import time as clock_mod
from app.core.db import db
from app.permits.cases.models import Application, ApplicationStatus

WINDOW = "01"
VISITS = [  # (days ago, level, comment); None: left unrated
    (4, None, ""),
    (1, "very_satisfied", "工作人员很耐心，一次就办好了"),
    (1, "satisfied", ""),
    (1, "very_dissatisfied", "排队一个多小时，窗口人员态度冷淡"),
]


@contextmanager
def _at(start: datetime) -> Iterator[clock_mod.FakeClock]:
    fake = clock_mod.FakeClock(start)
    previous = clock_mod.set_clock(fake)
    try:
        yield fake
    finally:
        clock_mod.set_clock(previous)


def seed_demo_ratings() -> list[str]:
    if db.session.scalar(select(func.count(Rating.id))):
        return []
    clerk = db.session.scalar(select(User).where(User.username == "window_staff"))
    window = db.session.scalar(select(Window).where(Window.number == WINDOW))
    if clerk is None or window is None or not floor.is_assigned(window, clerk):
        return []
    if floor.open_session(user_id=clerk.id) is not None or floor.open_session(window_id=window.id) is not None:
        return []
    lines: list[str] = []
    real_now = clock_mod.now_utc()
    for i, (days_ago, level, comment) in enumerate(VISITS):
        with _at(real_now - timedelta(days=days_ago, hours=3) + timedelta(minutes=40 * i)) as clock:
            floor.sign_on(actor=clerk, window_id=window.id)
            ticket = queue.issue_ticket(service_code="SI-001", channel="kiosk")
            clock.advance(timedelta(minutes=3))
            queue.call_next(actor=clerk, window_id=window.id)
            clock.advance(timedelta(minutes=6))
            queue.serve(actor=clerk, window_id=window.id)
            floor.sign_off(actor=clerk, window_id=window.id)
            if level is None:
                lines.append(
                    f"convenience ticket served {days_ago} days ago, unrated (the invitation sweep invites it)"
                )
                continue
            clock.advance(timedelta(minutes=20))
            rating = services.rate(services.ticket_subject(ticket), level=level, comment=comment)
            lines.append(f"convenience rating: ticket {rating.reference} {level}")
            if rating.task is not None:
                due = rating.task.due_on or "unknown (calendar)"
                lines.append(f"  rectification task open, due {due}: /convenience/ratings/tasks/{rating.task.id}")
    refused = db.session.scalar(
        select(Application).where(Application.status == ApplicationStatus.REFUSED).order_by(Application.id).limit(1)
    )
    if refused is not None:
        services.rate(services.application_subject(refused), level="basic", comment="告知清楚，但希望能当场指引")
        lines.append(f"permit application {refused.number} rated by its applicant")
    return lines
