"""The working-day calendar's endpoints for tests/test_permissions_matrix.py."""

from __future__ import annotations

CALENDAR_MANAGE = frozenset({"admin"})

PERMITS_CALENDAR_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "permits_calendar.admin_calendar"): CALENDAR_MANAGE,
    ("POST", "permits_calendar.admin_calendar_upload"): CALENDAR_MANAGE,
}
