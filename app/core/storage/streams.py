"""Stream plumbing shared by both backends: bounded readers, chunk iterators, hashing, the common base class."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, cast

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.problems import N_
from app.core.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    MAX_OBJECT_SIZE,
    ByteStream,
    ObjectInfo,
    StorageUnavailable,
    WriteOnceViolation,
)
from app.core.storage.hashing import ResumableSha256


def _as_stream(stream: ByteStream | bytes | bytearray) -> ByteStream:
    if isinstance(stream, bytes | bytearray | memoryview):
        return io.BytesIO(stream)
    if not callable(getattr(stream, "read", None)):
        raise ValidationFailed(N_("The object body must be bytes or a binary stream."))
    return stream


class CappedStream:
    """A stream that raises `too_large` once more than `limit` bytes have been read from it.

    For uploads whose own limit is below the storage's maximum (which put() enforces by itself).
    """

    def __init__(self, stream: ByteStream, limit: int, too_large: Exception) -> None:
        self._stream = stream
        self._left = limit
        self._too_large = too_large

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._left -= len(data)
        if self._left < 0:
            raise self._too_large
        return data


class _LimitedReader(io.RawIOBase):
    """Reads at most `remaining` bytes from `raw`, translating transport errors; closes `raw` on close."""

    def __init__(
        self,
        raw: Any,
        remaining: int | None,
        *,
        on_close: Callable[[], None] | None = None,
        translate: Callable[[Exception], Exception | None] | None = None,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._remaining = remaining
        self._on_close = on_close
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        want = len(buffer) if self._remaining is None else min(len(buffer), self._remaining)
        if want == 0:
            return 0
        try:
            data = self._raw.read(want)
        except Exception as exc:
            mapped = self._translate(exc) if self._translate else None
            if mapped is None:
                raise
            raise mapped from exc
        if not data and self._remaining:
            # A server that ends the body early must not look like a short object.
            raise StorageUnavailable(N_("The object stream ended before its announced length."))
        n = len(data)
        buffer[:n] = data
        if self._remaining is not None:
            self._remaining -= n
        return n

    def close(self) -> None:
        if not self.closed:
            try:
                if self._on_close:
                    self._on_close()
                else:
                    self._raw.close()
            finally:
                super().close()


def _reader(raw: Any, remaining: int | None, **kwargs: Any) -> BinaryIO:
    # typeshed does not call BufferedReader a BinaryIO, though it is one.
    return cast(BinaryIO, io.BufferedReader(_LimitedReader(raw, remaining, **kwargs), CHUNK_SIZE))


def _chunks(reader: BinaryIO) -> Iterator[bytes]:
    with reader:
        while chunk := reader.read(CHUNK_SIZE):
            yield chunk


def _bounded_chunks(source: Any, limit: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes | bytearray | memoryview]:
    """A body's chunks as it is read, refused as soon as it is not binary or has more than `limit` bytes."""
    size = 0
    while chunk := source.read(chunk_size):
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise ValidationFailed(N_("The object body must be a binary stream."))
        size += len(chunk)
        if size > limit:
            raise ValidationFailed(N_("An object may have at most %(limit)s bytes."), params={"limit": limit})
        yield chunk


def _hash_bounded(source: Any, limit: int, chunk_size: int = CHUNK_SIZE) -> tuple[str, int]:
    """SHA-256 and size of the rest of `source`, read through _bounded_chunks."""
    digest, size = hashlib.sha256(), 0
    for chunk in _bounded_chunks(source, limit, chunk_size):
        size += len(chunk)
        digest.update(chunk)
    return digest.hexdigest(), size


