"""Reaching the real services for integration tests: skip with a reason, or fail under REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import socket

import pytest

REQUIRED = os.environ.get("REQUIRE_SERVICES", "") not in {"", "0", "false", "no"}

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# s3://ACCESS:SECRET@HOST:PORT/?secure=0 ; .ci/run starts SeaweedFS and exports it.
S3_URL = os.environ.get("TEST_S3_URL", "")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def unavailable(what: str, why: str) -> None:
    """Skip (or fail when services are required) because `what` cannot be reached."""
    msg = f"{what} not reachable: {why}"
    if REQUIRED:
        pytest.fail(f"REQUIRE_SERVICES=1 but {msg}")
    pytest.skip(msg)
