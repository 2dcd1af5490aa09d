"""Bundle fixtures: the desk fixtures of the unified acceptance tests (demo catalogue, 2026–2027 calendar)."""

from __future__ import annotations

from tests.permits.cases.conftest import db_backend, desk_app  # noqa: F401  (fixtures)
