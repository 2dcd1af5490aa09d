"""Unified acceptance fixtures: SQLite by default, the demo catalogue, the calendar for 2026 and a 2027 notice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from tests.permits.calendar_helpers import YEAR_2027

ITEM = "HDZJ-FW-001"  # 组织机构代码证核发: online or at the desk, 4 working days (promised 1), 4 materials
PDF = b"%PDF-1.7\n" + b"0" * 200 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test asks for PostgreSQL (indirect parametrisation): these tests must stay fast."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def desk_app(app: Flask, clock: Any) -> Flask:
    """The demo catalogue and the working-day calendar (2026 from chinesecalendar, 2027 from a test notice)."""
    from app.core.storage import get_storage
    from app.extensions import db
    from app.permits.calendar import services as calendar
    from app.permits.catalogue import services
    from tests.accounts.helpers import compile_translations

    compile_translations()
    clock.set(datetime(2026, 3, 2, 1, 0, tzinfo=UTC))  # a Monday, 09:00 in Beijing
    with app.app_context():
        get_storage().ensure_buckets()
        services.load_catalogue_file(services.DEMO_CATALOGUE, actor="system:test")
        calendar.seed(2026, 2026)
        calendar.load_year_file(YEAR_2027.encode(), actor="system:test")
        db.session.commit()
    return app


def answers(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "applicant_type": "enterprise",
        "applicant_name": "邯郸市示范科技有限公司",
        "uscc": "91130400MA0000012X",
        "contact_phone": "0310-1234567",
        "company_name": "邯郸市示范科技有限公司",
        "company_type": "llc",
        "registered_capital": 100,
        "institution_category": "company",
    }
    base.update(overrides)
    return base


def enterprise(code: str | None = None) -> dict[str, str]:
    from app.accounts.uscc import make_uscc

    return {
        "kind": "enterprise",
        "name": "邯郸市示范科技有限公司",
        "code": code or make_uscc("9", "1", "130400", "MA000001"),
    }


CITIZEN_ID = "11010519491231002X"  # GB 11643's own example
