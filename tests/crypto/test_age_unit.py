"""Unit tests of the age implementation: bech32, keys, header canonical form, armor, STREAM edge cases, the
server-side helpers and the CLI's error behaviour."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from crypto import bech32
from crypto.age import (
    CHUNK_SIZE,
    X25519Identity,
    X25519Recipient,
    _encrypt_with_file_key,
    decrypt,
    decrypt_bytes,
    decrypt_with_file_key,
    encrypt,
    encrypt_bytes,
    parse_header,
    parse_identities,
    parse_identity,
    parse_recipient,
    parse_recipients,
    unwrap_file_key,
)
from crypto.age.armor import BYTES_PER_LINE, ArmorReader, ArmorWriter
from crypto.age.header import Stanza, serialize_header
from crypto.errors import (
    ArmorError,
    Bech32Error,
    HeaderError,
    HeaderMACError,
    KeyFormatError,
    NoIdentityMatchError,
    PayloadError,
    UnsupportedRecipientError,
)

REPO = Path(__file__).resolve().parents[2]
# From the C2SP vectors: the identity of most x25519/stream vectors.
VECTOR_IDENTITY = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"


# --- bech32 -----------------------------------------------------------------------------------------------------


def test_bech32_bip173_valid_strings() -> None:
    for text in [
        "A12UEL5L",
        "a12uel5l",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    ]:
        hrp, data = bech32.decode(text)
        assert bech32.encode(hrp, data) == text


@pytest.mark.parametrize(
    "text",
    ["A12uEL5L", "a12uel5m", "1nwldj5", "pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "A1G7SGD8", "10a06t8", "1qzzfhee"],
)
def test_bech32_rejects_invalid(text: str) -> None:
    with pytest.raises(Bech32Error):
        bech32.decode(text)


def test_bech32_rejects_nonzero_padding() -> None:
    hrp, data = bech32.decode(str(X25519Identity.generate().recipient))
    good = bech32.encode(hrp, data)
    # Flip the last data character's low bits (padding bits for a 32-byte payload) and recompute nothing:
    # the checksum then fails; build a correctly checksummed string with non-zero padding instead.
    values = [bech32.CHARSET.index(c) for c in good[len(hrp) + 1 : -6]]
    values[-1] |= 1
    checksum = bech32._create_checksum(hrp, values)
    bad = hrp + "1" + "".join(bech32.CHARSET[v] for v in values + checksum)
    with pytest.raises(Bech32Error, match="padding"):
        bech32.decode(bad)


# --- keys -------------------------------------------------------------------------------------------------------


def test_identity_roundtrip_and_case_rules() -> None:
    identity = X25519Identity.generate()
    text = identity.secret_string()
    assert text.startswith("AGE-SECRET-KEY-1") and text == text.upper()
    assert parse_identity(text).recipient == identity.recipient
    recipient = str(identity.recipient)
    assert recipient.startswith("age1") and recipient == recipient.lower()
    assert parse_recipient(recipient) == identity.recipient
    with pytest.raises(KeyFormatError):
        parse_identity(text.lower())
    with pytest.raises(KeyFormatError):
        parse_recipient(recipient.upper())
    with pytest.raises(KeyFormatError):
        parse_recipient(recipient[:-1] + ("q" if recipient[-1] != "q" else "p"))
    with pytest.raises(KeyFormatError, match="secret key"):
        parse_recipient(text)
    assert text not in repr(identity)


def test_known_identity_gives_known_recipient() -> None:
    # age-keygen -y of the vector identity, computed independently with the reference tool.
    identity = parse_identity(VECTOR_IDENTITY)
    assert str(identity) == VECTOR_IDENTITY
    assert str(identity.recipient) == "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"
    assert X25519Recipient(identity.recipient.public_bytes) == identity.recipient


@pytest.mark.parametrize(
    "text",
    [
        "age1pq1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        "age1yubikey1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample",
    ],
)
def test_unsupported_recipient_types(text: str) -> None:
    with pytest.raises(UnsupportedRecipientError):
        parse_recipient(text)


def test_unsupported_identity_types() -> None:
    with pytest.raises(UnsupportedRecipientError):
        parse_identity("AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG")
    with pytest.raises(UnsupportedRecipientError):
        parse_identities("-----BEGIN OPENSSH PRIVATE KEY-----\nxxx\n-----END OPENSSH PRIVATE KEY-----\n")


def test_key_files_ignore_comments_and_report_line_numbers() -> None:
    a, b = X25519Identity.generate(), X25519Identity.generate()
    text = f"# created: now\n\n# public key: {a.recipient}\n{a}\n  \n{b}\n"
    assert [i.recipient for i in parse_identities(text)] == [a.recipient, b.recipient]
    assert parse_recipients(f"# team\n{a.recipient}\n\n{b.recipient}\n") == [a.recipient, b.recipient]
    with pytest.raises(KeyFormatError, match="line 2"):
        parse_recipients(f"{a.recipient}\nage1garbage\n")
    with pytest.raises(KeyFormatError):
        parse_identities("# only comments\n")


# --- header -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 96, 200])
def test_stanza_body_wrapping_is_canonical(size: int) -> None:
    stanza = Stanza(type="grease", args=("a",), body=bytes(range(256))[:size])
    encoded = stanza.encode()
    body_lines = encoded.split(b"\n")[1:-1]
    assert all(len(line) == 64 for line in body_lines[:-1])
    assert len(body_lines[-1]) < 64  # the last line is always short, possibly empty
    header = serialize_header([stanza], bytes(16)) + bytes(16)
    [parsed] = parse_header(io.BytesIO(header)).stanzas
    assert parsed == stanza


def test_parse_header_reports_offset_nonce_and_types() -> None:
    identity = X25519Identity.generate()
    nonce = bytes(range(16))
    out = io.BytesIO()
    _encrypt_with_file_key(io.BytesIO(b"hello"), out, [identity.recipient], b"K" * 16, nonce=nonce)
    data = out.getvalue()
    header = parse_header(io.BytesIO(data))
    assert header.stanza_types == ("X25519",)
    assert header.nonce == nonce
    assert data[header.payload_offset : header.payload_offset + 16] == nonce
    assert data[: len(header.mac_input)] == header.mac_input and header.mac_input.endswith(b"\n---")
    assert not header.armored
    assert unwrap_file_key(header, [identity]) == b"K" * 16
    with pytest.raises(NoIdentityMatchError):
        unwrap_file_key(header, [X25519Identity.generate()])
    armored = parse_header(io.BytesIO(encrypt_bytes(b"x", [identity.recipient], armor=True)))
    assert armored.armored


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"age-encryption.org/v1\n",
        b"age-encryption.org/v2\n-> X 1\n\n--- AAAA\n",
        b"not an age file at all\n",
        b"\x00\x01\x02binary",
    ],
)
def test_parse_header_rejects_non_age(data: bytes) -> None:
    with pytest.raises(HeaderError):
        parse_header(io.BytesIO(data), armor=False)


def test_unknown_stanzas_are_skipped_when_another_matches() -> None:
    identity = X25519Identity.generate()
    stanzas = [Stanza("grease-type", ("x", "y"), b"junk"), identity.recipient.wrap(b"F" * 16)]
    out = io.BytesIO()
    out.write(serialize_header(stanzas, b"F" * 16))
    _encrypt_payload_only(out, b"F" * 16, b"payload")
    assert decrypt_bytes(out.getvalue(), [identity]) == b"payload"


def _encrypt_payload_only(out: io.BytesIO, file_key: bytes, plaintext: bytes) -> None:
    from crypto.age.header import payload_key
    from crypto.age.stream import encrypt_stream

    nonce = bytes(16)
    out.write(nonce)
    encrypt_stream(io.BytesIO(plaintext), out, payload_key(file_key, nonce))


def test_scrypt_is_unsupported_and_must_be_alone() -> None:
    scrypt = Stanza("scrypt", ("c2FsdHNhbHRzYWx0c2FsdA", "10"), bytes(32))
    data = serialize_header([scrypt], bytes(16)) + bytes(16)
    with pytest.raises(UnsupportedRecipientError, match="scrypt"):
        decrypt(io.BytesIO(data), io.BytesIO(), [X25519Identity.generate()])
    mixed = serialize_header([scrypt, X25519Identity.generate().recipient.wrap(bytes(16))], bytes(16)) + bytes(16)
    with pytest.raises(HeaderError, match="scrypt"):
        parse_header(io.BytesIO(mixed))


def test_hybrid_only_file_is_unsupported() -> None:
    data = serialize_header([Stanza("mlkem768x25519", ("AAAA",), bytes(32))], bytes(16)) + bytes(16)
    with pytest.raises(UnsupportedRecipientError, match="mlkem768x25519"):
        decrypt(io.BytesIO(data), io.BytesIO(), [X25519Identity.generate()])


# --- payload ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE])
def test_chunking_matches_the_spec(size: int) -> None:
    identity = X25519Identity.generate()
    plaintext = hashlib.sha256(str(size).encode()).digest() * (size // 32 + 1)
    plaintext = plaintext[:size]
    sealed = encrypt_bytes(plaintext, [identity.recipient])
    header = parse_header(io.BytesIO(sealed))
    payload = len(sealed) - header.payload_offset - 16
    chunks = max(1, -(-size // CHUNK_SIZE))  # an empty payload is one empty final chunk, never a trailing one
    assert payload == size + 16 * chunks
    assert decrypt_bytes(sealed, [identity]) == plaintext


def test_every_truncation_and_extension_fails() -> None:
    identity = X25519Identity.generate()
    sealed = encrypt_bytes(b"z" * (CHUNK_SIZE + 100), [identity.recipient])
    header_len = parse_header(io.BytesIO(sealed)).payload_offset + 16
    for cut in [1, 15, 16, 17, 100, 116, len(sealed) - header_len - 1]:
        with pytest.raises(PayloadError):
            decrypt(io.BytesIO(sealed[:-cut]), io.BytesIO(), [identity])
    for extra in [b"\x00", b"x" * 17, b"y" * 70000]:
        with pytest.raises(PayloadError):
            decrypt(io.BytesIO(sealed + extra), io.BytesIO(), [identity])
    flipped = bytearray(sealed)
    flipped[header_len + 10] ^= 0x80
    with pytest.raises(PayloadError):
        decrypt(io.BytesIO(bytes(flipped)), io.BytesIO(), [identity])


def test_header_tampering_is_a_mac_failure() -> None:
    identity = X25519Identity.generate()
    sealed = encrypt_bytes(b"bid", [identity.recipient])
    grease = Stanza("extra", ("z",), b"").encode()
    cut = sealed.index(b"\n---") + 1
    tampered = sealed[:cut] + grease + sealed[cut:]
    with pytest.raises(HeaderMACError):
        decrypt(io.BytesIO(tampered), io.BytesIO(), [identity])


def test_decrypt_with_file_key_checks_the_mac_first() -> None:
    identity = X25519Identity.generate()
    out = io.BytesIO()
    _encrypt_with_file_key(io.BytesIO(b"price: 100"), out, [identity.recipient], b"Q" * 16)
    plain = io.BytesIO()
    decrypt_with_file_key(io.BytesIO(out.getvalue()), plain, b"Q" * 16)
    assert plain.getvalue() == b"price: 100"
    plain = io.BytesIO()
    with pytest.raises(HeaderMACError):
        decrypt_with_file_key(io.BytesIO(out.getvalue()), plain, b"R" * 16)
    assert plain.getvalue() == b""


def test_unbuffered_and_read_only_sources() -> None:
    identity = X25519Identity.generate()
    plaintext = bytes(range(256)) * 1000

    class Trickle(io.RawIOBase):
        """Returns at most 1000 bytes per call, like a pipe."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            chunk = self._data.read(min(len(buffer), 1000))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    sealed = io.BytesIO()
    encrypt(Trickle(plaintext), sealed, [identity.recipient])  # type: ignore[arg-type]
    out = io.BytesIO()
    decrypt(Trickle(sealed.getvalue()), out, [identity])  # type: ignore[arg-type]
    assert out.getvalue() == plaintext


