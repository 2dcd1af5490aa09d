"""Unified acceptance endpoints for tests/test_permissions_matrix.py."""

from __future__ import annotations

from app.accounts.permissions import SEEDED_ROLES

ANONYMOUS = "anonymous"
EVERYONE = frozenset((ANONYMOUS, *SEEDED_ROLES))
SIGNED_IN = frozenset(SEEDED_ROLES)
DESK = frozenset({"admin", "permits_clerk"})  # permits.desk
REVIEW = frozenset({"admin", "permits_reviewer"})  # permits.review
MANAGE = frozenset({"admin"})  # permits.authorisations.manage

PERMITS_CASES_EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "permits-cases-api.submit_application"): SIGNED_IN,
    ("GET", "permits-cases-api.get_application"): SIGNED_IN,
    ("POST", "permits-cases-api.attach_material"): SIGNED_IN,
    ("POST", "permits-cases-api.resubmit_application"): SIGNED_IN,
    ("POST", "permits-cases-api.decide"): DESK,
    ("GET", "permits-cases-api.track"): EVERYONE,
    ("GET", "permits_cases.apply"): SIGNED_IN,
    ("POST", "permits_cases.apply"): SIGNED_IN,
    ("GET", "permits_cases.correct"): SIGNED_IN,
    ("POST", "permits_cases.correct"): SIGNED_IN,
    ("GET", "permits_cases.material_file"): SIGNED_IN,
    ("GET", "permits_cases.tracking"): EVERYONE,
    ("GET", "permits_cases.acceptance_pdf"): EVERYONE,
    ("GET", "permits_cases.notice_page"): EVERYONE,
    ("GET", "permits_cases.notice_pdf"): EVERYONE,
    ("GET", "permits_cases.my_applications"): SIGNED_IN,
    ("GET", "permits_cases.queue"): DESK,
    ("GET", "permits_cases.desk_application"): DESK,
    ("POST", "permits_cases.claim"): DESK,
    ("POST", "permits_cases.accept"): DESK,
    ("POST", "permits_cases.refuse"): DESK,
    ("POST", "permits_cases.request_correction"): DESK,
    ("GET", "permits_cases.decision_pdf"): EVERYONE,
    # case processing (processing_api.py, processing_views.py)
    ("GET", "permits-processing-api.my_tasks"): REVIEW,
    ("GET", "permits-processing-api.my_cases"): REVIEW,
    ("POST", "permits-processing-api.answer_task"): REVIEW,
    ("GET", "permits-processing-api.get_case"): REVIEW,
    ("POST", "permits-processing-api.claim"): REVIEW,
    ("POST", "permits-processing-api.finish_step"): REVIEW,
    ("POST", "permits-processing-api.decide"): REVIEW,
    ("POST", "permits-processing-api.pause"): REVIEW,
    ("POST", "permits-processing-api.resume"): REVIEW,
    ("GET", "permits-processing-api.decision_pdf"): REVIEW,
    ("GET", "permits-processing-api.list_authorisations"): MANAGE,
    ("POST", "permits-processing-api.grant"): MANAGE,
    ("POST", "permits-processing-api.revoke"): MANAGE,
    ("POST", "permits-processing-api.add_staff"): MANAGE,
    ("GET", "permits_processing.department"): REVIEW,
    ("GET", "permits_processing.task"): REVIEW,
    ("POST", "permits_processing.answer"): REVIEW,
    ("GET", "permits_processing.case"): REVIEW,
    ("POST", "permits_processing.claim"): REVIEW,
    ("POST", "permits_processing.finish"): REVIEW,
    ("POST", "permits_processing.decide"): REVIEW,
    ("POST", "permits_processing.pause"): REVIEW,
    ("POST", "permits_processing.resume"): REVIEW,
    ("GET", "permits_processing.admin_authorisations"): MANAGE,
    ("POST", "permits_processing.grant"): MANAGE,
    ("POST", "permits_processing.revoke"): MANAGE,
    ("POST", "permits_processing.add_staff"): MANAGE,
    # joint review meetings (联审制) and joint site inspections (联合踏勘) (joint_api.py, joint_views.py)
    ("POST", "permits-joint-api.schedule_meeting"): REVIEW,
    ("GET", "permits-joint-api.get_meeting"): REVIEW,
    ("POST", "permits-joint-api.attendance"): REVIEW,
    ("POST", "permits-joint-api.opinion"): REVIEW,
    ("POST", "permits-joint-api.conclude"): REVIEW,
    ("GET", "permits-joint-api.minutes_pdf"): REVIEW,
    ("POST", "permits-joint-api.schedule_inspection"): REVIEW,
    ("GET", "permits-joint-api.get_inspection"): REVIEW,
    ("POST", "permits-joint-api.report"): REVIEW,
    ("GET", "permits_joint.new_meeting"): REVIEW,
    ("POST", "permits_joint.schedule_meeting"): REVIEW,
    ("GET", "permits_joint.meeting"): REVIEW,
    ("POST", "permits_joint.attend"): REVIEW,
    ("POST", "permits_joint.absent"): REVIEW,
    ("POST", "permits_joint.opinion"): REVIEW,
    ("POST", "permits_joint.conclude"): REVIEW,
    ("GET", "permits_joint.minutes_pdf"): REVIEW,
    ("GET", "permits_joint.new_inspection"): REVIEW,
    ("POST", "permits_joint.schedule_inspection"): REVIEW,
    ("GET", "permits_joint.inspection"): REVIEW,
    ("POST", "permits_joint.report"): REVIEW,
    ("GET", "permits_joint.photo"): REVIEW,
}
