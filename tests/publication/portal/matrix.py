"""Permission-layer rows for the public tender portal, merged into tests/test_permissions_matrix.py: all public."""

from __future__ import annotations

from tests.publication.matrix import EVERYONE

PORTAL_EXPECTED = {
    ("GET", "portal.search_page"): EVERYONE,
    ("GET", "portal.tender"): EVERYONE,
    ("GET", "portal.feed_tenders"): EVERYONE,
    ("GET", "portal.feed_results"): EVERYONE,
}