# --- armor ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 1000, CHUNK_SIZE + 3])
def test_armor_roundtrip_and_line_lengths(size: int) -> None:
    identity = X25519Identity.generate()
    armored = encrypt_bytes(b"a" * size, [identity.recipient], armor=True)
    lines = armored.split(b"\n")
    assert lines[0] == b"-----BEGIN AGE ENCRYPTED FILE-----"
    assert lines[-2:] == [b"-----END AGE ENCRYPTED FILE-----", b""]
    body = lines[1:-2]
    assert all(len(line) == 64 for line in body[:-1]) and 0 < len(body[-1]) <= 64
    assert decrypt_bytes(armored, [identity]) == b"a" * size
    assert decrypt_bytes(b"\r\n  \t" + armored.replace(b"\n", b"\r\n") + b"\n\n", [identity]) == b"a" * size


@pytest.mark.parametrize(
    "text",
    [
        b"-----BEGIN AGE ENCRYPTED FILE-----\nYQ==\n",  # no END
        b"-----BEGIN AGE ENCRYPTED FILE-----\nYR==\n-----END AGE ENCRYPTED FILE-----\n",  # non-canonical
        b"-----BEGIN AGE ENCRYPTED FILE-----\nYQ\n-----END AGE ENCRYPTED FILE-----\n",  # no padding
        b"-----BEGIN AGE ENCRYPTED FILE-----\nYQ==\n-----END AGE ENCRYPTED FILE-----\nx",  # trailing garbage
        b"-----BEGIN AGE ENCRYPTED FILE-----\nYQ==\nYQ==\n-----END AGE ENCRYPTED FILE-----\n",  # short line first
        b"-----BEGIN AGE FILE-----\nYQ==\n-----END AGE ENCRYPTED FILE-----\n",
        b"-----BEGIN AGE ENCRYPTED FILE-----\n" + b"Y" * 68 + b"\n-----END AGE ENCRYPTED FILE-----\n",
        b"-----BEGIN AGE ENCRYPTED FILE-----\n\n-----END AGE ENCRYPTED FILE-----\n",  # empty line
        b" " * 2000 + b"-----BEGIN AGE ENCRYPTED FILE-----\nYQ==\n-----END AGE ENCRYPTED FILE-----\n",
    ],
)
def test_armor_reader_rejects(text: bytes) -> None:
    with pytest.raises(ArmorError):
        ArmorReader(io.BytesIO(text)).read()


