"""Argument checks shared by both backends: buckets, keys, content types, file names, link lifetimes, ranges."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

from app.core.errors import ValidationFailed
from app.core.problems import N_
from app.core.storage.base import (
    _CONTENT_TYPE,
    _CONTROL,
    BUCKETS,
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    MAX_SIGNED_TTL,
    InvalidRange,
)

_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")

# --- validation shared by both backends --------------------------------------------------------------


def validate_bucket(bucket: str) -> str:
    if bucket not in BUCKETS:
        raise ValidationFailed(
            N_("Unknown bucket %(bucket)s."), params={"bucket": repr(bucket)}, errors={"bucket": ["unknown"]}
        )
    return bucket


def validate_sha256(sha256: str) -> str:
    """A SHA-256 as 64 hexadecimal digits, returned in lower case (as the backends store it)."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValidationFailed(N_("A SHA-256 is 64 hexadecimal digits."), errors={"sha256": ["format"]})
    return sha256.lower()


def validate_key(key: str) -> str:
    """Refuse keys that could escape a folder or confuse a server: '..', absolute, NUL, control, overlong."""
    if not isinstance(key, str) or not key:
        raise ValidationFailed(N_("An object key must be a non-empty string."), errors={"key": ["empty"]})
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationFailed(N_("An object key must be valid Unicode."), errors={"key": ["encoding"]}) from exc
    if len(encoded) > MAX_KEY_BYTES:
        raise ValidationFailed(
            N_("An object key may have at most %(limit)s bytes."),
            params={"limit": MAX_KEY_BYTES},
            errors={"key": ["long"]},
        )
    if _CONTROL.search(key) or "\\" in key:
        raise ValidationFailed(
            N_("An object key may not contain control characters or '\\'."), errors={"key": ["chars"]}
        )
    if key.startswith("/"):
        raise ValidationFailed(N_("An object key may not be absolute."), errors={"key": ["absolute"]})
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise ValidationFailed(
                N_("An object key may not contain '', '.' or '..' segments."), errors={"key": ["path"]}
            )
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise ValidationFailed(N_("An object key segment is too long."), errors={"key": ["long"]})
    return key


def validate_prefix(prefix: str) -> str:
    if prefix:
        validate_key(prefix + "x")  # a prefix is a key cut short: the same rules, but it may end in '/'
    return prefix


def validate_content_type(content_type: str) -> str:
    if len(content_type) > 255 or not _CONTENT_TYPE.match(content_type):
        raise ValidationFailed(N_("The content type is not valid."), errors={"content_type": ["invalid"]})
    return content_type


def validate_filename(filename: str) -> str:
    if not filename or _CONTROL.search(filename) or "/" in filename or "\\" in filename:
        raise ValidationFailed(N_("A download file name may not be empty or hold '/', '\\' or control characters."))
    if len(filename.encode("utf-8")) > MAX_SEGMENT_BYTES:
        raise ValidationFailed(N_("A download file name is too long."))
    return filename


def validate_ttl(expires: timedelta) -> timedelta:
    if not timedelta(seconds=1) <= expires <= MAX_SIGNED_TTL:
        raise ValidationFailed(N_("A signed link must live between one second and seven days."))
    return expires


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / RFC 5987) for Chinese names."""
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _resolve_range(size: int, start: int | None, end: int | None) -> tuple[int, int]:
    """(offset, length) for an inclusive byte range; the end is clamped to the object like HTTP does."""
    _check_range_args(start, end)
    if start is None and end is None:
        return 0, size
    first = start or 0
    if first >= size:
        raise InvalidRange(
            N_("The range starts at byte %(first)s but the object has %(size)s bytes."),
            params={"first": first, "size": size},
        )
    last = size - 1 if end is None else min(end, size - 1)
    return first, last - first + 1


def _check_range_args(start: int | None, end: int | None) -> None:
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise ValidationFailed(N_("Byte positions may not be negative."))
    if end is not None and end < (start or 0):
        raise InvalidRange(N_("The range ends before it starts."))
