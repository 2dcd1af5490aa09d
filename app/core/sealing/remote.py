"""RemoteSealer: a certified seal service (电子印章服务) signs; the document never leaves the platform.

The exchange (HTTP, JSON, a bearer token):

    GET  {url}/certificate  -> {"certificate": PEM, "chain": [PEM, ...]}
         the seal certificate and its issuers (for the signature's size and the document's certificate list)
    POST {url}/sign         {"digest": base64, "digest_algorithm": "sha256", "reason": str}
                            -> {"cms": base64 DER of a detached CMS SignedData}
         the service builds the signed attributes (PAdES: content type, message digest = the digest sent,
         signing-certificate-v2) and signs them with the seal's key, which only it holds, and may add a
         timestamp token of its own TSA.

pyHanko's deferred signing (PdfSigner.digest_doc_for_signing → PdfTBSDocument.finish_signing) reserves the
signature's room, computes the /ByteRange digest, and embeds the CMS the service returns. Before the document
is handed back, the embedded signature is checked: its message digest is the one sent, its signer is the
certificate the service announced, and its signature value verifies (cryptographic integrity).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from io import BytesIO
from typing import Any

import urllib3
from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.validation.generic_cms import validate_sig_integrity
from pyhanko_certvalidator.registry import SimpleCertificateStore

from app.core.sealing.base import SealingConfigError, SealingError
from app.core.sealing.local import metadata, open_writer

# Room for the CMS in the signature dictionary (hex, so twice its DER size): a chain and a timestamp fit.
RESERVED_BYTES = 32 * 1024
MAX_RESPONSE = 1024 * 1024


def _pem_cert(pem: Any) -> asn1_x509.Certificate:
    from asn1crypto import pem as asn1_pem

    if not isinstance(pem, str):
        raise SealingError("The seal service sent a certificate that is not PEM text.")
    try:
        _, _, der = asn1_pem.unarmor(pem.encode())
        cert = asn1_x509.Certificate.load(der)
        cert.native  # noqa: B018 - parse it now, not later
    except (ValueError, TypeError) as exc:
        raise SealingError(f"The seal service sent an unreadable certificate: {exc}") from exc
    return cert


class RemoteSealer:
    """Seals through a seal service's HTTP API (see the module's documentation)."""

    name = "remote"
    level = "PAdES-B-B"  # B-T when the service adds its timestamp

    def __init__(
        self, url: str, *, token: str = "", timeout: float = 20.0, http: urllib3.PoolManager | None = None
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise SealingConfigError("APP_SEAL_REMOTE_URL must be an http(s) URL.")
        self.url = url.rstrip("/")
        self.timeout = timeout
        # urllib3 (already the S3 backend's HTTP client): verified TLS by default, no retries of a POST /sign
        self.http = http or urllib3.PoolManager(retries=False)
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self._certs: tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]] | None = None

    def _call(self, method: str, path: str, *, json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = dict(self.headers)
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self.http.request(
                method,
                self.url + path,
                body=body,
                headers=headers,
                timeout=urllib3.Timeout(total=self.timeout),
                preload_content=False,
                redirect=False,
            )
            try:
                content = response.read(MAX_RESPONSE + 1)  # never more than the limit into memory
            finally:
                response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise SealingError(f"The seal service cannot be reached: {exc}") from exc
        if response.status != 200:
            raise SealingError(f"The seal service answered {response.status} to {method} {path}.")
        if len(content) > MAX_RESPONSE:
            raise SealingError("The seal service's answer is too large.")
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise SealingError("The seal service's answer is not JSON.") from exc
        if not isinstance(data, dict):
            raise SealingError("The seal service's answer is not a JSON object.")
        return data

    def certificates(self) -> tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]:
        if self._certs is None:
            data = self._call("GET", "/certificate")
            chain = data.get("chain") or []
            if not isinstance(chain, list):
                raise SealingError("The seal service's certificate chain is not a list.")
            self._certs = (_pem_cert(data.get("certificate")), [_pem_cert(c) for c in chain])
        return self._certs

    def seal(self, pdf: bytes, *, reason: str = "", location: str = "") -> bytes:
        cert, chain = self.certificates()
        writer = open_writer(pdf)
        placeholder = signers.ExternalSigner(
            signing_cert=cert,
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                chain
            ),
            signature_value=bytes(512),
        )
        pdf_signer = signers.PdfSigner(metadata(pdf, reason, location), signer=placeholder)
        sealed = asyncio.run(self._seal(pdf_signer, writer, cert, reason))
        self._check_embedded(sealed)
        return sealed

    async def _seal(
        self, pdf_signer: signers.PdfSigner, writer: Any, cert: asn1_x509.Certificate, reason: str
    ) -> bytes:
        try:
            prepared, tbs, output = await pdf_signer.async_digest_doc_for_signing(writer, bytes_reserved=RESERVED_BYTES)
        except (PdfError, ValueError, KeyError) as exc:
            raise SealingError(f"The document could not be prepared for sealing: {exc}") from exc
        digest = prepared.document_digest
        answer = self._call(
            "POST",
            "/sign",
            json_body={"digest": base64.b64encode(digest).decode(), "digest_algorithm": "sha256", "reason": reason},
        )
        try:
            der = base64.b64decode(str(answer.get("cms", "")), validate=True)
            content = cms.ContentInfo.load(der)
            signed_data = content["content"]
            signer_info = signed_data["signer_infos"][0]
        except (ValueError, TypeError, KeyError, IndexError, binascii.Error) as exc:
            raise SealingError(f"The seal service's CMS cannot be read: {exc}") from exc
        self._check(signed_data, signer_info, cert, digest)
        if len(der) * 2 > RESERVED_BYTES:
            raise SealingError("The seal service's CMS is larger than the room reserved for it.")
        await PdfTBSDocument.async_finish_signing(output, prepared, content, post_sign_instr=tbs.post_sign_instructions)
        return bytes(output.getvalue())  # type: ignore[attr-defined]  # a BytesIO

    @staticmethod
    def _check(signed_data: Any, signer_info: Any, cert: asn1_x509.Certificate, digest: bytes) -> None:
        sid = signer_info["sid"]
        if sid.name != "issuer_and_serial_number" or sid.chosen["serial_number"].native != cert.serial_number:
            raise SealingError("The seal service signed with another certificate than the one it announced.")
        try:
            intact, valid = validate_sig_integrity(signer_info, cert, "data", digest)
        except Exception as exc:  # pyHanko raises several types for a malformed SignerInfo
            raise SealingError(f"The seal service's signature cannot be checked: {exc}") from exc
        if not intact:
            raise SealingError("The seal service signed another digest than the document's.")
        if not valid:
            raise SealingError("The seal service's signature value does not verify with its certificate.")

    @staticmethod
    def _check_embedded(sealed: bytes) -> None:
        try:
            reader = PdfFileReader(BytesIO(sealed), strict=False)
            embedded = reader.embedded_signatures[-1]
            embedded.compute_integrity_info(skip_diff=True)
        except (PdfError, ValueError, IndexError) as exc:
            raise SealingError(f"The sealed document cannot be read back: {exc}") from exc
