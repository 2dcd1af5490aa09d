"""The platform's own seal certificate chain (embedded default), generated once under the instance folder.

A root CA (the platform's seal root), the seal certificate (document signing, for the organisation's name)
and a timestamping certificate (for the embedded RFC 3161 timestamp authority), ECDSA P-256 (the timestamping
key RSA-2048: pyHanko's in-process TSA signs with RSA only), issued by the root. Private keys are PEM files of
mode 0600; the folder is created whole in a temporary place and renamed, so two processes starting together
end with one chain. The root also signs a CRL (empty unless a certificate was revoked) that the verifier
requires for the certificates of its own chain (they name no distribution point).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.core.sealing.base import SealingConfigError

ROOT_CERT = "root.pem"
ROOT_KEY = "root.key"
SEAL_CERT = "seal.pem"
SEAL_KEY = "seal.key"
TSA_CERT = "tsa.pem"
TSA_KEY = "tsa.key"
CRL = "root.crl"
FILES = (ROOT_CERT, ROOT_KEY, SEAL_CERT, SEAL_KEY, TSA_CERT, TSA_KEY, CRL)

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

ROOT_YEARS = 20
LEAF_YEARS = 5
CRL_DAYS = 30


@dataclass(frozen=True)
class LocalChain:
    """Paths of the chain's files, and the certificates loaded."""

    folder: Path
    root: x509.Certificate
    seal: x509.Certificate
    tsa: x509.Certificate

    def path(self, name: str) -> Path:
        return self.folder / name

    def private_key(self, name: str) -> PrivateKey:
        key = serialization.load_pem_private_key(self.path(name).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise SealingConfigError(f"{self.path(name)} is not an EC or RSA private key.")
        return key

    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_pem_x509_crl(self.path(CRL).read_bytes())


def _name(common: str, organisation: str, unit: str = "") -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common))
    return x509.Name(parts)


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign and not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _issue(
    subject: x509.Name,
    key: PrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: PrivateKey,
    *,
    now: datetime,
    years: int,
    ca: bool,
    eku: list[x509.ObjectIdentifier] | None = None,
) -> x509.Certificate:
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(_key_usage(sign=not ca, ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, name: str, data: bytes, *, secret: bool) -> None:
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def build_crl(
    root: x509.Certificate,
    root_key: PrivateKey,
    revoked: list[tuple[int, datetime]],
    *,
    now: datetime,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(root_key, hashes.SHA256())


def generate(folder: Path, organisation: str, *, now: datetime | None = None) -> None:
    """Write a new chain into `folder` (which must not hold one)."""
    now = now or datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())

    def issue(
        common: str,
        unit: str,
        key: PrivateKey,
        issuer: x509.Certificate | None,
        eku: list[x509.ObjectIdentifier] | None = None,
    ) -> x509.Certificate:
        """A certificate of `organisation`, issued by the root (self-signed: the root itself, when issuer is None)."""
        ca = issuer is None
        subject = _name(f"{organisation} {common}", organisation, unit)
        years = ROOT_YEARS if ca else LEAF_YEARS
        return _issue(subject, key, issuer, root_key, now=now, years=years, ca=ca, eku=eku)

    root = issue("电子印章根证书", "Seal Root CA", root_key, None)
    seal_key = ec.generate_private_key(ec.SECP256R1())
    # No extended key usage: NSS (pdfsig) checks a signer for e-mail protection when the extension is there.
    seal = issue("电子印章", "Electronic Seal", seal_key, root)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's in-process TSA is RSA-only
    tsa = issue("时间戳服务", "Timestamp Authority", tsa_key, root, [ExtendedKeyUsageOID.TIME_STAMPING])
    crl = build_crl(root, root_key, [], now=now)
    files = (
        (ROOT_KEY, _key_pem(root_key), True),
        (SEAL_KEY, _key_pem(seal_key), True),
        (TSA_KEY, _key_pem(tsa_key), True),
        (ROOT_CERT, _cert_pem(root), False),
        (SEAL_CERT, _cert_pem(seal), False),
        (TSA_CERT, _cert_pem(tsa), False),
        (CRL, crl.public_bytes(serialization.Encoding.PEM), False),
    )
    for name, data, secret in files:
        _write(folder, name, data, secret=secret)


def load(folder: Path) -> LocalChain:
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise SealingConfigError(f"The seal chain in {folder} is incomplete: missing {', '.join(missing)}.")
    for name in (ROOT_KEY, SEAL_KEY, TSA_KEY):
        mode = (folder / name).stat().st_mode & 0o777
        if mode & 0o077:
            raise SealingConfigError(f"{folder / name} must be readable by its owner only (mode 0600), not {mode:o}.")

    def cert(name: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate((folder / name).read_bytes())

    return LocalChain(folder=folder, root=cert(ROOT_CERT), seal=cert(SEAL_CERT), tsa=cert(TSA_CERT))


def ensure(folder: Path, organisation: str) -> LocalChain:
    """The chain in `folder`, generated first if the folder does not exist yet."""
    folder = folder.resolve()
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".seal-", dir=folder.parent))
        try:
            generate(staging, organisation)
            os.chmod(staging, 0o700)
            try:
                os.rename(staging, folder)
            except OSError:
                if not folder.exists():  # another process won the race otherwise
                    raise
        finally:
            if staging.exists():
                for child in staging.iterdir():
                    child.unlink()
                staging.rmdir()
    return load(folder)


def revoke(chain: LocalChain, serial: int, *, now: datetime | None = None) -> None:
    """Add a certificate of this chain to the root's CRL (key compromise, a retired seal)."""
    now = now or datetime.now(UTC)
    current = chain.crl()
    revoked = [(r.serial_number, r.revocation_date_utc) for r in current]
    if serial not in {s for s, _ in revoked}:
        revoked.append((serial, now))
    crl = build_crl(chain.root, chain.private_key(ROOT_KEY), revoked, now=now)
    tmp = chain.path(CRL + ".tmp")
    tmp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, chain.path(CRL))
