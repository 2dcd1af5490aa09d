"""Permission-layer rows for supervision, merged into tests/test_permissions_matrix.py. Every signed-in account
reaches the pages and the API; the services decide what each sees (its own signals, its department's as a head,
everything as a supervisor) — tests/supervision/test_pages.py checks that per role."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

SIGNED_IN = frozenset(SEEDED_ROLES)

SUPERVISION_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "supervision.wall"): SIGNED_IN,
    ("GET", "supervision.signals"): SIGNED_IN,
    ("GET", "supervision.signal"): SIGNED_IN,
    ("POST", "supervision.answer"): SIGNED_IN,
    ("POST", "supervision.review"): SIGNED_IN,
    ("GET", "supervision-api.wall"): SIGNED_IN,
    ("GET", "supervision-api.list_signals"): SIGNED_IN,
    ("GET", "supervision-api.get_signal"): SIGNED_IN,
    ("POST", "supervision-api.answer"): SIGNED_IN,
    ("POST", "supervision-api.review"): SIGNED_IN,
    # Read-only JSON of the pages (app/supervision/api_reads.py): the services decide as on the pages.
    ("GET", "supervision-api.person"): SIGNED_IN,
    ("GET", "supervision-api.presence_day"): SIGNED_IN,
    ("GET", "supervision-api.statistics"): SIGNED_IN,
    ("GET", "supervision-api.letters_list"): SIGNED_IN,
    ("GET", "supervision-api.grading_list"): SIGNED_IN,
    ("GET", "supervision-api.instructions_list"): SIGNED_IN,
    ("GET", "supervision-api.duty_day"): SIGNED_IN,
    # The follow-up: letters, grading, the leader on duty, instructions (the services decide per role; see
    # tests/supervision/test_letters.py, test_grading.py, test_followup.py).
    ("GET", "supervision_oversight.letters_list"): SIGNED_IN,
    ("POST", "supervision_oversight.letter_issue"): SIGNED_IN,
    ("GET", "supervision_oversight.letter"): SIGNED_IN,
    ("GET", "supervision_oversight.letter_pdf"): SIGNED_IN,
    ("POST", "supervision_oversight.letter_reply"): SIGNED_IN,
    ("GET", "supervision_oversight.grading_page"): SIGNED_IN,
    ("POST", "supervision_oversight.grading_compute"): SIGNED_IN,
    ("POST", "supervision_oversight.grading_freeze"): SIGNED_IN,
    ("GET", "supervision_oversight.duty_page"): SIGNED_IN,
    ("POST", "supervision_oversight.rota_set"): SIGNED_IN,
    ("POST", "supervision_oversight.rota_remove"): SIGNED_IN,
    ("GET", "supervision_oversight.instructions"): SIGNED_IN,
    ("POST", "supervision_oversight.instruction_issue"): SIGNED_IN,
    ("GET", "supervision_oversight.instruction"): SIGNED_IN,
    ("POST", "supervision_oversight.instruction_report"): SIGNED_IN,
    ("POST", "supervision_oversight.instruction_close"): SIGNED_IN,
    # Statistics: supervisors and leaders everything, heads their departments, others 403 (tests/supervision/
    # test_stats.py).
    ("GET", "supervision_stats.page"): SIGNED_IN,
    ("GET", "supervision_stats.export"): SIGNED_IN,
    # A person's monitoring record: supervisors and leaders everyone, heads their department's people, anybody
    # their own (the service decides; tests/supervision/test_people.py). A permits case read by supervision:
    # supervisors and leaders, heads of its department; 404 for others.
    ("GET", "supervision.person"): SIGNED_IN,
    ("GET", "supervision.permits_case"): SIGNED_IN,
    # The windows' presence timelines: supervisors (supervision.watch) only.
    ("GET", "supervision_presence.presence"): frozenset({"supervisor", "admin"}),
}

# The letter's public verification page (its QR code): anybody.
SUPERVISION_PUBLIC: tuple[tuple[str, str], ...] = (("GET", "supervision_oversight.letter_verify"),)
