"""The age v1 header: strict parsing, canonical serialisation and the header MAC.

    age-encryption.org/v1
    -> TYPE ARG...
    <body, base64 without padding, 64 columns, ending with a line shorter than 64 columns (possibly empty)>
    --- <base64 HMAC-SHA256 over everything up to and including "---">

Parsing accepts only the canonical encoding (LF line endings, single spaces, unpadded canonical base64), so the
bytes covered by the MAC are exactly the bytes read.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.age._b64 import b64decode_canonical, b64encode_unpadded
from crypto.errors import HeaderError, HeaderMACError, UnsupportedVersionError

__all__ = [
    "FILE_KEY_SIZE",
    "MAX_HEADER_SIZE",
    "NONCE_SIZE",
    "Header",
    "Stanza",
    "compute_mac",
    "read_header",
    "serialize_header",
    "verify_mac",
]

VERSION_LINE = b"age-encryption.org/v1\n"
_VERSION_PREFIX = b"age-encryption.org/"
STANZA_PREFIX = b"-> "
MAC_PREFIX = b"---"
COLUMNS = 64
FILE_KEY_SIZE = 16
NONCE_SIZE = 16
MAC_SIZE = 32
MAX_HEADER_SIZE = 1 << 20  # far beyond any real header; bounds memory on hostile uploads
_MAX_LINE = 64 * 1024

SCRYPT_TYPE = "scrypt"
X25519_TYPE = "X25519"
X25519_SHARE_SIZE = 32
X25519_BODY_SIZE = FILE_KEY_SIZE + 16


@dataclass(frozen=True, slots=True)
class Stanza:
    """One recipient stanza: its type (first argument), the remaining arguments and the decoded body."""

    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        for word in (self.type, *self.args):
            _check_argument(word.encode("ascii", "replace"))
        line = STANZA_PREFIX + " ".join((self.type, *self.args)).encode("ascii") + b"\n"
        text = b64encode_unpadded(self.body)
        lines = [text[i : i + COLUMNS] for i in range(0, len(text), COLUMNS)]
        if len(text) % COLUMNS == 0:  # the body always ends with a short (possibly empty) line
            lines.append(b"")
        return line + b"".join(chunk + b"\n" for chunk in lines)


@dataclass(frozen=True, slots=True)
class Header:
    """A parsed age header.

    ``mac_input`` is the header up to and including ``---`` (what the MAC covers); ``payload_offset`` is the offset
    of the payload (which starts with ``nonce``) in the age file — in the decoded bytes when ``armored``.
    """

    stanzas: tuple[Stanza, ...]
    mac: bytes
    mac_input: bytes
    payload_offset: int
    nonce: bytes
    armored: bool = False

    @property
    def stanza_types(self) -> tuple[str, ...]:
        return tuple(s.type for s in self.stanzas)


def _check_argument(word: bytes) -> None:
    if not word:
        raise HeaderError("empty stanza argument")
    for c in word:
        if not 0x21 <= c <= 0x7E:
            raise HeaderError("invalid character in stanza argument")


def _readline(src: BinaryIO, budget: int) -> bytes:
    line = src.readline(min(_MAX_LINE, budget) + 1)
    if not line.endswith(b"\n"):
        if len(line) > min(_MAX_LINE, budget):
            raise HeaderError("header line too long or header too large")
        raise HeaderError("unexpected end of file in header")
    return line


def _validate_known_stanza(stanza: Stanza) -> None:
    """Structural checks that need no key, so that parse_header rejects malformed X25519 stanzas up front."""
    if stanza.type == X25519_TYPE:
        if len(stanza.args) != 1:
            raise HeaderError("invalid X25519 stanza: expected exactly one argument")
        try:
            share = b64decode_canonical(stanza.args[0].encode("ascii"))
        except ValueError as exc:
            raise HeaderError(f"invalid X25519 stanza share: {exc}") from None
        if len(share) != X25519_SHARE_SIZE:
            raise HeaderError("invalid X25519 stanza: share is not 32 bytes")
        if len(stanza.body) != X25519_BODY_SIZE:
            raise HeaderError("invalid X25519 stanza: wrapped file key is not 16 bytes")


def read_header(src: BinaryIO, *, armored: bool = False) -> Header:
    """Read and strictly parse the header and the payload nonce from ``src`` (left positioned at the first chunk)."""
    consumed = 0

    def next_line() -> bytes:
        nonlocal consumed
        line = _readline(src, MAX_HEADER_SIZE - consumed)
        consumed += len(line)
        return line

    first = src.readline(len(VERSION_LINE))
    if first != VERSION_LINE:
        if first.startswith(VERSION_LINE[:-1]):
            raise HeaderError('malformed version line: expected exactly "age-encryption.org/v1" ending with LF')
        if first.startswith(_VERSION_PREFIX):
            raise UnsupportedVersionError("unsupported age format version (only age-encryption.org/v1 is supported)")
        raise HeaderError("not an age v1 file: missing age-encryption.org/v1 header line")
    consumed = len(first)
    parts: list[bytes] = [first]
    stanzas: list[Stanza] = []
    while True:
        line = next_line()
        if line.startswith(STANZA_PREFIX):
            words = line[len(STANZA_PREFIX) : -1].split(b" ")
            for word in words:
                _check_argument(word)
            parts.append(line)
            body_lines: list[bytes] = []
            while True:
                body_line = next_line()
                parts.append(body_line)
                text = body_line[:-1]
                if len(text) > COLUMNS:
                    raise HeaderError("stanza body line longer than 64 columns")
                body_lines.append(text)
                if len(text) < COLUMNS:
                    break
            try:
                body = b64decode_canonical(b"".join(body_lines))
            except ValueError as exc:
                raise HeaderError(f"invalid stanza body: {exc}") from None
            args = tuple(w.decode("ascii") for w in words)
            stanza = Stanza(type=args[0], args=args[1:], body=body)
            _validate_known_stanza(stanza)
            stanzas.append(stanza)
        elif line.startswith(MAC_PREFIX):
            if not line.startswith(MAC_PREFIX + b" ") or not line.endswith(b"\n"):
                raise HeaderError("malformed MAC line")
            try:
                mac = b64decode_canonical(line[len(MAC_PREFIX) + 1 : -1])
            except ValueError as exc:
                raise HeaderError(f"invalid header MAC encoding: {exc}") from None
            if len(mac) != MAC_SIZE:
                raise HeaderError("header MAC is not 32 bytes")
            parts.append(MAC_PREFIX)
            break
        else:
            raise HeaderError("malformed header line: expected a stanza or the MAC line")
    if not stanzas:
        raise HeaderError("header has no recipient stanzas")
    if any(s.type == SCRYPT_TYPE for s in stanzas) and len(stanzas) != 1:
        raise HeaderError("an scrypt stanza must be the only stanza in the header")
    nonce = _read_exact(src, NONCE_SIZE)
    if len(nonce) != NONCE_SIZE:
        raise HeaderError("file too short: missing payload nonce")
    return Header(
        stanzas=tuple(stanzas),
        mac=mac,
        mac_input=b"".join(parts),
        payload_offset=consumed,
        nonce=nonce,
        armored=armored,
    )


def _read_exact(src: BinaryIO, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = src.read(size - len(data))
        if not more:
            break
        data += more
    return data


def serialize_header(stanzas: list[Stanza] | tuple[Stanza, ...], file_key: bytes) -> bytes:
    """The canonical header for ``stanzas``, MAC line included (without the payload nonce)."""
    if not stanzas:
        raise ValueError("an age header needs at least one stanza")
    mac_input = VERSION_LINE + b"".join(s.encode() for s in stanzas) + MAC_PREFIX
    return mac_input + b" " + b64encode_unpadded(compute_mac(file_key, mac_input)) + b"\n"


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def compute_mac(file_key: bytes, mac_input: bytes) -> bytes:
    """HMAC-SHA256 keyed with HKDF-SHA256(file key, salt="", info="header") over the header up to "---"."""
    return hmac.new(_hkdf(file_key, b"", b"header"), mac_input, hashlib.sha256).digest()


def verify_mac(header: Header, file_key: bytes) -> None:
    """Raise HeaderMACError unless the header MAC verifies under ``file_key``."""
    if len(file_key) != FILE_KEY_SIZE:
        raise ValueError("file key must be 16 bytes")
    if not hmac.compare_digest(compute_mac(file_key, header.mac_input), header.mac):
        raise HeaderMACError("header MAC mismatch: the header was altered or the file key is wrong")


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    """The STREAM key: HKDF-SHA256(file key, salt=nonce, info="payload")."""
    return _hkdf(file_key, nonce, b"payload")


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 with a 32-byte output, shared by the recipient implementations."""
    return _hkdf(ikm, salt, info)
