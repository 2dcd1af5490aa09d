"""Joint review (联审制) and joint site inspection (联合踏勘) of a joint case.

**The mode.** At acceptance the desk chooses 抄告制 (`notify`) or 联审制 (`meeting`) for a case with
co-departments; without a choice the item's default from the catalogue applies. A case without co-departments
is `notify` (there is no one to meet). In a 联审 case the co-departments do not answer their tasks one by one:
they state their opinions in the joint meeting, and the meeting's conclusion closes their tasks at once.

**The meeting.** The lead department's staff schedule it during 审查: time (in the future), place, and the
co-departments invited (those with an open task; all of them by default). Each department's chief
representative records their own attendance — under an authorisation covering the item (the same check as every
decision: `authorisations.authorisation_for`, 403 `authorisation-refused` otherwise). The lead's staff record a
department absent. A present co-department states its opinion (agree / disagree with reasons / agree subject to
higher approval, naming it). The lead's representative — present, under an authorisation — concludes with the
minutes (会议纪要): every invited department must be present with an opinion, or absent. The conclusion, decided
on the spot:

- a present department's opinion becomes its task's answer (with its representative's authorisation);
- an absent department is deemed to consent where the item allows deemed consent (marker, instant, rule) and is
  flagged for accountability; where it does not, the meeting cannot decide for it: its task stays open (another
  meeting, or the deemed-consent sweep at its due instant, settles it);
- the minutes are rendered as a Chinese PDF and sealed (app.core.sealing.documents), stored write-once;
- when no task is left open (and no inspection holds the case), 审查 finishes and 决定 starts.

**The inspection.** The lead's staff schedule it with one inspector of every department involved (the lead and
every co-department), each on that department's staff, with date, time and address. Each inspector reports
pass / rectification needed (the items, at least one) / fail (notes required), with optional photos (JPEG or PNG:
the declared type must be one of them, the content must start as it does and decode as an image of a sane size;
at most MAX_PHOTOS of MAX_PHOTO_SIZE bytes; every photo is checked before anything is stored). When every
inspector has reported the inspection is complete with the combined outcome (fail > rectify > pass).
Rectification notifies the applicant (a step of the tracking history listing every item) and the lead schedules
the reinspection (the next round). 审查 does not finish while an inspection is incomplete or waiting for its
rectification.

Every state change writes an evidence entry (processing.facts) in the same transaction. Functions flush; the
caller commits.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.common import actor_name
from app.accounts.models import User
from app.audit import record
from app.core.db import db
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed, clean_text, field_error
from app.core.problems import N_
from app.core.time import now_utc
from app.permits.calendar.deadlines import PauseReason
from app.permits.cases import authorisations, clock, messages, processing
from app.permits.cases.joint_models import (
    Attendance,
    Finding,
    Inspection,
    InspectionPhoto,
    InspectionStatus,
    Inspector,
    JointMeeting,
    JointMode,
    MeetingEffect,
    MeetingParticipant,
    MeetingStatus,
)
from app.permits.cases.models import Application, Holder, StepKind
from app.permits.cases.processing_models import (
    OPEN_TASK_STATUSES,
    CaseStepKind,
    DepartmentTask,
    TaskAnswer,
    TaskStatus,
)
from app.permits.catalogue.models import Department, Item

MAX_TEXT = 2000
MAX_MINUTES = 10000
MAX_ITEMS = 30
MAX_PHOTOS = 6
MAX_PHOTO_SIZE = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_AHEAD = timedelta(days=366)
ATTENDANCE_OPENS = timedelta(minutes=30)  # attendance is recorded from half an hour before the start
PHOTO_TYPES: dict[str, tuple[bytes, ...]] = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}
MEETING_DEEMED_RULE = "联审制：会办部门首席代表缺席联审会议，视为同意（本事项允许超时默许），并追究责任"


# --- the mode at acceptance ----------------------------------------------------------------------------------


def mode_for(item: Item, co_departments: tuple[Department, ...], chosen: Any) -> JointMode:
    """The joint mode of a case: the desk's choice, else the item's default; `notify` without co-departments."""
    if chosen in (None, ""):
        mode = JointMode(item.joint_mode) if co_departments else JointMode.NOTIFY
        return mode
    try:
        mode = JointMode(chosen)
    except ValueError:
        raise field_error("joint_mode", N_("Notification (抄告制) or joint meeting (联审制).")) from None
    if mode is JointMode.MEETING and not co_departments:
        raise field_error("joint_mode", N_("A joint meeting needs co-departments: name them."))
    return mode


# --- reading ---------------------------------------------------------------------------------------------------


def _load(model: Any, row_id: int, option: Any, missing: str) -> Any:
    row = (
        db.session.execute(
            select(model).where(model.id == row_id).options(option).execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if 0 < row_id < 2**31
        else None
    )
    if row is None:
        raise NotFound(missing)
    return row


def get_meeting(meeting_id: int) -> JointMeeting:
    meeting: JointMeeting = _load(
        JointMeeting, meeting_id, selectinload(JointMeeting.participants), N_("No such meeting.")
    )
    return meeting


def _visible_case(user: Any, application_id: int, missing: str) -> Application:
    """The case of a meeting or inspection, if `user` may see it; else `missing` (never "no such case")."""
    try:
        return processing.visible_case(user, application_id)
    except NotFound:
        raise NotFound(missing) from None


def visible_meeting(user: Any, meeting_id: int) -> tuple[JointMeeting, Application]:
    meeting = get_meeting(meeting_id)
    return meeting, _visible_case(user, meeting.application_id, N_("No such meeting."))


def get_inspection(inspection_id: int) -> Inspection:
    inspection: Inspection = _load(
        Inspection,
        inspection_id,
        selectinload(Inspection.inspectors).selectinload(Inspector.photos),
        N_("No such inspection."),
    )
    return inspection


def visible_inspection(user: Any, inspection_id: int) -> tuple[Inspection, Application]:
    inspection = get_inspection(inspection_id)
    return inspection, _visible_case(user, inspection.application_id, N_("No such inspection."))


def _lead(application: Application) -> Department:
    return application.item.department


def _require_review(application: Application) -> None:
    step = processing.current_step(application)
    if step is None or step.kind is not CaseStepKind.REVIEW:
        raise Conflict(N_("Meetings and inspections are held while the case is under review (审查)."))


def _future(value: Any, field: str, at: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise field_error(field, N_("A date and time with its time zone."))
    if value <= at:
        raise field_error(field, N_("The time must be in the future."))
    if value > at + MAX_AHEAD:
        raise field_error(field, N_("At most a year ahead."))
    return value


def _task_of(application: Application, department_id: int) -> DepartmentTask | None:
    return next((t for t in application.tasks if t.department_id == department_id), None)


def review_blockers(application: Application) -> list[str]:
    """Why 审查 cannot finish yet: open tasks, an open meeting, an inspection incomplete or awaiting
    rectification (the names of the departments, or a sentence)."""
    out = [t.department.name for t in application.tasks if t.status in OPEN_TASK_STATUSES]
    if any(m.status is MeetingStatus.SCHEDULED for m in application.meetings):
        out.append("联审会议")
    latest = application.inspections[-1] if application.inspections else None
    if latest is not None and (latest.status is InspectionStatus.SCHEDULED or latest.outcome is Finding.RECTIFY):
        out.append("联合踏勘")
    return out


# --- the joint meeting -----------------------------------------------------------------------------------------


def schedule_meeting(
    *, actor: Any, application: Application, starts_at: Any, place: Any, departments: Any = None
) -> JointMeeting:
    """The lead's staff schedule a joint meeting of a 联审 case. `departments`: the codes of the co-departments
    invited (each with an open task); all of those by default."""
    lead = _lead(application)
    authorisations.require_staff(actor, lead)
    if application.joint_mode != JointMode.MEETING.value:
        raise Conflict(N_("This case is handled by notification (抄告制): the co-departments answer their tasks."))
    _require_review(application)
    if any(m.status is MeetingStatus.SCHEDULED for m in application.meetings):
        raise Conflict(N_("A joint meeting of this case is scheduled already: hold it first."))
    at = now_utc()
    when = _future(starts_at, "starts_at", at)
    where = clean_text(place, "place", 200)
    open_tasks = [t for t in application.tasks if t.status in OPEN_TASK_STATUSES]
    if departments in (None, [], ()):
        invited = open_tasks
    else:
        if not isinstance(departments, list | tuple) or len(departments) > processing.MAX_CO_DEPARTMENTS:
            raise field_error("departments", N_("A list of the co-departments invited."))
        invited = []
        for i, code in enumerate(departments):
            department = authorisations.department_by_code(code, f"departments.{i}")
            task = next((t for t in open_tasks if t.department_id == department.id), None)
            if task is None:
                raise field_error(f"departments.{i}", N_("Only co-departments whose task is open are invited."))
            if task in invited:
                raise field_error(f"departments.{i}", N_("A department is named once."))
            invited.append(task)
    if not invited:
        raise Conflict(N_("No co-department's task is open: there is nothing for a meeting to decide."))
    meeting = JointMeeting(
        application_id=application.id,
        status=MeetingStatus.SCHEDULED,
        starts_at=when,
        place=where,
        scheduled_at=at,
        scheduled_by_id=actor.id,
        scheduled_by_name=actor_name(actor),
    )
    db.session.add(meeting)
    rows = [MeetingParticipant(department=lead, position=0, is_lead=True, attendance=Attendance.PENDING)]
    rows += [
        MeetingParticipant(department=t.department, position=i, task_id=t.id, attendance=Attendance.PENDING)
        for i, t in enumerate(invited, start=1)
    ]
    meeting.participants = rows
    db.session.flush()
    record(
        "permits.meeting.scheduled",
        actor=actor,
        subject=meeting.audit_ref,
        data=processing.facts(
            application,
            department=lead,
            step=processing.current_step(application),
            responsible_id=actor.id,
            meeting_id=meeting.id,
            starts_at=when.isoformat(),
            place=where,
            invited=[t.department.code for t in invited],
        ),
    )
    return meeting


def missed_margin() -> timedelta:
    """How long after its scheduled start a meeting without a conclusion counts as not held
    (PERMITS_MEETING_MISSED_MINUTES, default 120)."""
    return timedelta(minutes=int(current_app.config.get("PERMITS_MEETING_MISSED_MINUTES", 120)))


def sweep_missed_meetings(limit: int = 500) -> dict[str, int]:
    """Flag, once each with an evidence entry (`permits.meeting.missed`, which supervision's rule lights red), the
    scheduled meetings whose start passed by the margin without a conclusion; the lead's desk lists them. The
    meeting stays scheduled (it may still be held and concluded). Idempotent; SKIP LOCKED on PostgreSQL."""
    now = now_utc()
    margin = missed_margin()
    rows = list(
        db.session.execute(
            select(JointMeeting)
            .where(
                JointMeeting.status == MeetingStatus.SCHEDULED,
                JointMeeting.missed_at.is_(None),
                JointMeeting.starts_at <= now - margin,
            )
            .order_by(JointMeeting.starts_at, JointMeeting.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=JointMeeting)
        )
        .unique()
        .scalars()
    )
    for meeting in rows:
        meeting.missed_at = now
        application = processing.get_case(meeting.application_id)
        db.session.flush()
        record(
            "permits.meeting.missed",
            actor="system:permits.sweep_meetings",
            subject=meeting.audit_ref,
            data=processing.facts(
                application,
                department=_lead(application),
                meeting_id=meeting.id,
                starts_at=meeting.starts_at.isoformat(),
                margin_minutes=int(margin.total_seconds() // 60),
                swept_at=now.isoformat(),
            ),
        )
    return {"missed": len(rows)}


def missed_meetings(application: Application) -> list[JointMeeting]:
    """The case's meetings flagged as not held and still not concluded."""
    return [m for m in application.meetings if m.missed_at is not None and m.status is MeetingStatus.SCHEDULED]


def _locked_meeting(meeting: JointMeeting) -> JointMeeting:
    db.session.execute(select(JointMeeting.id).where(JointMeeting.id == meeting.id).with_for_update()).scalar_one()
    locked = get_meeting(meeting.id)
    if locked.status is not MeetingStatus.SCHEDULED:
        raise Conflict(N_("This meeting is concluded already."))
    return locked


def _participant(meeting: JointMeeting, code: Any) -> MeetingParticipant:
    row = next((p for p in meeting.participants if p.department.code == str(code or "")), None)
    if row is None:
        raise field_error("department", N_("This department is not invited to the meeting."))
    return row


def _opened(meeting: JointMeeting, at: datetime) -> None:
    if at < meeting.starts_at - ATTENDANCE_OPENS:
        raise Conflict(N_("The meeting has not started yet: attendance is recorded from half an hour before it."))


def attend(*, actor: Any, meeting: JointMeeting, application: Application, department: Any) -> MeetingParticipant:
    """A department's chief representative records their attendance, under their authorisation for the item."""
    meeting = _locked_meeting(meeting)
    row = _participant(meeting, department)
    at = now_utc()
    _opened(meeting, at)
    authorisation = authorisations.authorisation_for(actor, row.department, application.item)
    if row.attendance is Attendance.PRESENT:
        raise Conflict(N_("This department's attendance is recorded already."))
    row.attendance = Attendance.PRESENT
    row.attendance_at = at
    row.attendance_by_id = actor.id
    row.representative_id = actor.id
    row.representative_name = actor_name(actor)
    row.authorisation_id = authorisation.id
    db.session.flush()
    record(
        "permits.meeting.attended",
        actor=actor,
        subject=meeting.audit_ref,
        data=processing.facts(
            application,
            department=row.department,
            responsible_id=actor.id,
            authorisation_id=authorisation.id,
            meeting_id=meeting.id,
            attendance=Attendance.PRESENT.value,
        ),
    )
    return row


def mark_absent(*, actor: Any, meeting: JointMeeting, application: Application, department: Any) -> MeetingParticipant:
    """The lead's staff record an invited co-department absent (not the lead: it chairs)."""
    authorisations.require_staff(actor, _lead(application))
    meeting = _locked_meeting(meeting)
    row = _participant(meeting, department)
    at = now_utc()
    if at < meeting.starts_at:
        raise Conflict(N_("A department is recorded absent once the meeting has started."))
    if row.is_lead:
        raise field_error("department", N_("The lead department chairs the meeting."))
    if row.attendance is not Attendance.PENDING:
        raise Conflict(N_("This department's attendance is recorded already."))
    row.attendance = Attendance.ABSENT
    row.attendance_at = at
    row.attendance_by_id = actor.id
    db.session.flush()
    record(
        "permits.meeting.absent",
        actor=actor,
        subject=meeting.audit_ref,
        data=processing.facts(
            application,
            department=row.department,
            responsible_id=actor.id,
            meeting_id=meeting.id,
            attendance=Attendance.ABSENT.value,
        ),
    )
    return row


def state_opinion(
    *, actor: Any, meeting: JointMeeting, application: Application, department: Any, opinion: Any, reasons: Any = ""
) -> MeetingParticipant:
    """A present co-department's opinion, stated by the representative who attended for it."""
    try:
        which = TaskAnswer(opinion)
    except ValueError:
        raise field_error("opinion", N_("Agree, disagree, or agree subject to higher approval.")) from None
    clean = clean_text(reasons, "reasons", MAX_TEXT, required=which is not TaskAnswer.AGREE)
    meeting = _locked_meeting(meeting)
    row = _participant(meeting, department)
    if row.is_lead:
        raise field_error("department", N_("The lead department decides the case; it states no opinion here."))
    if row.attendance is not Attendance.PRESENT or row.representative_id != getattr(actor, "id", None):
        raise PermissionDenied(N_("Only the representative who attended for the department states its opinion."))
    authorisation = authorisations.authorisation_for(actor, row.department, application.item)  # still valid now
    if row.opinion is not None:
        raise Conflict(N_("This department's opinion is recorded already."))
    row.opinion = which.value
    row.reasons = clean
    row.opinion_at = now_utc()
    row.authorisation_id = authorisation.id
    db.session.flush()
    record(
        "permits.meeting.opinion",
        actor=actor,
        subject=meeting.audit_ref,
        data=processing.facts(
            application,
            department=row.department,
            responsible_id=actor.id,
            authorisation_id=authorisation.id,
            meeting_id=meeting.id,
            opinion=which.value,
            reasons=clean,
        ),
    )
    return row


def conclude(*, actor: Any, meeting: JointMeeting, application: Application, minutes: Any) -> JointMeeting:
    """The lead's representative concludes the meeting on the spot: the tasks closed (or deemed, or left open
    for an absent department where the item allows no deemed consent), the minutes sealed, and 审查 finished when
    nothing else holds it. Raises PermissionDenied, AuthorisationRefused, Conflict, ValidationFailed,
    SealUnavailable (503: nothing stored)."""
    text = clean_text(minutes, "minutes", MAX_MINUTES)
    meeting = _locked_meeting(meeting)
    lead_row = next(p for p in meeting.participants if p.is_lead)
    lead = lead_row.department
    authorisation = authorisations.authorisation_for(actor, lead, application.item)
    if lead_row.attendance is not Attendance.PRESENT or lead_row.representative_id != actor.id:
        raise Conflict(N_("The lead department's representative records their attendance before concluding."))
    waiting = [
        p.department.name
        for p in meeting.participants
        if not p.is_lead
        and (p.attendance is Attendance.PENDING or (p.attendance is Attendance.PRESENT and not p.opinion))
    ]
    if waiting:
        raise Conflict(
            N_("Every invited department is present with its opinion, or recorded absent: %(names)s."),
            params={"names": "、".join(waiting)},
        )
    at = now_utc()
    tasks = {t.id: t for t in application.tasks}
    for p in meeting.participants:
        if p.is_lead:
            continue
        task = processing._locked_task(tasks[p.task_id]) if p.task_id in tasks else None
        if task is None or task.status not in OPEN_TASK_STATUSES:
            p.effect = MeetingEffect.ALREADY_CLOSED
        elif p.attendance is Attendance.PRESENT:
            p.effect = MeetingEffect.ANSWERED
        elif application.item.deemed_approval:
            p.effect = MeetingEffect.DEEMED
        else:
            p.effect = MeetingEffect.UNDECIDED
    document = {
        "starts_at": meeting.starts_at,
        "place": meeting.place,
        "lead": lead.name,
        "chair": actor_name(actor),
        "authorisation": authorisation.reference or f"#{authorisation.id}",
        "minutes": text,
        "concluded_at": at,
        "deemed_rule": MEETING_DEEMED_RULE,
    }
    key, sha256, backend = processing.seal_case_pdf(  # SealUnavailable: the caller's rollback undoes the effects
        application, "permits_cases/minutes_pdf.html", "联审会议纪要", m=meeting, d=document
    )
    meeting.status = MeetingStatus.CONCLUDED
    meeting.concluded_at = at
    meeting.concluded_by_id = actor.id
    meeting.concluded_by_name = actor_name(actor)
    meeting.authorisation_id = authorisation.id
    meeting.minutes = text
    meeting.pdf_key = key
    meeting.pdf_sha256 = sha256
    meeting.sealed_by = backend
    db.session.flush()
    for p in meeting.participants:
        if p.effect in (MeetingEffect.ANSWERED, MeetingEffect.DEEMED):
            _close_task(application, meeting, p, actor=actor, at=at)
    record(
        "permits.meeting.minutes_sealed",
        actor=actor,
        subject=meeting.audit_ref,
        data=processing.facts(
            application,
            department=lead,
            responsible_id=actor.id,
            authorisation_id=authorisation.id,
            meeting_id=meeting.id,
            pdf_sha256=sha256,
            sealed_by=backend,
            effects={p.department.code: p.effect.value for p in meeting.participants if p.effect is not None},
        ),
    )
    application = processing.get_case(application.id)
    if not review_blockers(application):
        processing.finish_step(
            actor=actor, application=application, kind=CaseStepKind.REVIEW.value, note="联审会议当场决定"
        )
    return meeting


def _close_task(
    application: Application, meeting: JointMeeting, p: MeetingParticipant, *, actor: Any, at: datetime
) -> None:
    task = next(t for t in application.tasks if t.id == p.task_id)
    task.accountability_flag = task.accountability_flag or p.effect is MeetingEffect.DEEMED
    if p.effect is MeetingEffect.ANSWERED:
        task.status = TaskStatus.ANSWERED
        task.answer = TaskAnswer(p.opinion or TaskAnswer.AGREE.value)
        task.reasons = p.reasons
        task.answered_at = at
        task.answered_by_id = p.representative_id
        task.answered_by_name = p.representative_name
        task.authorisation_id = p.authorisation_id
        action = "permits.task.answered"
    else:
        task.status = TaskStatus.DEEMED
        task.answer = TaskAnswer.AGREE
        task.is_deemed = True
        task.deemed_at = at
        task.deemed_rule = MEETING_DEEMED_RULE
        task.flagged_at = at
        task.flag_reason = "absent from the joint meeting: deemed consent"
        action = "permits.task.deemed_consent"
    db.session.flush()
    record(
        action,
        actor=actor,
        subject=task.audit_ref,
        data=processing.facts(
            application,
            department=task.department,
            task=task,
            responsible_id=p.representative_id,
            due_at=task.due_at,
            deemed=task.is_deemed,
            authorisation_id=task.authorisation_id,
            answer=task.answer.value if task.answer else None,
            reasons=task.reasons,
            meeting_id=meeting.id,
            rule=MEETING_DEEMED_RULE if task.is_deemed else None,
            accountability_flag=task.accountability_flag,
        ),
    )


def minutes_pdf(meeting: JointMeeting) -> bytes:
    from app.core.storage import DOCUMENTS, get_storage

    if meeting.pdf_key is None:
        raise NotFound(N_("The minutes are sealed when the meeting concludes."))
    return b"".join(get_storage().get(DOCUMENTS, meeting.pdf_key))


# --- the joint site inspection ---------------------------------------------------------------------------------


def staff_of(department: Department) -> list[User]:
    """The members of the department's staff (the inspectors the lead may name)."""
    from app.permits.cases.processing_models import DepartmentStaff

    return list(
        db.session.execute(
            select(User)
            .join(DepartmentStaff, DepartmentStaff.user_id == User.id)
            .where(DepartmentStaff.department_id == department.id)
            .order_by(User.username)
        ).scalars()
    )


def involved_departments(application: Application) -> list[Department]:
    return [_lead(application), *(t.department for t in application.tasks)]


def schedule_inspection(
    *, actor: Any, application: Application, starts_at: Any, address: Any, inspectors: Any
) -> Inspection:
    """The lead's staff schedule a joint site inspection (or, after rectification, the reinspection): one
    inspector of every department involved (`inspectors`: {department code: username})."""
    lead = _lead(application)
    authorisations.require_staff(actor, lead)
    _require_review(application)
    latest = application.inspections[-1] if application.inspections else None
    if latest is not None and latest.status is InspectionStatus.SCHEDULED:
        raise Conflict(N_("An inspection of this case is scheduled already: wait for its findings."))
    if latest is not None and latest.outcome is not Finding.RECTIFY:
        raise Conflict(N_("The inspection is done; a reinspection follows a rectification only."))
    at = now_utc()
    when = _future(starts_at, "starts_at", at)
    where = clean_text(address, "address", 300)
    if not isinstance(inspectors, dict):
        raise field_error("inspectors", N_("Name one inspector of every department involved."))
    rows = []
    for position, department in enumerate(involved_departments(application)):
        username = inspectors.get(department.code)
        field = f"inspectors.{department.code}"
        if not isinstance(username, str) or not username.strip():
            raise field_error(field, N_("Name one inspector of every department involved."))
        person = db.session.execute(select(User).where(User.username == username.strip())).scalar_one_or_none()
        if person is None or not authorisations.is_staff(person, department.id):
            raise field_error(field, N_("The inspector must be on the department's staff."))
        rows.append(
            Inspector(department=department, position=position, user_id=person.id, user_name=actor_name(person))
        )
    unknown = set(inspectors) - {d.code for d in involved_departments(application)}
    if unknown:
        raise field_error("inspectors", N_("Only the departments involved in the case inspect."))
    inspection = Inspection(
        application_id=application.id,
        round=(latest.round + 1) if latest is not None else 1,
        status=InspectionStatus.SCHEDULED,
        starts_at=when,
        address=where,
        scheduled_at=at,
        scheduled_by_id=actor.id,
        scheduled_by_name=actor_name(actor),
        rectification=[],
    )
    inspection.inspectors = rows
    db.session.add(inspection)
    db.session.flush()
    _inspection_clock(application, inspection, latest, actor=actor, at=at)
    record(
        "permits.inspection.scheduled",
        actor=actor,
        subject=inspection.audit_ref,
        data=processing.facts(
            application,
            department=lead,
            step=processing.current_step(application),
            responsible_id=actor.id,
            inspection_id=inspection.id,
            round=inspection.round,
            starts_at=when.isoformat(),
            address=where,
            inspectors={r.department.code: r.user_id for r in rows},
        ),
    )
    return inspection


def _inspection_clock(
    application: Application, inspection: Inspection, latest: Inspection | None, *, actor: Any, at: datetime
) -> None:
    """The inspection stops the case's clock from its scheduling to its findings; scheduling the reinspection ends
    the rectification that waited on the applicant (clock.py)."""
    if latest is not None:
        clock.end_source(application, latest.audit_ref, actor=actor, at=at)
    clock.open_pause(
        application,
        PauseReason.INSPECTION,
        actor=actor,
        note=f"联合踏勘（第{inspection.round}轮）：{inspection.address}",
        source=inspection.audit_ref,
        at=at,
    )


@dataclass(frozen=True)
class Photo:
    name: str
    stream: IO[bytes]
    content_type: str


@dataclass(frozen=True)
class _Checked:
    name: str
    data: bytes
    content_type: str


def _check_photo(index: int, photo: Photo) -> _Checked:
    field = f"photos.{index}"
    kind = (photo.content_type or "").split(";")[0].strip().lower()
    if kind not in PHOTO_TYPES:
        raise field_error(field, N_("Send photos as JPEG or PNG (got %(type)s)."), params={"type": kind or "?"})
    name = clean_text(photo.name, field, 200)
    from app.core.storage import validate_filename

    try:
        validate_filename(name)
    except ValidationFailed:
        raise field_error(field, N_("The file's name is not acceptable.")) from None
    limit = int(current_app.config.get("PERMITS_MAX_PHOTO_SIZE", MAX_PHOTO_SIZE))
    data = photo.stream.read(limit + 1)
    if not data:
        raise field_error(field, N_("The file is empty."))
    if len(data) > limit:
        raise field_error(field, N_("A photo may have at most %(limit)s bytes."), params={"limit": limit})
    if not any(data.startswith(m) for m in PHOTO_TYPES[kind]):
        raise field_error(field, N_("The file's content is not of its declared type %(type)s."), params={"type": kind})
    if not _decodes(data):
        raise field_error(field, N_("The file is not a readable image."))
    return _Checked(name, data, kind)


def _decodes(data: bytes) -> bool:
    """Whether the bytes decode as an image of a sane size (header first: no decompression bomb is decoded)."""
    import cv2
    import numpy as np

    size = _dimensions(data)
    if size is None or size[0] * size[1] > MAX_PIXELS or 0 in size:
        return False
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    return image is not None and image.size > 0


def _dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR or a JPEG's SOF marker; None when the header is not readable."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    stream = io.BytesIO(data)
    stream.read(2)
    while True:
        marker = stream.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind in (0xD8, 0x01) or 0xD0 <= kind <= 0xD7:
            continue
        length_bytes = stream.read(2)
        if len(length_bytes) < 2:
            return None
        length = int.from_bytes(length_bytes, "big")
        if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):
            body = stream.read(5)
            if len(body) < 5:
                return None
            return int.from_bytes(body[3:5], "big"), int.from_bytes(body[1:3], "big")
        if length < 2:
            return None
        stream.seek(length - 2, io.SEEK_CUR)


