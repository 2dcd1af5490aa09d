"""The sealing protocol: PDF bytes in, PAdES-signed PDF bytes out; the errors a sealer raises."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class SealingError(Exception):
    """The document could not be sealed (the seal service failed or answered with something unusable)."""


class SealingConfigError(SealingError):
    """The sealing configuration (APP_SEAL_*) is unusable."""


@runtime_checkable
class Sealer(Protocol):
    """Seals a PDF with the organisation's electronic seal (电子印章) as a PAdES signature.

    `seal` returns the whole document with one more incremental revision holding the signature; the bytes
    before it are the input, unchanged. `reason` and `location` go into the signature dictionary.
    """

    @property
    def name(self) -> str:
        """A short name of the backend for logs and the admin (e.g. "local", "remote")."""
        ...

    def seal(self, pdf: bytes, *, reason: str = "", location: str = "") -> bytes: ...
