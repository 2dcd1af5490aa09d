"""Joint review (联审制) and joint site inspection (联合踏勘): the mode at acceptance, the meeting with attendance
under the chief representatives' authorisations, opinions, absence with and without deemed consent, the sealed
minutes (validated with pyHanko), the tasks closed on the spot; the inspection's findings with the rectification
loop, and hostile photos refused with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permits.cases import joint, processing, services
from app.permits.cases.authorisations import AuthorisationRefused
from app.permits.cases.joint_models import (
    Attendance,
    Finding,
    InspectionPhoto,
    InspectionStatus,
    JointMeeting,
    MeetingEffect,
    MeetingStatus,
)
from app.permits.cases.models import Holder, StepKind
from app.permits.cases.processing_models import CaseStepKind, CaseStepStatus, TaskAnswer, TaskStatus
from tests.permits.cases.helpers import attach_all, people, submit, who
from tests.permits.cases.joint_helpers import beijing, image, meeting_case, photo, png_bomb
from tests.permits.cases.processing_helpers import at, reviewer


def _entries(action: str) -> list[AuditEntry]:
    return list(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _schedule(app_id: int, lead: int, **kw: Any) -> JointMeeting:
    return joint.schedule_meeting(
        actor=who(lead),
        application=processing.get_case(app_id),
        starts_at=kw.pop("starts_at", beijing(2026, 3, 3, 10)),
        place=kw.pop("place", "三楼联审室"),
        **kw,
    )


def _meeting(meeting_id: int) -> tuple[JointMeeting, Any]:
    meeting = joint.get_meeting(meeting_id)
    return meeting, processing.get_case(meeting.application_id)


def _attend(meeting_id: int, user: int, code: str) -> Any:
    m, a = _meeting(meeting_id)
    return joint.attend(actor=who(user), meeting=m, application=a, department=code)


def _task(app_id: int, code: str) -> Any:
    return next(t for t in processing.get_case(app_id).tasks if t.department.code == code)


# --- the mode ------------------------------------------------------------------------------------------------


def test_the_mode_is_chosen_at_acceptance_with_the_items_default(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    chosen, _p = meeting_case(desk_app, mode="meeting")
    default_notify, _p = meeting_case(desk_app, mode=None)
    default_meeting, _p = meeting_case(desk_app, mode=None, joint_mode="meeting")
    p = people(desk_app)
    with desk_app.test_request_context():
        assert processing.get_case(chosen).joint_mode == "meeting"
        assert processing.get_case(default_notify).joint_mode == "notify"
        assert processing.get_case(default_meeting).joint_mode == "meeting"
        assert _entries("permits.application.accepted")[0].data["joint_mode"] == "meeting"
        for co, mode in (([], "meeting"), (["HDGSJ"], "both")):
            row = submit(who(p["applicant"]))
            attach_all(who(p["applicant"]), row)
            db.session.commit()
            with pytest.raises(ValidationFailed) as info:
                services.accept_application(
                    actor=who(p["desk"]),
                    application=services.get_application(row.id),
                    co_departments=co,
                    joint_mode=mode,
                )
            assert "joint_mode" in info.value.extra["errors"]
            db.session.rollback()
            assert services.get_application(row.id).case_number is None  # nothing half-written


def test_the_catalogue_carries_the_items_default_mode(desk_app: Flask) -> None:
    from app.permits.catalogue import services as catalogue

    with desk_app.app_context():
        assert catalogue.get_item("HDJS-XK-001").joint_mode == "meeting"
        assert catalogue.get_item("HDZJ-FW-001").joint_mode == "notify"


# --- the meeting ---------------------------------------------------------------------------------------------


def test_a_joint_meeting_decides_on_the_spot_with_sealed_minutes(desk_app: Flask, clock: Any) -> None:
    lead, gs, ds = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ"), reviewer(desk_app, "HDDSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app)
    with desk_app.test_request_context():
        with pytest.raises(Conflict):  # 联审制: no answer task by task
            processing.answer_task(actor=who(gs), task=_task(app_id, "HDGSJ"), answer="agree")
        db.session.rollback()
        with pytest.raises(PermissionDenied):  # only the lead's staff schedule
            _schedule(app_id, gs)
        db.session.rollback()
        with pytest.raises(ValidationFailed):  # in the past
            _schedule(app_id, lead, starts_at=beijing(2026, 3, 1, 10))
        db.session.rollback()
        meeting_id = _schedule(app_id, lead).id
        db.session.commit()
        with pytest.raises(Conflict):  # one scheduled meeting at a time
            _schedule(app_id, lead)
        db.session.rollback()
        with pytest.raises(Conflict):  # attendance opens half an hour before
            _attend(meeting_id, gs, "HDGSJ")
        db.session.rollback()
    at(clock, 2026, 3, 3, 9, 45)
    with desk_app.test_request_context():
        for user, code in ((lead, "HDZJ"), (gs, "HDGSJ"), (ds, "HDDSJ")):
            _attend(meeting_id, user, code)
        db.session.commit()
        m, a = _meeting(meeting_id)
        with pytest.raises(ValidationFailed):  # reasons required to agree subject to higher approval
            joint.state_opinion(
                actor=who(ds), meeting=m, application=a, department="HDDSJ", opinion="agree_subject_to_higher"
            )
        db.session.rollback()
        with pytest.raises(PermissionDenied):  # only the one who attended for the department
            joint.state_opinion(actor=who(gs), meeting=m, application=a, department="HDDSJ", opinion="agree")
        db.session.rollback()
        with pytest.raises(Conflict):  # not every opinion stated yet
            joint.conclude(actor=who(lead), meeting=m, application=a, minutes="会议决定")
        db.session.rollback()
        joint.state_opinion(actor=who(gs), meeting=m, application=a, department="HDGSJ", opinion="agree")
        joint.state_opinion(
            actor=who(ds),
            meeting=m,
            application=a,
            department="HDDSJ",
            opinion="agree_subject_to_higher",
            reasons="须报省地方税务局备案",
        )
        db.session.commit()
    at(clock, 2026, 3, 3, 11)
    with desk_app.test_request_context():
        m, a = _meeting(meeting_id)
        with pytest.raises(PermissionDenied):  # a co-department's representative does not conclude
            joint.conclude(actor=who(gs), meeting=m, application=a, minutes="x")
        db.session.rollback()
        m, a = _meeting(meeting_id)
        joint.conclude(actor=who(lead), meeting=m, application=a, minutes="与会部门一致同意，地税须报省局备案。")
        db.session.commit()
        m, a = _meeting(meeting_id)
        assert m.status is MeetingStatus.CONCLUDED and m.authorisation_id is not None and m.pdf_sha256
        tasks = {t.department.code: t for t in a.tasks}
        assert tasks["HDGSJ"].status is TaskStatus.ANSWERED and tasks["HDGSJ"].answer is TaskAnswer.AGREE
        assert tasks["HDDSJ"].answer is TaskAnswer.AGREE_SUBJECT_TO_HIGHER and tasks["HDDSJ"].reasons
        assert all(t.authorisation_id is not None and not t.is_deemed for t in tasks.values())
        steps = {s.kind: s for s in a.case_steps}
        assert steps[CaseStepKind.REVIEW].status is CaseStepStatus.DONE
        assert steps[CaseStepKind.DECISION].status is CaseStepStatus.OPEN  # the case proceeds to 决定
        for action, n in (
            ("permits.meeting.scheduled", 1),
            ("permits.meeting.attended", 3),
            ("permits.meeting.opinion", 2),
            ("permits.meeting.minutes_sealed", 1),
            ("permits.task.answered", 2),
        ):
            assert len(_entries(action)) == n, action
        sealed = _entries("permits.meeting.minutes_sealed")[0].data
        assert sealed["pdf_sha256"] == m.pdf_sha256 and sealed["effects"] == {"HDGSJ": "answered", "HDDSJ": "answered"}
        assert all(e.data["authorisation_id"] for e in _entries("permits.meeting.attended"))
        pdf = joint.minutes_pdf(m)
    # The minutes are a sealed PDF whose seal validates against the platform's root (pyHanko) and covers it all.
    import hashlib

    from app.core.sealing import get_sealing, verify_pdf

    assert hashlib.sha256(pdf).hexdigest() == m.pdf_sha256
    with desk_app.app_context():
        report = verify_pdf(pdf, get_sealing().trust())
    assert report.ok and report.signatures


@pytest.mark.parametrize("deemed_allowed", [True, False])
def test_an_absent_department(desk_app: Flask, clock: Any, deemed_allowed: bool) -> None:
    lead, gs = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, deemed_approval=deemed_allowed)
    with desk_app.test_request_context():
        meeting_id = _schedule(app_id, lead).id
        db.session.commit()
    at(clock, 2026, 3, 3, 10)
    with desk_app.test_request_context():
        _attend(meeting_id, lead, "HDZJ")
        _attend(meeting_id, gs, "HDGSJ")
        db.session.commit()
        m, a = _meeting(meeting_id)
        with pytest.raises(ValidationFailed):  # the lead chairs: never absent
            joint.mark_absent(actor=who(lead), meeting=m, application=a, department="HDZJ")
        db.session.rollback()
        m, a = _meeting(meeting_id)
        with pytest.raises(PermissionDenied):  # only the lead's staff record absence
            joint.mark_absent(actor=who(gs), meeting=m, application=a, department="HDDSJ")
        db.session.rollback()
        m, a = _meeting(meeting_id)
        joint.mark_absent(actor=who(lead), meeting=m, application=a, department="HDDSJ")
        joint.state_opinion(actor=who(gs), meeting=m, application=a, department="HDGSJ", opinion="agree")
        joint.conclude(actor=who(lead), meeting=m, application=a, minutes="地税缺席。")
        db.session.commit()
        m, a = _meeting(meeting_id)
        absent = next(p for p in m.participants if p.department.code == "HDDSJ")
        assert absent.attendance is Attendance.ABSENT
        task = _task(app_id, "HDDSJ")
        review = next(s for s in a.case_steps if s.kind is CaseStepKind.REVIEW)
        if deemed_allowed:
            assert absent.effect is MeetingEffect.DEEMED
            assert task.status is TaskStatus.DEEMED and task.is_deemed and task.accountability_flag
            assert task.deemed_rule == joint.MEETING_DEEMED_RULE and task.deemed_at is not None
            assert _entries("permits.task.deemed_consent")[0].data["meeting_id"] == meeting_id
            assert review.status is CaseStepStatus.DONE
        else:
            # The meeting cannot decide for it: its task stays open, 审查 waits, another meeting may be held.
            assert absent.effect is MeetingEffect.UNDECIDED
            assert task.status is TaskStatus.OPEN and not task.is_deemed
            assert review.status is CaseStepStatus.OPEN
            with pytest.raises(Conflict):
                processing.finish_step(actor=who(lead), application=a, kind="review")
            db.session.rollback()
            again = _schedule(app_id, lead, starts_at=beijing(2026, 3, 4, 10))
            assert [p.department.code for p in again.participants] == ["HDZJ", "HDDSJ"]


def test_authorisation_refused_records_nothing(desk_app: Flask, clock: Any) -> None:
    lead = reviewer(desk_app, "HDZJ")
    unauthorised_gs = reviewer(desk_app, "HDGSJ", authorise=False)
    other_item = reviewer(desk_app, "HDGSJ", items=("HDGSJ-FW-001",))
    unauthorised_lead = reviewer(desk_app, "HDZJ", authorise=False)
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app)
    with desk_app.test_request_context():
        meeting_id = _schedule(app_id, lead).id
        db.session.commit()
    at(clock, 2026, 3, 3, 10)
    with desk_app.test_request_context():
        before = _count(AuditEntry)
        for user in (unauthorised_gs, other_item):
            with pytest.raises(AuthorisationRefused):
                _attend(meeting_id, user, "HDGSJ")
            db.session.rollback()
        with pytest.raises(PermissionDenied):  # not on the department's staff at all
            _attend(meeting_id, lead, "HDGSJ")
        db.session.rollback()
        with pytest.raises(AuthorisationRefused):
            _attend(meeting_id, unauthorised_lead, "HDZJ")
        db.session.rollback()
        m, _a = _meeting(meeting_id)
        assert all(p.attendance is Attendance.PENDING and p.authorisation_id is None for p in m.participants)
        assert _count(AuditEntry) == before


def test_a_notify_case_holds_no_meeting(desk_app: Flask, clock: Any) -> None:
    lead = reviewer(desk_app, "HDZJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, mode="notify")
    with desk_app.test_request_context():
        with pytest.raises(Conflict):
            _schedule(app_id, lead)
        db.session.rollback()
        assert _count(JointMeeting) == 0


# --- the inspection ------------------------------------------------------------------------------------------


def _inspect(app_id: int, lead: int, names: dict[str, str], when: Any = None) -> Any:
    return joint.schedule_inspection(
        actor=who(lead),
        application=processing.get_case(app_id),
        starts_at=when or beijing(2026, 3, 3, 14),
        address="邯郸市丛台区示范路1号",
        inspectors=names,
    )


def _report(inspection_id: int, user: int, finding: str, **kw: Any) -> Any:
    inspection = joint.get_inspection(inspection_id)
    return joint.report(
        actor=who(user),
        inspection=inspection,
        application=processing.get_case(inspection.application_id),
        finding=finding,
        **kw,
    )


def test_a_joint_inspection_with_its_rectification_loop(desk_app: Flask, clock: Any) -> None:
    lead, gs = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ")
    outsider = reviewer(desk_app, "HDDSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, co=("HDGSJ",), mode="notify")
    with desk_app.test_request_context():
        lead_name, gs_name, out_name = who(lead).username, who(gs).username, who(outsider).username
        for names, field in (
            ({"HDZJ": lead_name}, "inspectors.HDGSJ"),  # every department involved names one
            ({"HDZJ": lead_name, "HDGSJ": out_name}, "inspectors.HDGSJ"),  # on that department's staff
            ({"HDZJ": lead_name, "HDGSJ": gs_name, "HDDSJ": out_name}, "inspectors"),  # not involved
        ):
            with pytest.raises(ValidationFailed) as info:
                _inspect(app_id, lead, names)
            assert field in info.value.extra["errors"]
            db.session.rollback()
        first = _inspect(app_id, lead, {"HDZJ": lead_name, "HDGSJ": gs_name}).id
        db.session.commit()
        assert _entries("permits.inspection.scheduled")[0].data["inspectors"] == {"HDZJ": lead, "HDGSJ": gs}
        with pytest.raises(Conflict):  # before it starts
            _report(first, lead, "pass")
        db.session.rollback()
    at(clock, 2026, 3, 3, 15)
    with desk_app.test_request_context():
        with pytest.raises(PermissionDenied):  # not a named inspector
            _report(first, outsider, "pass")
        db.session.rollback()
        with pytest.raises(ValidationFailed):  # rectification needs its items
            _report(first, gs, "rectify")
        db.session.rollback()
        with pytest.raises(ValidationFailed):  # a failure needs notes
            _report(first, gs, "fail")
        db.session.rollback()
        _report(
            first,
            lead,
            "pass",
            notes="现场与申报一致",
            photos=[photo(image()), photo(image("jpg"), "门头.jpg", "image/jpeg")],
        )
        db.session.commit()
        assert joint.get_inspection(first).status is InspectionStatus.SCHEDULED  # not every inspector yet
        with pytest.raises(Conflict):  # once
            _report(first, lead, "pass")
        db.session.rollback()
        _report(first, gs, "rectify", items="消防通道堆放杂物\n税控设备未安装", notes="限期整改")
        db.session.commit()
        inspection = joint.get_inspection(first)
        assert inspection.status is InspectionStatus.COMPLETED and inspection.outcome is Finding.RECTIFY
        assert inspection.rectification == [
            "邯郸市国家税务局：消防通道堆放杂物",
            "邯郸市国家税务局：税控设备未安装",
        ]
        assert inspection.applicant_notified_at is not None
        case = processing.get_case(app_id)
        assert services.holder(case) is Holder.APPLICANT
        assert joint.expected_rectification(case) == inspection.rectification
        assert case.steps[-1].kind is StepKind.RECTIFICATION and case.steps[-1].holder is Holder.APPLICANT
        photos = inspection.inspectors[0].photos
        assert len(photos) == 2 and all(len(p.sha256) == 64 for p in photos)
        assert joint.photo_file(inspection, photos[0].id)[1] == image()
        assert len(_entries("permits.inspection.reported")) == 2
        assert _entries("permits.inspection.completed")[0].data["outcome"] == "rectify"
        assert len(_entries("permits.inspection.rectification_notified")) == 1
        # 审查 waits for the reinspection even once the co-department has answered.
        processing.answer_task(actor=who(gs), task=_task(app_id, "HDGSJ"), answer="agree")
        with pytest.raises(Conflict):
            processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="review")
        db.session.rollback()
        processing.answer_task(actor=who(gs), task=_task(app_id, "HDGSJ"), answer="agree")
        second = _inspect(app_id, lead, {"HDZJ": lead_name, "HDGSJ": gs_name}, beijing(2026, 3, 3, 16)).id
        db.session.commit()
        assert joint.get_inspection(second).round == 2
    at(clock, 2026, 3, 3, 16, 30)
    with desk_app.test_request_context():
        _report(second, lead, "pass")
        _report(second, gs, "pass", notes="已整改")
        db.session.commit()
        assert joint.get_inspection(second).outcome is Finding.PASS
        case = processing.get_case(app_id)
        assert joint.expected_rectification(case) == [] and services.holder(case) is Holder.DEPARTMENT
        with pytest.raises(Conflict):  # passed: no reinspection
            _inspect(app_id, lead, {"HDZJ": lead_name, "HDGSJ": gs_name}, beijing(2026, 3, 4, 9))
        db.session.rollback()
        processing.finish_step(actor=who(lead), application=processing.get_case(app_id), kind="review")
        db.session.commit()
        assert processing.current_step(processing.get_case(app_id)).kind is CaseStepKind.DECISION


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: photo(b"GIF89a" + b"\x00" * 40, "a.gif", "image/gif"), "photos.1"),  # not an accepted type
        (lambda: photo(image("jpg"), "a.png", "image/png"), "photos.1"),  # declared PNG, content JPEG
        (lambda: photo(b"<script>alert(1)</script>", "a.png", "image/png"), "photos.1"),  # not an image
        (lambda: photo(png_bomb()), "photos.1"),  # a decompression bomb's header
        (lambda: photo(image()[:40]), "photos.1"),  # the right start, then truncated
        (lambda: photo(b"", "a.png"), "photos.1"),  # empty
        (lambda: photo(image(), "../../etc/passwd.png"), "photos.1"),  # a path as a name
        (lambda: photo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2100), "photos.1"),  # over the configured size
    ],
)
def test_hostile_photos_are_refused_and_nothing_is_stored(desk_app: Flask, clock: Any, make: Any, field: str) -> None:
    lead, gs = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, co=("HDGSJ",), mode="notify")
    with desk_app.test_request_context():
        names = {"HDZJ": who(lead).username, "HDGSJ": who(gs).username}
        inspection_id = _inspect(app_id, lead, names).id
        db.session.commit()
    at(clock, 2026, 3, 3, 15)
    with desk_app.test_request_context():
        desk_app.config["PERMITS_MAX_PHOTO_SIZE"] = 2000
        with pytest.raises(ValidationFailed) as info:
            _report(inspection_id, lead, "pass", photos=[photo(image()), make()])
        assert field in info.value.extra["errors"]
        db.session.rollback()
        assert _count(InspectionPhoto) == 0
        assert joint.get_inspection(inspection_id).inspectors[0].reported_at is None
        assert not _entries("permits.inspection.reported")
        from app.core.storage import DOCUMENTS, get_storage

        assert not list(get_storage().list(DOCUMENTS, f"permits/inspections/{inspection_id}/"))
