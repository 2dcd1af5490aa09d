"""Sealing fixtures: the app with the session's seal chain, one plain PDF and one sealed PDF per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def app(seal_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One app per module: sealing has no tables, so no database is built for it."""
    from app import create_app
    from app.config import test_config

    return create_app(test_config(tmp_path_factory.mktemp("sealing"), SEAL_DIR=str(seal_dir)))


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture(scope="session")
def plain_pdf() -> bytes:
    from weasyprint import HTML

    html = (
        "<html lang='zh-CN'><body><h1>准予行政许可决定书</h1><p>邯郸市行政服务中心 Decision 2026-001</p></body></html>"
    )
    return bytes(HTML(string=html).write_pdf())


@pytest.fixture(scope="session")
def local_chain(seal_dir: Path) -> Any:
    from app.core.sealing import chain

    return chain.load(seal_dir)


@pytest.fixture(scope="session")
def sealed_pdf(local_chain: Any, plain_pdf: bytes) -> bytes:
    from app.core.sealing import LocalSealer

    return LocalSealer(local_chain).seal(plain_pdf, reason="准予行政许可", location="邯郸市行政服务中心")


@pytest.fixture(scope="session")
def trust(local_chain: Any) -> Any:
    from cryptography.hazmat.primitives import serialization

    from app.core.sealing import TrustSettings
    from app.core.sealing.local import asn1_cert

    return TrustSettings([asn1_cert(local_chain.root)], [local_chain.crl().public_bytes(serialization.Encoding.DER)])
