"""Signed download links served by the app for the filesystem store: signature, expiry, ranges, streaming."""

from __future__ import annotations

import hashlib
import tracemalloc
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from flask import Flask
from werkzeug.http import parse_options_header

from app.core import time as clock_mod
from app.core.security import PUBLIC, declared_permission
from app.core.storage import SEALED_BIDS, UPLOADS, FilesystemStorage
from tests.core.conftest import storage_app
from tests.core.test_storage_contract import BODY, GeneratedStream, MiB

SIZE = len(BODY)


@pytest.fixture
def fs_app(tmp_path: Path) -> Flask:
    return storage_app(tmp_path)


@pytest.fixture
def store(fs_app: Flask) -> FilesystemStorage:
    storage = fs_app.extensions["storage"]
    assert isinstance(storage, FilesystemStorage)
    storage.put(UPLOADS, "tender/7/招标文件.pdf", BODY, content_type="application/pdf")
    return storage


def link(store: FilesystemStorage, key: str = "tender/7/招标文件.pdf", **kw: object) -> str:
    return store.signed_url(UPLOADS, key, kw.pop("expires", timedelta(minutes=5)), **kw)  # type: ignore[arg-type]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_the_route_is_declared_public(fs_app: Flask) -> None:
    assert declared_permission(fs_app, "storage.download", "GET") == PUBLIC


def test_full_download_headers(fs_app: Flask, store: FilesystemStorage) -> None:
    resp = fs_app.test_client().get(link(store))
    assert resp.status_code == 200
    assert resp.get_data() == BODY
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["Content-Length"] == str(SIZE)
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["ETag"] == f'"{hashlib.sha256(BODY).hexdigest()}"'
    # Uploaded bytes must never run as a page of our origin.
    assert resp.headers["Content-Disposition"] == "attachment"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]


def test_chinese_file_name(fs_app: Flask, store: FilesystemStorage) -> None:
    resp = fs_app.test_client().get(link(store, filename="招标文件（第一包）.pdf"))
    assert resp.status_code == 200
    disposition = resp.headers["Content-Disposition"]
    assert disposition.isascii()
    kind, params = parse_options_header(disposition)
    assert (kind, params["filename"]) == ("attachment", "招标文件（第一包）.pdf")


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=0-0", BODY[:1], f"bytes 0-0/{SIZE}"),
        ("bytes=-1", BODY[-1:], f"bytes {SIZE - 1}-{SIZE - 1}/{SIZE}"),
        (f"bytes={SIZE - 1}-", BODY[-1:], f"bytes {SIZE - 1}-{SIZE - 1}/{SIZE}"),
        ("bytes=100-199", BODY[100:200], f"bytes 100-199/{SIZE}"),
        ("bytes=1000-99999", BODY[1000:], f"bytes 1000-{SIZE - 1}/{SIZE}"),
    ],
)
def test_ranges(fs_app: Flask, store: FilesystemStorage, header: str, expected: bytes, content_range: str) -> None:
    resp = fs_app.test_client().get(link(store), headers={"Range": header})
    assert resp.status_code == 206
    assert resp.get_data() == expected
    assert resp.headers["Content-Range"] == content_range
    assert resp.headers["Content-Length"] == str(len(expected))


def test_range_past_the_end_is_416(fs_app: Flask, store: FilesystemStorage) -> None:
    resp = fs_app.test_client().get(link(store), headers={"Range": f"bytes={SIZE}-"})
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{SIZE}"
    assert resp.mimetype == "application/problem+json"
    assert BODY[:50] not in resp.get_data()


def test_multiple_ranges_or_stale_if_range_get_everything(fs_app: Flask, store: FilesystemStorage) -> None:
    client = fs_app.test_client()
    multi = client.get(link(store), headers={"Range": "bytes=0-1,5-6"})
    stale = client.get(link(store), headers={"Range": "bytes=0-1", "If-Range": '"not-the-etag"'})
    for resp in (multi, stale):
        assert (resp.status_code, resp.get_data()) == (200, BODY)
    fresh = client.get(link(store), headers={"Range": "bytes=0-1", "If-Range": multi.headers["ETag"]})
    assert (fresh.status_code, fresh.get_data()) == (206, BODY[:2])


def test_head_sends_headers_only(fs_app: Flask, store: FilesystemStorage) -> None:
    resp = fs_app.test_client().head(link(store))
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == str(SIZE)
    assert resp.get_data() == b""


def test_expired_link_is_403_problem(fs_app: Flask, store: FilesystemStorage, clock: clock_mod.FakeClock) -> None:
    url = link(store, expires=timedelta(minutes=10))
    client = fs_app.test_client()
    clock.advance(timedelta(minutes=9, seconds=59))
    assert client.get(url).status_code == 200
    clock.advance(timedelta(seconds=2))
    resp = client.get(url)
    assert resp.status_code == 403
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["detail"] == "The link has expired."


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: with_query(url, sig="0" * 64),
        lambda url: with_query(url, exp=str(int(dict(parse_qsl(urlsplit(url).query))["exp"]) + 3600)),
        lambda url: with_query(url, fn="other.pdf"),
        lambda url: with_query(url, exp="soon"),
        lambda url: urlsplit(url).path,  # no query at all
        lambda url: url.replace(f"/{UPLOADS}/", f"/{SEALED_BIDS}/"),
    ],
)
def test_tampered_links_are_403(fs_app: Flask, store: FilesystemStorage, tamper: object) -> None:
    store.put(SEALED_BIDS, "tender/7/招标文件.pdf", b"sealed")
    url = tamper(link(store, filename="a.pdf"))  # type: ignore[operator]
    resp = fs_app.test_client().get(url)
    assert resp.status_code == 403
    assert resp.mimetype == "application/problem+json"
    assert resp.get_data() not in {BODY, b"sealed"}


def test_deleted_object_is_404(fs_app: Flask, store: FilesystemStorage) -> None:
    url = link(store)
    store.delete(UPLOADS, "tender/7/招标文件.pdf")
    resp = fs_app.test_client().get(url)
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


def test_s3_backed_app_does_not_serve_files(tmp_path: Path) -> None:
    # Building the app must not contact S3 (port 9 is closed); the route then has nothing to serve.
    app = storage_app(tmp_path, STORAGE_URL="s3://key:secret@127.0.0.1:9/p?secure=0")
    resp = app.test_client().get("/files/documents/x?exp=1&sig=x")
    assert resp.status_code == 404


def test_download_streams_without_buffering(fs_app: Flask, store: FilesystemStorage) -> None:
    size = 32 * MiB
    store.put(UPLOADS, "big.bin", GeneratedStream(size))
    url = link(store, "big.bin")
    tracemalloc.start()
    try:
        resp = fs_app.test_client().get(url, buffered=False)
        sha = hashlib.sha256()
        for chunk in resp.iter_encoded():
            sha.update(chunk)
        resp.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.status_code == 200
    assert sha.hexdigest() == GeneratedStream.digest(size)
    assert peak < 3 * MiB, f"the download held {peak / MiB:.1f} MiB"
