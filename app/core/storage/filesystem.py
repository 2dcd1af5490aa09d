"""The filesystem backend: objects as files, metadata sidecars, HMAC-signed download links."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import stat as stat_mod
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.problems import N_
from app.core.storage.base import (
    BUCKETS,
    DEFAULT_CONTENT_TYPE,
    MAX_OBJECT_SIZE,
    WRITE_ONCE,
    ByteStream,
    ChunkStored,
    ObjectInfo,
    StorageConfigError,
    StorageUnavailable,
    WriteOnceViolation,
)
from app.core.storage.streams import (
    _as_stream,
    _assembled_sha256,
    _BaseStorage,
    _bounded_chunks,
    _check_body,
    _hash_bounded,
    _hash_stream,
    _read_chunk,
    _reader,
    _resume_hash,
)
from app.core.storage.validation import (
    _check_range_args,
    _resolve_range,
    validate_bucket,
    validate_content_type,
    validate_filename,
    validate_key,
    validate_prefix,
    validate_sha256,
    validate_ttl,
)
from app.core.time import now_utc

# --- filesystem backend ------------------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    # Makes a rename or link durable; some platforms cannot open folders, which is harmless to skip.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


_HANDLE = re.compile(r"^[0-9a-f]{32}$")


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
        self._assemblies = self.root / ".assembly"  # not .tmp: an upload may take longer than its day

    def __repr__(self) -> str:
        return f"FilesystemStorage({str(self.root)!r})"

    def ensure_buckets(self) -> None:
        for name in BUCKETS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
            (self._meta / name).mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._assemblies.mkdir(parents=True, exist_ok=True)
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
            raise ValidationFailed(N_("The object key escapes its bucket."))
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
        sha256: str | None = None,
    ) -> ObjectInfo:
        dest = self.data_path(bucket, key)
        validate_content_type(content_type)
        self._check_length(length)
        expected = None if sha256 is None else validate_sha256(sha256)
        source = _as_stream(stream)
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                for chunk in _bounded_chunks(source, self.max_object_size):
                    size += len(chunk)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            _check_body(size, digest.hexdigest(), length=length, expected=expected)  # before it is placed
            return self._store(tmp, dest, ObjectInfo(bucket, key, size, digest.hexdigest(), content_type, now_utc()))
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def put_file(
        self,
        bucket: str,
        key: str,
        path: str | os.PathLike[str],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        sha256: str | None = None,
    ) -> ObjectInfo:
        """put() without copying: the file is moved under .tmp (its old name is gone, so nothing written there
        later reaches the object), checked (size, SHA-256) and fsynced, then placed like any upload. A file on
        another filesystem is copied by put() and removed."""
        tmp = self._tmp / f"put-{uuid.uuid4().hex}"
        try:
            dest = self.data_path(bucket, key)
            validate_content_type(content_type)
            expected = None if sha256 is None else validate_sha256(sha256)
            self._tmp.mkdir(parents=True, exist_ok=True)
            os.rename(path, tmp)
        except OSError:  # another filesystem (EXDEV), or a folder we may not move out of
            return super().put_file(bucket, key, path, content_type=content_type, sha256=sha256)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            raise
        try:
            with open(tmp, "rb") as fh:
                sha256, size = _hash_bounded(fh, self.max_object_size, 1024 * 1024)
                os.fsync(fh.fileno())
            _check_body(size, sha256, length=None, expected=expected)
            return self._store(tmp, dest, ObjectInfo(bucket, key, size, sha256, content_type, now_utc()))
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _store(self, tmp: Path, dest: Path, info: ObjectInfo) -> ObjectInfo:
        """Place a checked, fsynced file at its key (read-only in a write-once bucket) and write its metadata."""
        inode = tmp.stat().st_ino
        write_once = info.bucket in WRITE_ONCE
        if write_once:
            os.chmod(tmp, 0o400)
        self._place(tmp, dest, write_once=write_once)
        self._write_meta(info, inode)
        return info

    def _place(self, tmp: Path, dest: Path, *, write_once: bool) -> None:
        for _attempt in range(3):  # a concurrent delete may prune the parent folder between mkdir and link
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise Conflict(
                    N_("The key %(name)s lies under an existing object."), params={"name": repr(dest.name)}
                ) from exc
            if dest.is_dir():
                raise Conflict(N_("The key names a folder of other objects."))
            try:
                if write_once:
                    os.link(tmp, dest)  # fails if dest exists: the atomic no-overwrite
                else:
                    os.replace(tmp, dest)
            except FileExistsError as exc:
                raise WriteOnceViolation(N_("This object is write-once and already exists.")) from exc
            except FileNotFoundError:
                continue
            _fsync_dir(dest.parent)
            return
        raise StorageUnavailable(N_("The destination folder kept disappearing."))

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
            raise NotFound(
                N_("No object %(key)s in %(bucket)s."), params={"key": repr(key), "bucket": repr(bucket)}
            ) from exc
        if not stat_mod.S_ISREG(st.st_mode):
            raise NotFound(N_("No object %(key)s in %(bucket)s."), params={"key": repr(key), "bucket": repr(bucket)})
        return st

    def open(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> BinaryIO:
        path = self.data_path(bucket, key)
        _check_range_args(start, end)
        try:
            fh = open(path, "rb", buffering=0)  # noqa: SIM115 - handed to the caller inside the reader
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(
                N_("No object %(key)s in %(bucket)s."), params={"key": repr(key), "bucket": repr(bucket)}
            ) from exc
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
            raise WriteOnceViolation(N_("Objects in a write-once bucket cannot be deleted."))
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

    # Assemblies: one file under root/.assembly, appended chunk by chunk, then linked into place.

    def _assembly_path(self, handle: str) -> Path:
        if not isinstance(handle, str) or not _HANDLE.match(handle):
            raise ValidationFailed(N_("Unknown assembly handle."))
        return self._assemblies / handle

    def begin_assembly(self) -> str:
        handle = uuid.uuid4().hex
        self._assemblies.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self._assembly_path(handle), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        _fsync_dir(self._assemblies)
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
        path = self._assembly_path(handle)
        hasher = _resume_hash(hash_state, offset)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError as exc:
            raise NotFound(N_("The assembly no longer exists.")) from exc
        with os.fdopen(fd, "wb") as out:
            if os.fstat(fd).st_size < offset:
                raise StorageUnavailable(N_("The assembly lost bytes it had stored."))
            out.truncate(offset)  # whatever a failed earlier attempt left past the offset goes
            out.seek(offset)
            sha256 = _read_chunk(_as_stream(stream), length, hasher, None, out.write)
            out.flush()
            os.fsync(out.fileno())
        return ChunkStored(offset, length, sha256, hasher.save(), "")

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
        dest = self.data_path(bucket, key)
        validate_content_type(content_type)
        path = self._assembly_path(handle)
        sha256 = _assembled_sha256(hash_state, size)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return self._placed_already(bucket, key, size, sha256)  # a retry after an earlier completion
        if st.st_size != size:
            raise StorageUnavailable(N_("The assembly does not hold the bytes recorded for it."))
        write_once = bucket in WRITE_ONCE
        if write_once:
            os.chmod(path, 0o400)
        try:
            self._place(path, dest, write_once=write_once)
        except WriteOnceViolation:
            try:
                ours = os.stat(dest).st_ino == st.st_ino  # linked by an attempt that died before its sidecar
            except OSError:
                ours = False
            if not ours:
                return self._placed_already(bucket, key, size, sha256)
        info = ObjectInfo(bucket, key, size, sha256, content_type, now_utc())
        self._write_meta(info, st.st_ino)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # write-once buckets link; the object keeps its own name
        _fsync_dir(self._assemblies)
        return info

    def abort_assembly(self, handle: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._assembly_path(handle).unlink()

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
            raise PermissionDenied(N_("The link is malformed.")) from exc
        expected = self._sign(bucket, key, expires_at, filename)
        if not hmac.compare_digest(expected, signature):
            raise PermissionDenied(N_("The link signature is not valid."))
        if now_utc().timestamp() > expires_at:
            raise PermissionDenied(N_("The link has expired."))
