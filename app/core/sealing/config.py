"""Choosing the sealer from the configuration (APP_SEAL_*), and the trust roots the verifier uses.

    SEAL_BACKEND         local (default: the platform's own chain under SEAL_DIR) or remote (a seal service)
    SEAL_DIR             the local chain's folder (default instance/seal), generated on first use
    SEAL_ORGANISATION    the name in the local seal certificate (default: CENTER_NAME)
    SEAL_TIMESTAMP       local: add an RFC 3161 timestamp of the embedded TSA (PAdES B-T; default on)
    SEAL_REMOTE_URL      remote: the seal service's base URL; SEAL_REMOTE_TOKEN its bearer token;
                         SEAL_REMOTE_TIMEOUT seconds per call
    SEAL_TRUST_ROOTS     a PEM file of further seal roots the verifier trusts (the seal service's CA)
    SEAL_VERIFY_MAX_BYTES the largest file the public verification page takes

The sealer is built lazily, on first use: an app that never seals never generates a chain.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from asn1crypto import pem as asn1_pem
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from flask import Flask, current_app

from app.core.sealing import chain as chain_mod
from app.core.sealing.base import Sealer, SealingConfigError
from app.core.sealing.local import LocalSealer, asn1_cert
from app.core.sealing.remote import RemoteSealer
from app.core.sealing.verify import TrustSettings

BACKENDS = ("local", "remote")


def _roots_from_pem(path: str) -> list[asn1_x509.Certificate]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SealingConfigError(f"SEAL_TRUST_ROOTS {path!r} cannot be read: {exc}") from exc
    roots = [asn1_x509.Certificate.load(der) for _, _, der in asn1_pem.unarmor(data, multiple=True)]
    if not roots:
        raise SealingConfigError(f"SEAL_TRUST_ROOTS {path!r} holds no certificate.")
    return roots


class Sealing:
    """The app's sealer and trust settings, built on first use from the configuration."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.backend = str(config.get("SEAL_BACKEND") or "local").strip().lower()
        if self.backend not in BACKENDS:
            raise SealingConfigError(f"SEAL_BACKEND must be one of {', '.join(BACKENDS)}, not {self.backend!r}.")
        self.folder = Path(config.get("SEAL_DIR") or Path(config["INSTANCE_PATH"]) / "seal")
        self.organisation = str(config.get("SEAL_ORGANISATION") or config.get("CENTER_NAME") or "Service Center")
        self.timestamp = bool(config.get("SEAL_TIMESTAMP", True))
        self.remote_url = str(config.get("SEAL_REMOTE_URL") or "")
        self.remote_token = str(config.get("SEAL_REMOTE_TOKEN") or "")
        self.remote_timeout = float(config.get("SEAL_REMOTE_TIMEOUT") or 20)
        self.trust_roots_path = str(config.get("SEAL_TRUST_ROOTS") or "")
        if self.backend == "remote" and not self.remote_url:
            raise SealingConfigError("SEAL_BACKEND=remote needs APP_SEAL_REMOTE_URL.")
        self._lock = threading.Lock()
        self._sealer: Sealer | None = None
        self._chain: chain_mod.LocalChain | None = None
        self._trust: tuple[tuple[tuple[str, int, int, int], ...], TrustSettings] | None = None

    def chain(self) -> chain_mod.LocalChain:
        """The platform's own chain (generated on first use)."""
        with self._lock:
            if self._chain is None:
                self._chain = chain_mod.ensure(self.folder, self.organisation)
            return self._chain

    def sealer(self) -> Sealer:
        if self._sealer is None:
            if self.backend == "remote":
                self._sealer = RemoteSealer(self.remote_url, token=self.remote_token, timeout=self.remote_timeout)
            else:
                self._sealer = LocalSealer(self.chain(), timestamp=self.timestamp)
        return self._sealer

    def trust(self) -> TrustSettings:
        """The platform's own root (with its CRL) when the local chain is in use or exists, plus SEAL_TRUST_ROOTS.

        Built once and kept for the process; built again when one of its files changes (a revocation writes a
        new CRL, a seal service's roots are replaced): each call only looks at the files' stat.
        """
        own = self.backend == "local" or self.folder.exists()
        if own:
            self.chain()  # generated on first use
        stamp = self._trust_stamp(own)
        with self._lock:
            if self._trust is not None and self._trust[0] == stamp:
                return self._trust[1]
        settings = self._build_trust(own)
        settings.trust_manager  # noqa: B018 (parsed once here, not on the first request that validates)
        with self._lock:
            self._trust = (stamp, settings)
        return settings

    def _trust_files(self, own: bool) -> list[Path]:
        files = [self.folder / chain_mod.ROOT_CERT, self.folder / chain_mod.CRL] if own else []
        if self.trust_roots_path:
            files.append(Path(self.trust_roots_path))
        return files

    def _trust_stamp(self, own: bool) -> tuple[tuple[str, int, int, int], ...]:
        stamp = []
        for path in self._trust_files(own):
            try:
                st = path.stat()
            except OSError:
                stamp.append((str(path), -1, -1, -1))
            else:  # a file replaced whole (os.replace) has a new inode even within the same mtime tick
                stamp.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(stamp)

    def _build_trust(self, own: bool) -> TrustSettings:
        roots: list[asn1_x509.Certificate] = []
        crls: list[bytes] = []
        if own:
            chain = chain_mod.load(self.folder)
            roots.append(asn1_cert(chain.root))
            crls.append(chain.crl().public_bytes(serialization.Encoding.DER))
        if self.trust_roots_path:
            roots.extend(_roots_from_pem(self.trust_roots_path))
        return TrustSettings(roots=roots, crls=crls)


def get_sealing() -> Sealing:
    sealing: Sealing = current_app.extensions["sealing"]
    return sealing


def get_sealer() -> Sealer:
    """The current app's sealer."""
    return get_sealing().sealer()


def init_app(app: Flask) -> None:
    from app.core.sealing import views

    app.extensions["sealing"] = Sealing(app.config)
    views.init_app(app)
