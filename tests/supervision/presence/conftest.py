"""Presence fixtures: the convenience floor on Monday 2026-12-07 09:00 in the center (tests.convenience)."""

from __future__ import annotations

from tests.convenience.conftest import clock, db_backend, floor  # noqa: F401  (fixtures, by their names)
