"""Demo applications for `make run`: one in every state of unified acceptance, so a newcomer sees the desk working.

Idempotent (nothing is added once any application exists). The desk is the demo `admin` (who holds permits.desk
by default), the online applicant the demo `bidder`. States that need the working-day calendar are skipped, with a
line saying so, when it does not reach far enough.
"""

from __future__ import annotations

import io
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app.accounts.models import User
from app.accounts.uscc import make_uscc
from app.core.db import db
from app.core.time import now_utc
from app.permits.calendar.deadlines import CalendarNotLoaded
from app.permits.cases import services
from app.permits.cases.models import Application, ApplicationChannel

REVIEWER = "permits_reviewer"  # the demo department reviewer: chief representative of 质监 (lead) and 国税
LEAD, CO = "HDZJ", ("HDGSJ", "HDDSJ")  # 质监 leads ITEM; 国税 and 地税 are consulted (抄告)

ITEM = "HDZJ-FW-001"  # 组织机构代码证核发: four materials, four working days
ANSWERS = {
    "applicant_type": "enterprise",
    "applicant_name": "邯郸示范建设工程有限公司",
    "uscc": make_uscc("9", "1", "130400", "MA0DEM02"),
    "contact_phone": "0310-3100000",
    "company_name": "邯郸示范建设工程有限公司",
    "company_type": "llc",
    "registered_capital": 500,
    "institution_category": "company",
}
# A one-page PDF, small and valid enough for any reader (the demo's stand-in for a scanned material).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _submit(actor: User, channel: ApplicationChannel = ApplicationChannel.ONLINE) -> Application:
    return services.submit_application(
        actor=actor,
        item_code=ITEM,
        applicant=services.check_applicant("enterprise", ANSWERS["applicant_name"], ANSWERS["uscc"], "0310-3100000"),
        answers=dict(ANSWERS),
        channel=channel,
    )


def _attach(actor: User, application: Application, count: int | None = None) -> None:
    needed = services.applicable_materials(application.item, application.answers)
    for material in needed[:count]:
        services.attach_material(
            actor=actor,
            application=application,
            material_id=material.id,
            name=f"{material.name}.pdf",
            stream=io.BytesIO(PDF),
            length=len(PDF),
            content_type="application/pdf",
        )


def seed_demo_cases() -> list[str]:
    if db.session.scalar(select(func.count(Application.id))):
        return []
    desk = db.session.scalar(select(User).where(User.username == "admin"))
    applicant = db.session.scalar(select(User).where(User.username == "bidder"))
    if desk is None or applicant is None or not desk.has_permission("permits.desk"):
        return []
    lines = []
    waiting = _submit(applicant)
    _attach(applicant, waiting, 2)
    lines.append(f"permit application received online, waiting for the desk: {waiting.number}")
    noticed = _submit(applicant)
    _attach(applicant, noticed, 1)
    services.request_correction(actor=desk, application=noticed, note="请一次补齐下列材料")
    lines.append(f"permit application under a one-time correction notice: {noticed.number}")
    refused = _submit(desk, ApplicationChannel.DESK)
    services.refuse_acceptance(
        actor=desk,
        application=refused,
        reason="申请事项不属于本中心受理范围",
        remedies="请向市市场监督管理局申请；对本决定不服的，可在六十日内申请行政复议或六个月内提起行政诉讼",
    )
    lines.append(f"permit application refused at the desk: {refused.number}")
    try:
        accepted = _submit(desk, ApplicationChannel.DESK)
        _attach(desk, accepted)
        services.accept_application(actor=desk, application=accepted)
        lines.append(f"permit application accepted: case {accepted.case_number}")
        deemed = _submit(applicant)
        _attach(applicant, deemed)
        deemed.received_at = deemed.clock_started_at = now_utc() - timedelta(days=14)  # left undecided
        db.session.flush()
        if services.deem_overdue()["deemed"]:
            lines.append(f"permit application accepted by law after 5 working days: case {deemed.case_number}")
        lines.extend(seed_demo_processing(desk))
    except CalendarNotLoaded as exc:
        lines.append(f"permit applications: accepted ones skipped ({exc.detail})")
    for row in (waiting, noticed, refused):
        lines.append(f"  tracking: /permits/track/{row.number}/{row.tracking_token}")
    return lines


def _accepted_joint(desk: User, co: tuple[str, ...], joint_mode: str | None = None) -> Application:
    row = _submit(desk, ApplicationChannel.DESK)
    _attach(desk, row)
    services.accept_application(actor=desk, application=row, co_departments=list(co), joint_mode=joint_mode)
    return row


