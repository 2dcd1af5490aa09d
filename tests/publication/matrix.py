"""Permission-layer rows for the OCDS publication, merged into tests/test_permissions_matrix.py: all public."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

EVERYONE = frozenset({"anonymous", *SEEDED_ROLES})

OCDS_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "ocds.releases"): EVERYONE,
    ("GET", "ocds.records"): EVERYONE,
    ("GET", "ocds.one_record"): EVERYONE,
    ("GET", "ocds.bulk_index"): EVERYONE,
    ("GET", "ocds.bulk_month"): EVERYONE,
}
