"""The platform's signing and master keys: created once with 0600, reused, refused when exposed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app import create_app
from app.config import test_config as make_config
from app.core import keys
from crypto.signing import generate_private_key, key_id, private_key_to_pem


def _app(instance: Path, **extra: object) -> object:
    instance.mkdir(exist_ok=True)
    return create_app(make_config(instance, **extra))


def _ids(app: object) -> tuple[str, bytes]:
    with app.app_context():  # type: ignore[attr-defined]
        return keys.platform_key_id(), keys.master_key()


def test_keys_are_created_private_and_reused(tmp_path: Path) -> None:
    instance = tmp_path / "inst"
    first = _ids(_app(instance))
    for name in ("platform_ed25519.pem", "master.key"):
        mode = stat.S_IMODE((instance / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {mode:o}"
    assert len(first[1]) == 32
    assert _ids(_app(instance)) == first  # a restart keeps both keys
    assert not [p for p in instance.iterdir() if p.name.endswith(".tmp")]
    with _app(instance).app_context():  # type: ignore[attr-defined]
        published = keys.platform_public_keys()
    assert published[0]["key_id"] == first[0]
    assert published[0]["created_at"].endswith("Z")


@pytest.mark.parametrize("name", ["platform_ed25519.pem", "master.key"])
def test_refuses_to_start_with_an_exposed_key_file(tmp_path: Path, name: str) -> None:
    instance = tmp_path / "inst"
    _app(instance)
    os.chmod(instance / name, 0o640)
    with pytest.raises(keys.KeyFileError, match="chmod 600"):
        _app(instance)


def test_configured_pem_wins_over_the_file(tmp_path: Path) -> None:
    key = generate_private_key()
    app = _app(tmp_path / "inst", PLATFORM_KEY_PEM=private_key_to_pem(key).decode())
    assert _ids(app)[0] == key_id(key)
    assert not (tmp_path / "inst" / "platform_ed25519.pem").exists()
    with pytest.raises(keys.KeyFileError, match="PLATFORM_KEY_PEM"):
        _app(tmp_path / "other", PLATFORM_KEY_PEM="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")


def test_corrupt_master_key_is_refused(tmp_path: Path) -> None:
    instance = tmp_path / "inst"
    instance.mkdir()
    fd = os.open(instance / "master.key", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"c2hvcnQ=\n")  # 5 bytes
    os.close(fd)
    with pytest.raises(keys.KeyFileError, match="32 bytes"):
        _app(instance)
