"""Decryption into object storage: the plaintext is stored only when the whole stream verified.

The sealed object is read from storage and decrypted into a local spool file (the quarantine file of the design).
Only when the decryption returned, i.e. every chunk verified and nothing trails, is the file handed to
`ObjectStorage.put_file`: the S3 backend hashes it, then uploads it straight to its key with that SHA-256,
hashing it again on the way (the object becomes visible only if it is exactly these bytes), instead of through
the staging bucket and a server-side copy; the folder backend moves it into place instead of writing it twice.
A failed decryption never stores or sends a byte.

Spooling every plaintext rather than only small ones: the large ones are where the staging copy costs most; the
spool holds one plaintext per process at a time (at most the tender's bid size limit) and is removed at once.
It lies in the instance folder's tmp/, on disk (a tmpfs /tmp would hold whole bids in memory); what a killed
process left there is removed by the next decryption an hour later.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import time
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
    """The decryptor's output, the spool file: a local write failure is retryable, not the bid's fault."""

    def __init__(self, fh: IO[bytes]) -> None:
        self._fh = fh

    def write(self, data: Any) -> int:
        try:
            self._fh.write(data)
        except OSError as exc:
            raise _spool_unavailable(exc) from exc
        return len(data)


def _spool_unavailable(exc: OSError) -> StorageUnavailable:
    # Not the bid's fault and not for ever (a full disk): the sweep tries the envelope again later.
    return StorageUnavailable(
        N_("The local spool for decrypted bids cannot be written (%(error)s)."), params={"error": exc.strerror}
    )


SPOOL_PREFIX = "plaintext-"
STALE_SPOOL_SECONDS = 3600  # longer than any live spool file stays untouched (the upload of a 5 GiB bid)


def spool_dir() -> Path:
    return Path(current_app.instance_path) / "tmp"


def _remove_stale_spool(folder: Path) -> None:
    """Plaintexts a killed process left behind: not to lie around in the instance folder."""
    cutoff = time.time() - STALE_SPOOL_SECONDS  # file times are the system clock's
    for entry in os.scandir(folder):
        if entry.name.startswith(SPOOL_PREFIX):
            with contextlib.suppress(OSError):
                if entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)


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
        _remove_stale_spool(folder)
        fd, name = tempfile.mkstemp(dir=folder, prefix=SPOOL_PREFIX)
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
    # Handed over and gone afterwards. Hashed there, once the file is complete: the folder backend moves it into
    # place rather than writing it again; S3 hashes it, then uploads it straight to its key while hashing again.
    return get_storage().put_file(bucket, key, name)