def _inspector_row(inspection: Inspection, actor: Any) -> Inspector | None:
    """The actor's row at the inspection: the first one not reported yet (one person may stand for two
    departments they are on the staff of), else their first."""
    rows = [i for i in inspection.inspectors if i.user_id == getattr(actor, "id", None)]
    return next((i for i in rows if i.reported_at is None), rows[0] if rows else None)


def report(
    *,
    actor: Any,
    inspection: Inspection,
    application: Application,
    finding: Any,
    items: Any = (),
    notes: Any = "",
    photos: list[Photo] | tuple[Photo, ...] = (),
) -> Inspector:
    """The named inspector's findings: pass, rectification needed (with the items) or fail (with notes), with
    optional photos, every one checked before anything is stored. The last report completes the inspection."""
    try:
        which = Finding(finding)
    except ValueError:
        raise field_error("finding", N_("Pass, rectification needed, or fail.")) from None
    if isinstance(items, str):
        items = [line for line in items.splitlines()]
    if not isinstance(items, list | tuple) or len(items) > MAX_ITEMS:
        raise field_error("items", N_("At most %(n)s rectification items."), params={"n": MAX_ITEMS})
    clean_items = [clean_text(i, f"items.{n}", 300) for n, i in enumerate(items) if isinstance(i, str) and i.strip()]
    if which is Finding.RECTIFY and not clean_items:
        raise field_error("items", N_("List what is to be rectified, one item a line."))
    if which is not Finding.RECTIFY and clean_items:
        raise field_error("items", N_("Rectification items go with the finding 'rectification needed'."))
    clean_notes = clean_text(notes, "notes", MAX_TEXT, required=which is Finding.FAIL)
    if len(photos) > MAX_PHOTOS:
        raise field_error("photos", N_("At most %(n)s photos."), params={"n": MAX_PHOTOS})
    row = _inspector_row(inspection, actor)
    if row is None:
        raise PermissionDenied(N_("Only the inspectors named for this inspection report on it."))
    authorisations.require_staff(actor, row.department)
    checked = [_check_photo(n, p) for n, p in enumerate(photos)]
    db.session.execute(select(Inspection.id).where(Inspection.id == inspection.id).with_for_update()).scalar_one()
    inspection = get_inspection(inspection.id)
    row = _inspector_row(inspection, actor) or row
    if inspection.status is not InspectionStatus.SCHEDULED:
        raise Conflict(N_("This inspection is complete already."))
    if row.reported_at is not None:
        raise Conflict(N_("Your findings are recorded already."))
    at = now_utc()
    if at < inspection.starts_at:
        raise Conflict(N_("Findings are reported once the inspection has started."))
    from app.core.storage import DOCUMENTS, get_storage

    storage = get_storage()
    stored = []
    for photo in checked:
        key = f"permits/inspections/{inspection.id}/{uuid.uuid4().hex}"
        info = storage.put(DOCUMENTS, key, photo.data, length=len(photo.data), content_type=photo.content_type)
        stored.append(
            InspectionPhoto(
                inspector_id=row.id,
                name=photo.name,
                content_type=photo.content_type,
                size=info.size,
                sha256=info.sha256,
                object_key=key,
                uploaded_at=at,
            )
        )
    db.session.add_all(stored)
    row.finding = which
    row.items = clean_items
    row.notes = clean_notes
    row.reported_at = at
    db.session.flush()
    record(
        "permits.inspection.reported",
        actor=actor,
        subject=inspection.audit_ref,
        data=processing.facts(
            application,
            department=row.department,
            responsible_id=actor.id,
            inspection_id=inspection.id,
            round=inspection.round,
            finding=which.value,
            items=clean_items,
            notes=clean_notes,
            photos=[{"sha256": p.sha256, "size": p.size} for p in stored],
        ),
    )
    if all(i.reported_at is not None for i in inspection.inspectors):
        _complete(application, inspection, actor=actor, at=at)
    return row


