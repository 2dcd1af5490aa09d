"""The certificate registry's endpoints for tests/test_permissions_matrix.py."""

from __future__ import annotations

CERTIFICATE_STAFF = frozenset({"admin"})

CERTIFICATES_PUBLIC: tuple[tuple[str, str], ...] = (
    ("GET", "permits_certificates.public_page"),
    ("GET", "permits_certificates.pdf"),
    ("GET", "permits-certificates-api.get_certificate"),
)

PERMITS_CERTIFICATES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "permits_certificates.register"): CERTIFICATE_STAFF,
    ("POST", "permits_certificates.issue"): CERTIFICATE_STAFF,
    ("POST", "permits_certificates.reissue"): CERTIFICATE_STAFF,
    ("POST", "permits_certificates.revoke"): CERTIFICATE_STAFF,
    ("POST", "permits-certificates-api.issue_certificate"): CERTIFICATE_STAFF,
    ("POST", "permits-certificates-api.reissue_certificate"): CERTIFICATE_STAFF,
    ("POST", "permits-certificates-api.revoke_certificate"): CERTIFICATE_STAFF,
}
