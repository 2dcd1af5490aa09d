"""Permission-layer rows for the agency's evaluation-to-award pages and the bidder's objection page
(the `evaluation_award` blueprint), merged into tests/test_permissions_matrix.py. The tender's own agency, its
bidders and the objection's state are checked per object in the services."""

from __future__ import annotations

RUN = frozenset({"agency"})
BID = frozenset({"bidder"})

AWARD_PAGES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "evaluation_award.rooms"): RUN,
    ("POST", "evaluation_award.open_room"): RUN,
    ("POST", "evaluation_award.appoint_chair"): RUN,
    ("POST", "evaluation_award.advance"): RUN,
    ("GET", "evaluation_award.result"): RUN,
    ("GET", "evaluation_award.report"): RUN,
    ("GET", "evaluation_award.report_pdf"): RUN,
    ("GET", "evaluation_award.publicity"): RUN,
    ("POST", "evaluation_award.publish"): RUN,
    ("POST", "evaluation_award.answer_objection"): RUN,
    ("GET", "evaluation_award.award"): RUN,
    ("POST", "evaluation_award.issue_award"): RUN,
    ("POST", "evaluation_award.reassign_award"): RUN,
    ("GET", "evaluation_award.bidder_objections"): BID,
    ("POST", "evaluation_award.file_objection"): BID,
}
