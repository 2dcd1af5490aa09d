"""Permission-layer rows for the evaluation HTML pages (app/evaluation/views.py), merged into
tests/test_permissions_matrix.py. Membership, chair and stage are checked per object in the services."""

from __future__ import annotations

EVALUATION_PAGES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {}
