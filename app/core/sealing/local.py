"""LocalSealer: seals with the platform's own chain (chain.py), PAdES B-T with the embedded timestamp authority.

The timestamp authority runs in-process: pyHanko's DummyTimeStamper answers RFC 3161 requests with a real
token signed by the chain's timestamping certificate (critical timeStamping usage), at the current time.
Without it (timestamp=False) the signature is PAdES B-B.
"""

from __future__ import annotations

from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.core.sealing import chain as chain_mod
from app.core.sealing.base import SealingError


def asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def asn1_key(key: object) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def field_name(pdf: bytes) -> str:
    """A signature field name not used yet in the document: Seal1, Seal2, …"""
    count = pdf.count(b"/FT /Sig") + pdf.count(b"/FT/Sig")
    return f"Seal{count + 1}"


def open_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    if not pdf.startswith(b"%PDF-"):
        raise SealingError("The document to seal is not a PDF.")
    try:
        return IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise SealingError(f"The document to seal cannot be read as a PDF: {exc}") from exc


def metadata(pdf: bytes, reason: str, location: str) -> signers.PdfSignatureMetadata:
    return signers.PdfSignatureMetadata(
        field_name=field_name(pdf),
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason or None,
        location=location or None,
    )


class LocalSealer:
    """Seals with the chain in `folder`; its timestamp authority is the chain's TSA certificate."""

    name = "local"

    def __init__(self, local_chain: chain_mod.LocalChain, *, timestamp: bool = True) -> None:
        self.chain = local_chain
        root = asn1_cert(local_chain.root)
        self._signer = signers.SimpleSigner(
            signing_cert=asn1_cert(local_chain.seal),
            signing_key=asn1_key(local_chain.private_key(chain_mod.SEAL_KEY)),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [root]
            ),
        )
        self._timestamper: DummyTimeStamper | None = None
        if timestamp:
            self._timestamper = DummyTimeStamper(
                tsa_cert=asn1_cert(local_chain.tsa),
                tsa_key=asn1_key(local_chain.private_key(chain_mod.TSA_KEY)),
                certs_to_embed=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                    [root]
                ),
            )

    @property
    def level(self) -> str:
        return "PAdES-B-T" if self._timestamper is not None else "PAdES-B-B"

    def seal(self, pdf: bytes, *, reason: str = "", location: str = "") -> bytes:
        writer = open_writer(pdf)
        pdf_signer = signers.PdfSigner(
            metadata(pdf, reason, location), signer=self._signer, timestamper=self._timestamper
        )
        try:
            out = pdf_signer.sign_pdf(writer)
        except (PdfError, ValueError, KeyError) as exc:
            raise SealingError(f"The document could not be sealed: {exc}") from exc
        return bytes(out.getvalue())
