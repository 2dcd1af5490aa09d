"""Permission-layer rows for 好差评, merged into tests/test_permissions_matrix.py. Who may rate (the ticket's holder,
the application's applicant) and whose tasks a staff member sees are checked per object (tests/convenience/rating)."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

EVERYONE = frozenset({"anonymous", *SEEDED_ROLES})
RECTIFIERS = frozenset({"window_staff", "permits_clerk", "admin"})
SUPERVISORS = frozenset({"admin"})

RATING_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "convenience_rating.rate_ticket"): EVERYONE,
    ("POST", "convenience_rating.rate_ticket"): EVERYONE,
    ("GET", "convenience_rating.rate_application"): EVERYONE,
    ("POST", "convenience_rating.rate_application"): EVERYONE,
    ("POST", "convenience-ratings-api.rate"): EVERYONE,
    ("GET", "convenience_rating.tasks"): RECTIFIERS,
    ("GET", "convenience_rating.task"): RECTIFIERS,
    ("POST", "convenience_rating.record_callback"): RECTIFIERS,
    ("POST", "convenience_rating.close_task"): RECTIFIERS,
    ("GET", "convenience_rating.appeal"): RECTIFIERS,
    ("POST", "convenience_rating.appeal"): RECTIFIERS,
    ("GET", "convenience-ratings-api.list_tasks"): RECTIFIERS,
    ("GET", "convenience-ratings-api.get_task"): RECTIFIERS,
    ("POST", "convenience-ratings-api.record_callback"): RECTIFIERS,
    ("POST", "convenience-ratings-api.close_task"): RECTIFIERS,
    ("POST", "convenience-ratings-api.file_appeal"): RECTIFIERS,
    ("GET", "convenience_rating.appeals"): SUPERVISORS,
    ("GET", "convenience_rating.decide"): SUPERVISORS,
    ("POST", "convenience_rating.decide"): SUPERVISORS,
    ("GET", "convenience_rating.results"): SUPERVISORS,
    ("GET", "convenience_rating.results_csv"): SUPERVISORS,
    ("GET", "convenience-ratings-api.list_appeals"): SUPERVISORS,
    ("POST", "convenience-ratings-api.decide_appeal"): SUPERVISORS,
    ("GET", "convenience-ratings-api.results"): SUPERVISORS,
}
