"""The S3 backend through the MinIO SDK: direct uploads, staging and server-side copy, object lock, presigned links."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import stat as stat_mod
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from functools import partial
from typing import Any, BinaryIO, cast

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE, CopySource
from minio.datatypes import CompleteMultipartUploadResult, Part
from minio.error import MinioException, S3Error
from minio.helpers import DictType, md5sum_hash
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.retention import Retention
from minio.xml import Element, SubElement, getbytes

from app.core.errors import DomainError, NotFound, ValidationFailed
from app.core.problems import N_
from app.core.storage.base import (
    BUCKETS,
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    DEFAULT_RETENTION_DAYS,
    MAX_OBJECT_SIZE,
    PART_SIZE,
    STAGING,
    WRITE_ONCE,
    ByteStream,
    ChunkStored,
    InvalidRange,
    ObjectInfo,
    StorageUnavailable,
    WriteOnceViolation,
)
from app.core.storage.streams import (
    _as_stream,
    _assembled_sha256,
    _BaseStorage,
    _check_body,
    _hash_bounded,
    _hash_stream,
    _read_chunk,
    _reader,
    _resume_hash,
)
from app.core.storage.validation import (
    _check_range_args,
    content_disposition,
    validate_bucket,
    validate_content_type,
    validate_filename,
    validate_key,
    validate_prefix,
    validate_sha256,
    validate_ttl,
)
from app.core.time import SystemClock

log = logging.getLogger(__name__)

MAX_PARTS = 10_000  # S3's limit on the parts of one multipart upload
MAX_PART_BUFFER = 32 * 1024 * 1024  # a chunk is one part, held in memory while it is signed and sent
LOCAL_READ = 1024 * 1024  # reads while hashing a local file before its upload
_ASSEMBLY = re.compile(r"^(assembly-[0-9a-f]{32}):([\x21-\x7e]{1,1024})$")

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
                raise ValidationFailed(N_("The object body must be a binary stream."))
            self.size += len(data)
            if self.size > self._limit:
                raise ValidationFailed(N_("An object may have at most %(limit)s bytes."), params={"limit": self._limit})
            self.digest.update(data)
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled


class MinioStorage(_BaseStorage):
    """S3 through the MinIO SDK. Bucket names carry a prefix; write-once buckets use object lock if offered.

    put() of a body whose SHA-256 is known before the upload (given by the caller, or computed here for bytes and
    regular local files) uploads it once, straight to the final key with the SHA-256 in `x-amz-meta-sha256`,
    hashing it again on the way: a single PUT is sent only when its buffer matches (with x-amz-checksum-sha256,
    which the server checks as well), a multipart upload is completed only when its parts match and aborted
    otherwise. Any other stream goes into a private staging bucket while hashing, then is copied server-side to
    the final key with the hash, and the staged copy dropped. Either way the request that makes the object
    visible (PUT, completion or copy) carries `If-None-Match: *` for write-once buckets. SeaweedFS 4.48 (probed)
    honours If-None-Match on PutObject, CompleteMultipartUpload and CopyObject and x-amz-checksum-sha256 on
    PutObject, supports object lock with COMPLIANCE default retention, and applies that retention to PUTs and
    completed multipart uploads but not to copies, so the retention of each stored version is checked and set
    if missing. On a server without If-None-Match the stat before the upload still refuses overwrites, with a
    race; object lock then keeps the first version regardless.
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
            return NotFound(N_("No object %(key)s in %(bucket)s."), params={"key": repr(key), "bucket": repr(bucket)})
        if code == "InvalidRange":
            return InvalidRange(N_("The range starts past the end of the object."))
        if code == "NoSuchBucket":
            self._ready = False  # someone removed it: recreate on the next call
        return StorageUnavailable(N_("The S3 server refused the request (%(code)s)."), params={"code": code})

    @staticmethod
    def _map_transport_error(exc: Exception) -> DomainError | None:
        if isinstance(exc, MinioException | urllib3.exceptions.HTTPError):
            return StorageUnavailable(
                N_("The S3 server cannot be reached (%(name)s)."), params={"name": type(exc).__name__}
            )
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
        sha256: str | None = None,
    ) -> ObjectInfo:
        validate_bucket(bucket)
        validate_key(key)
        validate_content_type(content_type)
        self._check_length(length)
        expected = None if sha256 is None else validate_sha256(sha256)
        source = _as_stream(stream)
        self._ensure_ready()
        if bucket in WRITE_ONCE and self.exists(bucket, key):
            raise WriteOnceViolation(N_("This object is write-once and already exists."))  # before paying the upload
        if expected is None:
            expected = self._local_sha256(stream, source, length)
        if expected is None:
            return self._put_staged(bucket, key, source, length=length, content_type=content_type)
        return self._put_direct(bucket, key, source, sha256=expected, length=length, content_type=content_type)

    def _local_sha256(self, stream: object, source: ByteStream, length: int | None) -> str | None:
        """The SHA-256 of a body that is already here (bytes, or a regular local file from its position on),
        leaving the file where it was; None for any other stream, which must go through staging."""
        if isinstance(stream, bytes | bytearray | memoryview):
            return hashlib.sha256(stream).hexdigest()
        fh: Any = source
        try:
            if not (fh.seekable() and stat_mod.S_ISREG(os.fstat(fh.fileno()).st_mode)):
                return None
            start = fh.tell()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both OSError and ValueError
            return None
        sha256, size = _hash_bounded(fh, self.max_object_size, LOCAL_READ)
        _check_body(size, sha256, length=length, expected=None)  # refused before any upload
        fh.seek(start)
        return sha256

    def _put_direct(
        self, bucket: str, key: str, source: ByteStream, *, sha256: str, length: int | None, content_type: str
    ) -> ObjectInfo:
        """One upload straight to the key, the hash in its metadata; visible only if the body hashed to `sha256`.

        The body is hashed again as it is sent: a single PUT goes out only after its buffer matched (and carries
        x-amz-checksum-sha256, which the server checks too); a multipart upload is completed only when the parts
        sent hash to `sha256`, and aborted otherwise, so no wrong or partial object ever becomes visible.
        """
        reader = _HashingReader(source, self.max_object_size)

        def verify() -> None:
            _check_body(reader.size, reader.digest.hexdigest(), length=length, expected=sha256)

        write_once = bucket in WRITE_ONCE
        headers: DictType = {"Content-Type": content_type, "x-amz-meta-sha256": sha256}
        with self._errors(bucket, key):
            version_id = self._upload(
                self.bucket_name(bucket), key, reader, headers=headers, verify=verify, conditional=write_once
            )
        if write_once and self._locked.get(bucket):
            self._lock_version(bucket, key, version_id)
        info = self.stat(bucket, key)
        if info.sha256 != sha256 or info.size != reader.size:
            raise StorageUnavailable(N_("The stored object does not match what was uploaded."))
        return info

    def _put_staged(
        self, bucket: str, key: str, source: ByteStream, *, length: int | None, content_type: str
    ) -> ObjectInfo:
        """A stream of unknown hash: upload it to staging while hashing, then copy it with the hash to the key."""
        staged = uuid.uuid4().hex
        reader = _HashingReader(source, self.max_object_size)
        try:
            with self._errors(STAGING, staged):
                self._upload(self.bucket_name(STAGING), staged, reader, headers={"Content-Type": DEFAULT_CONTENT_TYPE})
            sha256 = reader.digest.hexdigest()
            _check_body(reader.size, sha256, length=length, expected=None)
            self._copy_from_staging(bucket, key, staged, sha256=sha256, content_type=content_type)
        finally:
            self._drop_staged(staged)
        info = self.stat(bucket, key)
        if info.sha256 != sha256 or info.size != reader.size:
            raise StorageUnavailable(N_("The stored object does not match what was uploaded."))
        return info

    def _upload(
        self,
        name: str,
        key: str,
        reader: _HashingReader,
        *,
        headers: DictType,
        verify: Callable[[], None] | None = None,
        conditional: bool = False,
    ) -> str | None:
        """Stream into `name/key` with one reused part buffer: memory is PART_SIZE whatever the object size.

        A body under one part is a single PUT, a larger one a multipart upload. `verify` runs once the whole
        body has been read, before the request that makes the object visible (the PUT, or the completion);
        if it raises, nothing becomes visible and the multipart upload is aborted. `conditional` sends that
        request with If-None-Match: * (write-once). Returns the version id of the stored object.

        The SDK's put_object() would hold about three copies of each part; its request methods accept any
        buffer, so the parts go out as views of one bytearray. The SDK signs each body's SHA-256 over plain
        HTTP and sends its Content-MD5 over HTTPS, so the server refuses a part that changed on the way.
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
                    if verify is not None:
                        verify()
                        # The whole body is this buffer and hashes to the metadata's value: the server checks it too.
                        sha256 = base64.b64encode(reader.digest.digest()).decode()
                        headers = {**headers, "x-amz-checksum-sha256": sha256}
                    result = self._commit(partial(client._put_object, name, key, view[:filled]), headers, conditional)
                    return cast("str | None", result.version_id)
                if filled == 0:
                    break  # the stream ended exactly on a part boundary
                if upload_id is None:
                    upload_id = client._create_multipart_upload(name, key, dict(headers))
                number = len(parts) + 1
                parts.append(Part(number, client._upload_part(name, key, view[:filled], None, upload_id, number)))
                if filled < PART_SIZE:
                    break
            if verify is not None:
                verify()
            assert upload_id is not None  # the first fill was a whole part
            completed = self._commit(partial(self._complete, name, key, upload_id, parts), {}, conditional)
            return cast("str | None", completed.version_id)
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    client._abort_multipart_upload(name, key, upload_id)
            raise

    def _complete(
        self, name: str, key: str, upload_id: str, parts: Sequence[Part], headers: DictType
    ) -> CompleteMultipartUploadResult:
        """CompleteMultipartUpload with our own headers (the SDK's cannot send If-None-Match)."""
        element = Element("CompleteMultipartUpload")
        for part in parts:
            tag = SubElement(element, "Part")
            SubElement(tag, "PartNumber", str(part.part_number))
            SubElement(tag, "ETag", '"' + part.etag + '"')
        body = getbytes(element)
        headers = {**headers, "Content-Type": "application/xml", "Content-MD5": cast(str, md5sum_hash(body))}
        response = self._client._execute(
            "POST", name, key, body=body, headers=headers, query_params={"uploadId": upload_id}
        )
        result = CompleteMultipartUploadResult(response)
        if not result.etag:  # S3 may answer 200 and report a failure in the body; the SDK's completion does not look
            raise StorageUnavailable(N_("The S3 server could not complete the upload."))
        return result

    def _commit(self, send: Callable[[DictType], Any], headers: DictType, conditional: bool) -> Any:
        """Send the request that makes an object visible, with If-None-Match: * when `conditional` (write-once).

        A refused condition is a WriteOnceViolation. A server that does not implement the condition is asked
        once more without it, and never again: write-once then rests on the stat before the upload (a race)
        and object lock, which keeps the first version. The SDK adds to the headers it is given: a fresh copy
        goes out each time.
        """
        if conditional and self._conditional_writes:
            try:
                return send({**headers, "If-None-Match": "*"})
            except S3Error as exc:
                if exc.code == "PreconditionFailed":
                    raise WriteOnceViolation(N_("This object is write-once and already exists.")) from exc
                if exc.code != "NotImplemented":
                    raise
                log.warning("S3 server does not support If-None-Match; write-once relies on stat-then-write")
                self._conditional_writes = False
        return send(dict(headers))

    def _copy_from_staging(self, bucket: str, key: str, staged: str, *, sha256: str, content_type: str) -> None:
        headers: DictType = {
            "x-amz-metadata-directive": "REPLACE",
            "x-amz-meta-sha256": sha256,
            "Content-Type": content_type,
            **CopySource(self.bucket_name(STAGING), staged).gen_copy_headers(),
        }
        write_once = bucket in WRITE_ONCE
        name = self.bucket_name(bucket)
        with self._errors(bucket, key):
            # The public copy_object() cannot send If-None-Match; _execute is the SDK's signed request.
            response = self._commit(lambda h: self._client._execute("PUT", name, key, headers=h), headers, write_once)
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

    # Assemblies: a multipart upload into the staging bucket, one part per chunk; completing it costs no
    # transfer through the platform, and the server-side copy to the final key carries the SHA-256 computed
    # on the way (and If-None-Match / object lock for write-once buckets), exactly like put().

    min_chunk_size = PART_SIZE  # S3 refuses parts under 5 MiB except the last
    max_chunk_size = MAX_PART_BUFFER

    @staticmethod
    def _split_handle(handle: str) -> tuple[str, str]:
        match = _ASSEMBLY.match(handle) if isinstance(handle, str) else None
        if match is None:
            raise ValidationFailed(N_("Unknown assembly handle."))
        return match.group(1), match.group(2)

    def begin_assembly(self) -> str:
        self._ensure_ready()
        staged = f"assembly-{uuid.uuid4().hex}"
        client: Any = self._client
        with self._errors(STAGING, staged):
            upload_id = client._create_multipart_upload(
                self.bucket_name(STAGING), staged, {"Content-Type": DEFAULT_CONTENT_TYPE}
            )
        handle = f"{staged}:{upload_id}"
        self._split_handle(handle)  # an upload id we could not store back is refused now, not at the end
        return handle

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
    ) -> ChunkStored:
        self._check_chunk(offset, length, last)
        staged, upload_id = self._split_handle(handle)
        number = len(parts) + 1
        if number > MAX_PARTS:
            raise ValidationFailed(
                N_("An object may be sent in at most %(limit)s chunks."), params={"limit": MAX_PARTS}
            )
        hasher = _resume_hash(hash_state, offset)
        buffer = bytearray(length)
        view = memoryview(buffer)
        sha256 = _read_chunk(_as_stream(stream), length, hasher, view, None)
        self._ensure_ready()
        client: Any = self._client  # the SDK types this private request method as taking bytes
        with self._errors(STAGING, staged):
            etag = client._upload_part(self.bucket_name(STAGING), staged, view, None, upload_id, number)
        return ChunkStored(offset, length, sha256, hasher.save(), f"{number}:{etag}")

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
    ) -> ObjectInfo:
        validate_bucket(bucket)
        validate_key(key)
        validate_content_type(content_type)
        staged, upload_id = self._split_handle(handle)
        sha256 = _assembled_sha256(hash_state, size)
        if not parts:
            raise ValidationFailed(N_("An assembly needs at least one chunk."))
        s3_parts = []
        for ref in parts:
            number, sep, etag = ref.partition(":")
            if not sep or not number.isdigit() or not etag:
                raise ValidationFailed(N_("A part reference is damaged."))
            s3_parts.append(Part(int(number), etag))
        self._ensure_ready()
        client: Any = self._client
        staging = self.bucket_name(STAGING)
        try:
            with self._errors(STAGING, staged):
                client._complete_multipart_upload(staging, staged, upload_id, s3_parts)
        except StorageUnavailable as exc:
            cause = exc.__cause__
            if not (isinstance(cause, S3Error) and cause.code == "NoSuchUpload"):
                raise
            # Completed by an earlier attempt that died later: the staged or the final object has the bytes.
        try:
            staged_size = int(self._stat_raw(STAGING, staged).size)
        except NotFound:
            return self._placed_already(bucket, key, size, sha256)
        if staged_size != size:
            raise StorageUnavailable(N_("The assembled object does not have the size recorded for it."))
        try:
            if bucket in WRITE_ONCE and not self._conditional_writes and self.exists(bucket, key):
                raise WriteOnceViolation(N_("This object is write-once and already exists."))  # no If-None-Match here
            self._copy_from_staging(bucket, key, staged, sha256=sha256, content_type=content_type)
        except WriteOnceViolation:
            info = self._placed_already(bucket, key, size, sha256)
        else:
            info = self.stat(bucket, key)
            if (info.sha256, info.size) != (sha256, size):
                raise StorageUnavailable(N_("The stored object does not match what was assembled."))
        self._drop_staged(staged)
        return info

    def abort_assembly(self, handle: str) -> None:
        staged, upload_id = self._split_handle(handle)
        self._ensure_ready()
        client: Any = self._client
        try:
            with self._errors(STAGING, staged):
                client._abort_multipart_upload(self.bucket_name(STAGING), staged, upload_id)
        except StorageUnavailable as exc:
            cause = exc.__cause__
            if not (isinstance(cause, S3Error) and cause.code == "NoSuchUpload"):
                raise
        with contextlib.suppress(NotFound):
            self._stat_raw(STAGING, staged)
            self._drop_staged(staged)  # completed but never copied

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
            raise WriteOnceViolation(N_("Objects in a write-once bucket cannot be deleted."))
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