def test_armor_reader_decodes() -> None:
    text = b"\n-----BEGIN AGE ENCRYPTED FILE-----\r\nYWJj\r\n-----END AGE ENCRYPTED FILE-----"
    assert ArmorReader(io.BytesIO(text)).read() == b"abc"


@pytest.mark.parametrize("cut", [0, 1, 40], ids=["at-a-line-end", "one-column-in", "mid-line"])
def test_armor_reader_hands_out_whole_lines_before_a_truncation_then_fails(cut: int) -> None:
    """A truncated armor (e.g. the first chunk of an upload) yields the bytes of its whole lines; the error comes
    only when more is asked for, and stays."""
    data = os.urandom(BYTES_PER_LINE * 3)
    armored = io.BytesIO()
    writer = ArmorWriter(armored)
    writer.write(data)
    writer.close()
    lines = armored.getvalue().split(b"\n")
    prefix = b"\n".join(lines[:3]) + b"\n" + lines[3][:cut]  # BEGIN and two whole lines, then a cut
    reader = ArmorReader(io.BytesIO(prefix))
    assert reader.read(BYTES_PER_LINE * 2) == data[: BYTES_PER_LINE * 2]
    message = "armor ends without an END line" if cut == 0 else "unterminated armor line"
    with pytest.raises(ArmorError, match=message):
        reader.read(1)
    with pytest.raises(ArmorError, match=message):
        reader.read()
    # with nothing whole before it, the truncation fails at once
    with pytest.raises(ArmorError, match=message):
        ArmorReader(io.BytesIO(lines[0] + b"\n" + lines[1][:cut])).read(1)


