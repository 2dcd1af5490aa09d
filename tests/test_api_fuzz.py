"""Fuzz every operation of the OpenAPI document: no 5xx, and every response conforms to the document."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.config import test_config

MAX_EXAMPLES = 40
# The operations in shards, each its own test: the test processes share the work (≈ 270 operations × 40 examples).
SHARDS = 6
# FUZZ_OPERATIONS="POST /api/v1/x,GET /api/v1/y" fuzzes only the operations whose label holds one of these (to
# look again at one that failed); FUZZ_EXAMPLES sets the examples per operation.
ONLY = [part.strip() for part in os.environ.get("FUZZ_OPERATIONS", "").split(",") if part.strip()]
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", MAX_EXAMPLES))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Any:
    instance = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, instance / "test.sqlite")
    app = create_app(test_config(instance))
    from app.accounts import services_tokens, services_users
    from app.extensions import db
    from tests.accounts.helpers import make_user

    user_id, _ = make_user(app, "fuzzadmin", ["admin", "auditor", "supervisor"], totp=True)
    with app.app_context():
        user = services_users.get_user(user_id)
        app.config["FUZZ_TOKEN"] = services_tokens.create_token(user=user, name="fuzz", scopes=["*"])[1]
        db.session.commit()
    return app


def _explained(exc: BaseException) -> str:
    """The error and, for Hypothesis's flaky-replay errors (exception groups), the failures it had seen first."""
    parts = [f"{type(exc).__name__}: {exc}"]
    parts += [_explained(sub).replace("\n", "\n    ") for sub in getattr(exc, "exceptions", ())]
    return "\n  - ".join(parts)


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_operation_conforms(fuzz_app: Any, shard: int) -> None:
    """Each operation gets its own Hypothesis run; failures are collected so one report lists them all.

    Shard k takes the operations k, k + SHARDS, k + 2·SHARDS … of the document, so together they take every one."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    headers = {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}
    failures: list[str] = []
    operations = 0
    for index, result in enumerate(schema.get_all_operations()):
        if index % SHARDS != shard:
            continue
        operation = result.ok()
        if ONLY and not any(part in operation.label for part in ONLY):
            continue
        operations += 1

        @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.label}: {_explained(exc)}")
    assert operations > 0 or ONLY
    assert not failures, "\n\n".join(failures)
