"""Object storage: one protocol, a filesystem and an S3 (MinIO SDK) backend, chosen by STORAGE_URL."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import os
import re
import stat as stat_mod
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import certifi
import urllib3
from flask import Flask, current_app
from minio import Minio
from minio.commonconfig import COMPLIANCE, CopySource
from minio.datatypes import Part
from minio.error import MinioException, S3Error
from minio.helpers import DictType
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.retention import Retention

from app.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from app.core.time import SystemClock, now_utc

log = logging.getLogger(__name__)

# Logical buckets; the S3 backend prepends the configured prefix ("platform" -> "platform-sealed-bids").
DOCUMENTS = "documents"
SEALED_BIDS = "sealed-bids"
OPENED_BIDS = "opened-bids"
RECORDINGS = "recordings"
EXPORTS = "exports"
UPLOADS = "uploads"  # chunks of uploads in progress (ciphertext only); deleted when assembled or expired
BUCKETS: tuple[str, ...] = (DOCUMENTS, SEALED_BIDS, OPENED_BIDS, RECORDINGS, EXPORTS, UPLOADS)
WRITE_ONCE: frozenset[str] = frozenset({DOCUMENTS, SEALED_BIDS, RECORDINGS})
STAGING = "staging"  # S3 only: uploads land here while their hash is computed

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
    ) -> ObjectInfo: ...

    def open(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> BinaryIO: ...

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> Iterator[bytes]: ...

    def stat(self, bucket: str, key: str) -> ObjectInfo: ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def signed_url(self, bucket: str, key: str, expires: timedelta, *, filename: str | None = None) -> str: ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]: ...


# --- validation shared by both backends --------------------------------------------------------------


def validate_bucket(bucket: str) -> str:
    if bucket not in BUCKETS:
        raise ValidationFailed(f"Unknown bucket {bucket!r}.", errors={"bucket": ["unknown"]})
    return bucket


def validate_key(key: str) -> str:
    """Refuse keys that could escape a folder or confuse a server: '..', absolute, NUL, control, overlong."""
    if not isinstance(key, str) or not key:
        raise ValidationFailed("An object key must be a non-empty string.", errors={"key": ["empty"]})
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationFailed("An object key must be valid Unicode.", errors={"key": ["encoding"]}) from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise ValidationFailed(f"An object key may have at most {MAX_KEY_BYTES} bytes.", errors={"key": ["long"]})
    if _CONTROL.search(key) or "\\" in key:
        raise ValidationFailed("An object key may not contain control characters or '\\'.", errors={"key": ["chars"]})
    if key.startswith("/"):
        raise ValidationFailed("An object key may not be absolute.", errors={"key": ["absolute"]})
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise ValidationFailed("An object key may not contain '', '.' or '..' segments.", errors={"key": ["path"]})
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise ValidationFailed("An object key segment is too long.", errors={"key": ["long"]})
    return key


def validate_prefix(prefix: str) -> str:
    if prefix:
        validate_key(prefix + "x")  # a prefix is a key cut short: the same rules, but it may end in '/'
    return prefix


def validate_content_type(content_type: str) -> str:
    if len(content_type) > 255 or not _CONTENT_TYPE.match(content_type):
        raise ValidationFailed("The content type is not valid.", errors={"content_type": ["invalid"]})
    return content_type


def validate_filename(filename: str) -> str:
    if not filename or _CONTROL.search(filename) or "/" in filename or "\\" in filename:
        raise ValidationFailed("A download file name may not be empty or hold '/', '\\' or control characters.")
    if len(filename.encode("utf-8")) > MAX_SEGMENT_BYTES:
        raise ValidationFailed("A download file name is too long.")
    return filename


def validate_ttl(expires: timedelta) -> timedelta:
    if not timedelta(seconds=1) <= expires <= MAX_SIGNED_TTL:
        raise ValidationFailed("A signed link must live between one second and seven days.")
    return expires


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / RFC 5987) for Chinese names."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _resolve_range(size: int, start: int | None, end: int | None) -> tuple[int, int]:
    """(offset, length) for an inclusive byte range; the end is clamped to the object like HTTP does."""
    _check_range_args(start, end)
    if start is None and end is None:
        return 0, size
    first = start or 0
    if first >= size:
        raise InvalidRange(f"The range starts at byte {first} but the object has {size} bytes.")
    last = size - 1 if end is None else min(end, size - 1)
    return first, last - first + 1


def _check_range_args(start: int | None, end: int | None) -> None:
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise ValidationFailed("Byte positions may not be negative.")
    if end is not None and end < (start or 0):
        raise InvalidRange("The range ends before it starts.")


def _as_stream(stream: ByteStream | bytes | bytearray) -> ByteStream:
    if isinstance(stream, bytes | bytearray | memoryview):
        return io.BytesIO(stream)
    if not callable(getattr(stream, "read", None)):
        raise ValidationFailed("The object body must be bytes or a binary stream.")
    return stream


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
            raise StorageUnavailable("The object stream ended before its announced length.")
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


def _hash_stream(reader: BinaryIO) -> str:
    digest = hashlib.sha256()
    with reader:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class _BaseStorage:
    """Operations both backends derive the same way from open() and stat()."""

    max_object_size: int = MAX_OBJECT_SIZE

    def open(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> BinaryIO:
        raise NotImplementedError

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

    def _check_length(self, length: int | None) -> None:
        if length is not None and not 0 <= length <= self.max_object_size:
            raise ValidationFailed(f"An object may have at most {self.max_object_size} bytes.")


# --- filesystem backend ------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    # Makes a rename or link durable; some platforms cannot open folders, which is harmless to skip.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FilesystemStorage(_BaseStorage):
    """Objects as files under `root/<bucket>/<key>`, metadata in `root/.meta/<bucket>/<key>.json`.

    Writes go to `root/.tmp`, are fsynced, then renamed into place (or hard-linked for write-once buckets,
    which makes "no overwrite" atomic). The sidecar records the data file's inode, so a sidecar left stale
    by a crash or a concurrent overwrite is detected and the hash recomputed from the data.
    """

    def __init__(
        self,
        root: Path,
        *,
        secret: str | bytes,
        url_prefix: str = "/files",
        max_object_size: int = MAX_OBJECT_SIZE,
    ) -> None:
        self.root = Path(root)
        raw = secret.encode() if isinstance(secret, str) else secret
        if not raw:
            raise StorageConfigError("The filesystem storage needs a secret to sign links.")
        # Derived key: a signed link can never double as a session signature made with SECRET_KEY.
        self._key = hmac.new(raw, b"platform.storage.signed-url.v1", hashlib.sha256).digest()
        self.url_prefix = url_prefix.rstrip("/")
        self.max_object_size = max_object_size
        self._tmp = self.root / ".tmp"
        self._meta = self.root / ".meta"

    def __repr__(self) -> str:
        return f"FilesystemStorage({str(self.root)!r})"

    def ensure_buckets(self) -> None:
        for name in BUCKETS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
            (self._meta / name).mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        # Temp files older than a day are leftovers of crashed writers, never of live ones.
        cutoff = time.time() - 86400
        for entry in os.scandir(self._tmp):
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    def data_path(self, bucket: str, key: str) -> Path:
        path = self.root / validate_bucket(bucket) / validate_key(key)
        # Defence in depth: validate_key already forbids '..' and absolute keys.
        if not os.path.normpath(path).startswith(os.path.normpath(self.root / bucket) + os.sep):
            raise ValidationFailed("The object key escapes its bucket.")
        return path

    def _meta_path(self, bucket: str, key: str) -> Path:
        return self._meta / bucket / f"{key}.json"

    def put(
        self,
        bucket: str,
        key: str,
        stream: ByteStream | bytes,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        dest = self.data_path(bucket, key)
        validate_content_type(content_type)
        self._check_length(length)
        source = _as_stream(stream)
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK_SIZE):
                    if not isinstance(chunk, bytes | bytearray | memoryview):
                        raise ValidationFailed("The object body must be a binary stream.")
                    size += len(chunk)
                    if size > self.max_object_size:
                        raise ValidationFailed(f"An object may have at most {self.max_object_size} bytes.")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if length is not None and size != length:
                raise ValidationFailed(f"The body has {size} bytes, {length} were announced.")
            info = ObjectInfo(bucket, key, size, digest.hexdigest(), content_type, now_utc())
            inode = tmp.stat().st_ino
            if bucket in WRITE_ONCE:
                os.chmod(tmp, 0o400)
            self._place(tmp, dest, write_once=bucket in WRITE_ONCE)
            self._write_meta(info, inode)
            return info
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _place(self, tmp: Path, dest: Path, *, write_once: bool) -> None:
        for _attempt in range(3):  # a concurrent delete may prune the parent folder between mkdir and link
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise Conflict(f"The key {dest.name!r} lies under an existing object.") from exc
            if dest.is_dir():
                raise Conflict("The key names a folder of other objects.")
            try:
                if write_once:
                    os.link(tmp, dest)  # fails if dest exists: the atomic no-overwrite
                else:
                    os.replace(tmp, dest)
            except FileExistsError as exc:
                raise WriteOnceViolation("This object is write-once and already exists.") from exc
            except FileNotFoundError:
                continue
            _fsync_dir(dest.parent)
            return
        raise StorageUnavailable("The destination folder kept disappearing.")

    def _write_meta(self, info: ObjectInfo, inode: int) -> None:
        path = self._meta_path(info.bucket, info.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "sha256": info.sha256,
            "size": info.size,
            "content_type": info.content_type,
            "created_at": info.created_at.isoformat(),
            "inode": inode,
        }
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="meta-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(body, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)

    def _read_meta(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            with open(self._meta_path(bucket, key), encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        path = self.data_path(bucket, key)
        st = self._stat_file(path, bucket, key)
        meta = self._read_meta(bucket, key)
        if meta and meta.get("inode") == st.st_ino and meta.get("size") == st.st_size:
            return ObjectInfo(
                bucket,
                key,
                st.st_size,
                meta["sha256"],
                meta["content_type"],
                datetime.fromisoformat(meta["created_at"]),
            )
        # No sidecar or a stale one (crash between rename and sidecar, or an overwrite in flight): rehash.
        content_type = meta.get("content_type", DEFAULT_CONTENT_TYPE) if meta else DEFAULT_CONTENT_TYPE
        info = ObjectInfo(
            bucket,
            key,
            st.st_size,
            _hash_stream(self.open(bucket, key)),
            content_type,
            datetime.fromtimestamp(st.st_mtime, UTC),
        )
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == st.st_ino:
                self._write_meta(info, st.st_ino)
        return info

    @staticmethod
    def _stat_file(path: Path, bucket: str, key: str) -> os.stat_result:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound(f"No object {key!r} in {bucket!r}.") from exc
        if not stat_mod.S_ISREG(st.st_mode):
            raise NotFound(f"No object {key!r} in {bucket!r}.")
        return st

    def open(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> BinaryIO:
        path = self.data_path(bucket, key)
        _check_range_args(start, end)
        try:
            fh = open(path, "rb", buffering=0)  # noqa: SIM115 - handed to the caller inside the reader
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(f"No object {key!r} in {bucket!r}.") from exc
        try:
            # Size from the open descriptor: a concurrent overwrite cannot change what this reader sees.
            offset, length = _resolve_range(os.fstat(fh.fileno()).st_size, start, end)
            fh.seek(offset)
        except BaseException:
            fh.close()
            raise
        return _reader(fh, length)

    def delete(self, bucket: str, key: str) -> None:
        path = self.data_path(bucket, key)
        if bucket in WRITE_ONCE:
            raise WriteOnceViolation("Objects in a write-once bucket cannot be deleted.")
        for target, top in ((path, self.root / bucket), (self._meta_path(bucket, key), self._meta / bucket)):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
                target.unlink()
            self._prune(target.parent, top)

    @staticmethod
    def _prune(folder: Path, top: Path) -> None:
        while folder != top and top in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty (or already gone): stop climbing
            folder = folder.parent

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root / validate_bucket(bucket)
        validate_prefix(prefix)
        start = base / prefix.rsplit("/", 1)[0] if "/" in prefix else base
        keys = []
        for folder, _dirs, files in os.walk(start):
            rel = os.path.relpath(folder, base)
            for name in files:
                key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        # Code-point order equals UTF-8 byte order, which is how S3 lists.
        for key in sorted(keys):
            try:
                yield self.stat(bucket, key)
            except NotFound:
                continue  # deleted while we were listing

    # Signed links are served by app.core.storage_views; the signature is the whole authorisation.

    def _sign(self, bucket: str, key: str, exp: int, filename: str) -> str:
        # Newlines cannot occur in any field (validated), so the message is unambiguous.
        message = f"{bucket}\n{key}\n{exp}\n{filename}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed_url(self, bucket: str, key: str, expires: timedelta, *, filename: str | None = None) -> str:
        self.data_path(bucket, key)
        validate_ttl(expires)
        if filename is not None:
            validate_filename(filename)
        exp = int((now_utc() + expires).timestamp())
        query: dict[str, str | int] = {"exp": exp}
        if filename:
            query["fn"] = filename
        query["sig"] = self._sign(bucket, key, exp, filename or "")
        return f"{self.url_prefix}/{bucket}/{quote(key, safe='/')}?{urlencode(query, quote_via=quote)}"

    def verify_signature(self, bucket: str, key: str, *, exp: str, filename: str, signature: str) -> None:
        """Raise PermissionDenied unless the link was signed by us for exactly these fields and is not expired."""
        try:
            expires_at = int(exp)
        except ValueError as exc:
            raise PermissionDenied("The link is malformed.") from exc
        expected = self._sign(bucket, key, expires_at, filename)
        if not hmac.compare_digest(expected, signature):
            raise PermissionDenied("The link signature is not valid.")
        if now_utc().timestamp() > expires_at:
            raise PermissionDenied("The link has expired.")


# --- S3 backend --------------------------------------------------------------------------------------


class _HashingReader:
    """Fills part buffers from a stream while hashing, counting and enforcing the size limit."""

    def __init__(self, source: ByteStream, limit: int) -> None:
        self._source = source
        self._limit = limit
        self.digest = hashlib.sha256()
        self.size = 0

    def fill(self, view: memoryview) -> int:
        """Fill `view` as far as the stream allows; fewer bytes than its length means the stream ended."""
        filled = 0
        while filled < len(view):
            want = min(CHUNK_SIZE, len(view) - filled)
            data = self._source.read(want)
            if not data:
                break
            if not isinstance(data, bytes | bytearray | memoryview) or len(data) > want:
                raise ValidationFailed("The object body must be a binary stream.")
            self.size += len(data)
            if self.size > self._limit:
                raise ValidationFailed(f"An object may have at most {self._limit} bytes.")
            self.digest.update(data)
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled


class MinioStorage(_BaseStorage):
    """S3 through the MinIO SDK. Bucket names carry a prefix; write-once buckets use object lock if offered.

    put() streams into a private staging bucket while hashing, then copies server-side to the final key with
    the SHA-256 in `x-amz-meta-sha256` and `If-None-Match: *` for write-once buckets, then drops the staged
    copy. SeaweedFS 4.48 (probed) honours If-None-Match on PutObject and CopyObject, supports object lock
    with COMPLIANCE default retention, but applies that retention only to plain PUTs, not to copies, so the
    retention of each copied version is set explicitly. On a server without If-None-Match the stat before
    the upload still refuses overwrites, with a race; object lock then keeps the first version regardless.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        secure: bool = True,
        region: str = "us-east-1",
        prefix: str = "",
        retention_days: int = DEFAULT_RETENTION_DAYS,
        max_object_size: int = MAX_OBJECT_SIZE,
    ) -> None:

        self.endpoint = endpoint
        self.secure = secure
        self.prefix = prefix
        self.retention_days = retention_days
        self.max_object_size = min(max_object_size, MAX_OBJECT_SIZE)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=60),
            maxsize=10,
            # Few quick retries: an unreachable server should become StorageUnavailable in about a second.
            retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        )
        # With the region given, the SDK never asks the server for it, so building this costs no request.
        self._client = Minio(
            endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region, http_client=http
        )
        self._ready = False
        self._ready_lock = threading.Lock()
        self._locked: dict[str, bool] = {}
        self._conditional_writes = True

    def __repr__(self) -> str:
        return f"MinioStorage({self.endpoint!r}, prefix={self.prefix!r})"

    def bucket_name(self, bucket: str) -> str:
        return f"{self.prefix}-{bucket}" if self.prefix else bucket

    def is_locked(self, bucket: str) -> bool:
        """True when the server enforces object lock on `bucket` (known after ensure_buckets)."""
        self._ensure_ready()
        return self._locked.get(bucket, False)

    @contextlib.contextmanager
    def _errors(self, bucket: str, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            raise self._map_s3_error(exc, bucket, key) from exc
        except Exception as exc:
            mapped = self._map_transport_error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def _map_s3_error(self, exc: Any, bucket: str, key: str | None) -> DomainError:
        code = exc.code
        if code in {"NoSuchKey", "NoSuchObject", "NoSuchVersion"}:
            return NotFound(f"No object {key!r} in {bucket!r}.")
        if code == "InvalidRange":
            return InvalidRange("The range starts past the end of the object.")
        if code == "NoSuchBucket":
            self._ready = False  # someone removed it: recreate on the next call
        return StorageUnavailable(f"The S3 server refused the request ({code}).")

    @staticmethod
    def _map_transport_error(exc: Exception) -> DomainError | None:
        if isinstance(exc, MinioException | urllib3.exceptions.HTTPError):
            return StorageUnavailable(f"The S3 server cannot be reached ({type(exc).__name__}).")
        return None

    def _ensure_ready(self) -> None:
        # Lazy: creating an app must not contact S3 (tests build many apps, and start-up order varies).
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                self.ensure_buckets()

    def ensure_buckets(self) -> None:
        """Create missing buckets (write-once ones with object lock, COMPLIANCE default retention). Idempotent."""
        with self._errors(STAGING):
            for logical in (*BUCKETS, STAGING):
                name = self.bucket_name(logical)
                write_once = logical in WRITE_ONCE
                if not self._client.bucket_exists(name):
                    try:
                        self._client.make_bucket(name, object_lock=write_once)
                    except S3Error as exc:
                        if exc.code in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                            pass  # another process won the race
                        elif write_once:
                            log.warning(
                                "S3 bucket %s: object lock refused (%s); write-once is code-only", name, exc.code
                            )
                            self._client.make_bucket(name)
                        else:
                            raise
                if write_once:
                    self._locked[logical] = self._configure_lock(name)
        self._ready = True

    def _configure_lock(self, name: str) -> bool:
        try:
            current = self._client.get_object_lock_config(name)
            if current.mode == COMPLIANCE:
                return True
            self._client.set_object_lock_config(name, ObjectLockConfig(COMPLIANCE, self.retention_days, DAYS))
            return True
        except S3Error as exc:
            log.warning("S3 bucket %s: no object lock (%s); write-once is enforced in code only", name, exc.code)
            return False

    def _stat_raw(self, bucket: str, key: str) -> Any:
        with self._errors(bucket, key):
            return self._client.stat_object(self.bucket_name(bucket), key)

    def put(
        self,
        bucket: str,
        key: str,
        stream: ByteStream | bytes,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectInfo:
        validate_bucket(bucket)
        validate_key(key)
        validate_content_type(content_type)
        self._check_length(length)
        source = _as_stream(stream)
        self._ensure_ready()
        write_once = bucket in WRITE_ONCE
        if write_once and self.exists(bucket, key):
            raise WriteOnceViolation("This object is write-once and already exists.")  # before paying the upload
        staged = uuid.uuid4().hex
        reader = _HashingReader(source, self.max_object_size)
        try:
            with self._errors(STAGING, staged):
                self._upload(self.bucket_name(STAGING), staged, reader)
            if length is not None and reader.size != length:
                raise ValidationFailed(f"The body has {reader.size} bytes, {length} were announced.")
            sha256 = reader.digest.hexdigest()
            self._copy_from_staging(bucket, key, staged, sha256=sha256, content_type=content_type)
        finally:
            self._drop_staged(staged)
        info = self.stat(bucket, key)
        if info.sha256 != sha256 or info.size != reader.size:
            raise StorageUnavailable("The stored object does not match what was uploaded.")
        return info

    def _upload(self, name: str, key: str, reader: _HashingReader) -> None:
        """Stream into `name/key` with one reused part buffer: memory is PART_SIZE whatever the object size.

        The SDK's put_object() would hold about three copies of each part; its request methods accept any
        buffer, so the parts go out as views of one bytearray.
        """
        buffer = bytearray(PART_SIZE)
        view = memoryview(buffer)
        client: Any = self._client  # the SDK types these private request methods as taking bytes
        upload_id: str | None = None
        parts: list[Part] = []
        try:
            while True:
                filled = reader.fill(view)
                if upload_id is None and filled < PART_SIZE:
                    client._put_object(name, key, view[:filled], {"Content-Type": DEFAULT_CONTENT_TYPE})
                    return
                if filled == 0:
                    break  # the stream ended exactly on a part boundary
                if upload_id is None:
                    upload_id = client._create_multipart_upload(name, key, {"Content-Type": DEFAULT_CONTENT_TYPE})
                number = len(parts) + 1
                parts.append(Part(number, client._upload_part(name, key, view[:filled], None, upload_id, number)))
                if filled < PART_SIZE:
                    break
            client._complete_multipart_upload(name, key, upload_id, parts)
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    client._abort_multipart_upload(name, key, upload_id)
            raise

    def _copy_from_staging(self, bucket: str, key: str, staged: str, *, sha256: str, content_type: str) -> None:
        headers: DictType = {
            "x-amz-metadata-directive": "REPLACE",
            "x-amz-meta-sha256": sha256,
            "Content-Type": content_type,
            **CopySource(self.bucket_name(STAGING), staged).gen_copy_headers(),
        }
        write_once = bucket in WRITE_ONCE
        if write_once and self._conditional_writes:
            headers["If-None-Match"] = "*"
        try:
            with self._errors(bucket, key):
                # The public copy_object() cannot send If-None-Match; _execute is the SDK's signed request.
                response = self._client._execute("PUT", self.bucket_name(bucket), key, headers=headers)
        except StorageUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.code == "PreconditionFailed":
                raise WriteOnceViolation("This object is write-once and already exists.") from cause
            if isinstance(cause, S3Error) and cause.code == "NotImplemented" and "If-None-Match" in headers:
                log.warning("S3 server does not support If-None-Match; write-once relies on stat-then-copy")
                self._conditional_writes = False
                self._copy_from_staging(bucket, key, staged, sha256=sha256, content_type=content_type)
                return
            raise
        if write_once and self._locked.get(bucket):
            self._lock_version(bucket, key, response.headers.get("x-amz-version-id"))

    def _lock_version(self, bucket: str, key: str, version_id: str | None) -> None:
        name = self.bucket_name(bucket)
        try:
            current = self._client.get_object_retention(name, key, version_id=version_id)
            if current is not None and current.mode == COMPLIANCE:
                return  # the server applied the bucket default itself (MinIO, AWS)
        except S3Error:
            pass  # SeaweedFS answers "no retention" as an error
        # The S3 server judges the date by its own clock, so a test's fake clock must not be used here.
        until = SystemClock().now() + timedelta(days=self.retention_days)
        try:
            self._client.set_object_retention(name, key, Retention(COMPLIANCE, until), version_id=version_id)
        except S3Error as exc:
            # The object is stored; failing now would make a retry hit WriteOnceViolation. Say it loudly.
            log.error("S3 %s/%s: could not set COMPLIANCE retention (%s)", name, key, exc.code)

    def _drop_staged(self, staged: str) -> None:
        try:
            with self._errors(STAGING, staged):
                self._client.remove_object(self.bucket_name(STAGING), staged)
        except DomainError:
            log.warning("S3: staged upload %s left behind in %s", staged, self.bucket_name(STAGING))

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        validate_bucket(bucket)
        validate_key(key)
        self._ensure_ready()
        st = self._stat_raw(bucket, key)
        sha256 = st.metadata.get("x-amz-meta-sha256")
        if not sha256:  # an object not written by put(): hash it rather than report nothing
            sha256 = _hash_stream(self.open(bucket, key))
        return ObjectInfo(bucket, key, int(st.size), sha256, st.content_type or DEFAULT_CONTENT_TYPE, st.last_modified)

    def open(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> BinaryIO:
        validate_bucket(bucket)
        validate_key(key)
        _check_range_args(start, end)
        self._ensure_ready()
        # An explicit Range header even for "bytes=0-", so an empty object answers 416 as on the filesystem.
        headers: DictType | None = None
        if start is not None or end is not None:
            headers = {"Range": f"bytes={start or 0}-{'' if end is None else end}"}
        with self._errors(bucket, key):
            response = self._client.get_object(self.bucket_name(bucket), key, request_headers=headers)
        announced = response.headers.get("Content-Length")

        def release() -> None:
            response.close()
            response.release_conn()

        return _reader(
            response,
            int(announced) if announced is not None else None,
            on_close=release,
            translate=self._map_transport_error,
        )

    def delete(self, bucket: str, key: str) -> None:
        validate_bucket(bucket)
        validate_key(key)
        if bucket in WRITE_ONCE:
            raise WriteOnceViolation("Objects in a write-once bucket cannot be deleted.")
        self._ensure_ready()
        with self._errors(bucket, key):
            self._client.remove_object(self.bucket_name(bucket), key)

    def signed_url(self, bucket: str, key: str, expires: timedelta, *, filename: str | None = None) -> str:
        validate_bucket(bucket)
        validate_key(key)
        validate_ttl(expires)
        headers: DictType | None = None
        if filename:
            headers = {"response-content-disposition": content_disposition(validate_filename(filename))}
        # Presigning is local arithmetic; the S3 server checks expiry against its own clock, hence the system clock.
        return str(
            self._client.presigned_get_object(
                self.bucket_name(bucket),
                key,
                expires=expires,
                response_headers=headers,
                request_date=SystemClock().now(),
            )
        )

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        validate_bucket(bucket)
        validate_prefix(prefix)
        self._ensure_ready()
        with self._errors(bucket):
            items = self._client.list_objects(self.bucket_name(bucket), prefix=prefix or None, recursive=True)
            # S3 promises UTF-8 byte order but SeaweedFS lists folder by folder ("a/1" before "a-1"): sort here.
            keys = sorted(item.object_name for item in items)
        for key in keys:
            try:
                yield self.stat(bucket, key)  # user metadata is not in listings: one HEAD per object
            except NotFound:
                continue  # deleted while we were listing


# --- configuration and Flask wiring ------------------------------------------------------------------


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def storage_from_url(url: str, *, secret: str | bytes = b"") -> FilesystemStorage | MinioStorage:
    """Build the backend STORAGE_URL names: file:///abs/path or s3://KEY:SECRET@HOST:PORT/PREFIX?secure=0."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in {"", "localhost"} or not os.path.isabs(path) or parts.query:
            raise StorageConfigError(f"STORAGE_URL {url!r}: expected file:///absolute/path without options.")
        return FilesystemStorage(Path(path), secret=secret)
    if parts.scheme != "s3":
        raise StorageConfigError(f"STORAGE_URL {_redacted(url)!r}: the scheme must be file:// or s3://.")
    where = _redacted(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise StorageConfigError(f"STORAGE_URL {where!r}: the port is not a number.") from exc
    host = parts.hostname
    access_key, secret_key = unquote(parts.username or ""), unquote(parts.password or "")
    if not host or not access_key or not secret_key:
        raise StorageConfigError(f"STORAGE_URL {where!r}: expected s3://ACCESS:SECRET@HOST[:PORT]/PREFIX.")
    prefix = parts.path.strip("/")
    if prefix and not _PREFIX.match(prefix):
        raise StorageConfigError(f"STORAGE_URL {where!r}: the prefix must be 1-40 of a-z, 0-9 and '-'.")
    try:
        options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise StorageConfigError(f"STORAGE_URL {where!r}: the query string is malformed.") from exc
    unknown = set(options) - {"secure", "region", "retention_days"}
    if unknown or any(len(v) != 1 for v in options.values()):
        raise StorageConfigError(f"STORAGE_URL {where!r}: unknown or repeated options {sorted(unknown) or ''}.")
    flat = {k: v[0] for k, v in options.items()}
    secure_raw = flat.get("secure", "1").lower()
    if secure_raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise StorageConfigError(f"STORAGE_URL {where!r}: secure must be 0 or 1.")
    try:
        retention_days = int(flat.get("retention_days", DEFAULT_RETENTION_DAYS))
    except ValueError as exc:
        raise StorageConfigError(f"STORAGE_URL {where!r}: retention_days must be a whole number.") from exc
    if retention_days < 1:
        raise StorageConfigError(f"STORAGE_URL {where!r}: retention_days must be at least 1.")
    endpoint = f"[{host}]" if ":" in host else host
    return MinioStorage(
        endpoint=f"{endpoint}:{port}" if port else endpoint,
        access_key=access_key,
        secret_key=secret_key,
        secure=secure_raw in {"1", "true", "yes"},
        region=flat.get("region") or "us-east-1",
        prefix=prefix,
        retention_days=retention_days,
    )


def get_storage() -> ObjectStorage:
    """The current app's object store."""
    storage: ObjectStorage = current_app.extensions["storage"]
    return storage


def init_app(app: Flask) -> None:
    storage = storage_from_url(app.config["STORAGE_URL"], secret=app.config["SECRET_KEY"] or b"")
    app.extensions["storage"] = storage
    if isinstance(storage, FilesystemStorage):
        storage.ensure_buckets()  # a few mkdirs; S3 buckets are made lazily on first use

    from app.core.storage_views import bp, register_cli

    app.register_blueprint(bp)
    register_cli(app)
