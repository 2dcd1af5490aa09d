"""Permission-layer rows for the agency's tendering pages, merged into tests/test_permissions_matrix.py.
Object-level rules (only the drafting agency manages its tender) are tested in tests/tendering."""

from __future__ import annotations

AGENCY_PAGES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {}
