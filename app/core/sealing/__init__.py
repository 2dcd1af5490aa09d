"""Electronic seals (电子印章) on PDF documents: PAdES signatures with pyHanko, and their verification.

Infrastructure: no domain module is imported here. A domain renders its PDF and calls `get_sealer().seal()`;
anyone checks a sealed PDF with `verify_pdf(data, get_sealing().trust())` (the public page is /seals/verify).

    base     the Sealer protocol and its errors
    chain    the platform's own seal chain (root CA, seal and timestamping certificates) under the instance
    local    LocalSealer: the own chain, PAdES B-T with the embedded RFC 3161 timestamp authority
    remote   RemoteSealer: a certified seal service signs the document's digest over HTTP (deferred signing)
    verify   verify_pdf(): pyHanko's validator, the outcome in words
    config   the factory (SEAL_BACKEND …), trust roots, Flask wiring
    views    the public verification page and its JSON API
"""

from app.core.sealing.base import Sealer, SealingConfigError, SealingError
from app.core.sealing.config import Sealing, get_sealer, get_sealing, init_app
from app.core.sealing.local import LocalSealer
from app.core.sealing.remote import RemoteSealer
from app.core.sealing.verify import Check, SealReport, SignatureReport, TrustSettings, verify_pdf

__all__ = [
    "Check",
    "LocalSealer",
    "RemoteSealer",
    "SealReport",
    "Sealer",
    "Sealing",
    "SealingConfigError",
    "SealingError",
    "SignatureReport",
    "TrustSettings",
    "get_sealer",
    "get_sealing",
    "init_app",
    "verify_pdf",
]
