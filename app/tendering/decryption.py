"""Streaming decryption into object storage: the plaintext is accepted only when the whole stream verified.

The sealed object is read from storage and decrypted in a helper thread into a pipe whose other end is
stored by `ObjectStorage.put`. A failure anywhere (bad chunk, truncation, trailing data) makes the read
end raise at its end of file, so `put` fails and no partial plaintext is ever stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from collections.abc import Callable
from typing import IO, Any

from app.core.storage import ObjectInfo, get_storage


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


class _PipeReader:
    """The read end of the decryption pipe; at its end, fails unless the decryption thread verified everything."""

    def __init__(self, fh: IO[bytes], thread: threading.Thread, errors: list[BaseException]) -> None:
        self._fh = fh
        self._thread = thread
        self._errors = errors

    def read(self, size: int = -1, /) -> bytes:
        data = self._fh.read(size)
        if not data:
            self._thread.join()
            if self._errors:
                raise DecryptionFailed(self._errors[0])
        return data


def decrypt_into_storage(
    run: Callable[[IO[bytes], IO[bytes]], Any], src: IO[bytes], bucket: str, key: str
) -> ObjectInfo:
    r_fd, w_fd = os.pipe()
    reader = os.fdopen(r_fd, "rb")
    writer = os.fdopen(w_fd, "wb")
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            run(src, writer)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            errors.append(exc)
        finally:
            with contextlib.suppress(OSError):
                writer.close()

    thread = threading.Thread(target=produce, name="bid-decrypt", daemon=True)
    thread.start()
    try:
        return get_storage().put(bucket, key, _PipeReader(reader, thread, errors))
    finally:
        reader.close()  # unblocks the producer (EPIPE) if storage gave up first
        thread.join()
