"""Certificate registry fixtures: the demo catalogue, the session's seal chain, an admin with an API token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask


@pytest.fixture
def app_config(seal_dir: Path) -> dict[str, Any]:
    return {"SEAL_DIR": str(seal_dir)}


@pytest.fixture
def admin(catalogue: Flask, client: Any) -> Any:
    from tests import factories

    return factories.party(catalogue, client, "certadmin", role="admin")
