"""Permission-layer rows for the agency's committee, draw and seats pages and the admin's expert-pool pages
(app/evaluation/views_committee.py), merged into tests/test_permissions_matrix.py. That the tender is the caller's
agency's own is checked per object in the services."""

from __future__ import annotations

RUN = frozenset({"agency"})
POOL = frozenset({"admin"})

COMMITTEE_PAGES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "evaluation_agency.hub"): RUN,
    ("GET", "evaluation_agency.committee"): RUN,
    ("POST", "evaluation_agency.committee"): RUN,
    ("POST", "evaluation_agency.appoint"): RUN,
    ("GET", "evaluation_agency.draw_page"): RUN,
    ("POST", "evaluation_agency.commit_draw"): RUN,
    ("POST", "evaluation_agency.perform_draw"): RUN,
    ("GET", "evaluation_agency.confirmations"): RUN,
    ("POST", "evaluation_agency.release_seat"): RUN,
    ("GET", "evaluation_agency.experts"): POOL,
    ("GET", "evaluation_agency.expert"): POOL,
    ("POST", "evaluation_agency.expert"): POOL,
    ("POST", "evaluation_agency.expert_relationship"): POOL,
    ("POST", "evaluation_agency.expert_status"): POOL,
    ("GET", "evaluation_agency.expert_new"): POOL,
    ("POST", "evaluation_agency.expert_new"): POOL,
    ("GET", "evaluation_agency.specialties"): POOL,
    ("POST", "evaluation_agency.specialties"): POOL,
}
