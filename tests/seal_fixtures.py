"""Seal fixtures: the platform's chain generated once per session, and a fake seal service (电子印章服务).

The fake service speaks RemoteSealer's protocol over real HTTP (a WSGI server on a loopback port, in a
thread) and really signs: it holds its own root CA and seal key (made with app.core.sealing.chain) and builds
the CMS with pyHanko's signer from the digest it is sent.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app.core.sealing import chain as chain_mod
from app.core.sealing.local import asn1_cert, asn1_key

TOKEN = "fake-seal-service-token"


@pytest.fixture(scope="session")
def seal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The platform's seal chain, generated once for the session (config SEAL_DIR)."""
    folder = tmp_path_factory.mktemp("seal-chain") / "seal"
    chain_mod.ensure(folder, "邯郸市行政服务中心")
    return folder


@dataclass
class FakeSealService:
    url: str
    chain: chain_mod.LocalChain
    root_pem: Path
    calls: list[dict[str, Any]] = field(default_factory=list)
    # What the next /sign answers instead of a good CMS: "other-digest", "garbage", "500" (one call).
    misbehave: str | None = None


def _app(service: FakeSealService) -> Any:
    cert = service.chain.seal
    signer = signers.SimpleSigner(
        signing_cert=asn1_cert(cert),
        signing_key=asn1_key(service.chain.private_key(chain_mod.SEAL_KEY)),
        cert_registry=SimpleCertificateStore.from_certs([asn1_cert(service.chain.root)]),
    )

    def app(environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response("unauthorised", status=401)(environ, start_response)
        if request.path == "/certificate" and request.method == "GET":
            body = {
                "certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
                "chain": [service.chain.root.public_bytes(serialization.Encoding.PEM).decode()],
            }
            return Response(json.dumps(body), content_type="application/json")(environ, start_response)
        if request.path == "/sign" and request.method == "POST":
            payload = request.get_json()
            service.calls.append(payload)
            digest = base64.b64decode(payload["digest"])
            misbehave, service.misbehave = service.misbehave, None
            if misbehave == "500":
                return Response("down", status=500)(environ, start_response)
            if misbehave == "garbage":
                return Response(json.dumps({"cms": "bm90IGEgY21z"}), content_type="application/json")(
                    environ, start_response
                )
            if misbehave == "other-digest":
                digest = bytes(32)
            cms = asyncio.run(signer.async_sign(digest, "sha256", use_pades=True))
            body = {"cms": base64.b64encode(cms.dump()).decode()}
            return Response(json.dumps(body), content_type="application/json")(environ, start_response)
        return Response("not found", status=404)(environ, start_response)

    return app


@pytest.fixture(scope="session")
def seal_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSealService]:
    folder = tmp_path_factory.mktemp("seal-service") / "chain"
    own = chain_mod.ensure(folder, "某某电子印章服务平台")
    root_pem = folder.parent / "service-root.pem"
    root_pem.write_bytes(own.root.public_bytes(serialization.Encoding.PEM))
    service = FakeSealService(url="", chain=own, root_pem=root_pem)
    server = make_server("127.0.0.1", 0, _app(service), threaded=True)
    service.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    thread.join(timeout=5)
