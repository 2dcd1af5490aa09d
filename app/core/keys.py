"""The platform's own keys: the Ed25519 signing key and the 32-byte master key, created once, kept private.

The signing key comes from PLATFORM_KEY_PEM when configured, else from PLATFORM_KEY_PATH; the
master key from MASTER_KEY_PATH. A missing file is created on first start, atomically and with
mode 0600 (a private temporary file is written, then hard-linked into place, so two processes
starting together agree on one key and nobody ever reads a half-written file). An existing key
file readable by group or others stops the start: a leaked signing key forges evidence.
"""

from __future__ import annotations

import base64
import contextlib
import os
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app

from crypto.signing import (
    ALG,
    SigningKeyError,
    generate_private_key,
    key_id,
    load_private_key,
    private_key_to_pem,
    public_key_b64,
    public_key_to_pem,
)

MASTER_KEY_SIZE = 32
_EXT_KEY = "platform_keys"


class KeyFileError(RuntimeError):
    """A key file is unsafe or unreadable; the platform refuses to start with it."""


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"restrict it with `chmod 600 {path}` and start again"
        )


def _read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of the private file at `path`, creating it with `make()` when it does not exist."""
    if path.exists():
        _check_private(path)
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(make())
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic and refuses to replace: the first process to get here wins
    finally:
        tmp.unlink(missing_ok=True)
    _check_private(path)
    return path.read_bytes()


def _file_time(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _load_signing_key(app: Flask) -> tuple[Ed25519PrivateKey, str | None]:
    pem = app.config.get("PLATFORM_KEY_PEM")
    if pem:
        try:
            return load_private_key(pem), None
        except SigningKeyError as exc:
            raise KeyFileError(f"PLATFORM_KEY_PEM is not a usable Ed25519 private key: {exc}") from exc
    path = Path(app.config["PLATFORM_KEY_PATH"])
    data = _read_or_create(path, lambda: private_key_to_pem(generate_private_key()))
    try:
        key = load_private_key(data)
    except SigningKeyError as exc:
        raise KeyFileError(f"{path} is not a usable Ed25519 private key: {exc}") from exc
    return key, _file_time(path)


def _load_master_key(app: Flask) -> bytes:
    path = Path(app.config["MASTER_KEY_PATH"])
    # Stored in base64 so the file survives editors and copy-paste; exactly 32 random bytes.
    data = _read_or_create(path, lambda: base64.b64encode(os.urandom(MASTER_KEY_SIZE)) + b"\n")
    try:
        key = base64.b64decode(data.strip(), validate=True)
    except ValueError as exc:
        raise KeyFileError(f"{path} is not base64: {exc}") from exc
    if len(key) != MASTER_KEY_SIZE:
        raise KeyFileError(f"{path} must hold {MASTER_KEY_SIZE} bytes, found {len(key)}")
    return key


def init_app(app: Flask) -> None:
    """Load (or create) both keys now, so an unsafe key file stops the start rather than a later request."""
    signing, created_at = _load_signing_key(app)
    app.extensions[_EXT_KEY] = {
        "signing": signing,
        "signing_created_at": created_at,
        "master": _load_master_key(app),
    }


def _state() -> dict[str, Any]:
    state = current_app.extensions.get(_EXT_KEY)
    if state is None:
        init_app(current_app)
        state = current_app.extensions[_EXT_KEY]
    return dict(state)


def platform_signing_key() -> Ed25519PrivateKey:
    key: Ed25519PrivateKey = _state()["signing"]
    return key


def platform_key_id() -> str:
    return key_id(platform_signing_key())


def platform_public_keys() -> list[dict[str, Any]]:
    """Every key the platform signs (or has signed) with: key_id, alg, public_key (raw, base64), PEM, created_at."""
    state = _state()
    public = state["signing"].public_key()
    return [
        {
            "key_id": key_id(public),
            "alg": ALG,
            "public_key": public_key_b64(public),
            "public_key_pem": public_key_to_pem(public).decode("ascii"),
            "created_at": state["signing_created_at"],
        }
    ]


def master_key() -> bytes:
    """32 secret bytes for encrypting escrowed secrets; never leaves the process."""
    key: bytes = _state()["master"]
    return key