def _complete(application: Application, inspection: Inspection, *, actor: Any, at: datetime) -> None:
    findings = {i.finding for i in inspection.inspectors}
    outcome = (
        Finding.FAIL if Finding.FAIL in findings else Finding.RECTIFY if Finding.RECTIFY in findings else Finding.PASS
    )
    inspection.status = InspectionStatus.COMPLETED
    inspection.completed_at = at
    inspection.outcome = outcome
    inspection.rectification = [f"{i.department.name}：{item}" for i in inspection.inspectors for item in i.items]
    db.session.flush()
    record(
        "permits.inspection.completed",
        actor=actor,
        subject=inspection.audit_ref,
        data=processing.facts(
            application,
            department=_lead(application),
            inspection_id=inspection.id,
            round=inspection.round,
            outcome=outcome.value,
            rectification=inspection.rectification,
        ),
    )
    clock.end_source(application, inspection.audit_ref, actor=actor, at=at)
    if outcome is Finding.RECTIFY:  # the clock waits on the applicant until the reinspection is scheduled
        clock.open_pause(
            application,
            PauseReason.RECTIFICATION,
            actor=actor,
            note="；".join(inspection.rectification)[:2000],
            source=inspection.audit_ref,
            at=at,
        )
    if outcome is Finding.RECTIFY:
        from app.permits.cases import services

        inspection.applicant_notified_at = at
        services._step(
            application,
            StepKind.RECTIFICATION,
            actor,
            Holder.APPLICANT,
            inspection_id=inspection.id,
            round=inspection.round,
            items=inspection.rectification,
        )
        db.session.flush()
        record(
            "permits.inspection.rectification_notified",
            actor=actor,
            subject=inspection.audit_ref,
            data=processing.facts(
                application,
                department=_lead(application),
                inspection_id=inspection.id,
                round=inspection.round,
                items=inspection.rectification,
            ),
        )
        messages.rectification(application, inspection.rectification)


def photo_file(inspection: Inspection, photo_id: int) -> tuple[InspectionPhoto, bytes]:
    from app.core.storage import DOCUMENTS, get_storage

    row = next((p for i in inspection.inspectors for p in i.photos if p.id == photo_id), None)
    if row is None:
        raise NotFound(N_("No such photo."))
    return row, b"".join(get_storage().get(DOCUMENTS, row.object_key))


def expected_rectification(application: Application) -> list[str]:
    """The rectification the applicant is to carry out before the reinspection (nothing otherwise)."""
    latest = application.inspections[-1] if application.inspections else None
    if latest is None or latest.outcome is not Finding.RECTIFY:
        return []
    return list(latest.rectification)
