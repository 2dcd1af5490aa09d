"""Permission-layer rows for supervision, merged into tests/test_permissions_matrix.py. Every signed-in account
reaches the pages and the API; the services decide what each sees (its own signals, its department's as a head,
everything as a supervisor) — tests/supervision/test_pages.py checks that per role."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

SIGNED_IN = frozenset(SEEDED_ROLES)

SUPERVISION_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "supervision.wall"): SIGNED_IN,
    ("GET", "supervision.signals"): SIGNED_IN,
    ("GET", "supervision.signal"): SIGNED_IN,
    ("POST", "supervision.answer"): SIGNED_IN,
    ("POST", "supervision.review"): SIGNED_IN,
    ("GET", "supervision-api.wall"): SIGNED_IN,
    ("GET", "supervision-api.list_signals"): SIGNED_IN,
    ("GET", "supervision-api.get_signal"): SIGNED_IN,
    ("POST", "supervision-api.answer"): SIGNED_IN,
    ("POST", "supervision-api.review"): SIGNED_IN,
}
