"""The age payload: ChaCha20-Poly1305 STREAM over 64 KiB chunks, in constant memory.

Chunk i is sealed with nonce = i as 11 big-endian bytes || 0x01 for the last chunk, 0x00 otherwise. Every chunk
but the last is full; the last may be full, and is empty only when the whole payload is empty.

Decryption writes each chunk to ``dst`` once its tag verified and raises PayloadError on any failure (bad tag,
truncation, missing final chunk, empty final chunk after data, trailing data), so a caller writing to a
quarantine file must discard it unless the call returned normally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.errors import PayloadError

__all__ = ["CHUNK_SIZE", "ENCRYPTED_CHUNK_SIZE", "TAG_SIZE", "decrypt_stream", "encrypt_stream"]

CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
_MAX_COUNTER = 1 << 88


class _ReadInto(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


def _reader(src: BinaryIO) -> Callable[[memoryview], int]:
    """A readinto-like callable for ``src`` (falls back to read() for objects without readinto)."""
    readinto = getattr(src, "readinto", None)
    if readinto is not None:
        fn = cast(_ReadInto, src).readinto

        def via_readinto(view: memoryview) -> int:
            n = fn(view)
            if n is None:
                raise OSError("non-blocking sources are not supported")
            return n

        return via_readinto

    def via_read(view: memoryview) -> int:
        data = src.read(len(view))
        view[: len(data)] = data
        return len(data)

    return via_read


def _fill(read: Callable[[memoryview], int], view: memoryview) -> int:
    """Read until ``view`` is full or EOF; return the number of bytes read."""
    total = 0
    size = len(view)
    while total < size:
        n = read(view[total:])
        if n == 0:
            break
        total += n
    return total


def _write_all(dst: BinaryIO, data: memoryview) -> None:
    written = dst.write(data)
    # Buffered files write everything; raw files may write less and report how much.
    while isinstance(written, int) and 0 <= written < len(data):
        data = data[written:]
        written = dst.write(data)


def _nonce(counter: int, last: bool) -> bytes:
    if counter >= _MAX_COUNTER:
        raise PayloadError("STREAM chunk counter overflow")
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_stream(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Encrypt all of ``src`` into ``dst`` as STREAM chunks; return the number of plaintext bytes."""
    aead = ChaCha20Poly1305(key)
    read = _reader(src)
    buf = bytearray(CHUNK_SIZE + 1)  # one byte of look-ahead tells whether a full chunk is the last one
    out = bytearray(ENCRYPTED_CHUNK_SIZE)
    view = memoryview(buf)
    out_view = memoryview(out)
    carry = 0
    counter = 0
    total = 0
    while True:
        n = carry + _fill(read, view[carry:])
        if n > CHUNK_SIZE:
            aead.encrypt_into(_nonce(counter, False), view[:CHUNK_SIZE], None, out_view)
            _write_all(dst, out_view)
            buf[0] = buf[CHUNK_SIZE]
            carry = 1
            counter += 1
            total += CHUNK_SIZE
            continue
        aead.encrypt_into(_nonce(counter, True), view[:n], None, out_view[: n + TAG_SIZE])
        _write_all(dst, out_view[: n + TAG_SIZE])
        return total + n


def decrypt_stream(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Decrypt STREAM chunks from ``src`` to ``dst`` until EOF; return the plaintext size or raise PayloadError."""
    aead = ChaCha20Poly1305(key)
    read = _reader(src)
    buf = bytearray(ENCRYPTED_CHUNK_SIZE + 1)
    out = bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    out_view = memoryview(out)
    carry = 0
    counter = 0
    total = 0

    def attempt(ciphertext: memoryview, last: bool) -> memoryview | None:
        plain = out_view[: len(ciphertext) - TAG_SIZE]
        try:
            aead.decrypt_into(_nonce(counter, last), ciphertext, None, plain)
        except InvalidTag:
            return None
        return plain

    while True:
        n = carry + _fill(read, view[carry:])
        if n > ENCRYPTED_CHUNK_SIZE:
            # More data follows, so this must be a non-final chunk.
            chunk = view[:ENCRYPTED_CHUNK_SIZE]
            plain = attempt(chunk, last=False)
            if plain is None:
                plain = attempt(chunk, last=True)
                if plain is None:
                    raise PayloadError(f"payload chunk {counter} failed authentication")
                _write_all(dst, plain)
                raise PayloadError("trailing data after the final payload chunk")
            _write_all(dst, plain)
            buf[0] = buf[ENCRYPTED_CHUNK_SIZE]
            carry = 1
            counter += 1
            total += CHUNK_SIZE
            continue
        if n < TAG_SIZE:
            raise PayloadError("payload truncated" if counter or n else "payload has no chunks")
        chunk = view[:n]
        plain = attempt(chunk, last=True)
        if plain is None:
            if n == ENCRYPTED_CHUNK_SIZE and (plain := attempt(chunk, last=False)) is not None:
                _write_all(dst, plain)
                raise PayloadError("payload truncated: the final chunk is missing")
            raise PayloadError(f"payload chunk {counter} failed authentication (or the payload was truncated)")
        if not plain and counter:
            raise PayloadError("final payload chunk is empty but the payload is not")
        _write_all(dst, plain)
        return total + len(plain)
