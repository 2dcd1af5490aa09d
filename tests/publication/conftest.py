"""OCDS publication fixtures: the tendering world (legal periods shortened, the rules on)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import World, build_world


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {**TENDERING_CONFIG, "OCDS_PUBLIC_URL": "https://ggzy.example.cn"}


@pytest.fixture
def world(app: Flask, clock: Any) -> World:
    return build_world(app)
