"""Permission-layer rows for the convenience floor, merged into tests/test_permissions_matrix.py. Which window a
staff member may work at (assignment, sign-on) is checked per object in the services (tests/convenience)."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

EVERYONE = frozenset({"anonymous", *SEEDED_ROLES})
WINDOW_STAFF = frozenset({"window_staff"})

CONVENIENCE_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # citizens and the hall: public
    ("GET", "convenience.kiosk"): EVERYONE,
    ("POST", "convenience.take_ticket"): EVERYONE,
    ("GET", "convenience.my_ticket"): EVERYONE,
    ("GET", "convenience.display"): EVERYONE,
    ("GET", "convenience.display_stream"): EVERYONE,
    ("GET", "convenience-api.list_services"): EVERYONE,
    ("POST", "convenience-api.take_ticket"): EVERYONE,
    ("GET", "convenience-api.get_ticket"): EVERYONE,
    ("GET", "convenience-api.hall"): EVERYONE,
    # window staff
    ("GET", "convenience.my_windows"): WINDOW_STAFF,
    ("GET", "convenience.panel"): WINDOW_STAFF,
    ("POST", "convenience.window_action"): WINDOW_STAFF,
    ("POST", "convenience.transfer"): WINDOW_STAFF,
    ("GET", "convenience-api.my_windows"): WINDOW_STAFF,
    ("POST", "convenience-api.window_action"): WINDOW_STAFF,
    ("POST", "convenience-api.transfer"): WINDOW_STAFF,
}
