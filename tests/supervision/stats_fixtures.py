"""Hand-computed fixtures of the supervision statistics: monitored items, a deemed acceptance and ratings around
Monday 2026-03-09 and Tuesday 2026-03-10 (today: the clock stands at 10:00 in Beijing), with the figures worked out
by hand in EXPECTED_0309 and EXPECTED_TODAY."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from app.extensions import db
from app.supervision.models import Floor, ItemState, MonitoredItem

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Beijing
YESTERDAY = date(2026, 3, 9)
TODAY = date(2026, 3, 10)
CONVENIENCE_DEPT = "公安局出入境窗口"


def local(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


_serial = iter(range(1, 10_000))


def item(
    floor: Floor, department: str, opened: datetime, closed: datetime | None = None, promised: datetime | None = None
) -> MonitoredItem:
    n = next(_serial)
    row = MonitoredItem(
        floor=floor,
        kind="desk_decision" if floor is Floor.PERMITS else "ticket_wait",
        subject=f"fixture:{n}",
        key="",
        reference=f"F{n:04d}",
        department=department,
        started_at=opened,
        opened_at=opened,
        opened_index=n,
        promised_due_at=promised,
        state=ItemState.CLOSED if closed else ItemState.OPEN,
        closed_at=closed,
        closed_index=n if closed else None,
        light="green",
        fired_rules=[],
    )
    db.session.add(row)
    return row


def rating(kind: str, department: str, level: str, at: datetime, excluded: bool = False) -> Any:
    from app.convenience.rating.models import Rating

    n = next(_serial)
    row = Rating(
        subject_kind=kind,
        subject_id=n,
        reference=f"R{n}",
        level=level,
        rated_at=at,
        closed_at=at,
        department=department,
        is_excluded=excluded,
    )
    db.session.add(row)
    return row


def seed(app: Flask, clerk_id: int) -> str:
    """The fixture; returns the permits department's name (the demo item's department)."""
    from app.permits.cases.models import ApplicationChannel
    from tests.permits.cases.helpers import submit, who

    with app.app_context():
        application = submit(who(clerk_id), channel=ApplicationChannel.DESK)
        permits = application.item.department.name
        # A deemed acceptance (视为受理) on Monday, 17:00 in Beijing.
        application.is_deemed = True
        application.decided_at = local(3, 9, 17)
        P, C = Floor.PERMITS, Floor.CONVENIENCE
        # Monday 2026-03-09, permits: two closed (one on time: 2 h of 3 h; one late: 6 h of 4 h), one still open
        # (opened 23:30 in Beijing: still Monday there although 15:30 UTC).
        item(P, permits, local(3, 9, 9), local(3, 9, 11), local(3, 9, 12))
        item(P, permits, local(3, 9, 10), local(3, 9, 16), local(3, 9, 14))
        item(P, permits, local(3, 9, 23, 30))
        # Monday, convenience: one ticket called in time (20 min of 30), one closed without a promised time.
        item(C, CONVENIENCE_DEPT, local(3, 9, 9), local(3, 9, 9, 20), local(3, 9, 9, 30))
        item(C, CONVENIENCE_DEPT, local(3, 9, 9), local(3, 9, 9, 40))
        # Today (Tuesday) 00:30 in Beijing (Monday 16:30 UTC): closed 08:00, promised 09:00 (7.5 h of 8.5 h).
        item(P, permits, local(3, 10, 0, 30), local(3, 10, 8), local(3, 10, 9))
        # Sunday 23:59 in Beijing: not Monday's.
        item(C, CONVENIENCE_DEPT, local(3, 8, 23, 59))
        # Ratings on Monday: two very satisfied and one dissatisfied ticket, one excluded on appeal; one application.
        rating("ticket", CONVENIENCE_DEPT, "very_satisfied", local(3, 9, 10))
        rating("ticket", CONVENIENCE_DEPT, "very_satisfied", local(3, 9, 11))
        rating("ticket", CONVENIENCE_DEPT, "dissatisfied", local(3, 9, 12))
        rating("ticket", CONVENIENCE_DEPT, "very_dissatisfied", local(3, 9, 13), excluded=True)
        rating("application", permits, "basic", local(3, 9, 18))
        db.session.commit()
    return permits


def zero() -> dict[str, int]:
    from app.supervision.stats.aggregate import empty

    return empty()


def expected_0309(permits: str) -> dict[tuple[str, str], dict[str, int]]:
    p = zero() | {
        "intake": 3,
        "completed": 2,
        "with_promise": 2,
        "on_time": 1,
        "handling_seconds": (2 + 6) * 3600,
        "promised_seconds": (3 + 4) * 3600,
        "deemed": 1,
        "rated_basic": 1,
    }
    c = zero() | {
        "intake": 2,
        "completed": 2,
        "with_promise": 1,
        "on_time": 1,
        "handling_seconds": 20 * 60,
        "promised_seconds": 30 * 60,
        "rated_very_satisfied": 2,
        "rated_dissatisfied": 1,
    }
    return {("permits", permits): p, ("convenience", CONVENIENCE_DEPT): c}


def expected_today(permits: str) -> dict[tuple[str, str], dict[str, int]]:
    return {
        ("permits", permits): zero()
        | {
            "intake": 1,
            "completed": 1,
            "with_promise": 1,
            "on_time": 1,
            "handling_seconds": 27000,
            "promised_seconds": 30600,
        }
    }
