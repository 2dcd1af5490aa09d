"""Tendering test fixtures: the app with the tendering module and its tables, agencies, bidders, API clients."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.tendering.helpers import World, build_world

TENDERING_CONFIG: dict[str, Any] = {
    "TENDER_MIN_DAYS_TO_DEADLINE": 0,
    "TENDER_LATE_CLARIFICATION_DAYS": 15,
    "TENDER_REVEAL_WINDOW": timedelta(seconds=600),
}


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Legal periods shortened for tests; the rules themselves stay on."""
    return dict(TENDERING_CONFIG)


@pytest.fixture
def world(app: Flask, clock: Any) -> World:
    """Agencies, bidders, overseers and custodians with API tokens."""
    return build_world(app)
