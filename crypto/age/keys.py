"""X25519 recipients (``age1…``) and identities (``AGE-SECRET-KEY-1…``), and the X25519 stanza.

    -> X25519 <base64(ephemeral share)>
    <base64(ChaCha20-Poly1305(wrap key, nonce=0, file key))>

wrap key = HKDF-SHA256(ikm=X25519(e, R), salt=share || R, info="age-encryption.org/v1/X25519").
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from crypto import bech32
from crypto.age._b64 import b64decode_canonical, b64encode_unpadded
from crypto.age.header import FILE_KEY_SIZE, X25519_TYPE, Stanza, hkdf_sha256
from crypto.errors import Bech32Error, HeaderError, KeyFormatError, UnsupportedRecipientError

__all__ = [
    "X25519Identity",
    "X25519Recipient",
    "parse_identities",
    "parse_identity",
    "parse_recipient",
    "parse_recipients",
]

RECIPIENT_HRP = "age"
IDENTITY_HRP = "AGE-SECRET-KEY-"
_X25519_INFO = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = bytes(12)
_KEY_SIZE = 32


def _raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class X25519Recipient:
    """An age X25519 recipient (a public key), written ``age1…`` in lowercase bech32."""

    __slots__ = ("_key", "_raw")

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != _KEY_SIZE:
            raise KeyFormatError("an X25519 public key is 32 bytes")
        self._raw = bytes(public_key)
        self._key = X25519PublicKey.from_public_bytes(self._raw)

    @classmethod
    def parse(cls, text: str) -> X25519Recipient:
        """Parse ``age1…``; uppercase or any other type is rejected (KeyFormatError / UnsupportedRecipientError)."""
        text = text.strip()
        if text.startswith("AGE-SECRET-KEY-"):
            raise KeyFormatError("this is a secret key (identity), not a recipient: give its age1… public key")
        if text.startswith("age1") and _looks_like_plugin(text):
            raise UnsupportedRecipientError(f"unsupported recipient type: {text[:12]}…")
        if text.startswith(("ssh-", "ecdsa-")):
            raise UnsupportedRecipientError("SSH recipients are not supported; use an age1… X25519 recipient")
        try:
            hrp, data = bech32.decode(text)
        except Bech32Error as exc:
            raise KeyFormatError(f"malformed age recipient: {exc}") from None
        if hrp != RECIPIENT_HRP:
            raise KeyFormatError("malformed age recipient: expected a lowercase age1… string")
        if len(data) != _KEY_SIZE:
            raise KeyFormatError("malformed age recipient: wrong key length")
        return cls(data)

    @property
    def public_bytes(self) -> bytes:
        return self._raw

    def __str__(self) -> str:
        return bech32.encode(RECIPIENT_HRP, self._raw)

    def __repr__(self) -> str:
        return f"X25519Recipient({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, X25519Recipient) and hmac.compare_digest(self._raw, other._raw)

    def __hash__(self) -> int:
        return hash(self._raw)

    def wrap(self, file_key: bytes) -> Stanza:
        """Wrap ``file_key`` to this recipient with a fresh ephemeral key."""
        if len(file_key) != FILE_KEY_SIZE:
            raise ValueError("file key must be 16 bytes")
        ephemeral = X25519PrivateKey.generate()
        share = _raw_public(ephemeral.public_key())
        shared = ephemeral.exchange(self._key)
        wrap_key = hkdf_sha256(shared, share + self._raw, _X25519_INFO)
        body = ChaCha20Poly1305(wrap_key).encrypt(_ZERO_NONCE, file_key, None)
        return Stanza(type=X25519_TYPE, args=(b64encode_unpadded(share).decode("ascii"),), body=body)


def _looks_like_plugin(text: str) -> bool:
    # Plugin recipients are age1<name>1…; a native one has its only "1" right after "age".
    return text.rfind("1") > 3


class X25519Identity:
    """An age X25519 identity (a private key), written ``AGE-SECRET-KEY-1…`` in uppercase bech32."""

    __slots__ = ("_key", "_raw", "_recipient")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != _KEY_SIZE:
            raise KeyFormatError("an X25519 secret key is 32 bytes")
        self._raw = bytes(secret)
        self._key = X25519PrivateKey.from_private_bytes(self._raw)
        self._recipient = X25519Recipient(_raw_public(self._key.public_key()))

    @classmethod
    def generate(cls) -> X25519Identity:
        key = X25519PrivateKey.generate()
        return cls(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def parse(cls, text: str) -> X25519Identity:
        """Parse ``AGE-SECRET-KEY-1…``; lowercase or any other type is rejected."""
        text = text.strip()
        if text.startswith(("AGE-SECRET-KEY-PQ-1", "AGE-PLUGIN-")):
            raise UnsupportedRecipientError(f"unsupported identity type: {text[:19]}… (only X25519 is supported)")
        if text.startswith("-----BEGIN"):
            raise UnsupportedRecipientError("SSH or PEM identities are not supported; use an AGE-SECRET-KEY-1… key")
        try:
            hrp, data = bech32.decode(text)
        except Bech32Error as exc:
            raise KeyFormatError(f"malformed age identity: {exc}") from None
        if hrp != IDENTITY_HRP:
            raise KeyFormatError("malformed age identity: expected an uppercase AGE-SECRET-KEY-1… string")
        if len(data) != _KEY_SIZE:
            raise KeyFormatError("malformed age identity: wrong key length")
        return cls(data)

    @property
    def recipient(self) -> X25519Recipient:
        return self._recipient

    def secret_string(self) -> str:
        """The ``AGE-SECRET-KEY-1…`` encoding (a secret: never log it)."""
        return bech32.encode(IDENTITY_HRP, self._raw)

    def __str__(self) -> str:
        return self.secret_string()

    def __repr__(self) -> str:
        return f"X25519Identity(recipient={str(self._recipient)!r})"

    def unwrap(self, stanzas: Iterable[Stanza]) -> bytes | None:
        """The file key from the first X25519 stanza addressed to this identity, or None if none is.

        Raises HeaderError for a malformed X25519 stanza or a low-order share (all-zero shared secret).
        """
        for stanza in stanzas:
            if stanza.type != X25519_TYPE:
                continue
            if len(stanza.args) != 1:
                raise HeaderError("invalid X25519 stanza: expected exactly one argument")
            try:
                share = b64decode_canonical(stanza.args[0].encode("ascii"))
            except ValueError as exc:
                raise HeaderError(f"invalid X25519 stanza share: {exc}") from None
            if len(share) != _KEY_SIZE or len(stanza.body) != FILE_KEY_SIZE + 16:
                raise HeaderError("invalid X25519 stanza: bad share or body length")
            try:
                shared = self._key.exchange(X25519PublicKey.from_public_bytes(share))
            except ValueError:  # OpenSSL refuses the all-zero result of a low-order point
                raise HeaderError("invalid X25519 stanza: low-order share") from None
            if not any(shared):
                raise HeaderError("invalid X25519 stanza: low-order share")
            wrap_key = hkdf_sha256(shared, share + self._recipient.public_bytes, _X25519_INFO)
            try:
                file_key = ChaCha20Poly1305(wrap_key).decrypt(_ZERO_NONCE, stanza.body, None)
            except InvalidTag:
                continue
            return file_key
        return None


def parse_recipient(text: str) -> X25519Recipient:
    return X25519Recipient.parse(text)


def parse_identity(text: str) -> X25519Identity:
    return X25519Identity.parse(text)


def _key_lines(text: str) -> list[tuple[int, str]]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((number, line))
    return out


def parse_recipients(text: str) -> list[X25519Recipient]:
    """Parse a recipients file: one recipient a line; empty lines and ``#`` comments are ignored."""
    recipients: list[X25519Recipient] = []
    for number, line in _key_lines(text):
        try:
            recipients.append(X25519Recipient.parse(line))
        except (KeyFormatError, UnsupportedRecipientError) as exc:
            raise type(exc)(f"line {number}: {exc}") from None
    if not recipients:
        raise KeyFormatError("no recipients found")
    return recipients


def parse_identities(text: str) -> list[X25519Identity]:
    """Parse an identity file (as written by age-keygen): one identity a line; ``#`` comments ignored."""
    if text.lstrip().startswith("age-encryption.org/") or "-----BEGIN AGE ENCRYPTED FILE-----" in text:
        raise UnsupportedRecipientError("passphrase-protected identity files are not supported")
    if text.lstrip().startswith("-----BEGIN"):
        raise UnsupportedRecipientError("SSH identities are not supported; use an AGE-SECRET-KEY-1… identity")
    identities: list[X25519Identity] = []
    for number, line in _key_lines(text):
        try:
            identities.append(X25519Identity.parse(line))
        except (KeyFormatError, UnsupportedRecipientError) as exc:
            raise type(exc)(f"line {number}: {exc}") from None
    if not identities:
        raise KeyFormatError("no identities found")
    return identities


def identities_of(items: Sequence[X25519Identity]) -> list[X25519Identity]:
    """Type-check a sequence of identities (defensive: the API is called from untyped code)."""
    for item in items:
        if not isinstance(item, X25519Identity):
            raise TypeError(f"expected X25519Identity, got {type(item).__name__}")
    return list(items)