def _hash_stream(reader: BinaryIO) -> str:
    digest = hashlib.sha256()
    with reader:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class _BaseStorage:
    """Operations both backends derive the same way from open() and stat()."""

    max_object_size: int = MAX_OBJECT_SIZE
    min_chunk_size: int = 1
    max_chunk_size: int = 64 * 1024 * 1024

    def open(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> BinaryIO:
        raise NotImplementedError

    def put(
        self,
        bucket: str,
        key: str,
        stream: ByteStream | bytes,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
        sha256: str | None = None,
    ) -> ObjectInfo:
        raise NotImplementedError

    def put_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        sha256: str | None = None,
    ) -> ObjectInfo:
        try:
            with open(path, "rb") as fh:
                return self.put(bucket, key, fh, content_type=content_type, sha256=sha256)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        raise NotImplementedError

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        # Opened here rather than in the generator so that NotFound surfaces at the call, not the first chunk.
        return _chunks(self.open(bucket, key, start=start, end=end))

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except NotFound:
            return False
        return True

    def _placed_already(self, bucket: str, key: str, size: int, sha256: str) -> ObjectInfo:
        """The object an earlier completion of an assembly placed, which must hold the assembled bytes."""
        try:
            info = self.stat(bucket, key)
        except NotFound:
            raise StorageUnavailable(N_("The assembly is gone and no object holds its bytes.")) from None
        if (info.size, info.sha256) != (size, sha256):
            raise WriteOnceViolation(N_("A different object is already stored under this key."))
        return info

    def _check_length(self, length: int | None) -> None:
        if length is not None and not 0 <= length <= self.max_object_size:
            raise ValidationFailed(
                N_("An object may have at most %(limit)s bytes."), params={"limit": self.max_object_size}
            )

    def _check_chunk(self, offset: int, length: int, last: bool) -> None:
        if offset < 0 or length < 1 or offset + length > self.max_object_size:
            raise ValidationFailed(
                N_("An object may have at most %(limit)s bytes."), params={"limit": self.max_object_size}
            )
        if length > self.max_chunk_size:
            raise ValidationFailed(
                N_("A chunk may have at most %(limit)s bytes."), params={"limit": self.max_chunk_size}
            )
        if not last and length < self.min_chunk_size:
            raise ValidationFailed(
                N_("Every chunk but the last must have at least %(smallest)s bytes."),
                params={"smallest": self.min_chunk_size},
            )


def _check_body(size: int, sha256: str, *, length: int | None, expected: str | None) -> None:
    """The body read must have the announced length and, when one was given, the expected SHA-256."""
    if length is not None and size != length:
        raise ValidationFailed(
            N_("The body has %(size)s bytes, %(length)s were announced."), params={"size": size, "length": length}
        )
    if expected is not None and sha256 != expected:
        raise ValidationFailed(
            N_("The body does not hash to the SHA-256 given for it."), errors={"sha256": ["differs"]}
        )


def _resume_hash(hash_state: str | None, offset: int) -> ResumableSha256:
    """The assembly's running SHA-256, which must have taken exactly `offset` bytes (else a Conflict)."""
    hasher = ResumableSha256.restore(hash_state)
    if hasher.size != offset:
        raise Conflict(
            N_("The assembly holds %(size)s bytes, not %(offset)s."), params={"size": hasher.size, "offset": offset}
        )
    return hasher


def _assembled_sha256(hash_state: str, size: int) -> str:
    """The SHA-256 of a finished assembly, whose running hash must have taken exactly `size` bytes."""
    hasher = ResumableSha256.restore(hash_state)
    if hasher.size != size:
        raise ValidationFailed(
            N_("%(size)s of %(size2)s bytes were appended."), params={"size": hasher.size, "size2": size}
        )
    return hasher.hexdigest()


def _read_chunk(
    source: ByteStream,
    length: int,
    hasher: ResumableSha256,
    into: memoryview | None,
    write: Callable[[bytes], object] | None,
) -> str:
    """Read exactly `length` bytes from `source` into `into` (or through `write`), updating `hasher`.

    Returns the chunk's own SHA-256. A stream shorter or longer than announced is a ValidationFailed.
    """
    own, filled = hashlib.sha256(), 0
    while filled < length:
        data = source.read(min(CHUNK_SIZE, length - filled))
        if not data:
            break
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationFailed(N_("The object body must be a binary stream."))
        if len(data) > length - filled:
            raise ValidationFailed(
                N_("The body has more than the %(length)s bytes announced."), params={"length": length}
            )
        own.update(data)
        hasher.update(data)
        if into is not None:
            into[filled : filled + len(data)] = data
        if write is not None:
            write(data)
        filled += len(data)
    if filled != length or source.read(1):
        raise ValidationFailed(N_("The body does not have the %(length)s bytes announced."), params={"length": length})
    return own.hexdigest()
