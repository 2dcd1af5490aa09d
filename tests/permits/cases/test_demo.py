"""`make run`'s demo applications: one in every state, idempotent."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.permits.cases.demo import seed_demo_cases
from app.permits.cases.models import Application, ApplicationStatus
from tests.factories import user


def test_demo_applications_in_every_state(desk_app: Flask, clock: Any) -> None:
    user(desk_app, "admin", roles=["admin"], totp=False)
    user(desk_app, "bidder", roles=["bidder"])
    user(desk_app, "permits_reviewer", roles=["permits_reviewer"], totp=False)
    with desk_app.app_context():
        lines = seed_demo_cases()
        db.session.commit()
        assert len(lines) == 14, lines
        rows = list(db.session.execute(select(Application).order_by(Application.id)).scalars())
        assert [r.status for r in rows] == [
            ApplicationStatus.RECEIVED,
            ApplicationStatus.CORRECTION_REQUESTED,
            ApplicationStatus.REFUSED,
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.ACCEPTED,
        ]
        assert [r.is_deemed for r in rows[3:]] == [False, True, False, False, False, False]
        # The joint cases: one in progress (one answer, one task open), one with deemed consents (flagged).
        from app.permits.cases import processing
        from app.permits.cases.processing_models import TaskStatus

        joint, late = processing.get_case(rows[5].id), processing.get_case(rows[6].id)
        assert sorted(t.status.value for t in joint.tasks) == [TaskStatus.ANSWERED.value, TaskStatus.OPEN.value]
        assert all(t.is_deemed and t.accountability_flag for t in late.tasks) and len(late.tasks) == 2
        # 联审: the meeting decided on the spot (minutes sealed, the case at 决定); 联合踏勘: rectification asked.
        from app.permits.cases import joint as joint_services
        from app.permits.cases.joint_models import Finding, MeetingStatus

        met, inspected = processing.get_case(rows[7].id), processing.get_case(rows[8].id)
        assert met.joint_mode == "meeting" and met.meetings[0].status is MeetingStatus.CONCLUDED
        assert met.meetings[0].pdf_sha256 and processing.current_step(met).kind.value == "decision"
        assert inspected.inspections[0].outcome is Finding.RECTIFY
        assert joint_services.expected_rectification(inspected) == ["邯郸市国家税务局：税控设备未安装（示范）"]
        assert seed_demo_cases() == []
