"""Accounts test fixtures: compiled translations."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import compile_translations


@pytest.fixture(scope="session", autouse=True)
def _translations() -> None:
    compile_translations()
