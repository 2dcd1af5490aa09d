"""age v1 file encryption (C2SP age spec) with X25519 recipients, interoperable with the ``age`` CLI.

Streaming in constant memory::

    encrypt(src, dst, [X25519Recipient.parse("age1…")], armor=False)
    decrypt(src, dst, [X25519Identity.parse("AGE-SECRET-KEY-1…")])

``decrypt`` writes plaintext chunks to ``dst`` as they verify and raises on any failure (see crypto.errors), so
the caller must discard ``dst`` unless it returned normally. For the server: ``parse_header`` checks that an upload
is a well-formed age v1 file without any key; ``unwrap_file_key`` recovers the 16-byte file key;
``decrypt_with_file_key`` opens a file given only its revealed file key (checking the header MAC first).

Passphrase (scrypt), post-quantum hybrid (mlkem768x25519), SSH and plugin recipients are reported with
UnsupportedRecipientError; unknown stanza types are otherwise ignored, as the spec requires.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import BinaryIO

from crypto.age.armor import ArmorReader, ArmorWriter
from crypto.age.header import FILE_KEY_SIZE, NONCE_SIZE, SCRYPT_TYPE, Header, Stanza, payload_key, read_header
from crypto.age.header import serialize_header as _serialize_header
from crypto.age.header import verify_mac as verify_header_mac
from crypto.age.keys import (
    X25519Identity,
    X25519Recipient,
    parse_identities,
    parse_identity,
    parse_recipient,
    parse_recipients,
)
from crypto.age.stream import CHUNK_SIZE, decrypt_stream, encrypt_stream
from crypto.errors import (
    AgeError,
    ArmorError,
    HeaderError,
    HeaderMACError,
    KeyFormatError,
    NoIdentityMatchError,
    PayloadError,
    UnsupportedRecipientError,
    UnsupportedVersionError,
)

__all__ = [
    "CHUNK_SIZE",
    "FILE_KEY_SIZE",
    "AgeError",
    "ArmorError",
    "Header",
    "HeaderError",
    "HeaderMACError",
    "KeyFormatError",
    "NoIdentityMatchError",
    "PayloadError",
    "Stanza",
    "UnsupportedRecipientError",
    "UnsupportedVersionError",
    "X25519Identity",
    "X25519Recipient",
    "decrypt",
    "decrypt_bytes",
    "decrypt_with_file_key",
    "encrypt",
    "encrypt_bytes",
    "parse_header",
    "parse_identities",
    "parse_identity",
    "parse_recipient",
    "parse_recipients",
    "unwrap_file_key",
    "verify_header_mac",
]

UNSUPPORTED_STANZAS = {
    SCRYPT_TYPE: "passphrase-encrypted (scrypt)",
    "mlkem768x25519": "post-quantum hybrid (mlkem768x25519)",
}
_WHITESPACE = b" \t\r\n"
_SNIFF_LIMIT = 1024


class _Prefixed:
    """``src`` with some already-read bytes put back in front (for sniffing the armor)."""

    def __init__(self, prefix: bytes, src: BinaryIO) -> None:
        self._prefix = prefix
        self._src = src

    def readline(self, limit: int = -1) -> bytes:
        if self._prefix:
            end = self._prefix.find(b"\n")
            stop = len(self._prefix) if end < 0 else end + 1
            if limit >= 0:
                stop = min(stop, limit)
            line, self._prefix = self._prefix[:stop], self._prefix[stop:]
            if line.endswith(b"\n") or self._prefix or (limit >= 0 and len(line) >= limit):
                return line
            return line + self._src.readline(-1 if limit < 0 else limit - len(line))
        return self._src.readline(limit)

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size < 0:
                data, self._prefix = self._prefix + self._src.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._src.read(size)

    def readinto(self, buffer: memoryview) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        readinto = getattr(self._src, "readinto", None)
        if readinto is None:
            data = self._src.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        got: int | None = readinto(buffer)
        return got or 0


def _open_source(src: BinaryIO, armor: bool | None) -> tuple[BinaryIO, bool]:
    """The stream of binary age bytes from ``src``, dearmoring when asked or (armor=None) when it looks armored."""
    if armor is None:
        prefix = b""
        while len(prefix) <= _SNIFF_LIMIT and not prefix.lstrip(_WHITESPACE):
            more = src.read(64)
            if not more:
                break
            prefix += more
        armor = prefix.lstrip(_WHITESPACE).startswith(b"-")
        src = _as_binary(_Prefixed(prefix, src))
    if armor:
        return _as_binary(ArmorReader(src)), True
    return src, False


def _as_binary(obj: object) -> BinaryIO:
    # Our reader classes implement the subset of BinaryIO the parsers use (read, readline, readinto).
    return obj  # type: ignore[return-value]


def parse_header(src: BinaryIO, *, armor: bool | None = None) -> Header:
    """Parse and validate the header (and payload nonce) of an age v1 file without any key.

    Raises HeaderError (or ArmorError) if ``src`` is not a well-formed age v1 file. ``armor=None`` sniffs for
    ASCII armor; True/False forces it.
    """
    stream, armored = _open_source(src, armor)
    return read_header(stream, armored=armored)


def unwrap_file_key(header: Header, identities: Sequence[X25519Identity]) -> bytes:
    """Recover the 16-byte file key with the first identity that unwraps a stanza (the MAC is not checked here).

    Raises NoIdentityMatchError when nothing matches, UnsupportedRecipientError when nothing matches and the file
    is sealed to an unsupported type (scrypt, ML-KEM hybrid), HeaderError for a malformed X25519 stanza.
    """
    types = set(header.stanza_types)
    if SCRYPT_TYPE in types:
        raise UnsupportedRecipientError(f"the file is {UNSUPPORTED_STANZAS[SCRYPT_TYPE]}, which is not supported")
    for identity in identities:
        if not isinstance(identity, X25519Identity):
            raise TypeError(f"expected X25519Identity, got {type(identity).__name__}")
        file_key = identity.unwrap(header.stanzas)
        if file_key is not None:
            if len(file_key) != FILE_KEY_SIZE:  # cannot happen: body length is checked before decrypting
                raise HeaderError("wrapped file key is not 16 bytes")
            return file_key
    unsupported = sorted(UNSUPPORTED_STANZAS[t] for t in types if t in UNSUPPORTED_STANZAS)
    if unsupported:
        raise UnsupportedRecipientError(
            f"no identity matched, and the file has {', '.join(unsupported)} recipients, which are not supported"
        )
    raise NoIdentityMatchError(
        f"no identity matched any of the file's recipients (stanza types: {', '.join(sorted(types))})"
    )


def _open_payload(header: Header, stream: BinaryIO, dst: BinaryIO, file_key: bytes) -> None:
    verify_header_mac(header, file_key)
    decrypt_stream(stream, dst, payload_key(file_key, header.nonce))


def decrypt(src: BinaryIO, dst: BinaryIO, identities: Sequence[X25519Identity], *, armor: bool | None = None) -> Header:
    """Decrypt an age file from ``src`` into ``dst``; raise an AgeError subclass on any failure.

    Plaintext is written chunk by chunk as each chunk verifies; accept ``dst`` only if this returns.
    """
    stream, armored = _open_source(src, armor)
    header = read_header(stream, armored=armored)
    _open_payload(header, stream, dst, unwrap_file_key(header, identities))
    return header


def decrypt_with_file_key(src: BinaryIO, dst: BinaryIO, file_key: bytes, *, armor: bool | None = None) -> Header:
    """Decrypt with a revealed 16-byte file key: the header MAC is verified with it before any plaintext."""
    if len(file_key) != FILE_KEY_SIZE:
        raise ValueError("file key must be 16 bytes")
    stream, armored = _open_source(src, armor)
    header = read_header(stream, armored=armored)
    _open_payload(header, stream, dst, file_key)
    return header


def _encrypt_with_file_key(
    src: BinaryIO,
    dst: BinaryIO,
    recipients: Sequence[X25519Recipient],
    file_key: bytes,
    *,
    armor: bool = False,
    nonce: bytes | None = None,
) -> None:
    if not recipients:
        raise ValueError("at least one recipient is required")
    if len(file_key) != FILE_KEY_SIZE:
        raise ValueError("file key must be 16 bytes")
    stanzas = []
    for recipient in recipients:
        if not isinstance(recipient, X25519Recipient):
            raise TypeError(f"expected X25519Recipient, got {type(recipient).__name__}")
        stanzas.append(recipient.wrap(file_key))
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise ValueError("nonce must be 16 bytes")
    out: BinaryIO = _as_binary(ArmorWriter(dst)) if armor else dst
    out.write(_serialize_header(stanzas, file_key) + nonce)
    encrypt_stream(src, out, payload_key(file_key, nonce))
    if armor:
        out.close()


def encrypt(src: BinaryIO, dst: BinaryIO, recipients: Sequence[X25519Recipient], *, armor: bool = False) -> None:
    """Encrypt all of ``src`` to ``recipients`` as an age v1 file written to ``dst`` (ASCII-armored if asked)."""
    _encrypt_with_file_key(src, dst, recipients, os.urandom(FILE_KEY_SIZE), armor=armor)


def encrypt_bytes(data: bytes, recipients: Sequence[X25519Recipient], *, armor: bool = False) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(data), out, recipients, armor=armor)
    return out.getvalue()


def decrypt_bytes(data: bytes, identities: Sequence[X25519Identity]) -> bytes:
    out = io.BytesIO()
    decrypt(io.BytesIO(data), out, identities)
    return out.getvalue()
