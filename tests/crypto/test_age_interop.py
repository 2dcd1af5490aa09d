"""Interoperability with the reference age CLI (/usr/bin/age, /usr/bin/age-keygen), both directions, plus the
constant-memory guarantee of the streaming API."""

from __future__ import annotations

import hashlib
import io
import shutil
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.age import CHUNK_SIZE, X25519Identity, decrypt, encrypt, parse_identities, parse_recipient
from crypto.errors import PayloadError
from tests.services import unavailable

REPO = Path(__file__).resolve().parents[2]
SIZES = [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE]
BIG = 100 * 1024 * 1024 + 12345  # more than 100 MiB, not a chunk multiple


def _tool(name: str) -> str:
    path = shutil.which(name, path="/usr/bin") or shutil.which(name)
    if path is None:
        unavailable(f"{name} CLI", f"{name} is not installed (Debian package 'age')")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def age_bin() -> str:
    return _tool("age")


@pytest.fixture(scope="module")
def age_keygen_bin() -> str:
    return _tool("age-keygen")


def data_of(size: int, seed: bytes = b"interop") -> bytes:
    return b"".join(_pattern(size, seed))


def _pattern(size: int, seed: bytes) -> Iterator[bytes]:
    """Deterministic pseudo-random bytes: SHA-256 in counter mode, 1 MiB at a time."""
    block = 1 << 20
    counter = 0
    produced = 0
    while produced < size:
        digests = []
        for _ in range(block // 32):
            digests.append(hashlib.sha256(seed + counter.to_bytes(8, "big")).digest())
            counter += 1
        piece = b"".join(digests)[: size - produced]
        produced += len(piece)
        yield piece


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@pytest.fixture(scope="module")
def age_keygen_identity(age_keygen_bin: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An identity made by age-keygen: (identity file, its recipient string)."""
    path = tmp_path_factory.mktemp("agekeys") / "key.txt"
    subprocess.run([age_keygen_bin, "-o", str(path)], check=True, capture_output=True)
    recipient = subprocess.run(
        [age_keygen_bin, "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return path, recipient


@pytest.fixture(scope="module")
def our_identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An identity made by `python -m crypto keygen -o`."""
    path = tmp_path_factory.mktemp("ourkeys") / "key.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "crypto", "keygen", "-o", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    recipient = proc.stderr.strip().removeprefix("Public key: ")
    assert recipient.startswith("age1")
    return path, recipient


def test_age_keygen_identity_parses_to_its_recipient(age_keygen_identity: tuple[Path, str]) -> None:
    path, recipient = age_keygen_identity
    [identity] = parse_identities(path.read_text())
    assert str(identity.recipient) == recipient


def test_our_keygen_file_is_accepted_by_age_keygen(our_identity: tuple[Path, str], age_keygen_bin: str) -> None:
    path, recipient = our_identity
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# created: ")
    assert lines[1] == f"# public key: {recipient}"
    assert lines[2].startswith("AGE-SECRET-KEY-1")
    derived = subprocess.run([age_keygen_bin, "-y", str(path)], check=True, capture_output=True, text=True)
    assert derived.stdout.strip() == recipient


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("keys", ["age_keygen_identity", "our_identity"])
def test_we_seal_age_opens(
    keys: str, size: int, armor: bool, age_bin: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    key_file, recipient = request.getfixturevalue(keys)
    plaintext = data_of(size)
    sealed = io.BytesIO()
    encrypt(io.BytesIO(plaintext), sealed, [parse_recipient(recipient)], armor=armor)
    enc = tmp_path / "msg.age"
    enc.write_bytes(sealed.getvalue())
    proc = subprocess.run([age_bin, "-d", "-i", str(key_file), str(enc)], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == plaintext


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("keys", ["age_keygen_identity", "our_identity"])
def test_age_seals_we_open(
    keys: str, size: int, armor: bool, age_bin: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    key_file, recipient = request.getfixturevalue(keys)
    plaintext = data_of(size, b"other")
    cmd = [age_bin, "-r", recipient, *(["-a"] if armor else [])]
    sealed = subprocess.run(cmd, input=plaintext, capture_output=True, check=True).stdout
    assert sealed.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----" if armor else b"age-encryption.org/v1\n")
    out = io.BytesIO()
    decrypt(io.BytesIO(sealed), out, parse_identities(key_file.read_text()))
    assert out.getvalue() == plaintext


def test_multiple_recipients_both_ways(
    age_bin: str, age_keygen_identity: tuple[Path, str], our_identity: tuple[Path, str], tmp_path: Path
) -> None:
    plaintext = data_of(CHUNK_SIZE * 3 + 7)
    sealed = io.BytesIO()
    encrypt(io.BytesIO(plaintext), sealed, [parse_recipient(age_keygen_identity[1]), parse_recipient(our_identity[1])])
    enc = tmp_path / "multi.age"
    enc.write_bytes(sealed.getvalue())
    for key_file, _ in (age_keygen_identity, our_identity):
        proc = subprocess.run([age_bin, "-d", "-i", str(key_file), str(enc)], capture_output=True, check=False)
        assert proc.returncode == 0, proc.stderr.decode()
        assert proc.stdout == plaintext
    by_age = subprocess.run(
        [age_bin, "-r", age_keygen_identity[1], "-r", our_identity[1]], input=plaintext, capture_output=True, check=True
    ).stdout
    for key_file, _ in (age_keygen_identity, our_identity):
        out = io.BytesIO()
        decrypt(io.BytesIO(by_age), out, parse_identities(key_file.read_text()))
        assert out.getvalue() == plaintext


def test_truncated_age_output_is_rejected(age_bin: str, age_keygen_identity: tuple[Path, str]) -> None:
    key_file, recipient = age_keygen_identity
    sealed = subprocess.run(
        [age_bin, "-r", recipient], input=data_of(2 * CHUNK_SIZE + 5), capture_output=True, check=True
    ).stdout
    with pytest.raises(PayloadError):
        decrypt(io.BytesIO(sealed[:-20]), io.BytesIO(), parse_identities(key_file.read_text()))


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "crypto", *args], cwd=REPO, input=stdin, capture_output=True, check=False
    )


@pytest.mark.parametrize("armor", [False, True], ids=["binary", "armor"])
def test_cli_seal_open_through_pipes_with_age(
    armor: bool, age_bin: str, age_keygen_identity: tuple[Path, str], our_identity: tuple[Path, str]
) -> None:
    plaintext = data_of(CHUNK_SIZE + 1) + b"\x00\r\n\x1a"  # binary-safe through stdin/stdout
    sealed = _cli("seal", "-r", age_keygen_identity[1], *(["-a"] if armor else []), stdin=plaintext)
    assert sealed.returncode == 0, sealed.stderr.decode()
    opened = subprocess.run(
        [age_bin, "-d", "-i", str(age_keygen_identity[0])], input=sealed.stdout, capture_output=True, check=False
    )
    assert opened.stdout == plaintext
    by_age = subprocess.run(
        [age_bin, "-r", our_identity[1], *(["-a"] if armor else [])], input=plaintext, capture_output=True, check=True
    )
    ours = _cli("open", "-i", str(our_identity[0]), stdin=by_age.stdout)
    assert ours.returncode == 0, ours.stderr.decode()
    assert ours.stdout == plaintext


def _roundtrip_big(age_bin: str, keys: tuple[Path, str], tmp_path: Path) -> None:
    key_file, recipient = keys
    src = tmp_path / "big.bin"
    with src.open("wb") as f:
        for piece in _pattern(BIG, b"big"):
            f.write(piece)
    want = _sha256_file(src)
    identities = parse_identities(key_file.read_text())

    ours = tmp_path / "ours.age"
    with src.open("rb") as fin, ours.open("wb") as fout:
        encrypt(fin, fout, [parse_recipient(recipient)])
    by_age_plain = tmp_path / "ours.out"
    subprocess.run([age_bin, "-d", "-i", str(key_file), "-o", str(by_age_plain), str(ours)], check=True)
    assert _sha256_file(by_age_plain) == want
    by_age_plain.unlink()
    ours.unlink()

    theirs = tmp_path / "theirs.age"
    subprocess.run([age_bin, "-r", recipient, "-o", str(theirs), str(src)], check=True)
    plain = tmp_path / "theirs.out"
    with theirs.open("rb") as fin, plain.open("wb") as fout:
        decrypt(fin, fout, identities)
    assert _sha256_file(plain) == want


@pytest.mark.slow
def test_big_file_both_ways(age_bin: str, age_keygen_identity: tuple[Path, str], tmp_path: Path) -> None:
    _roundtrip_big(age_bin, age_keygen_identity, tmp_path)


class _PatternSource(io.RawIOBase):
    """A readable stream of ``size`` deterministic bytes that never holds more than one block."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._block = bytes(range(256)) * 256
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left, len(self._block) - self._offset)
        buffer[:n] = self._block[self._offset : self._offset + n]
        self._offset = (self._offset + n) % len(self._block)
        self._left -= n
        return n


class _HashSink(io.RawIOBase):
    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def test_memory_stays_flat_for_64_mib(tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    identity = X25519Identity.generate()
    expected = _HashSink()
    source = _PatternSource(size)
    while chunk := source.read(1 << 20):
        expected.write(chunk)
    sealed = tmp_path / "flat.age"
    tracemalloc.start()
    try:
        with sealed.open("wb") as fout:
            encrypt(_PatternSource(size), fout, [identity.recipient])  # type: ignore[arg-type]
        sink = _HashSink()
        with sealed.open("rb") as fin:
            decrypt(fin, sink, [identity])  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sealed.stat().st_size > size
    assert sink.size == size
    assert sink.hash.digest() == expected.hash.digest()
    assert peak < 2 * 1024 * 1024, f"peak traced memory {peak} bytes"
