"""Ed25519 keys and signed canonical-JSON documents (checkpoints, receipts, recording manifests).

A signed document is ``{"payload": {...}, "signature": {"alg": "Ed25519", "key_id": "…", "sig": "<base64>"}}``
where `sig` is the Ed25519 signature over `canonicalize(payload)` — exactly those bytes, so anybody
can check it with any Ed25519 implementation once they have the canonical form. The key id is the
first 8 bytes (16 hex digits) of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.canonical import canonicalize
from crypto.errors import CryptoError

ALG = "Ed25519"
RAW_KEY_SIZE = 32
SIGNATURE_SIZE = 64


class SigningKeyError(CryptoError, ValueError):
    """The bytes are not an Ed25519 key in a format we read."""


class SignatureError(CryptoError, ValueError):
    """A signed document is malformed, signed by an unknown key, or its signature does not verify."""


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted (the file's permissions protect it)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_to_pem(key: Ed25519PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_b64(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key in standard base64."""
    return base64.b64encode(public_key_raw(key)).decode("ascii")


def _b64_exact(text: str, size: int, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyError(f"{what} is neither PEM nor base64: {exc}") from exc
    if len(raw) != size:
        raise SigningKeyError(f"{what} in base64 must be {size} bytes, got {len(raw)}")
    return raw


def _as_text(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            return data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise SigningKeyError("key data is not ASCII PEM or base64") from exc
    return data


def load_private_key(data: bytes | str) -> Ed25519PrivateKey:
    """Read a PKCS#8 PEM private key or a raw 32-byte seed in base64."""
    text = _as_text(data)
    if "-----BEGIN" in text:
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"unreadable PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"PEM private key is {type(key).__name__}, not Ed25519")
        return key
    return Ed25519PrivateKey.from_private_bytes(_b64_exact(text, RAW_KEY_SIZE, "private key"))


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """Read a SubjectPublicKeyInfo PEM public key or a raw 32-byte public key in base64."""
    text = _as_text(data)
    if "-----BEGIN" in text:
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"unreadable PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"PEM public key is {type(key).__name__}, not Ed25519")
        return key
    return Ed25519PublicKey.from_public_bytes(_b64_exact(text, RAW_KEY_SIZE, "public key"))


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """16 hex digits: the first 8 bytes of SHA-256 over the raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return hashlib.sha256(public_key_raw(public)).digest()[:8].hex()


def sign_bytes(key: Ed25519PrivateKey, message: bytes) -> bytes:
    return key.sign(message)


def verify_bytes(key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def sign_document(payload: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Wrap `payload` as a signed document; raises CanonicalError if it is not canonicalisable."""
    message = canonicalize(payload)
    return {
        "payload": dict(payload),
        "signature": {
            "alg": ALG,
            "key_id": key_id(key),
            "sig": base64.b64encode(key.sign(message)).decode("ascii"),
        },
    }


def verify_document(
    document: Mapping[str, Any],
    keys: Ed25519PublicKey | Mapping[str, Ed25519PublicKey],
) -> dict[str, Any]:
    """Check a signed document; returns its payload.

    `keys` is one public key (then its key id must match the document's) or a mapping key_id → key.
    Raises SignatureError saying what is wrong.
    """
    if not isinstance(document, Mapping):
        raise SignatureError("signed document is not a JSON object")
    payload = document.get("payload")
    sig_block = document.get("signature")
    if not isinstance(payload, Mapping) or not isinstance(sig_block, Mapping):
        raise SignatureError("signed document needs an object 'payload' and an object 'signature'")
    if sig_block.get("alg") != ALG:
        raise SignatureError(f"unsupported signature algorithm {sig_block.get('alg')!r}")
    kid = sig_block.get("key_id")
    if not isinstance(kid, str):
        raise SignatureError("signature has no key_id")
    if isinstance(keys, Ed25519PublicKey):
        if key_id(keys) != kid:
            raise SignatureError(f"document is signed by key {kid}, not by the given key {key_id(keys)}")
        public = keys
    else:
        found = keys.get(kid)
        if found is None:
            raise SignatureError(f"document is signed by unknown key {kid}")
        public = found
    sig_text = sig_block.get("sig")
    if not isinstance(sig_text, str):
        raise SignatureError("signature has no 'sig'")
    try:
        signature = base64.b64decode(sig_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"signature is not base64: {exc}") from exc
    if len(signature) != SIGNATURE_SIZE:
        raise SignatureError(f"signature must be {SIGNATURE_SIZE} bytes, got {len(signature)}")
    if not verify_bytes(public, canonicalize(payload), signature):
        raise SignatureError("signature does not verify")
    return dict(payload)
