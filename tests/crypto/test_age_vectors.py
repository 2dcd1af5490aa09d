"""Every C2SP age test vector, by file name, with the outcome kind FORMAT.md defines.

scrypt and hybrid (ML-KEM-768 + X25519) recipients are not supported: those vectors must raise
UnsupportedRecipientError, except the few listed in DECIDED_WITHOUT_SUPPORT, whose outcome does not depend on
the recipient type; those must give exactly the vector's own expected outcome.
"""

from __future__ import annotations

import hashlib
import io

import pytest

from crypto.age import decrypt, decrypt_with_file_key, parse_identity
from crypto.errors import (
    ArmorError,
    HeaderError,
    HeaderMACError,
    NoIdentityMatchError,
    PayloadError,
    UnsupportedRecipientError,
)
from tests.crypto.vectors import VECTOR_DIR, Vector, load, vector_names

NAMES = vector_names()
UNSUPPORTED_FAMILIES = ("scrypt", "hybrid", "armor_scrypt", "armor_hybrid")
# Unsupported family, but decided before any recipient type matters (the value says why).
DECIDED_WITHOUT_SUPPORT = {
    "scrypt_and_x25519": "an scrypt stanza must be alone: header failure",
    "scrypt_double": "an scrypt stanza must be alone: header failure",
    "scrypt_not_canonical_body": "non-canonical base64 in a stanza body breaks the generic header grammar",
    "scrypt_uppercase": "'Scrypt' is an unknown stanza type, skipped, so nothing matches",
}


def test_vector_directory_is_complete() -> None:
    assert VECTOR_DIR.is_dir(), f"age test vectors missing at {VECTOR_DIR}"
    assert len(NAMES) >= 140
    assert set(DECIDED_WITHOUT_SUPPORT) <= set(NAMES)
    assert all(n.startswith(UNSUPPORTED_FAMILIES) for n in DECIDED_WITHOUT_SUPPORT)


def outcome(vector: Vector) -> tuple[str, bytes]:
    """Decrypt the vector with its identities; map the result onto FORMAT.md's outcome kinds."""
    out = io.BytesIO()
    try:
        identities = [parse_identity(text) for text in vector.identities]
        decrypt(io.BytesIO(vector.body), out, identities, armor=vector.armored)
    except UnsupportedRecipientError:
        return "unsupported", out.getvalue()
    except ArmorError:
        return "armor failure", out.getvalue()
    except HeaderMACError:
        return "HMAC failure", out.getvalue()
    except HeaderError:
        return "header failure", out.getvalue()
    except NoIdentityMatchError:
        return "no match", out.getvalue()
    except PayloadError:
        return "payload failure", out.getvalue()
    return "success", out.getvalue()


def expected_kind(vector: Vector) -> str:
    if vector.name in DECIDED_WITHOUT_SUPPORT:
        return vector.expect
    if vector.name.startswith(UNSUPPORTED_FAMILIES):
        return "unsupported"
    return vector.expect


@pytest.mark.parametrize("name", NAMES)
def test_vector(name: str) -> None:
    vector = load(name)
    kind, plaintext = outcome(vector)
    assert kind == expected_kind(vector), f"{name}: {vector.comment or vector.expect}"
    if kind in {"success", "payload failure"}:
        assert vector.payload is not None
        assert hashlib.sha256(plaintext).hexdigest() == vector.payload
    elif kind != "unsupported":
        assert plaintext == b"", "no plaintext may be released before the header verified"


@pytest.mark.parametrize("name", [n for n in NAMES if load(n).expect in {"success", "payload failure", "HMAC failure"}])
def test_vector_with_revealed_file_key(name: str) -> None:
    """STREAM and header MAC alone, via the file key (works for scrypt/hybrid payloads too)."""
    vector = load(name)
    assert vector.file_key is not None
    out = io.BytesIO()
    if vector.expect == "HMAC failure":
        with pytest.raises(HeaderMACError):
            decrypt_with_file_key(io.BytesIO(vector.body), out, vector.file_key, armor=vector.armored)
        assert out.getvalue() == b""
        return
    if vector.expect == "payload failure":
        with pytest.raises(PayloadError):
            decrypt_with_file_key(io.BytesIO(vector.body), out, vector.file_key, armor=vector.armored)
    else:
        decrypt_with_file_key(io.BytesIO(vector.body), out, vector.file_key, armor=vector.armored)
    assert hashlib.sha256(out.getvalue()).hexdigest() == vector.payload


def test_wrong_file_key_is_an_hmac_failure() -> None:
    vector = load("x25519")
    assert vector.file_key is not None
    wrong = bytes([vector.file_key[0] ^ 1]) + vector.file_key[1:]
    with pytest.raises(HeaderMACError):
        decrypt_with_file_key(io.BytesIO(vector.body), io.BytesIO(), wrong)
