"""Permission-layer rows for the evaluation HTML pages (the `evaluation` blueprint), merged into
tests/test_permissions_matrix.py. Membership, chair and stage are checked per object in the services."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

SIGNED_IN = frozenset(SEEDED_ROLES)

EVALUATION_PAGES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # my evaluations lists the caller's own memberships; every other page checks the membership object by object
    ("GET", "evaluation.my_evaluations"): SIGNED_IN,
    ("POST", "evaluation.confirm"): SIGNED_IN,
    ("POST", "evaluation.decline"): SIGNED_IN,
    ("GET", "evaluation.declaration"): SIGNED_IN,
    ("POST", "evaluation.declare"): SIGNED_IN,
    ("GET", "evaluation.room"): SIGNED_IN,
    ("POST", "evaluation.vote_chair"): SIGNED_IN,
    ("POST", "evaluation.chair_step"): SIGNED_IN,
    ("GET", "evaluation.view_file"): SIGNED_IN,
    ("GET", "evaluation.report"): SIGNED_IN,
    ("POST", "evaluation.sign_report"): SIGNED_IN,
    ("POST", "evaluation.draw_up_report"): SIGNED_IN,  # the chair of the last room (report/views.py)
    # clarifications: the chair's request (checked in the service); the bidder's page and answer need tendering.bid
    ("POST", "evaluation.request_clarification"): SIGNED_IN,
    ("GET", "evaluation.my_clarifications"): frozenset({"bidder"}),
    ("POST", "evaluation.answer_clarification"): frozenset({"bidder"}),
}
