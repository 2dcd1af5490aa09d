"""RemoteSealer against a fake seal service that really signs (tests/seal_fixtures.py), over HTTP."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography import x509

from app.core.sealing import RemoteSealer, Sealer, SealingError, TrustSettings, verify_pdf
from app.core.sealing.config import _roots_from_pem
from tests.seal_fixtures import TOKEN


def test_remote_seal_validates_against_the_services_root(seal_service: Any, plain_pdf: bytes) -> None:
    sealer = RemoteSealer(seal_service.url, token=TOKEN)
    assert isinstance(sealer, Sealer)
    before = len(seal_service.calls)
    sealed = sealer.seal(plain_pdf, reason="准予行政许可")
    assert sealed.startswith(plain_pdf)
    assert len(seal_service.calls) == before + 1
    sent = seal_service.calls[-1]
    assert sent["digest_algorithm"] == "sha256" and len(base64.b64decode(sent["digest"])) == 32
    assert b"%PDF" not in base64.b64decode(sent["digest"])  # only the digest leaves the platform
    report = verify_pdf(sealed, TrustSettings(_roots_from_pem(str(seal_service.root_pem))))
    assert report.ok, report
    sig = report.signatures[0]
    assert sig.organisation == "某某电子印章服务平台"
    assert sig.serial == format(seal_service.chain.seal.serial_number, "x")
    # The digest sent is the one of the signed byte ranges of the result.
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    embedded = PdfFileReader(BytesIO(sealed)).embedded_signatures[0]
    assert embedded.compute_digest() == base64.b64decode(sent["digest"])


def test_remote_seal_is_not_trusted_without_the_services_root(
    seal_service: Any, plain_pdf: bytes, trust: TrustSettings
) -> None:
    sealed = RemoteSealer(seal_service.url, token=TOKEN).seal(plain_pdf)
    report = verify_pdf(sealed, trust)  # only the platform's own root
    found = {c.code: c for c in report.signatures[0].checks}
    assert found["integrity"].ok is True and found["signer"].ok is False and not report.ok


@pytest.mark.parametrize(
    ("misbehave", "message"),
    [
        ("other-digest", "another digest"),
        ("garbage", "cannot be read"),
        ("500", "answered 500"),
    ],
)
def test_a_misbehaving_service_is_refused(seal_service: Any, plain_pdf: bytes, misbehave: str, message: str) -> None:
    seal_service.misbehave = misbehave
    with pytest.raises(SealingError, match=message):
        RemoteSealer(seal_service.url, token=TOKEN).seal(plain_pdf)


def test_wrong_token_and_unreachable_service(seal_service: Any, plain_pdf: bytes) -> None:
    with pytest.raises(SealingError, match="401"):
        RemoteSealer(seal_service.url, token="wrong").seal(plain_pdf)
    with pytest.raises(SealingError, match="cannot be reached"):
        RemoteSealer("http://127.0.0.1:9", token=TOKEN, timeout=2).seal(plain_pdf)


def test_remote_backend_from_app_configuration(seal_service: Any, plain_pdf: bytes, tmp_path: Any) -> None:
    from app.core.sealing import Sealing

    sealing = Sealing(
        {
            "INSTANCE_PATH": str(tmp_path),
            "SEAL_BACKEND": "remote",
            "SEAL_REMOTE_URL": seal_service.url,
            "SEAL_REMOTE_TOKEN": TOKEN,
            "SEAL_TRUST_ROOTS": str(seal_service.root_pem),
        }
    )
    sealed = sealing.sealer().seal(plain_pdf)
    trust = sealing.trust()
    assert not (tmp_path / "seal").exists()  # remote only: no local chain generated
    assert len(trust.roots) == 1
    assert verify_pdf(sealed, trust).ok
    root = x509.load_pem_x509_certificate(seal_service.root_pem.read_bytes())
    assert (
        hashlib.sha256(trust.roots[0].dump()).digest()
        == hashlib.sha256(
            root.public_bytes(
                __import__("cryptography.hazmat.primitives.serialization").hazmat.primitives.serialization.Encoding.DER
            )
        ).digest()
    )
