"""Sealing: the platform's chain, LocalSealer (PAdES B-T and B-B), verification with pyHanko and pdfsig,
tampering located in words, revocation, expiry, an untrusted root, the factory."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.core.sealing import LocalSealer, Sealer, Sealing, SealingConfigError, SealingError, TrustSettings, verify_pdf
from app.core.sealing import chain as chain_mod
from app.core.sealing.local import asn1_cert
from tests.sealing.helpers import append_drawing, flip_byte, pdfsig
from tests.services import unavailable


def checks(report: Any) -> dict[str, Any]:
    assert len(report.signatures) == 1
    return {c.code: c for c in report.signatures[0].checks}


def test_chain_files_keys_private_and_certificates_chained(seal_dir: Path) -> None:
    for name in (chain_mod.ROOT_KEY, chain_mod.SEAL_KEY, chain_mod.TSA_KEY):
        assert (seal_dir / name).stat().st_mode & 0o777 == 0o600
    own = chain_mod.load(seal_dir)
    assert own.root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert own.seal.issuer == own.root.subject and own.tsa.issuer == own.root.subject
    assert own.seal.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = own.seal.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    eku = own.tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
    own.seal.verify_directly_issued_by(own.root)
    assert "邯郸市行政服务中心" in own.seal.subject.rfc4514_string()


def test_chain_generated_once_and_refused_when_key_readable(tmp_path: Path) -> None:
    folder = tmp_path / "seal"
    first = chain_mod.ensure(folder, "测试中心")
    again = chain_mod.ensure(folder, "测试中心")
    assert first.root.serial_number == again.root.serial_number
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".seal-")]
    (folder / chain_mod.SEAL_KEY).chmod(0o644)
    with pytest.raises(SealingConfigError, match="0600"):
        chain_mod.load(folder)
    (folder / chain_mod.SEAL_KEY).unlink()
    with pytest.raises(SealingConfigError, match=r"seal\.key"):
        chain_mod.load(folder)


def test_local_sealer_pades_bt_validates(sealed_pdf: bytes, plain_pdf: bytes, trust: TrustSettings) -> None:
    assert sealed_pdf.startswith(plain_pdf)  # an incremental revision: the original bytes are kept
    report = verify_pdf(sealed_pdf, trust)
    assert report.ok and report.problem is None
    found = checks(report)
    assert set(found) == {"integrity", "expiry", "signer", "time", "coverage"}
    assert all(c.ok is True for c in found.values())
    sig = report.signatures[0]
    assert sig.organisation == "邯郸市行政服务中心" and sig.timestamped
    assert sig.signing_time is not None and abs(sig.signing_time - datetime.now(UTC)) < timedelta(minutes=5)
    assert "timestamp authority" in found["time"].english()
    assert "whole document" in found["coverage"].english()
    assert b"/SubFilter /ETSI.CAdES.detached" in sealed_pdf


def test_pdfsig_reports_the_seal_valid_and_whole_document_signed(sealed_pdf: bytes, tmp_path: Path) -> None:
    out = pdfsig(sealed_pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out
    assert "ETSI.CAdES.detached" in out
    assert "邯郸市行政服务中心 电子印章" in out
    # The self-made root is not in pdfsig's (empty) NSS database: the issuer is untrusted, nothing worse.
    assert "Certificate Validation: Certificate issuer isn't Trusted." in out


def test_pdfsig_trusts_the_seal_with_the_root_in_its_nss_database(
    sealed_pdf: bytes, seal_dir: Path, tmp_path: Path
) -> None:
    certutil = shutil.which("certutil")
    if certutil is None:
        unavailable("certutil (libnss3-tools)", "not installed: pdfsig's trust in the root cannot be set up")
    import subprocess

    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run([certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-A", "-d", f"sql:{nss}", "-n", "seal-root", "-t", "C,C,C", "-i", str(seal_dir / "root.pem")],
        check=True,
    )
    out = pdfsig(sealed_pdf, tmp_path, "-nssdir", f"sql:{nss}", no_ocsp=False)
    assert "Signature is Valid." in out and "Certificate is Trusted." in out


def test_pades_bb_without_timestamp(local_chain: Any, plain_pdf: bytes, trust: TrustSettings) -> None:
    sealer = LocalSealer(local_chain, timestamp=False)
    assert sealer.level == "PAdES-B-B"
    report = verify_pdf(sealer.seal(plain_pdf), trust)
    found = checks(report)
    assert found["time"].ok is None and "No timestamp" in found["time"].english()
    assert found["integrity"].ok and found["signer"].ok and report.ok


def test_a_changed_byte_fails_integrity_located(sealed_pdf: bytes, trust: TrustSettings, tmp_path: Path) -> None:
    report = verify_pdf(flip_byte(sealed_pdf), trust)
    assert not report.ok
    found = checks(report)
    assert found["integrity"].ok is False
    message = found["integrity"].english()
    assert "changed after sealing" in message and "signed bytes 0–" in message
    assert found["signer"].ok is False
    out = pdfsig(flip_byte(sealed_pdf), tmp_path)
    assert "Signature is Valid." not in out and "Digest Mismatch" in out


def test_an_appended_revision_fails_coverage_located(sealed_pdf: bytes, trust: TrustSettings, tmp_path: Path) -> None:
    forged = append_drawing(sealed_pdf)
    assert forged.startswith(sealed_pdf)
    report = verify_pdf(forged, trust)
    assert not report.ok
    found = checks(report)
    assert found["integrity"].ok is True  # the sealed bytes are still there, untouched
    assert found["coverage"].ok is False
    added = len(forged) - len(sealed_pdf)
    message = found["coverage"].english()
    assert f"{added} bytes ({len(sealed_pdf)}–{len(forged) - 1}, 1 later revision(s))" in message
    assert "change the document" in message
    out = pdfsig(forged, tmp_path)
    assert "Signature is Valid." in out and "Not total document signed" in out


def test_a_revoked_seal_certificate_fails(seal_dir: Path, plain_pdf: bytes, tmp_path: Path) -> None:
    folder = tmp_path / "seal"
    shutil.copytree(seal_dir, folder)
    own = chain_mod.load(folder)
    sealed = LocalSealer(own, timestamp=False).seal(plain_pdf)
    chain_mod.revoke(own, own.seal.serial_number)
    trust = TrustSettings([asn1_cert(own.root)], [own.crl().public_bytes(serialization.Encoding.DER)])
    report = verify_pdf(sealed, trust)
    found = checks(report)
    assert not report.ok
    assert found["revocation"].ok is False and "revoked by its issuer" in found["revocation"].english()


def test_expired_certificate_and_foreign_root(sealed_pdf: bytes, trust: TrustSettings, tmp_path: Path) -> None:
    later = datetime.now(UTC) + timedelta(days=365 * 6)
    found = checks(verify_pdf(sealed_pdf, trust, now=later))
    assert found["expiry"].ok is False and "expired on" in found["expiry"].english()
    other = chain_mod.ensure(tmp_path / "other", "另一个机构")
    found = checks(verify_pdf(sealed_pdf, TrustSettings([asn1_cert(other.root)])))
    assert found["signer"].ok is False and "does not lead to a seal root" in found["signer"].english()
    assert found["integrity"].ok is True


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"hello, not a pdf", "not-pdf"),
        (b"%PDF-1.7\n%garbage without objects\n", "unreadable"),
    ],
)
def test_files_that_are_not_sealed_pdfs(data: bytes, code: str, trust: TrustSettings) -> None:
    report = verify_pdf(data, trust)
    assert not report.ok and report.problem is not None and report.problem.code == code


def test_an_unsealed_pdf_has_no_signature(plain_pdf: bytes, trust: TrustSettings) -> None:
    report = verify_pdf(plain_pdf, trust)
    assert not report.ok and report.problem is not None and report.problem.code == "no-signature"


def test_sealing_refuses_what_is_not_a_pdf(local_chain: Any) -> None:
    with pytest.raises(SealingError):
        LocalSealer(local_chain).seal(b"not a pdf")


def test_a_second_seal_gets_its_own_field(local_chain: Any, sealed_pdf: bytes, trust: TrustSettings) -> None:
    twice = LocalSealer(local_chain, timestamp=False).seal(sealed_pdf)
    report = verify_pdf(twice, trust)
    assert [s.field_name for s in report.signatures] == ["Seal1", "Seal2"]
    first, second = report.signatures
    # The first seal's later revision only adds a signature: allowed, and said so.
    assert {c.code: c for c in first.checks}["coverage"].ok is True
    assert "only add signatures" in {c.code: c for c in first.checks}["coverage"].english()
    assert second.ok and first.ok


def test_factory_by_configuration(tmp_path: Path, seal_dir: Path) -> None:
    base = {"INSTANCE_PATH": str(tmp_path), "CENTER_NAME": "测试中心"}
    sealing = Sealing({**base, "SEAL_DIR": str(seal_dir)})
    sealer = sealing.sealer()
    assert isinstance(sealer, Sealer) and sealer.name == "local"
    lazy = Sealing(base)
    assert not (tmp_path / "seal").exists()  # nothing generated before first use
    assert lazy.sealer().name == "local" and (tmp_path / "seal" / "root.pem").exists()
    with pytest.raises(SealingConfigError, match="SEAL_BACKEND"):
        Sealing({**base, "SEAL_BACKEND": "hsm"})
    with pytest.raises(SealingConfigError, match="REMOTE_URL"):
        Sealing({**base, "SEAL_BACKEND": "remote"})
    remote = Sealing({**base, "SEAL_BACKEND": "remote", "SEAL_REMOTE_URL": "https://seal.example/api"})
    assert remote.sealer().name == "remote"
    assert remote.trust().roots != []  # tmp_path/seal exists now: its root is trusted too


def test_trust_settings_built_once_and_again_when_the_crl_or_roots_change(
    seal_dir: Path, plain_pdf: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "seal"
    shutil.copytree(seal_dir, folder)
    extra = tmp_path / "roots.pem"
    extra.write_bytes(chain_mod.load(seal_dir).root.public_bytes(serialization.Encoding.PEM))
    sealing = Sealing(
        {
            "INSTANCE_PATH": str(tmp_path),
            "CENTER_NAME": "测试中心",
            "SEAL_DIR": str(folder),
            "SEAL_TRUST_ROOTS": str(extra),
        }
    )
    built: list[TrustSettings] = []
    build = sealing._build_trust
    monkeypatch.setattr(sealing, "_build_trust", lambda own: built.append(build(own)) or built[-1])
    first = sealing.trust()
    assert all(sealing.trust() is first for _ in range(5)) and len(built) == 1  # not per request
    assert first.context().certificate_registry is not first.context().certificate_registry  # a context per check
    sealed = LocalSealer(sealing.chain(), timestamp=False).seal(plain_pdf)
    assert verify_pdf(sealed, sealing.trust()).ok
    # A revocation writes a new CRL: the next call builds the settings again, and the seal fails.
    chain_mod.revoke(sealing.chain(), sealing.chain().seal.serial_number)
    second = sealing.trust()
    assert second is not first and len(built) == 2 and sealing.trust() is second
    found = checks(verify_pdf(sealed, second))
    assert found["revocation"].ok is False
    # The further roots' file replaced: built again.
    extra.write_bytes(extra.read_bytes() + b"\n")
    assert sealing.trust() is not second and len(built) == 3
