"""Exceptions raised by the crypto package.

Every error derives from :class:`CryptoError`, so a caller that only wants "did it verify?" can catch that. The age
errors mirror the outcome kinds of the age test vectors, so a caller can tell a malformed upload (``HeaderError``,
``ArmorError``) from a wrong key (``NoIdentityMatchError``) from a tampered or truncated payload (``PayloadError``).
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by the crypto package."""


class Bech32Error(CryptoError, ValueError):
    """A bech32 string is malformed: bad character, mixed case, bad checksum or bad padding."""


class AgeError(CryptoError):
    """Base class of the errors of the age v1 implementation."""


class KeyFormatError(AgeError, ValueError):
    """An age recipient or identity string (or a recipients/identities file) cannot be parsed."""


class UnsupportedRecipientError(AgeError):
    """A valid age recipient, identity or stanza type that is not supported here (scrypt, ML-KEM hybrid, SSH...)."""


class ArmorError(AgeError):
    """The ASCII armor ("-----BEGIN AGE ENCRYPTED FILE-----") is invalid."""


class HeaderError(AgeError):
    """The age header does not parse, is not canonical, or a stanza is malformed."""


class UnsupportedVersionError(HeaderError):
    """The file declares a format version other than age-encryption.org/v1."""


class HeaderMACError(AgeError):
    """The file key was recovered but the header MAC does not verify (the header was altered)."""


class NoIdentityMatchError(AgeError):
    """No stanza of the header could be unwrapped by any of the given identities."""


class PayloadError(AgeError):
    """The STREAM payload failed: bad tag, truncation, missing or misplaced final chunk, or trailing data.

    Any plaintext already written to the destination must be discarded.
    """