# --- CLI --------------------------------------------------------------------------------------------------------


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "crypto", *args], cwd=REPO, input=stdin, capture_output=True, check=False
    )


def test_cli_keygen_seal_open(tmp_path: Path) -> None:
    key = tmp_path / "key.txt"
    made = _cli("keygen", "-o", str(key))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    recipient = made.stderr.decode().strip().removeprefix("Public key: ")
    assert f"# public key: {recipient}\n" in key.read_text()
    again = _cli("keygen", "-o", str(key))
    assert again.returncode == 1 and again.stderr.count(b"\n") == 1  # never overwrites a key

    recipients = tmp_path / "recipients.txt"
    recipients.write_text(f"# bidder\n{recipient}\n")
    src = tmp_path / "bid.pdf"
    src.write_bytes(bytes(range(256)) * 700)
    sealed = tmp_path / "bid.pdf.age"
    assert _cli("seal", "-R", str(recipients), "-o", str(sealed), str(src)).returncode == 0
    out = tmp_path / "bid.out"
    opened = _cli("open", "-i", str(key), "-o", str(out), str(sealed))
    assert opened.returncode == 0, opened.stderr
    assert out.read_bytes() == src.read_bytes()
    armored = _cli("seal", "-r", recipient, "-a", stdin=b"\x00\xff" * 10)
    assert armored.stdout.startswith(b"-----BEGIN AGE ENCRYPTED FILE-----\n")
    assert _cli("open", "-i", str(key), stdin=armored.stdout).stdout == b"\x00\xff" * 10


