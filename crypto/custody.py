"""Key custody: a secret (a tender's opening identity) encrypted under a random key split k-of-n (Shamir).

The random 32-byte wrap key is split as two 16-byte halves with pycryptodome's Shamir scheme over
GF(2^128), each half with the same share indices, so share i carries 32 bytes. The secret itself is
sealed with ChaCha20-Poly1305 under the wrap key, bound to a context string (the tender's reference
and its public recipient) as associated data: a rebuilt key that is wrong, or shares from another
tender, fail authentication instead of producing garbage.

Shares travel as text (`SCP-SHARE-1:…`) with a checksum so that a custodian's typing error is
reported as such, and shares held by the platform are wrapped under its master key.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
from dataclasses import dataclass

from Crypto.Protocol.SecretSharing import Shamir
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

SHARE_PREFIX = "SCP-SHARE-1"
MAX_SHARES = 16
_KEY_LEN = 32


class CustodyError(Exception):
    """Shares or escrow that cannot rebuild the secret; the message says why, never the secret."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise CustodyError("share text is not valid base64url") from exc


@dataclass(frozen=True)
class Share:
    context: str
    index: int
    threshold: int
    total: int
    value: bytes

    def to_text(self) -> str:
        body = f"{SHARE_PREFIX}:{self.context}:{self.threshold}-of-{self.total}:{self.index}:{_b64e(self.value)}"
        check = hashlib.sha256(body.encode()).hexdigest()[:8]
        return f"{body}:{check}"

    @classmethod
    def from_text(cls, text: str) -> Share:
        text = "".join(text.split())  # tolerate line breaks and spaces from copy-paste
        parts = text.split(":")
        if len(parts) != 6 or parts[0] != SHARE_PREFIX:
            raise CustodyError(f"not a key share: it must start with {SHARE_PREFIX}: and have six fields")
        body, check = ":".join(parts[:5]), parts[5]
        if hashlib.sha256(body.encode()).hexdigest()[:8] != check.lower():
            raise CustodyError("the share's checksum does not match: it was mistyped or altered")
        _, context, kn, index_s, value_s = parts[:5]
        try:
            k_s, n_s = kn.split("-of-")
            threshold, total, index = int(k_s), int(n_s), int(index_s)
        except ValueError as exc:
            raise CustodyError("the share's k-of-n or index field is malformed") from exc
        value = _b64d(value_s)
        if len(value) != _KEY_LEN or not 1 <= index <= total or not 1 <= threshold <= total:
            raise CustodyError("the share's fields are out of range")
        return cls(context, index, threshold, total, value)


@dataclass(frozen=True)
class Escrow:
    """What the platform stores: the sealed secret and the split parameters (no share, no key)."""

    context: str
    threshold: int
    total: int
    nonce: bytes
    ciphertext: bytes


def _check_context(context: str) -> None:
    if not context or ":" in context or any(c.isspace() for c in context):
        raise CustodyError("context must be non-empty, without ':' or spaces")


def seal_secret(secret: bytes, *, context: str, threshold: int, total: int) -> tuple[Escrow, list[Share]]:
    """Encrypt `secret` under a fresh random key and split that key `threshold`-of-`total`."""
    _check_context(context)
    if not 1 <= threshold <= total <= MAX_SHARES:
        raise CustodyError(f"need 1 <= k <= n <= {MAX_SHARES}, got k={threshold}, n={total}")
    key = os.urandom(_KEY_LEN)
    nonce = os.urandom(12)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, secret, context.encode())
    halves = [Shamir.split(threshold, total, key[:16]), Shamir.split(threshold, total, key[16:])]
    shares = [
        Share(context, idx, threshold, total, lo + hi)
        for (idx, lo), (idx2, hi) in zip(halves[0], halves[1], strict=True)
        if idx == idx2
    ]
    if len(shares) != total:
        raise CustodyError("share indices disagree between halves")
    return Escrow(context, threshold, total, nonce, ciphertext), shares


def _combine(shares: tuple[Share, ...]) -> bytes:
    lo = Shamir.combine([(s.index, s.value[:16]) for s in shares])
    hi = Shamir.combine([(s.index, s.value[16:]) for s in shares])
    return bytes(lo) + bytes(hi)


def recover_secret(escrow: Escrow, shares: list[Share]) -> bytes:
    """Rebuild the key from at least k shares and decrypt the secret.

    Shares for another context, duplicates or fewer than k distinct shares are refused with a clear
    error. When more than k are given, every k-subset is tried so that one wrong share among enough
    good ones does not block the opening.
    """
    foreign = [s.index for s in shares if s.context != escrow.context]
    if foreign:
        raise CustodyError(f"share(s) {foreign} belong to another tender, not {escrow.context}")
    distinct: dict[int, Share] = {}
    for s in shares:
        if s.threshold != escrow.threshold or s.total != escrow.total:
            raise CustodyError(f"share {s.index} is for a {s.threshold}-of-{s.total} split")
        if s.index in distinct and distinct[s.index].value != s.value:
            raise CustodyError(f"two different shares claim index {s.index}")
        distinct[s.index] = s
    if len(distinct) < escrow.threshold:
        raise CustodyError(f"{len(distinct)} share(s) given, {escrow.threshold} needed: nothing was opened")
    aead_aad = escrow.context.encode()
    for subset in itertools.combinations(sorted(distinct.values(), key=lambda s: s.index), escrow.threshold):
        key = _combine(subset)
        try:
            return ChaCha20Poly1305(key).decrypt(escrow.nonce, escrow.ciphertext, aead_aad)
        except InvalidTag:
            continue
    raise CustodyError("the shares do not rebuild the key: at least one share is wrong")


def wrap_share(share: Share, master_key: bytes) -> bytes:
    """Encrypt a platform-held share under the master key (nonce || ciphertext)."""
    if len(master_key) != _KEY_LEN:
        raise CustodyError("master key must be 32 bytes")
    nonce = os.urandom(12)
    aad = f"{share.context}:{share.index}".encode()
    return nonce + ChaCha20Poly1305(master_key).encrypt(nonce, share.to_text().encode(), aad)


def unwrap_share(blob: bytes, master_key: bytes, *, context: str, index: int) -> Share:
    if len(blob) < 12 + 16:
        raise CustodyError("wrapped share is truncated")
    try:
        text = ChaCha20Poly1305(master_key).decrypt(blob[:12], blob[12:], f"{context}:{index}".encode())
    except InvalidTag as exc:
        raise CustodyError("wrapped share does not open with this master key") from exc
    return Share.from_text(text.decode())
