"""A SHA-256 whose state can be saved between requests and resumed: chunked uploads hash on the way.

hashlib cannot export its state, so this drives OpenSSL's libcrypto (the library hashlib itself uses) through
ctypes: SHA256_Init/Update/Final on a SHA256_CTX we own. The saved state is a portable encoding of that
context (the eight chaining words, the byte count and the partial block), independent of the machine's byte
order, so any worker can continue what another started. The result equals hashlib.sha256 over all the bytes.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import functools
import struct
from typing import Any

from app.core.errors import ValidationFailed
from app.core.problems import N_

_STATE_VERSION = 1
_HEAD = struct.Struct(">B8IQ")  # version, h0..h7, total bytes hashed; then the partial block (< 64 bytes)


class _Ctx(ctypes.Structure):
    # OpenSSL's SHA256_CTX (include/openssl/sha.h), unchanged since 0.9.8.
    _fields_ = [
        ("h", ctypes.c_uint32 * 8),
        ("Nl", ctypes.c_uint32),
        ("Nh", ctypes.c_uint32),
        ("data", ctypes.c_uint8 * 64),
        ("num", ctypes.c_uint),
        ("md_len", ctypes.c_uint),
    ]


def _load() -> Any:
    names = [ctypes.util.find_library("crypto"), "libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.dylib"]
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.SHA256_Init.argtypes = [ctypes.POINTER(_Ctx)]
            lib.SHA256_Update.argtypes = [ctypes.POINTER(_Ctx), ctypes.c_void_p, ctypes.c_size_t]
            lib.SHA256_Final.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Ctx)]
        except (OSError, AttributeError):
            continue
        return lib
    raise RuntimeError("OpenSSL's libcrypto is needed for resumable SHA-256 (install libssl3 or equivalent)")


@functools.cache
def _libcrypto() -> Any:
    return _load()


class ResumableSha256:
    """SHA-256 with save()/restore(): `ResumableSha256.restore(h.save())` continues exactly where `h` was."""

    def __init__(self) -> None:
        self._ctx = _Ctx()
        if _libcrypto().SHA256_Init(ctypes.byref(self._ctx)) != 1:
            raise RuntimeError("SHA256_Init failed")

    @property
    def size(self) -> int:
        """Bytes hashed so far."""
        return int(((self._ctx.Nh << 32) | self._ctx.Nl) >> 3)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if isinstance(data, memoryview):
            data = data.cast("B") if not data.readonly else bytes(data)
        size = len(data)
        if not size:
            return
        # bytes go in as they are; a writable buffer by address (no copy either way).
        pointer: Any = data if isinstance(data, bytes) else ctypes.addressof(ctypes.c_char.from_buffer(data))
        if _libcrypto().SHA256_Update(ctypes.byref(self._ctx), pointer, size) != 1:
            raise RuntimeError("SHA256_Update failed")

    def hexdigest(self) -> str:
        """The digest of everything hashed so far; the object stays usable (a copy is finalised)."""
        copy = _Ctx.from_buffer_copy(self._ctx)
        out = ctypes.create_string_buffer(32)
        if _libcrypto().SHA256_Final(out, ctypes.byref(copy)) != 1:
            raise RuntimeError("SHA256_Final failed")
        return out.raw.hex()

    def save(self) -> str:
        """The state as ASCII text (at most 140 characters), to store between chunks."""
        ctx = self._ctx
        tail = bytes(ctx.data)[: ctx.num]
        return base64.b64encode(_HEAD.pack(_STATE_VERSION, *ctx.h, self.size) + tail).decode("ascii")

    @classmethod
    def restore(cls, state: str | None) -> ResumableSha256:
        """Continue from save()'s text; None or "" starts afresh. A damaged state is a ValidationFailed."""
        hasher = cls()
        if not state:
            return hasher
        try:
            raw = base64.b64decode(state.encode("ascii"), validate=True)
            version, *words, size = _HEAD.unpack_from(raw)
        except (ValueError, UnicodeEncodeError, struct.error) as exc:
            raise ValidationFailed(N_("The saved hash state is damaged.")) from exc
        tail = raw[_HEAD.size :]
        if version != _STATE_VERSION or len(tail) != size % 64 or len(tail) >= 64:
            raise ValidationFailed(N_("The saved hash state is damaged."))
        ctx = hasher._ctx
        for i, word in enumerate(words):
            ctx.h[i] = word
        bits = size << 3
        ctx.Nl, ctx.Nh = bits & 0xFFFFFFFF, (bits >> 32) & 0xFFFFFFFF
        ctypes.memmove(ctx.data, tail, len(tail))
        ctx.num = len(tail)
        return hasher