def test_cli_open_failure_removes_partial_output(tmp_path: Path) -> None:
    identity = X25519Identity.generate()
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n")
    sealed = tmp_path / "big.age"
    sealed.write_bytes(encrypt_bytes(b"q" * (3 * CHUNK_SIZE), [identity.recipient])[:-40])
    out = tmp_path / "out.bin"
    proc = _cli("open", "-i", str(key), "-o", str(out), str(sealed))
    assert proc.returncode == 1
    assert not out.exists()
    err = proc.stderr.decode()
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ("seal", "-r", "age1notakey"),
        ("seal",),
        ("open", "-i", "/nonexistent/key.txt"),
        ("seal", "-r", "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq", "/nonexistent/in"),
    ],
)
def test_cli_errors_are_one_line(args: tuple[str, ...]) -> None:
    proc = _cli(*args, stdin=b"data")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_open_wrong_key_and_garbage(tmp_path: Path) -> None:
    key = tmp_path / "key.txt"
    key.write_text(f"{X25519Identity.generate()}\n")
    sealed = encrypt_bytes(b"secret", [X25519Identity.generate().recipient])
    for data in (sealed, b"garbage", b""):
        proc = _cli("open", "-i", str(key), "-o", str(tmp_path / "o"), stdin=data)
        assert proc.returncode == 1 and proc.stderr.startswith(b"error: ") and proc.stderr.count(b"\n") == 1
        assert not (tmp_path / "o").exists()
