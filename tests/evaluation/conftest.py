"""Evaluation fixtures: the app with tendering and evaluation loaded, a world of parties and experts."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import World, build_world


@pytest.fixture
def app_config() -> dict[str, Any]:
    return dict(TENDERING_CONFIG)


@pytest.fixture
def world(app: Flask, clock: Any) -> World:
    """Agencies, bidders, overseers and custodians with API tokens."""
    return build_world(app)
