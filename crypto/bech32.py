"""Bech32 (BIP 173 checksum, original constant 1) as used by age for recipients and identities.

Unlike BIP 173 there is no 90-character length limit (age identities and post-quantum recipients are longer).
A string must be all lowercase or all uppercase; the checksum is computed over the lowercase form. ``decode``
returns the human-readable part in the case it was written, so callers can enforce the case age expects
(``age1…`` lowercase, ``AGE-SECRET-KEY-1…`` uppercase).
"""

from __future__ import annotations

from crypto.errors import Bech32Error

__all__ = ["CHARSET", "decode", "encode"]

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_REV = {c: i for i, c in enumerate(CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHECKSUM_LEN = 6


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = ((chk & 0x1FFFFFF) << 5) ^ v
        for i, g in enumerate(_GENERATOR):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _create_checksum(hrp: str, data: list[int]) -> list[int]:
    pm = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ 1
    return [(pm >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LEN)]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, *, pad: bool) -> list[int]:
    acc = 0
    bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        if value >> from_bits:
            raise Bech32Error("invalid data value")
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & maxv)
    elif bits >= from_bits:
        raise Bech32Error("invalid padding: too many bits")
    elif (acc << (to_bits - bits)) & maxv:
        raise Bech32Error("invalid padding: non-zero bits")
    return out


def _check_hrp(hrp: str) -> None:
    if not hrp:
        raise Bech32Error("empty human-readable part")
    for c in hrp:
        if not 33 <= ord(c) <= 126:
            raise Bech32Error("invalid character in human-readable part")


def encode(hrp: str, data: bytes) -> str:
    """Encode ``data`` under ``hrp``; the result is uppercase if ``hrp`` is uppercase, else lowercase."""
    _check_hrp(hrp)
    lower = hrp.lower()
    upper = hrp.upper()
    if hrp not in (lower, upper):
        raise Bech32Error("mixed-case human-readable part")
    values = _convert_bits(data, 8, 5, pad=True)
    encoded = lower + "1" + "".join(CHARSET[v] for v in values + _create_checksum(lower, values))
    return encoded.upper() if hrp == upper and hrp != lower else encoded


def decode(text: str) -> tuple[str, bytes]:
    """Decode a bech32 string into (human-readable part as written, data bytes); raise Bech32Error if invalid."""
    if not text.isascii():
        raise Bech32Error("non-ASCII character")
    lower = text.lower()
    if text != lower and text != text.upper():
        raise Bech32Error("mixed case")
    pos = lower.rfind("1")
    if pos < 1:
        raise Bech32Error("missing separator or empty human-readable part")
    if len(lower) - pos - 1 < _CHECKSUM_LEN:
        raise Bech32Error("too short for a checksum")
    hrp = text[:pos]
    _check_hrp(hrp)
    try:
        values = [_CHARSET_REV[c] for c in lower[pos + 1 :]]
    except KeyError:
        raise Bech32Error("invalid character in data part") from None
    if _polymod(_hrp_expand(lower[:pos]) + values) != 1:
        raise Bech32Error("invalid checksum")
    data = _convert_bits(values[:-_CHECKSUM_LEN], 5, 8, pad=False)
    return hrp, bytes(data)
