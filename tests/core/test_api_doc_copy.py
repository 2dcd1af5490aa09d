"""The suite's faster copy of the API documentation (tests/conftest.py) changes nothing in the OpenAPI document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import apispec.core
import flask_smorest.blueprint

from app import create_app
from app.config import test_config
from tests.conftest import _schema_sharing_deepcopy

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter, without the tests' conftest: the libraries' own deepcopy, on an app created first.
UNPATCHED = """
import json, sys, tempfile
from pathlib import Path
from app import create_app
from app.config import test_config
app = create_app(test_config(Path(tempfile.mkdtemp())))
with app.app_context():
    from app.extensions import api
    sys.stdout.write(json.dumps(api.spec.to_dict(), sort_keys=True, default=str))
"""


def spec_of(tmp_path: Path) -> dict[str, Any]:
    app = create_app(test_config(tmp_path))
    with app.app_context():
        from app.extensions import api

        return dict(json.loads(json.dumps(api.spec.to_dict(), sort_keys=True, default=str)))


def test_the_suite_shares_schemas_and_the_document_stays_the_same(tmp_path: Path) -> None:
    assert apispec.core.deepcopy is _schema_sharing_deepcopy  # type: ignore[attr-defined]
    assert flask_smorest.blueprint.deepcopy is _schema_sharing_deepcopy  # type: ignore[attr-defined]
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    # twice: the second app reads the Schema instances the first one's documentation shared
    patched = [spec_of(first), spec_of(second)]
    out = subprocess.run(
        [sys.executable, "-c", UNPATCHED],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    reference = json.loads(out)
    assert reference["paths"] and reference["components"]["schemas"]
    assert patched[0] == reference
    assert patched[1] == reference
