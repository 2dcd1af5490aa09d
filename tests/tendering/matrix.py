"""The tendering rows of the permission matrix (tests/test_permissions_matrix.py): merge with
`EXPECTED.update(TENDERING_EXPECTED)` once app.tendering is in app.MODULES. Object-level rules (only the
drafting agency manages its tender, nobody reads another party's bid before the opening) are tested in
tests/tendering; this table is only what the permission layer decides."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

EVERYONE = frozenset({"anonymous", *SEEDED_ROLES})
SIGNED_IN = EVERYONE - {"anonymous"}
AGENCY = frozenset({"agency"})
BIDDER = frozenset({"bidder"})

TENDERING_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # public reading
    ("GET", "tendering-api.list_tenders"): EVERYONE,
    ("GET", "tendering-api.get_tender"): EVERYONE,
    ("GET", "tendering-api.download_document"): EVERYONE,
    ("GET", "tendering-api.list_versions"): EVERYONE,
    ("GET", "tendering-api.list_questions"): EVERYONE,
    # the agency
    ("POST", "tendering-api.create_tender"): AGENCY,
    ("GET", "tendering-api.my_tenders"): AGENCY,
    ("PATCH", "tendering-api.update_tender"): AGENCY,
    ("POST", "tendering-api.add_document"): AGENCY,
    ("POST", "tendering-api.publish_tender"): AGENCY,
    ("POST", "tendering-api.clarify_tender"): AGENCY,
    ("POST", "tendering-api.cancel_tender"): AGENCY,
    ("GET", "tendering-api.list_all_questions"): AGENCY,
    ("POST", "tendering-api.answer_question"): AGENCY,
    ("POST", "tendering-api.advance_stage"): AGENCY,
    # bidders
    ("POST", "tendering-api.register_interest"): BIDDER,
    ("POST", "tendering-api.ask_question"): BIDDER,
    ("POST", "tendering-api.start_upload"): BIDDER,
    ("GET", "tendering-api.get_upload"): BIDDER,
    ("PUT", "tendering-api.put_chunk"): BIDDER,
    ("POST", "tendering-api.complete_upload"): BIDDER,
    ("POST", "tendering-api.submit_bid"): BIDDER,
    ("DELETE", "tendering-api.withdraw_bid"): BIDDER,
    ("GET", "tendering-api.own_bid"): BIDDER,
    ("GET", "tendering-api.my_bids"): BIDDER,
    ("POST", "tendering-api.reveal_file_key"): BIDDER,
    # signed in; the service decides (custodians, participants, overseers) and logs refusals
    ("GET", "tendering-api.list_notifications"): SIGNED_IN,
    ("GET", "tendering-api.list_bids"): SIGNED_IN,
    ("GET", "tendering-api.get_bid"): SIGNED_IN,
    ("GET", "tendering-api.download_sealed"): SIGNED_IN,
    ("POST", "tendering-api.download_share"): SIGNED_IN,
    ("GET", "tendering-api.my_custody_shares"): SIGNED_IN,
    ("POST", "tendering-api.submit_share"): SIGNED_IN,
    ("GET", "tendering-api.list_opening_records"): SIGNED_IN,
    ("GET", "tendering-api.opening_record_pdf"): SIGNED_IN,
    # pages (app/tendering/views.py)
    ("GET", "tendering.tender_list"): EVERYONE,
    ("GET", "tendering.tender_detail"): EVERYONE,
    ("GET", "tendering.my_bids"): BIDDER,
    ("GET", "tendering.bid_page"): BIDDER,
    ("POST", "tendering.withdraw"): BIDDER,
    ("GET", "tendering.receipt_json"): BIDDER,
    ("GET", "tendering.receipt_page"): BIDDER,
    ("GET", "tendering.receipt_pdf"): BIDDER,
    ("GET", "tendering.verify_receipt"): EVERYONE,  # the public verification page
    ("POST", "tendering.verify_receipt_post"): EVERYONE,
    ("GET", "tendering.opening_record"): SIGNED_IN,
    # the remote opening: object-level (the tender's bidders and overseers), refusals logged
    ("GET", "tendering.opening_live"): SIGNED_IN,
    ("GET", "tendering.opening_live_panel"): SIGNED_IN,
    ("GET", "tendering.opening_live_json"): SIGNED_IN,
    ("GET", "tendering.opening_live_stream"): SIGNED_IN,
    ("GET", "tendering.opening_answers_json"): SIGNED_IN,
    ("GET", "tendering.opening_live_playlist"): SIGNED_IN,
    ("GET", "tendering.opening_live_media"): SIGNED_IN,
    ("POST", "tendering.opening_raise"): SIGNED_IN,
    ("POST", "tendering.opening_answer"): SIGNED_IN,
    ("POST", "tendering.opening_answer_record"): SIGNED_IN,
    ("GET", "tendering-api.remote_opening_state"): SIGNED_IN,
    ("GET", "tendering-api.list_remote_opening_messages"): SIGNED_IN,
    ("POST", "tendering-api.raise_remote_opening_message"): SIGNED_IN,
    ("POST", "tendering-api.answer_remote_opening_message"): AGENCY,  # the host; which agency: object-level
    ("GET", "tendering-api.list_opening_record_answers"): SIGNED_IN,
    ("POST", "tendering-api.answer_opening_record"): SIGNED_IN,
}
