"""STORAGE_URL parsing, app wiring and the unreachable-server behaviour of the object store."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from app.core.security import public
from app.core.storage import (
    SEALED_BIDS,
    UPLOADS,
    FilesystemStorage,
    MinioStorage,
    StorageConfigError,
    StorageUnavailable,
    get_storage,
    storage_from_url,
)
from tests.core.conftest import storage_app


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_file_url(tmp_path: Path) -> None:
    storage = storage_from_url(f"file://{tmp_path}/objects", secret="s")
    assert isinstance(storage, FilesystemStorage)
    assert storage.root == tmp_path / "objects"


def test_s3_url_fields() -> None:
    storage = storage_from_url("s3://AK%2Fx:S%40cret@minio.internal:9000/platform?secure=0&region=cn-north-1")
    assert isinstance(storage, MinioStorage)
    assert storage.endpoint == "minio.internal:9000"
    assert storage.secure is False
    assert storage.bucket_name(SEALED_BIDS) == "platform-sealed-bids"
    assert storage.retention_days == 3650
    assert storage_from_url("s3://a:b@s3.example.org/").bucket_name(UPLOADS) == "uploads"  # type: ignore[union-attr]
    assert storage_from_url("s3://a:b@s3.example.org/").secure is True  # type: ignore[union-attr]
    assert storage_from_url("s3://a:b@h/p?retention_days=30").retention_days == 30  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "url",
    [
        "file://relative/path",
        "file:///abs?x=1",
        "ftp://host/x",
        "/just/a/path",
        "s3://host:9000/p",  # no credentials
        "s3://key@host:9000/p",  # no secret
        "s3://key:topsecret@host:port/p",
        "s3://key:topsecret@host/Upper_Case",
        "s3://key:topsecret@host/a/b",
        "s3://key:topsecret@host/p?secure=maybe",
        "s3://key:topsecret@host/p?sekure=0",
        "s3://key:topsecret@host/p?secure=0&secure=1",
        "s3://key:topsecret@host/p?retention_days=0",
        "s3://key:topsecret@host/p?retention_days=ten",
    ],
)
def test_bad_urls_fail_at_start_up_without_leaking_the_secret(tmp_path: Path, url: str) -> None:
    with pytest.raises(StorageConfigError) as caught:
        storage_from_url(url, secret="s")
    assert "topsecret" not in str(caught.value)
    with pytest.raises(StorageConfigError):
        storage_app(tmp_path, STORAGE_URL=url)


def test_app_wiring(tmp_path: Path) -> None:
    app = storage_app(tmp_path)
    with app.app_context():
        storage = get_storage()
    assert storage is app.extensions["storage"]
    assert isinstance(storage, FilesystemStorage)
    assert (tmp_path / "objects" / SEALED_BIDS).is_dir()  # filesystem buckets exist from start-up


def test_cli_ensure_buckets(tmp_path: Path) -> None:
    app = storage_app(tmp_path)
    (tmp_path / "objects" / UPLOADS).rmdir()
    result = app.test_cli_runner().invoke(args=["storage", "ensure-buckets"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "objects" / UPLOADS).is_dir()


def test_unreachable_s3_is_storage_unavailable_and_quick(tmp_path: Path) -> None:
    url = f"s3://key:secret@127.0.0.1:{closed_port()}/p?secure=0"
    app = storage_app(tmp_path, STORAGE_URL=url)  # building the app does not contact S3
    storage = app.extensions["storage"]
    started = time.monotonic()
    for call in (
        lambda: storage.stat(UPLOADS, "x"),
        lambda: storage.put(UPLOADS, "x", b"x"),
        lambda: list(storage.list(UPLOADS)),
        storage.ensure_buckets,
    ):
        with pytest.raises(StorageUnavailable) as caught:
            call()
        assert caught.value.status == 503
    assert time.monotonic() - started < 20


def test_storage_unavailable_is_a_503_problem(tmp_path: Path) -> None:
    app = storage_app(tmp_path)

    @app.get("/boom")
    @public
    def boom() -> str:
        raise StorageUnavailable("The S3 server cannot be reached.")

    resp = app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert resp.status_code == 503
    assert resp.get_json()["type"].endswith("/storage-unavailable")
