"""Unified acceptance endpoints for tests/test_permissions_matrix.py."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

ANONYMOUS = "anonymous"
EVERYONE = frozenset((ANONYMOUS, *SEEDED_ROLES))
SIGNED_IN = frozenset(SEEDED_ROLES)
DESK = frozenset({"admin", "permits_clerk"})  # permits.desk

PERMITS_CASES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "permits-cases-api.submit_application"): SIGNED_IN,
    ("GET", "permits-cases-api.get_application"): SIGNED_IN,
    ("POST", "permits-cases-api.attach_material"): SIGNED_IN,
    ("POST", "permits-cases-api.resubmit_application"): SIGNED_IN,
    ("POST", "permits-cases-api.decide"): DESK,
    ("GET", "permits-cases-api.track"): EVERYONE,
    ("GET", "permits_cases.apply"): SIGNED_IN,
    ("POST", "permits_cases.apply"): SIGNED_IN,
    ("GET", "permits_cases.correct"): SIGNED_IN,
    ("POST", "permits_cases.correct"): SIGNED_IN,
    ("GET", "permits_cases.material_file"): SIGNED_IN,
    ("GET", "permits_cases.tracking"): EVERYONE,
    ("GET", "permits_cases.acceptance_pdf"): EVERYONE,
    ("GET", "permits_cases.notice_page"): EVERYONE,
    ("GET", "permits_cases.notice_pdf"): EVERYONE,
    ("GET", "permits_cases.my_applications"): SIGNED_IN,
    ("GET", "permits_cases.queue"): DESK,
    ("GET", "permits_cases.desk_application"): DESK,
    ("POST", "permits_cases.claim"): DESK,
    ("POST", "permits_cases.accept"): DESK,
    ("POST", "permits_cases.refuse"): DESK,
    ("POST", "permits_cases.request_correction"): DESK,
}
