"""Strict base64 helpers for the age header (unpadded, canonical) and armor (padded, canonical)."""

from __future__ import annotations

import base64
import binascii
import re

_UNPADDED = re.compile(rb"[A-Za-z0-9+/]*")


def b64encode_unpadded(data: bytes) -> bytes:
    """Standard base64 without ``=`` padding, as used in stanza arguments, bodies and the header MAC."""
    return base64.b64encode(data).rstrip(b"=")


def b64decode_canonical(text: bytes) -> bytes:
    """Decode unpadded standard base64, rejecting padding, foreign characters and non-canonical encodings.

    Raises ValueError; callers turn it into the error kind of their layer.
    """
    if _UNPADDED.fullmatch(text) is None:
        raise ValueError("invalid base64 character or padding")
    if len(text) % 4 == 1:
        raise ValueError("invalid base64 length")
    data = binascii.a2b_base64(text + b"=" * (-len(text) % 4), strict_mode=True)
    # Unused low bits of the last character must be zero: re-encoding must give back the same text.
    if b64encode_unpadded(data) != text:
        raise ValueError("non-canonical base64 encoding")
    return data
