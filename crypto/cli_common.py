"""Input handling shared by the `python -m crypto verify-*` commands: the platform key and JSON documents."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.signing import SigningKeyError, load_public_key

KEY_HELP = "platform public key: PEM file, base64 file, or base64 text"


def read_public_key(value: str) -> Ed25519PublicKey:
    """A key given as a file (PEM or base64) or directly as base64 text."""
    path = Path(value)
    if path.is_file():
        return load_public_key(path.read_bytes())
    return load_public_key(value)


def public_key_or_report(value: str, out: TextIO) -> Ed25519PublicKey | None:
    """The key named by --key, or None after printing why it cannot be read (the caller exits 2)."""
    try:
        return read_public_key(value)
    except (SigningKeyError, OSError, ValueError) as exc:
        print(f"FAIL cannot read the public key: {exc}", file=out)
        return None


def read_json_input(path: str) -> Any:
    """The JSON document in the file `path`, or on stdin when `path` is '-'."""
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return json.loads(text)
