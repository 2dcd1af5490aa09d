"""Fixtures for the core tests: object storage backends (filesystem and a real S3 server)."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask

from app import create_app
from app.config import test_config
from app.core.storage import FilesystemStorage, MinioStorage, ObjectStorage, storage_from_url
from tests.integration.s3 import current_log_tail, s3_url  # noqa: F401 - s3_url is a fixture

Fetch = Callable[..., tuple[int, dict[str, str], bytes]]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the item so fixtures can tell, at teardown, whether the test failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@dataclass
class Backend:
    name: str
    storage: ObjectStorage
    fetch: Fetch  # GET a signed URL the way a browser would: (status, headers, body)


def storage_app(tmp_path: Path, **extra: Any) -> Flask:
    """A plain app (SQLite, never touched) whose storage is a fresh folder; no database needed."""
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    cfg = {"STORAGE_URL": f"file://{tmp_path / 'objects'}", **extra}
    return create_app(test_config(instance, **cfg))


def client_fetch(app: Flask) -> Fetch:
    client = app.test_client()

    def fetch(
        url: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        resp = client.open(url, method=method, headers=headers or {})
        return resp.status_code, dict(resp.headers), resp.get_data()

    return fetch


def http_fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@pytest.fixture(scope="session")
def s3_session_url(s3_url: str) -> str:  # noqa: F811 - the fixture imported above
    """The S3 URL with a prefix private to this test session and a one-day object lock."""
    parts = urlsplit(s3_url)
    query = dict(parse_qsl(parts.query))
    query["retention_days"] = "1"
    prefix = "t" + secrets.token_hex(5)
    return urlunsplit((parts.scheme, parts.netloc, f"/{prefix}", urlencode(query), ""))


@pytest.fixture(params=["fs", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "fs":
        app = storage_app(tmp_path)
        storage = app.extensions["storage"]
        assert isinstance(storage, FilesystemStorage)
        yield Backend("fs", storage, client_fetch(app))
        return
    url = request.getfixturevalue("s3_session_url")
    s3 = storage_from_url(url)
    assert isinstance(s3, MinioStorage)
    yield Backend("s3", s3, http_fetch)
    report = getattr(request.node, "rep_call", None)
    tail = current_log_tail()
    if report is not None and report.failed and tail:
        request.node.add_report_section("teardown", "SeaweedFS log (tail)", tail)


@pytest.fixture
def storage(backend: Backend) -> ObjectStorage:
    return backend.storage


@pytest.fixture
def ns() -> str:
    """A key prefix private to one test: the S3 buckets are shared by the whole session."""
    return "t-" + secrets.token_hex(6)
