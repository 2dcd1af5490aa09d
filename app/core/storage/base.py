"""The storage protocol, its value types, errors, bucket names and limits."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol

from app.core.errors import Conflict, DomainError

# Logical buckets; the S3 backend prepends the configured prefix ("platform" -> "platform-sealed-bids").
DOCUMENTS = "documents"
SEALED_BIDS = "sealed-bids"
OPENED_BIDS = "opened-bids"
RECORDINGS = "recordings"
EXPORTS = "exports"
UPLOADS = "uploads"  # chunks of uploads in progress (ciphertext only); deleted when assembled or expired
WINDOW_RECORDINGS = "window-recordings"  # convenience windows' cameras: deleted after the retention period
BUCKETS: tuple[str, ...] = (DOCUMENTS, SEALED_BIDS, OPENED_BIDS, RECORDINGS, EXPORTS, UPLOADS, WINDOW_RECORDINGS)
WRITE_ONCE: frozenset[str] = frozenset({DOCUMENTS, SEALED_BIDS, RECORDINGS})
STAGING = "staging"  # S3 only: put() bodies and assemblies (multipart uploads) land here before their copy

DEFAULT_CONTENT_TYPE = "application/octet-stream"
CHUNK_SIZE = 256 * 1024
PART_SIZE = 5 * 1024 * 1024  # the S3 minimum; one part buffer is what an upload holds in memory
MAX_OBJECT_SIZE = 5 * 1024**3  # the largest single server-side copy S3 allows; staging relies on it
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255  # a file name on common filesystems
MAX_SIGNED_TTL = timedelta(days=7)  # SigV4 presigned URLs cannot live longer
DEFAULT_RETENTION_DAYS = 3650

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][\w!#$&^.+-]*/[\w!#$&^.+-]+(?:\s*;\s*[\w!#$&^.+-]+=[^;\x00-\x1f\x7f]+)*$")
_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


class WriteOnceViolation(Conflict):
    code = "write-once"
    title = "The object is write-once"


class InvalidRange(DomainError):
    status = 416
    code = "range-not-satisfiable"
    title = "Requested range not satisfiable"


class StorageUnavailable(DomainError):
    status = 503
    code = "storage-unavailable"
    title = "Object storage is unavailable"


class StorageConfigError(ValueError):
    """STORAGE_URL is malformed; raised at start-up so a bad deployment fails loudly."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    sha256: str
    content_type: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ChunkStored:
    """One chunk appended to an assembly. The caller persists `hash_state` and `part` until the assembly completes.

    `sha256` is the chunk's own hash (to recognise a retried chunk); `hash_state` the whole object's SHA-256
    state after it (hashing.ResumableSha256); `part` the backend's receipt for the chunk ("" on the filesystem,
    "<part number>:<ETag>" on S3), handed back in order to append_chunk() and complete_assembly().
    """

    offset: int
    size: int
    sha256: str
    hash_state: str
    part: str


class ByteStream(Protocol):
    """Anything with a binary read(n): a file, a request stream, a pipe, a generator wrapper."""

    def read(self, size: int = -1, /) -> bytes: ...


class ObjectStorage(Protocol):
    """What the platform needs from an object store. Keys are '/'-separated; ranges are inclusive like HTTP."""

    def ensure_buckets(self) -> None: ...

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
        """Store the body under `key` (write-once buckets refuse an existing key) and return what was stored.

        `sha256`, when the caller knows the body's hash: nothing is stored unless the body hashes to it
        (ValidationFailed). S3 then uploads straight to the key with the hash in its metadata; so it does, after
        hashing locally, for a body that is bytes or a regular local file. Only a stream of unknown hash goes
        through the staging bucket and a server-side copy.
        """
        ...

    def put_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        sha256: str | None = None,
    ) -> ObjectInfo:
        """put() of a closed local file the caller hands over: it is gone afterwards, stored or not.

        The filesystem backend moves it into place rather than copying it when it lies on the same filesystem;
        S3 uploads it straight to its key (hashed here first when `sha256` is not given), then removes it.
        """
        ...

    def open(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> BinaryIO: ...

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> Iterator[bytes]: ...

    def stat(self, bucket: str, key: str) -> ObjectInfo: ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def signed_url(self, bucket: str, key: str, expires: timedelta, *, filename: str | None = None) -> str: ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]: ...

    # Assemblies: an object written chunk by chunk across requests (and processes), then placed once.
    # The bytes travel once: S3 uploads each chunk as a part of a multipart upload and copies the result
    # server-side; the filesystem appends to one file and links it into place. Chunks must be appended in
    # order and by one writer at a time (the caller serialises them); every chunk but the last must have at
    # least `min_chunk_size` bytes and none more than `max_chunk_size`.

    min_chunk_size: int
    max_chunk_size: int

    def begin_assembly(self) -> str: ...

    def append_chunk(
        self,
        handle: str,
        stream: ByteStream | bytes,
        *,
        offset: int,
        length: int,
        last: bool,
        hash_state: str | None,
        parts: Sequence[str],
    ) -> ChunkStored: ...

    def complete_assembly(
        self,
        handle: str,
        bucket: str,
        key: str,
        *,
        size: int,
        hash_state: str,
        parts: Sequence[str],
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo: ...

    def abort_assembly(self, handle: str) -> None: ...
