"""Canonical JSON in the style of RFC 8785 (JCS), restricted to integers: the bytes we hash and sign.

Objects have their keys sorted by UTF-16 code units, there is no whitespace, output is UTF-8, and
strings are escaped the way RFC 8785 §3.2.2.2 prescribes (only `"`, `\\` and control characters
are escaped; everything else is written as itself). Numbers are integers within ±(2**53 - 1) so
that every JSON implementation reads them back exactly; floats, NaN and infinities are refused
rather than rounded, because a value that does not survive a round trip cannot be re-verified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from crypto.errors import CryptoError

# The largest integer every IEEE-754 double (and so every JSON reader) represents exactly.
MAX_SAFE_INTEGER = 2**53 - 1

_SHORT_ESCAPES = {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


class CanonicalError(CryptoError, ValueError):
    """The value cannot be written (or the bytes are not) canonical JSON of the supported kind."""


def _escape(text: str, path: str) -> str:
    out: list[str] = ['"']
    for ch in text:
        code = ord(ch)
        short = _SHORT_ESCAPES.get(code)
        if short is not None:
            out.append(short)
        elif code < 0x20:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            raise CanonicalError(f"{path}: lone surrogate U+{code:04X} cannot be encoded as UTF-8")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _utf16_key(key: str) -> bytes:
    # RFC 8785 §3.2.3 sorts property names by their UTF-16 code units, not by code points.
    return key.encode("utf-16-be", "surrogatepass")


def _write(value: Any, out: list[str], path: str) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(f"{path}: integer {value} is outside ±(2**53 - 1)")
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise CanonicalError(f"{path}: floating-point numbers are not allowed ({value!r}); use an integer or string")
    elif isinstance(value, str):
        out.append(_escape(value, path))
    elif isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalError(f"{path}: object keys must be strings, not {type(key).__name__} ({key!r})")
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_escape(key, path))
            out.append(":")
            _write(value[key], out, f"{path}.{key}")
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray | memoryview):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out, f"{path}[{i}]")
        out.append("]")
    else:
        raise CanonicalError(f"{path}: {type(value).__name__} is not a JSON value")


def canonicalize(value: Any) -> bytes:
    """The canonical UTF-8 bytes of `value` (dict/list/tuple/str/int/bool/None).

    Raises CanonicalError naming the offending path for floats, out-of-range integers,
    non-string keys, lone surrogates and non-JSON types.
    """
    out: list[str] = []
    _write(value, out, "$")
    return "".join(out).encode("utf-8")


def _refuse_float(text: str) -> Any:
    raise CanonicalError(f"floating-point number {text} is not allowed")


def _refuse_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in pairs:
        if key in result:
            raise CanonicalError(f"duplicate key {key!r}")
        result[key] = item
    return result


def loads_canonical(data: bytes) -> Any:
    """Parse `data` and insist that it is exactly the canonical form of what it encodes.

    Raises CanonicalError when the bytes are not UTF-8 JSON, contain floats or duplicate keys,
    or differ in any byte from the canonical serialisation of the parsed value.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalError(f"not UTF-8: {exc}") from exc
    try:
        value = json.loads(
            text,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_no_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise CanonicalError(f"not JSON: {exc}") from exc
    if canonicalize(value) != data:
        raise CanonicalError("bytes are valid JSON but not in canonical form")
    return value
