"""What each evidence-log action is called in pages: one registry of action → label (translated when shown).

Every action string that app/ passes to `record(...)` (and every `audit_action` of a logged refusal) has a
label here; tests/audit/test_action_labels.py walks the code and fails on one without. Pages show
`entry.action|action_label` and keep the code itself for a title attribute or an export.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

ACTIONS: dict[str, Any] = {
    # accounts
    "accounts.signed_in": _l("Signed in"),
    "accounts.signed_out": _l("Signed out"),
    "accounts.login_failed": _l("Sign-in failed"),
    "accounts.locked_out": _l("Account locked after failed sign-ins"),
    "accounts.password_changed": _l("Password changed"),
    "accounts.password_reset": _l("Password reset by an administrator"),
    "accounts.profile_updated": _l("Profile updated"),
    "accounts.role_changed": _l("Role permissions changed"),
    "accounts.roles_changed": _l("User's roles changed"),
    "accounts.token_created": _l("API token created"),
    "accounts.token_revoked": _l("API token revoked"),
    "accounts.totp_enabled": _l("Two-step verification turned on"),
    "accounts.totp_reset": _l("Two-step verification reset"),
    "accounts.user_created": _l("User created"),
    "accounts.user_unlocked": _l("User unlocked"),
    "accounts.user_activated": _l("User activated"),
    "accounts.user_deactivated": _l("User deactivated"),
    "accounts.organisation_created": _l("Organisation created"),
    "accounts.organisation_updated": _l("Organisation updated"),
    "accounts.organisation_changed": _l("User's organisation changed"),
    "accounts.organisation_activated": _l("Organisation activated"),
    "accounts.organisation_deactivated": _l("Organisation deactivated"),
    "access.denied": _l("Access refused"),
    # tendering
    "tendering.tender.drafted": _l("Tender drafted"),
    "tendering.tender.updated": _l("Tender draft updated"),
    "tendering.tender.published": _l("Tender published"),
    "tendering.tender.document_added": _l("Tender document added"),
    "tendering.tender.clarification": _l("Clarification issued"),
    "tendering.tender.amendment": _l("Tender documents amended"),
    "tendering.tender.cancelled": _l("Tender cancelled"),
    "tendering.tender.failed": _l("Tender failed (too few valid bids)"),
    "tendering.question.asked": _l("Question asked"),
    "tendering.question.answered": _l("Question answered"),
    "tendering.refused": _l("Tendering request refused"),
    "tendering.bid.refused": _l("Bid refused"),
    "tendering.bids.batch": _l("Batch of sealed bid commitments"),
    "tendering.custody.released": _l("Key shares issued to the custodians"),
    "tendering.custody.share_downloaded": _l("Key share downloaded by its custodian"),
    "tendering.custody.share_submitted": _l("Key share brought to the opening"),
    "tendering.opening.started": _l("Opening started"),
    "tendering.opening.key_problem": _l("Problem with the opening key"),
    "tendering.opening.stage_advanced": _l("Opening moved to the next stage"),
    "tendering.opening.record_published": _l("Opening record published"),
    "tendering.envelope.key_revealed": _l("Envelope file key revealed"),
    # evaluation
    "evaluation.specialty.saved": _l("Specialty saved"),
    "evaluation.expert.enrolled": _l("Expert added to the pool"),
    "evaluation.expert.updated": _l("Expert profile updated"),
    "evaluation.expert.status": _l("Expert's pool status changed"),
    "evaluation.expert.availability": _l("Expert's availability changed"),
    "evaluation.expert.relationship": _l("Expert's declared relationship recorded"),
    "evaluation.committee.defined": _l("Evaluation committee defined"),
    "evaluation.draw.committed": _l("Draw seed committed"),
    "evaluation.draw.performed": _l("Experts drawn"),
    "evaluation.draw.failed": _l("Draw failed"),
    "evaluation.member.appointed": _l("Committee member appointed"),
    "evaluation.member.confirmed": _l("Seat confirmed"),
    "evaluation.member.declined": _l("Invitation declined"),
    "evaluation.member.declared": _l("No-conflict declaration signed"),
    "evaluation.member.recused": _l("Member withdrew for a conflict of interest"),
    "evaluation.member.released": _l("Member released from the committee"),
    "evaluation.member.promoted": _l("Reserve expert given a seat"),
    "evaluation.chair.voted": _l("Vote for the chair cast"),
    "evaluation.chair.elected": _l("Chair elected"),
    "evaluation.chair.appointed": _l("Chair appointed by the agency"),
    "evaluation.chair.election_closed": _l("Chair election closed"),
    "evaluation.room.opened": _l("Evaluation room opened"),
    "evaluation.file.downloaded": _l("Bid file opened in the room"),
    "evaluation.review.saved": _l("Review saved"),
    "evaluation.review.submitted": _l("Review submitted"),
    "evaluation.review.closed": _l("Review closed"),
    "evaluation.sheet.saved": _l("Score sheet saved"),
    "evaluation.sheet.submitted": _l("Score sheet submitted"),
    "evaluation.sheet.corrected": _l("Score sheet corrected"),
    "evaluation.result.aggregated": _l("Scores aggregated"),
    "evaluation.clarification.requested": _l("Clarification requested from a bidder"),
    "evaluation.clarification.answered": _l("Clarification answered"),
    "evaluation.clarification.expired": _l("Clarification expired unanswered"),
    "evaluation.clarification.file_downloaded": _l("Clarification file opened"),
    "evaluation.clarification.refused": _l("Clarification answer refused"),
    "evaluation.report.drawn_up": _l("Evaluation report drawn up"),
    "evaluation.report.signed": _l("Evaluation report signed"),
    "evaluation.report.sign_refused": _l("Report signature refused"),
    "evaluation.report.final": _l("Evaluation report signed by every member"),
    "evaluation.publicity.started": _l("Candidates published"),
    "evaluation.publicity.ended": _l("Publicity period ended"),
    "evaluation.objection.filed": _l("Objection filed"),
    "evaluation.objection.answered": _l("Objection answered"),
    "evaluation.objection.overdue": _l("Objection answer overdue"),
    "evaluation.award.issued": _l("Award issued"),
    "evaluation.award.declined": _l("Award declined or not signed"),
    # recordings
    "recording.room_created": _l("Recording room created"),
    "recording.scheduled": _l("Recording scheduled"),
    "recording.schedule_cancelled": _l("Recording schedule cancelled"),
    "recording.session_requested": _l("Recording requested"),
    "recording.session_started": _l("Recording started"),
    "recording.stop_requested": _l("Stop of the recording requested"),
    "recording.session_closed": _l("Recording closed and sealed"),
    "recording.session_cancelled": _l("Recording cancelled"),
    "recording.segment_gap": _l("Gap in the recording"),
    "recording.replay_granted": _l("Replay access granted"),
    "recording.replay_revoked": _l("Replay access revoked"),
    "recording.replayed": _l("Recording replayed"),
    "recording.media.accessed": _l("Recording media fetched"),
    "recording.access_denied": _l("Recording access refused"),
    "recording.export_requested": _l("Recording export requested"),
    "recording.exported": _l("Recording exported"),
    "recording.export_failed": _l("Recording export failed"),
    "recording.export_downloaded": _l("Recording export downloaded"),
    # permits
    "permits.catalogue.loaded": _l("Permit catalogue loaded or amended"),
    "permits.calendar.seeded": _l("Working-day calendar seeded"),
    "permits.calendar.year_loaded": _l("Working-day calendar year loaded"),
}


def action_label(action: str | None) -> str:
    """The words for an evidence-log action; an unknown action is shown as it is (tests keep the registry whole)."""
    if not action:
        return "—"
    label = ACTIONS.get(action)
    return str(label) if label is not None else action
