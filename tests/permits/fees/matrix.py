"""Fees and bundle endpoints for tests/test_permissions_matrix.py."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

ANONYMOUS = "anonymous"
EVERYONE = frozenset((ANONYMOUS, *SEEDED_ROLES))
SIGNED_IN = frozenset(SEEDED_ROLES)
DESK = frozenset({"admin", "permits_clerk"})  # permits.desk
ADMIN = frozenset({"admin"})  # permits.catalogue.manage, permits.certificates.issue

PERMITS_FEES_BUNDLE_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # fees
    ("GET", "permits-fees-api.get_bill"): DESK,
    ("POST", "permits-fees-api.issue_bill"): DESK,
    ("PATCH", "permits-fees-api.charge_line"): DESK,
    ("POST", "permits-fees-api.record_payment"): DESK,
    ("GET", "permits-fees-api.tracked_bill"): EVERYONE,
    ("GET", "permits-fees-api.tracked_bill_pdf"): EVERYONE,
    ("GET", "permits_fees.bill_page"): DESK,
    ("POST", "permits_fees.issue"): DESK,
    ("POST", "permits_fees.charge"): DESK,
    ("POST", "permits_fees.pay"): DESK,
    ("GET", "permits_fees.applicant"): EVERYONE,
    ("GET", "permits_fees.notice_pdf"): EVERYONE,
    # bundle
    ("GET", "permits-bundle-api.list_bundles"): EVERYONE,
    ("GET", "permits-bundle-api.get_bundle"): EVERYONE,
    ("POST", "permits-bundle-api.define"): ADMIN,
    ("POST", "permits-bundle-api.submit"): SIGNED_IN,
    ("GET", "permits-bundle-api.get_case"): SIGNED_IN,
    ("POST", "permits-bundle-api.attach"): SIGNED_IN,
    ("POST", "permits-bundle-api.accept"): DESK,
    ("POST", "permits-bundle-api.output"): ADMIN,
    ("GET", "permits-bundle-api.track"): EVERYONE,
    ("GET", "permits_bundle.index"): EVERYONE,
    ("GET", "permits_bundle.apply"): SIGNED_IN,
    ("POST", "permits_bundle.apply"): SIGNED_IN,
    ("GET", "permits_bundle.tracking"): EVERYONE,
    ("GET", "permits_bundle.materials"): SIGNED_IN,
    ("POST", "permits_bundle.materials"): SIGNED_IN,
    ("GET", "permits_bundle.desk_list"): DESK,
    ("GET", "permits_bundle.desk"): DESK,
    ("POST", "permits_bundle.accept"): DESK,
    ("POST", "permits_bundle.output"): ADMIN,
}
