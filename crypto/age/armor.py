"""ASCII armor for age files (C2SP age, "ASCII armor"): strict streaming decoder and encoder.

    -----BEGIN AGE ENCRYPTED FILE-----
    <standard padded base64, exactly 64 columns a line, the last line 1..64 columns>
    -----END AGE ENCRYPTED FILE-----

Decoding rules: lines end with LF or CRLF; whitespace (space, tab, CR, LF) is allowed only before the BEGIN line
and after the END line (at most 1 KiB each side); no headers, no empty or short lines before the last one, no
whitespace inside lines, canonical padded base64, END line required.
"""

from __future__ import annotations

import binascii
from typing import BinaryIO

from crypto.errors import ArmorError

__all__ = ["BEGIN", "END", "ArmorReader", "ArmorWriter"]

BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
END = b"-----END AGE ENCRYPTED FILE-----"
COLUMNS = 64
BYTES_PER_LINE = COLUMNS // 4 * 3
MAX_WHITESPACE = 1024
_WHITESPACE = b" \t\r\n"
_REFILL_LINES = 1024  # decode about 48 KiB per refill


class ArmorReader:
    """Decodes an armored age file from ``src``; raises ArmorError on any deviation from the strict format.

    Provides ``read``, ``readinto`` and ``readline`` over the decoded bytes. EOF is only reported once the END line
    and the trailing whitespace have been checked, so reading to EOF validates the whole armor.
    """

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._buf = bytearray()
        self._pos = 0
        self._started = False
        self._done = False
        self._deferred: ArmorError | None = None

    def _line(self) -> tuple[bytes, bool]:
        """The next line without its terminator, and whether it had one (LF or CRLF)."""
        raw = self._src.readline(COLUMNS + 3)
        if raw.endswith(b"\r\n"):
            return raw[:-2], True
        if raw.endswith(b"\n"):
            return raw[:-1], True
        if len(raw) > COLUMNS + 1:
            raise ArmorError("armor line too long")
        return raw, False

    def _start(self) -> None:
        skipped = 0
        while True:
            raw = self._src.readline(MAX_WHITESPACE + len(BEGIN) + 2)
            if not raw:
                raise ArmorError("no armor BEGIN line")
            stripped = raw.lstrip(_WHITESPACE)
            skipped += len(raw) - len(stripped)
            if skipped > MAX_WHITESPACE:
                raise ArmorError("too much whitespace before the armor")
            if stripped:
                break
        if stripped not in (BEGIN + b"\n", BEGIN + b"\r\n"):
            raise ArmorError("invalid armor BEGIN line")
        self._started = True

    def _finish(self) -> None:
        trailing = self._src.read(MAX_WHITESPACE + 1)
        while trailing and len(trailing) <= MAX_WHITESPACE:
            more = self._src.read(MAX_WHITESPACE + 1 - len(trailing))
            if not more:
                break
            trailing += more
        if trailing.strip(_WHITESPACE):
            raise ArmorError("trailing data after the armor END line")
        if len(trailing) > MAX_WHITESPACE:
            raise ArmorError("too much whitespace after the armor")
        self._done = True

    def _refill(self) -> None:
        if self._deferred is not None:
            raise self._deferred
        if self._done:
            return
        if not self._started:
            self._start()
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        for _ in range(_REFILL_LINES):
            line, terminated = self._line()
            if line == END:
                self._finish()
                return
            if not terminated:
                error = ArmorError("armor ends without an END line" if not line else "unterminated armor line")
                if not self._buf:
                    raise error
                # The whole lines before it are good: hand them out first, and fail only when the caller needs
                # more (so a truncated prefix, like a file's first chunk, still yields its header).
                self._deferred = error
                return
            if not line:
                raise ArmorError("empty line in armor")
            if len(line) > COLUMNS:
                raise ArmorError("armor line longer than 64 columns")
            try:
                data = binascii.a2b_base64(line, strict_mode=True)
            except binascii.Error as exc:
                raise ArmorError(f"invalid base64 in armor: {exc}") from None
            if len(line) % 4:
                raise ArmorError("armor line is not a whole number of base64 quanta")
            self._buf += data
            if len(data) < BYTES_PER_LINE:
                if line.endswith(b"=") and binascii.b2a_base64(data, newline=False) != line:
                    raise ArmorError("non-canonical base64 in armor")
                end, _ = self._line()
                if end != END:
                    raise ArmorError("short armor line must be the last line before END")
                self._finish()
                return

    def readinto(self, buffer: memoryview | bytearray) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos >= len(self._buf):
            self._refill()
        n = min(len(view), len(self._buf) - self._pos)
        view[:n] = self._buf[self._pos : self._pos + n]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            if self._pos >= len(self._buf):
                self._refill()
                if self._pos >= len(self._buf):
                    break
            take = len(self._buf) - self._pos if size < 0 else min(size - len(out), len(self._buf) - self._pos)
            out += self._buf[self._pos : self._pos + take]
            self._pos += take
        return bytes(out)

    def readline(self, limit: int = -1) -> bytes:
        out = bytearray()
        while limit < 0 or len(out) < limit:
            if self._pos >= len(self._buf):
                self._refill()
                if self._pos >= len(self._buf):
                    break
            end = self._buf.find(b"\n", self._pos)
            stop = len(self._buf) if end < 0 else end + 1
            if limit >= 0:
                stop = min(stop, self._pos + limit - len(out))
            out += self._buf[self._pos : stop]
            self._pos = stop
            if out.endswith(b"\n"):
                break
        return bytes(out)


class ArmorWriter:
    """Armors everything written to it into ``dst``; ``close()`` writes the tail and END line (not closing dst)."""

    _BLOCK = BYTES_PER_LINE * 1024

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._pending = bytearray()
        self._closed = False
        dst.write(BEGIN + b"\n")

    def _emit(self, data: bytes | bytearray | memoryview) -> None:
        text = binascii.b2a_base64(data, newline=False)
        self._dst.write(b"".join(text[i : i + COLUMNS] + b"\n" for i in range(0, len(text), COLUMNS)))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed ArmorWriter")
        self._pending += data
        if len(self._pending) >= self._BLOCK:
            whole = len(self._pending) - len(self._pending) % self._BLOCK
            with memoryview(self._pending) as view:
                self._emit(view[:whole])
            del self._pending[:whole]
        return len(data)

    def close(self) -> None:
        if self._closed:
            return
        if self._pending:
            self._emit(self._pending)
            self._pending.clear()
        self._dst.write(END + b"\n")
        self._closed = True
