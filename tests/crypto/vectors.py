"""Reading the C2SP age test vectors kept in the repository (tests/crypto/testvectors/age: FORMAT.md, NOTICE)."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

VECTOR_DIR = Path(os.environ.get("AGE_TESTVECTORS", Path(__file__).resolve().parent / "testvectors" / "age"))
KNOWN_KEYS = {"expect", "payload", "file key", "identity", "passphrase", "armored", "compressed", "comment"}
OUTCOMES = {"success", "no match", "HMAC failure", "header failure", "payload failure", "armor failure"}


@dataclass
class Vector:
    name: str
    expect: str
    body: bytes
    payload: str | None = None
    file_key: bytes | None = None
    identities: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)
    armored: bool = False
    comment: str = ""


def vector_names() -> list[str]:
    if not VECTOR_DIR.is_dir():
        return []
    return sorted(p.name for p in VECTOR_DIR.iterdir() if p.is_file() and p.name not in {"FORMAT.md", "NOTICE"})


def load(name: str) -> Vector:
    raw = (VECTOR_DIR / name).read_bytes()
    head, sep, body = raw.partition(b"\n\n")
    assert sep, f"{name}: no blank line after the header"
    fields: dict[str, list[str]] = {}
    for line in head.decode("utf-8").split("\n"):
        key, colon, value = line.partition(": ")
        assert colon, f"{name}: malformed header line {line!r}"
        assert key in KNOWN_KEYS, f"{name}: unknown key {key!r}"
        fields.setdefault(key, []).append(value)
    compressed = fields.get("compressed", [""])[0]
    assert compressed in {"", "zlib"}, f"{name}: unknown compression {compressed!r}"
    if compressed == "zlib":
        body = zlib.decompress(body)
    expect = fields["expect"][0]
    assert expect in OUTCOMES, f"{name}: unknown outcome {expect!r}"
    return Vector(
        name=name,
        expect=expect,
        body=body,
        payload=fields.get("payload", [None])[0],
        file_key=bytes.fromhex(fields["file key"][0]) if "file key" in fields else None,
        identities=fields.get("identity", []),
        passphrases=fields.get("passphrase", []),
        armored=fields.get("armored", ["no"])[0] == "yes",
        comment=fields.get("comment", [""])[0],
    )