def seed_demo_processing(desk: User) -> list[str]:
    """Joint cases (并联审批): the demo reviewer on the staff of 质监 and 国税 with authorisations for ITEM; one
    case in progress (国税 answered, 地税 waiting) and one accepted 10 days ago whose co-departments were deemed
    to consent by the sweep (flagged for accountability)."""
    from app.core import time as clock_mod
    from app.permits.cases import authorisations, processing

    reviewer = db.session.scalar(select(User).where(User.username == REVIEWER))
    if reviewer is None or not desk.has_permission("permits.authorisations.manage"):
        return []
    now = now_utc()
    for code in (LEAD, CO[0]):
        authorisations.add_staff(actor=desk, department_code=code, username=REVIEWER)
        authorisations.grant(
            actor=desk,
            department_code=code,
            username=REVIEWER,
            item_codes=[ITEM],
            valid_from=now - timedelta(days=365),
            valid_to=now + timedelta(days=365),
            approved_by="部门负责人（示范）",
            reference=f"{code}授〔{now.year}〕1号",
        )
    lines = []
    joint = _accepted_joint(desk, CO)
    task = next(t for t in processing.get_case(joint.id).tasks if t.department.code == CO[0])
    processing.answer_task(actor=reviewer, task=task, answer="agree", reasons="")
    lines.append(f"joint permit case in progress (国税 answered, 地税 waiting): case {joint.case_number}")
    previous = clock_mod.set_clock(clock_mod.FakeClock(now - timedelta(days=10)))
    try:
        late = _accepted_joint(desk, CO)
    finally:
        clock_mod.set_clock(previous)
    swept = processing.deem_tasks()
    if swept["deemed"]:
        lines.append(f"joint permit case with deemed consent of its co-departments: case {late.case_number}")
    lines.extend(seed_demo_joint(desk, reviewer))
    lines.append(f"  department desk: /permits/department (sign in as {REVIEWER})")
    return lines


def seed_demo_joint(desk: User, reviewer: User) -> list[str]:
    """A 联审 case whose joint meeting decided on the spot an hour ago (minutes sealed, the case at 决定), and a
    case whose joint site inspection found something to rectify (the applicant is asked to, on the tracking
    page). The demo reviewer stands for 质监 (lead) and 国税 at both, as chief representative and inspector."""
    from app.core import time as clock_mod
    from app.permits.cases import joint, processing
    from app.permits.certificates.services import SealUnavailable

    now = now_utc()
    previous = clock_mod.set_clock(clock_mod.FakeClock(now - timedelta(hours=2)))
    try:
        meeting_case = _accepted_joint(desk, (CO[0],), joint_mode="meeting")
        meeting = joint.schedule_meeting(
            actor=reviewer,
            application=processing.get_case(meeting_case.id),
            starts_at=now - timedelta(hours=1),
            place="三楼联审室（示范）",
        )
        inspected = _accepted_joint(desk, (CO[0],))
        inspection = joint.schedule_inspection(
            actor=reviewer,
            application=processing.get_case(inspected.id),
            starts_at=now - timedelta(hours=1),
            address="邯郸市丛台区示范路1号（示范）",
            inspectors={LEAD: REVIEWER, CO[0]: REVIEWER},
        )
    finally:
        clock_mod.set_clock(previous)
    lines = []
    case = processing.get_case(meeting_case.id)
    for code in (LEAD, CO[0]):
        joint.attend(actor=reviewer, meeting=joint.get_meeting(meeting.id), application=case, department=code)
    joint.state_opinion(
        actor=reviewer, meeting=joint.get_meeting(meeting.id), application=case, department=CO[0], opinion="agree"
    )
    try:  # outside a request (make run) the tracking address on the minutes is built on make run's own
        with current_app.test_request_context(base_url="http://localhost:5000"), db.session.begin_nested():
            joint.conclude(
                actor=reviewer,
                meeting=joint.get_meeting(meeting.id),
                application=processing.get_case(meeting_case.id),
                minutes="与会部门一致同意，由主办部门作出许可决定。（示范）",
            )
        lines.append(f"joint permit case decided in a joint meeting, minutes sealed: case {meeting_case.case_number}")
    except SealUnavailable:
        lines.append(
            f"joint permit case with its joint meeting held, not concluded (no seal): {meeting_case.case_number}"
        )
    # One reviewer stands for both departments: each report fills their next row (质监 first, then 国税).
    for _department, finding, items in ((LEAD, "pass", ""), (CO[0], "rectify", "税控设备未安装（示范）")):
        joint.report(
            actor=reviewer,
            inspection=joint.get_inspection(inspection.id),
            application=processing.get_case(inspected.id),
            finding=finding,
            items=items,
            notes="" if finding == "pass" else "限期整改后复勘",
        )
    lines.append(f"joint site inspection asking the applicant to rectify: case {inspected.case_number}")
    lines.append(f"  tracking: /permits/track/{inspected.number}/{inspected.tracking_token}")
    return lines
