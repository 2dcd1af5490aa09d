"""Decryption into object storage: the plaintext is stored only when the whole stream verified.

The sealed object is read from storage and decrypted into a local spool file (the quarantine file of the design)
while its SHA-256 is computed. Only when the decryption returned, i.e. every chunk verified and nothing trails,
is the file stored, with that SHA-256, by `ObjectStorage.put_file`: the S3 backend uploads it straight to its key
(hashing it again on the way, so the object is visible only if it is exactly these bytes) instead of through the
staging bucket and a server-side copy; the folder backend links it into place instead of writing it twice. A
failed decryption never stores or sends a byte.

Spooling every plaintext rather than only small ones: the large ones are where the staging copy costs most; the
spool holds one plaintext per process at a time (at most the tender's bid size limit) and is removed at once.
It lies in the instance folder's tmp/, on disk (a tmpfs /tmp would hold whole bids in memory).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from flask import current_app

from app.core.problems import N_
from app.core.storage import ObjectInfo, StorageUnavailable, get_storage


class HashingRaw(io.RawIOBase):
    """Reads through to `src`, hashing and counting every byte."""

    def __init__(self, src: IO[bytes]) -> None:
        super().__init__()
        self._src = src
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._src.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.size += n
        return n

    def close(self) -> None:
        self._src.close()
        super().close()


class DecryptionFailed(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _SpoolWriter:
    """The decryptor's output: written to the spool file and hashed; a local write failure is retryable."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        try:
            self._fh.write(data)
        except OSError as exc:
            raise _spool_unavailable(exc) from exc
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def _spool_unavailable(exc: OSError) -> StorageUnavailable:
    # Not the bid's fault and not for ever (a full disk): the sweep tries the envelope again later.
    return StorageUnavailable(
        N_("The local spool for decrypted bids cannot be written (%(error)s)."), params={"error": exc.strerror}
    )


def spool_dir() -> Path:
    return Path(current_app.instance_path) / "tmp"


def decrypt_into_storage(
    run: Callable[[IO[bytes], IO[bytes]], Any], src: IO[bytes], bucket: str, key: str
) -> ObjectInfo:
    """Decrypt `src` with `run(src, dst)` into a spool file, then store it under `bucket/key` with its SHA-256.

    Raises DecryptionFailed(cause) when `run` fails (nothing is stored); StorageUnavailable when the spool
    cannot be written or the store cannot be reached; whatever `put_file` raises otherwise.
    """
    folder = spool_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix="plaintext-")
    except OSError as exc:
        raise _spool_unavailable(exc) from exc
    try:
        with os.fdopen(fd, "wb") as spool:
            sink = _SpoolWriter(spool)
            try:
                run(src, sink)  # type: ignore[arg-type]  # the decryptor only writes
            except StorageUnavailable:
                raise
            except Exception as exc:
                raise DecryptionFailed(exc) from exc
            try:
                spool.flush()
            except OSError as exc:
                raise _spool_unavailable(exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    # Handed over and gone afterwards: the folder backend moves it into place rather than writing it again.
    return get_storage().put_file(bucket, key, name, sha256=sink.digest.hexdigest())
