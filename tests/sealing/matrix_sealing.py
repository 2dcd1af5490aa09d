"""The seal verification endpoints for tests/test_permissions_matrix.py: open to everyone."""

from __future__ import annotations

SEALING_PUBLIC: tuple[tuple[str, str], ...] = (
    ("GET", "sealing.verify_page"),
    ("POST", "sealing.verify_post"),
    ("POST", "sealing-api.verify_api"),
)
