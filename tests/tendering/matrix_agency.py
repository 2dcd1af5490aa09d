"""Permission-layer rows for the agency's tendering pages (app/tendering/agency/), merged into
tests/test_permissions_matrix.py. Object-level rules (only the drafting agency manages its tender, only a named
custodian downloads a share) are tested in tests/tendering/test_agency_pages.py."""

from __future__ import annotations

from tests.tendering.matrix import AGENCY, SIGNED_IN

AGENCY_PAGES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "tendering.agency_tenders"): AGENCY,
    ("GET", "tendering.agency_tender_new"): AGENCY,
    ("POST", "tendering.agency_tender_new"): AGENCY,
    ("GET", "tendering.agency_tender"): AGENCY,
    ("GET", "tendering.agency_tender_edit"): AGENCY,
    ("POST", "tendering.agency_tender_edit"): AGENCY,
    ("POST", "tendering.agency_document_upload"): AGENCY,
    ("GET", "tendering.agency_tender_publish"): AGENCY,
    ("POST", "tendering.agency_tender_publish"): AGENCY,
    ("GET", "tendering.agency_tender_clarify"): AGENCY,
    ("POST", "tendering.agency_tender_clarify"): AGENCY,
    ("POST", "tendering.agency_question_answer"): AGENCY,
    ("GET", "tendering.agency_tender_cancel"): AGENCY,
    ("POST", "tendering.agency_tender_cancel"): AGENCY,
    # the custodian's pages: any signed-in account; the service decides who holds a share (refusals logged)
    ("GET", "tendering.custody_duties"): SIGNED_IN,
    ("GET", "tendering.custody_share_page"): SIGNED_IN,
    ("POST", "tendering.custody_share_download"): SIGNED_IN,
    ("POST", "tendering.custody_share_bring"): SIGNED_IN,
}
