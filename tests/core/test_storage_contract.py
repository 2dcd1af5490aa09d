"""One contract for every object storage backend: the filesystem and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from werkzeug.http import parse_options_header

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.storage import (
    BUCKETS,
    EXPORTS,
    OPENED_BIDS,
    PART_SIZE,
    RECORDINGS,
    SEALED_BIDS,
    UPLOADS,
    WINDOW_RECORDINGS,
    WRITE_ONCE,
    InvalidRange,
    ObjectStorage,
    WriteOnceViolation,
)
from app.core.time import now_utc
from tests.core.conftest import Backend

MiB = 1024 * 1024
BODY = bytes(range(256)) * 4 + b"tail"  # 1028 bytes, every byte value present


class GeneratedStream:
    """An unknown-length binary stream producing `size` deterministic bytes in irregular chunks."""

    def __init__(self, size: int, chunk: int = 100_003) -> None:
        self.remaining = size
        self.chunk = min(chunk, 256 * 1024)
        self.block = hashlib.shake_256(b"platform").digest(256 * 1024)
        self.position = 0

    def read(self, n: int = -1) -> bytes:
        want = min(self.remaining, self.chunk if n is None or n < 0 else min(n, self.chunk))
        if want <= 0:
            return b""
        start = self.position % len(self.block)
        data = self.block[start : start + want]
        if len(data) < want:  # wrap around the block
            data += self.block[: want - len(data)]
        self.position += want
        self.remaining -= want
        return data

    @staticmethod
    def digest(size: int, chunk: int = 100_003) -> str:
        stream, sha = GeneratedStream(size, chunk), hashlib.sha256()
        while data := stream.read(1 << 20):
            sha.update(data)
        return sha.hexdigest()


def read_all(storage: ObjectStorage, bucket: str, key: str, **kw: int | None) -> bytes:
    return b"".join(storage.get(bucket, key, **kw))


def test_put_reports_hash_size_type_and_time(storage: ObjectStorage, ns: str) -> None:
    before = now_utc() - timedelta(seconds=2)  # S3 Last-Modified has whole seconds
    info = storage.put(UPLOADS, f"{ns}/招标文件.pdf", BODY, content_type="application/pdf")
    assert (info.bucket, info.key, info.size) == (UPLOADS, f"{ns}/招标文件.pdf", len(BODY))
    assert info.sha256 == hashlib.sha256(BODY).hexdigest()
    assert info.content_type == "application/pdf"
    assert info.created_at.tzinfo is not None
    assert before <= info.created_at <= now_utc() + timedelta(seconds=2)
    assert storage.stat(UPLOADS, f"{ns}/招标文件.pdf") == info
    assert storage.exists(UPLOADS, f"{ns}/招标文件.pdf")


def test_get_and_open_return_the_bytes(storage: ObjectStorage, ns: str) -> None:
    storage.put(UPLOADS, f"{ns}/a.bin", io.BytesIO(BODY))
    assert read_all(storage, UPLOADS, f"{ns}/a.bin") == BODY
    with storage.open(UPLOADS, f"{ns}/a.bin") as fh:
        assert fh.read(10) == BODY[:10]
        assert fh.read() == BODY[10:]
        assert fh.read() == b""


def test_unknown_length_stream_in_irregular_chunks(storage: ObjectStorage, ns: str) -> None:
    size = 3 * MiB + 7
    info = storage.put(EXPORTS, f"{ns}/gen", GeneratedStream(size, chunk=7919))
    assert info.size == size
    assert info.sha256 == GeneratedStream.digest(size, chunk=7919)
    assert hashlib.sha256(read_all(storage, EXPORTS, f"{ns}/gen")).hexdigest() == info.sha256


@pytest.mark.parametrize("announced", [len(BODY) - 1, len(BODY) + 1])
def test_announced_length_must_match(storage: ObjectStorage, ns: str, announced: int) -> None:
    with pytest.raises(ValidationFailed):
        storage.put(UPLOADS, f"{ns}/short", io.BytesIO(BODY), length=announced)
    assert not storage.exists(UPLOADS, f"{ns}/short")
    assert storage.put(UPLOADS, f"{ns}/exact", io.BytesIO(BODY), length=len(BODY)).size == len(BODY)


def test_put_with_the_sha256_given_stores_the_body(storage: ObjectStorage, ns: str) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    info = storage.put(SEALED_BIDS, f"{ns}/known", io.BytesIO(BODY), sha256=sha.upper(), content_type="text/plain")
    assert (info.size, info.sha256, info.content_type) == (len(BODY), sha, "text/plain")
    assert storage.stat(SEALED_BIDS, f"{ns}/known") == info
    assert read_all(storage, SEALED_BIDS, f"{ns}/known") == BODY


@pytest.mark.parametrize("bucket", [OPENED_BIDS, SEALED_BIDS])
@pytest.mark.parametrize("size", [len(BODY), PART_SIZE + 12_345])  # on S3: one PUT, then a multipart upload
def test_a_body_not_hashing_to_the_sha256_given_stores_nothing(
    storage: ObjectStorage, ns: str, bucket: str, size: int
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        storage.put(bucket, f"{ns}/wrong", GeneratedStream(size), sha256=hashlib.sha256(b"other").hexdigest())
    assert caught.value.extra["errors"] == {"sha256": ["differs"]}
    assert not storage.exists(bucket, f"{ns}/wrong")
    assert list(storage.list(bucket, prefix=f"{ns}/")) == []
    # Nothing half-written holds the key, not even in a write-once bucket: the right body is stored there.
    info = storage.put(bucket, f"{ns}/wrong", GeneratedStream(size), sha256=GeneratedStream.digest(size))
    assert (info.size, info.sha256) == (size, GeneratedStream.digest(size))


def test_a_malformed_sha256_is_refused(storage: ObjectStorage, ns: str) -> None:
    good = hashlib.sha256(BODY).hexdigest()
    for bad in ("", good[:-1], "g" + good[1:], good + "\n", good + "0"):
        with pytest.raises(ValidationFailed):
            storage.put(UPLOADS, f"{ns}/x", BODY, sha256=bad)
    assert not storage.exists(UPLOADS, f"{ns}/x")


@pytest.mark.parametrize("size", [len(BODY), 2 * PART_SIZE + 3])
def test_a_local_file_is_stored_from_where_it_stands(
    storage: ObjectStorage, ns: str, tmp_path: Path, size: int
) -> None:
    body = os.urandom(size)
    path = tmp_path / "body"
    path.write_bytes(b"skipped" + body)
    with open(path, "rb") as fh:
        fh.seek(7)
        info = storage.put(EXPORTS, f"{ns}/file", fh, length=size)
        assert fh.read() == b""  # read to its end, as any stream
    assert (info.size, info.sha256) == (size, hashlib.sha256(body).hexdigest())
    assert read_all(storage, EXPORTS, f"{ns}/file") == body
    with open(path, "rb") as fh, pytest.raises(ValidationFailed):
        storage.put(EXPORTS, f"{ns}/short", fh, length=size)  # 7 bytes more than announced
    assert not storage.exists(EXPORTS, f"{ns}/short")


@pytest.mark.parametrize("bucket", [OPENED_BIDS, SEALED_BIDS])
def test_put_file_stores_a_file_handed_over_and_removes_it(
    backend: Backend, ns: str, tmp_path: Path, bucket: str
) -> None:
    storage, body = backend.storage, os.urandom(PART_SIZE + 3)
    path = tmp_path / "spooled"
    path.write_bytes(body)
    inode = path.stat().st_ino
    info = storage.put_file(bucket, f"{ns}/f", path, content_type="application/x-tar")
    assert (info.size, info.sha256, info.content_type) == (
        len(body),
        hashlib.sha256(body).hexdigest(),
        "application/x-tar",
    )
    assert not path.exists()
    if backend.name == "fs":  # moved into place, not written a second time
        assert os.stat(backend.storage.data_path(bucket, f"{ns}/f")).st_ino == inode  # type: ignore[attr-defined]
    path.write_bytes(b"a new file under the old name")  # reaches no stored object
    assert storage.stat(bucket, f"{ns}/f") == info
    assert read_all(storage, bucket, f"{ns}/f") == body


def test_put_file_checks_the_sha256_and_refuses_an_existing_write_once_key(
    backend: Backend, ns: str, tmp_path: Path
) -> None:
    storage = backend.storage
    path = tmp_path / "spooled"
    path.write_bytes(BODY)
    with pytest.raises(ValidationFailed):
        storage.put_file(SEALED_BIDS, f"{ns}/f", path, sha256=hashlib.sha256(b"other").hexdigest())
    assert not storage.exists(SEALED_BIDS, f"{ns}/f")
    assert not path.exists()  # gone, stored or not
    path.write_bytes(BODY)
    original = storage.put_file(SEALED_BIDS, f"{ns}/f", path, sha256=hashlib.sha256(BODY).hexdigest())
    path.write_bytes(b"another body")
    with pytest.raises(WriteOnceViolation):
        storage.put_file(SEALED_BIDS, f"{ns}/f", path)
    assert not path.exists()
    assert storage.stat(SEALED_BIDS, f"{ns}/f") == original
    assert read_all(storage, SEALED_BIDS, f"{ns}/f") == BODY
    if backend.name == "fs":
        assert list((backend.storage.root / ".tmp").iterdir()) == []  # type: ignore[attr-defined]


def test_put_file_from_another_filesystem_is_copied(
    backend: Backend, ns: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cross_device(src: object, dst: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr("app.core.storage.filesystem.os.rename", cross_device)  # S3 never moves; fs falls back
    path = tmp_path / "elsewhere"
    path.write_bytes(BODY)
    inode = path.stat().st_ino
    info = backend.storage.put_file(UPLOADS, f"{ns}/f", path, sha256=hashlib.sha256(BODY).hexdigest())
    assert info.size == len(BODY)
    assert not path.exists()
    if backend.name == "fs":
        assert os.stat(backend.storage.data_path(UPLOADS, f"{ns}/f")).st_ino != inode  # type: ignore[attr-defined]
    assert read_all(backend.storage, UPLOADS, f"{ns}/f") == BODY


def test_size_limit_refuses_and_stores_nothing(backend: Backend, ns: str) -> None:
    storage = backend.storage
    storage.max_object_size = 1000  # type: ignore[attr-defined]  # both backends honour the attribute
    with pytest.raises(ValidationFailed):
        storage.put(UPLOADS, f"{ns}/big", GeneratedStream(1001))
    with pytest.raises(ValidationFailed):
        storage.put(UPLOADS, f"{ns}/big", b"x", length=1001)
    assert not storage.exists(UPLOADS, f"{ns}/big")
    assert storage.put(UPLOADS, f"{ns}/fits", GeneratedStream(1000)).size == 1000


def test_size_limit_holds_for_local_files_too(backend: Backend, ns: str, tmp_path: Path) -> None:
    """A local file is hashed before its upload (S3) or moved and hashed (folder): the limit is checked there too."""
    storage = backend.storage
    storage.max_object_size = 1000  # type: ignore[attr-defined]
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1001)
    with open(big, "rb") as fh, pytest.raises(ValidationFailed):
        storage.put(UPLOADS, f"{ns}/big-open", fh)
    with pytest.raises(ValidationFailed):
        storage.put_file(UPLOADS, f"{ns}/big-handed", big)
    assert not big.exists()  # handed over: gone, stored or not
    assert not storage.exists(UPLOADS, f"{ns}/big-open") and not storage.exists(UPLOADS, f"{ns}/big-handed")


def test_text_stream_is_refused(storage: ObjectStorage, ns: str) -> None:
    with pytest.raises(ValidationFailed):
        storage.put(UPLOADS, f"{ns}/text", io.StringIO("not bytes"))  # type: ignore[arg-type]
    assert not storage.exists(UPLOADS, f"{ns}/text")


def test_empty_object(storage: ObjectStorage, ns: str) -> None:
    info = storage.put(RECORDINGS, f"{ns}/empty", io.BytesIO(b""))
    assert info.size == 0
    assert info.sha256 == hashlib.sha256(b"").hexdigest()
    assert list(storage.get(RECORDINGS, f"{ns}/empty")) == []
    with storage.open(RECORDINGS, f"{ns}/empty") as fh:
        assert fh.read() == b""
    with pytest.raises(InvalidRange):
        storage.open(RECORDINGS, f"{ns}/empty", start=0)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, 0, BODY[:1]),  # first byte
        (len(BODY) - 1, len(BODY) - 1, BODY[-1:]),  # last byte
        (10, 19, BODY[10:20]),  # middle
        (1000, None, BODY[1000:]),  # open end
        (None, 9, BODY[:10]),  # start defaults to the first byte
        (1020, 10**9, BODY[1020:]),  # an end past the object is clamped, as in HTTP
    ],
)
def test_byte_ranges_are_inclusive(
    storage: ObjectStorage, ns: str, start: int | None, end: int | None, expected: bytes
) -> None:
    storage.put(UPLOADS, f"{ns}/r", BODY)
    assert read_all(storage, UPLOADS, f"{ns}/r", start=start, end=end) == expected
    with storage.open(UPLOADS, f"{ns}/r", start=start, end=end) as fh:
        assert fh.read() == expected


@pytest.mark.parametrize(("start", "end"), [(len(BODY), None), (len(BODY) + 5, len(BODY) + 9), (20, 10)])
def test_unsatisfiable_ranges(storage: ObjectStorage, ns: str, start: int, end: int | None) -> None:
    storage.put(UPLOADS, f"{ns}/r", BODY)
    with pytest.raises(InvalidRange):
        read_all(storage, UPLOADS, f"{ns}/r", start=start, end=end)


def test_negative_positions_are_invalid(storage: ObjectStorage, ns: str) -> None:
    storage.put(UPLOADS, f"{ns}/r", BODY)
    with pytest.raises(ValidationFailed):
        storage.open(UPLOADS, f"{ns}/r", start=-1)


def test_missing_objects(storage: ObjectStorage, ns: str) -> None:
    for call in (storage.stat, storage.open, storage.get):
        with pytest.raises(NotFound):
            call(UPLOADS, f"{ns}/nothing")
    assert not storage.exists(UPLOADS, f"{ns}/nothing")
    storage.delete(UPLOADS, f"{ns}/nothing")  # idempotent: a retried cleanup task must not fail


def test_overwrite_and_delete_in_ordinary_buckets(storage: ObjectStorage, ns: str) -> None:
    assert set(BUCKETS) - WRITE_ONCE == {UPLOADS, OPENED_BIDS, EXPORTS, WINDOW_RECORDINGS}
    for bucket in (UPLOADS, OPENED_BIDS, EXPORTS, WINDOW_RECORDINGS):
        storage.put(bucket, f"{ns}/x", b"first", content_type="text/plain")
        info = storage.put(bucket, f"{ns}/x", b"second version", content_type="text/csv")
        assert (info.size, info.content_type) == (14, "text/csv")
        assert storage.stat(bucket, f"{ns}/x").sha256 == hashlib.sha256(b"second version").hexdigest()
        assert read_all(storage, bucket, f"{ns}/x") == b"second version"
        storage.delete(bucket, f"{ns}/x")
        assert not storage.exists(bucket, f"{ns}/x")
        assert list(storage.list(bucket, prefix=ns)) == []


def test_tendering_recordings_are_write_once_and_windows_are_not() -> None:
    # The retention sweep deletes window recordings; sealed tendering recordings must stay beyond its reach.
    assert {SEALED_BIDS, RECORDINGS} <= WRITE_ONCE
    assert WINDOW_RECORDINGS in BUCKETS and WINDOW_RECORDINGS not in WRITE_ONCE


@pytest.mark.parametrize("bucket", sorted(WRITE_ONCE))
def test_write_once_buckets_refuse_overwrite_and_delete(storage: ObjectStorage, ns: str, bucket: str) -> None:
    original = storage.put(bucket, f"{ns}/bid.age", b"sealed envelope")
    with pytest.raises(WriteOnceViolation) as caught:
        storage.put(bucket, f"{ns}/bid.age", b"a replacement")
    assert isinstance(caught.value, Conflict)
    assert caught.value.status == 409
    with pytest.raises(WriteOnceViolation):
        storage.delete(bucket, f"{ns}/bid.age")
    assert storage.stat(bucket, f"{ns}/bid.age") == original
    assert read_all(storage, bucket, f"{ns}/bid.age") == b"sealed envelope"


@pytest.mark.parametrize("form", ["bytes", "stream", "file", "sha256"])
def test_write_once_refuses_an_existing_key_whatever_the_body(
    storage: ObjectStorage, ns: str, tmp_path: Path, form: str
) -> None:
    original = storage.put(SEALED_BIDS, f"{ns}/bid.age", b"sealed envelope")
    path = tmp_path / "replacement"
    path.write_bytes(b"a replacement")
    with open(path, "rb") as fh:
        body: Any = {
            "bytes": b"a replacement",
            "stream": GeneratedStream(13),
            "file": fh,
            "sha256": io.BytesIO(b"a replacement"),
        }[form]
        sha = hashlib.sha256(b"a replacement").hexdigest() if form == "sha256" else None
        with pytest.raises(WriteOnceViolation):
            storage.put(SEALED_BIDS, f"{ns}/bid.age", body, sha256=sha)
    assert storage.stat(SEALED_BIDS, f"{ns}/bid.age") == original
    assert read_all(storage, SEALED_BIDS, f"{ns}/bid.age") == b"sealed envelope"


def test_write_once_race_has_exactly_one_winner(storage: ObjectStorage, ns: str) -> None:
    results: dict[int, str] = {}
    barrier = threading.Barrier(6)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            storage.put(SEALED_BIDS, f"{ns}/race", f"bidder {i}".encode())
            results[i] = "stored"
        except WriteOnceViolation:
            results[i] = "refused"

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    winners = [i for i, outcome in results.items() if outcome == "stored"]
    assert len(results) == 6
    assert len(winners) == 1
    assert read_all(storage, SEALED_BIDS, f"{ns}/race") == f"bidder {winners[0]}".encode()


def test_list_by_prefix_sorted_with_metadata(storage: ObjectStorage, ns: str) -> None:
    keys = ["b", "a/2", "a/10", "a-1", "a/1/x", "z/文件.pdf"]
    for key in keys:
        storage.put(UPLOADS, f"{ns}/{key}", key.encode(), content_type="text/plain")
    storage.put(UPLOADS, f"{ns}x/other", b"outside the prefix")
    listed = list(storage.list(UPLOADS, prefix=f"{ns}/"))
    assert [i.key for i in listed] == sorted(f"{ns}/{k}" for k in keys)  # sidecars and temp files stay hidden
    for info in listed:
        body = info.key.split("/", 1)[1].encode()
        assert (info.size, info.sha256, info.content_type) == (
            len(body),
            hashlib.sha256(body).hexdigest(),
            "text/plain",
        )
    assert [i.key for i in storage.list(UPLOADS, prefix=f"{ns}/a/")] == [f"{ns}/a/1/x", f"{ns}/a/10", f"{ns}/a/2"]
    assert [i.key for i in storage.list(UPLOADS, prefix=f"{ns}/a")] == [
        f"{ns}/a-1",
        f"{ns}/a/1/x",
        f"{ns}/a/10",
        f"{ns}/a/2",
    ]
    assert list(storage.list(UPLOADS, prefix=f"{ns}/q")) == []
    assert list(storage.list(EXPORTS, prefix=f"{ns}/")) == []


def test_every_bucket_is_usable(storage: ObjectStorage, ns: str) -> None:
    storage.ensure_buckets()
    storage.ensure_buckets()  # idempotent
    for bucket in BUCKETS:
        assert storage.put(bucket, f"{ns}/probe", bucket.encode()).bucket == bucket
        assert read_all(storage, bucket, f"{ns}/probe") == bucket.encode()


@pytest.mark.slow
def test_big_object_keeps_memory_flat(backend: Backend, ns: str) -> None:
    storage, size = backend.storage, 64 * MiB
    # S3 needs one whole part (its 5 MiB minimum) in a buffer; nothing else may grow with the object.
    bound = 2 * MiB if backend.name == "fs" else PART_SIZE + 2 * MiB
    tracemalloc.start()
    try:
        info = storage.put(RECORDINGS, f"{ns}/big", GeneratedStream(size))
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sha = hashlib.sha256()
        for chunk in storage.get(RECORDINGS, f"{ns}/big"):
            sha.update(chunk)
        _, get_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.size == size
    assert info.sha256 == sha.hexdigest() == GeneratedStream.digest(size)
    assert put_peak < bound, f"put held {put_peak / MiB:.1f} MiB"
    assert get_peak < 2 * MiB, f"get held {get_peak / MiB:.1f} MiB"


def test_signed_url_downloads_with_the_chinese_file_name(backend: Backend, ns: str) -> None:
    storage = backend.storage
    storage.put(OPENED_BIDS, f"{ns}/开标记录.pdf", BODY, content_type="application/pdf")
    url = storage.signed_url(OPENED_BIDS, f"{ns}/开标记录.pdf", timedelta(minutes=5), filename="开标记录 (第1包).pdf")
    status, headers, body = backend.fetch(url)
    assert status == 200
    assert body == BODY
    disposition = {k.lower(): v for k, v in headers.items()}["content-disposition"]
    assert "filename*=UTF-8''" + quote("开标记录 (第1包).pdf", safe="") in disposition
    kind, params = parse_options_header(disposition)
    assert (kind, params["filename"]) == ("attachment", "开标记录 (第1包).pdf")


def test_signed_url_expires(backend: Backend, ns: str) -> None:
    storage = backend.storage
    storage.put(UPLOADS, f"{ns}/doc", BODY)
    url = storage.signed_url(UPLOADS, f"{ns}/doc", timedelta(seconds=1))
    assert backend.fetch(url)[0] == 200
    time.sleep(2.5)
    status, _, body = backend.fetch(url)
    assert status == 403
    assert BODY not in body


def test_signed_url_is_bound_to_its_object(backend: Backend, ns: str) -> None:
    storage = backend.storage
    storage.put(UPLOADS, f"{ns}/mine", b"mine")
    storage.put(UPLOADS, f"{ns}/yours", b"yours")
    url = storage.signed_url(UPLOADS, f"{ns}/mine", timedelta(minutes=5))
    parts = urlsplit(url)
    forged = urlunsplit(parts._replace(path=parts.path.replace("/mine", "/yours")))
    status, _, body = backend.fetch(forged)
    assert status == 403
    assert body != b"yours"


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "a/../../b",
        "/absolute",
        "a//b",
        "a/./b",
        "trailing/",
        "nul\x00byte",
        "line\nbreak",
        "back\\slash",
        "x" * 1025,
        "seg/" + "y" * 256,
        "",
        "lone\udc80surrogate",
    ],
)
def test_hostile_keys_are_refused(storage: ObjectStorage, key: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: storage.put(UPLOADS, key, b"x"),
        lambda: storage.stat(UPLOADS, key),
        lambda: storage.open(UPLOADS, key),
        lambda: storage.exists(UPLOADS, key),
        lambda: storage.delete(UPLOADS, key),
        lambda: storage.signed_url(UPLOADS, key, timedelta(minutes=1)),
    ]
    for call in calls:
        with pytest.raises(ValidationFailed):
            call()


@pytest.mark.parametrize("prefix", ["../", "/abs", "a/../", "nul\x00"])
def test_hostile_list_prefixes_are_refused(storage: ObjectStorage, prefix: str) -> None:
    with pytest.raises(ValidationFailed):
        list(storage.list(UPLOADS, prefix=prefix))


def test_unknown_bucket_and_bad_arguments(storage: ObjectStorage, ns: str) -> None:
    with pytest.raises(ValidationFailed):
        storage.put("../secrets", f"{ns}/x", b"x")
    with pytest.raises(ValidationFailed):
        storage.put(UPLOADS, f"{ns}/x", b"x", content_type="text/html\r\nSet-Cookie: a=b")
    storage.put(UPLOADS, f"{ns}/x", b"x")
    with pytest.raises(ValidationFailed):
        storage.signed_url(UPLOADS, f"{ns}/x", timedelta(days=8))
    with pytest.raises(ValidationFailed):
        storage.signed_url(UPLOADS, f"{ns}/x", timedelta(minutes=1), filename="../evil\r\n.pdf")
