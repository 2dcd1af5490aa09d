"""JSON API of case processing (/api/v1/permits): the case's steps, the co-departments' tasks and answers, the
case decision, and the chief representatives' authorisations.

Department reviewers (permits.review, on a department's staff) see their departments' tasks and the cases their
departments lead or join; answers and decisions also need an authorisation covering the item (403
`authorisation-refused` otherwise). Administrators (permits.authorisations.manage) record staff and
authorisations. Bad input is a problem JSON (4xx) and stores nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import requires
from app.core.storage import content_disposition
from app.permits.cases import authorisations, clock, processing, schemas
from app.permits.cases.api import case_step_view
from app.permits.cases.models import Application
from app.permits.cases.processing_models import Authorisation, DepartmentTask
from app.permits.catalogue.models import Item
from app.permits.permissions import AUTHORISATIONS_MANAGE, REVIEW

blp = Blueprint(
    "permits-processing-api",
    __name__,
    url_prefix="/api/v1/permits",
    description="Case processing (办理) and parallel approval (并联审批): steps, co-department tasks, decisions, "
    "chief representatives' authorisations.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def task_view(task: DepartmentTask) -> dict[str, Any]:
    application = task.application
    return {
        "id": task.id,
        "application_id": application.id,
        "case_number": application.case_number or "",
        "item_code": application.item.code,
        "item_name": application.item.name,
        "lead_department": application.item.department.name,
        "deemed_approval_allowed": application.item.deemed_approval,
        "department": task.department.name,
        "status": task.status.value,
        "opened_at": task.opened_at,
        "due_at": task.due_at,
        "answered_at": task.answered_at,
        "answer": task.answer.value if task.answer else None,
        "reasons": task.reasons,
        "answered_by": task.answered_by_name,
        "authorisation_id": task.authorisation_id,
        "is_deemed": task.is_deemed,
        "deemed_at": task.deemed_at,
        "deemed_rule": task.deemed_rule,
        "accountability_flag": task.accountability_flag,
        "flag_reason": task.flag_reason,
    }


def case_view(application: Application) -> dict[str, Any]:
    current = processing.current_step(application)
    decision = application.decision
    timer = clock.view(application)
    return {
        "application_id": application.id,
        "case_number": application.case_number,
        "item_code": application.item.code,
        "item_name": application.item.name,
        "lead_department": application.item.department.name,
        "applicant_name": application.applicant_name,
        "accepted_on": application.accepted_on,
        "promised_due": application.promised_due,
        "statutory_due": application.statutory_due,
        "clock_paused_since": timer.paused_since,
        "paused_workdays": timer.paused_workdays,
        "pauses": [
            {
                "id": p.id,
                "reason": p.reason,
                "note": p.note,
                "automatic": bool(p.source),
                "started_at": p.started_at,
                "started_by": p.started_by_name,
                "ended_at": p.ended_at,
                "ended_by": p.ended_by_name,
            }
            for p in timer.pauses
        ],
        "current_step": current.kind.value if current else None,
        "joint_mode": application.joint_mode,
        "meeting_ids": [m.id for m in application.meetings],
        "inspection_ids": [i.id for i in application.inspections],
        "steps": [case_step_view(s) for s in application.case_steps],
        "tasks": [task_view(t) for t in application.tasks],
        "decision": (
            {
                "outcome": decision.outcome.value,
                "reasons": decision.reasons,
                "remedies": decision.remedies,
                "decided_at": decision.decided_at,
                "department": decision.department.name,
                "decided_by": decision.decided_by_name,
                "authorisation_id": decision.authorisation_id,
                "pdf_sha256": decision.pdf_sha256,
                "sealed_by": decision.sealed_by,
                "review_by": decision.facts.get("review_by", ""),
                "litigation_by": decision.facts.get("litigation_by", ""),
            }
            if decision is not None
            else None
        ),
    }


def authorisation_view(row: Authorisation) -> dict[str, Any]:
    codes = authorisation_item_codes([row])
    return {
        "id": row.id,
        "department": row.department.code,
        "representative_id": row.representative_id,
        "items": [codes[i] for i in row.item_ids if i in codes],
        "valid_from": row.valid_from,
        "valid_to": row.valid_to,
        "approved_by": row.approved_by,
        "reference": row.reference,
        "revoked_at": row.revoked_at,
        "revoke_reason": row.revoke_reason,
    }


def authorisation_item_codes(rows: list[Authorisation]) -> dict[int, str]:
    from sqlalchemy import select

    from app.core.db import db

    ids = {i for r in rows for i in (r.item_ids or [])}
    if not ids:
        return {}
    return dict(db.session.execute(select(Item.id, Item.code).where(Item.id.in_(ids))).tuples().all())


@blp.route("/department/tasks", methods=["GET"])
@blp.response(200, schemas.DepartmentTaskOut(many=True))
@_problems(401, 403)
@requires(REVIEW)
def my_tasks() -> Any:
    """The co-department tasks of the caller's departments (open ones first, soonest due first)."""
    return [task_view(t) for t in processing.department_tasks(me())]


@blp.route("/department/cases", methods=["GET"])
@blp.response(200, schemas.CaseOut(many=True))
@_problems(401, 403)
@requires(REVIEW)
def my_cases() -> Any:
    """The open cases the caller's departments lead (主办), with their steps and tasks."""
    return [case_view(a) for a in processing.led_cases(me())]


@blp.route("/tasks/<int:task_id>/answer", methods=["POST"])
@blp.arguments(schemas.AnswerIn)
@blp.response(200, schemas.DepartmentTaskOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def answer_task(args: dict[str, Any], task_id: int) -> Any:
    """The co-department's answer (agree / disagree with reasons / agree subject to higher approval), under the
    representative's authorisation for the item."""
    task = processing.visible_task(me(), task_id)
    return task_view(processing.answer_task(actor=me(), task=task, answer=args["answer"], reasons=args["reasons"]))


@blp.route("/cases/<int:application_id>", methods=["GET"])
@blp.response(200, schemas.CaseOut)
@_problems(401, 403, 404)
@requires(REVIEW)
def get_case(application_id: int) -> Any:
    """A case's steps (with due instants), its co-departments' tasks and its decision (the departments involved)."""
    return case_view(processing.visible_case(me(), application_id))


@blp.route("/cases/<int:application_id>/claim", methods=["POST"])
@blp.response(200, schemas.CaseOut)
@_problems(401, 403, 404, 409)
@requires(REVIEW)
def claim(application_id: int) -> Any:
    """The lead department's staff member takes the running step in hand (its responsible person)."""
    application = processing.visible_case(me(), application_id)
    processing.claim_step(actor=me(), application=application)
    return case_view(processing.get_case(application_id))


@blp.route("/cases/<int:application_id>/steps/<string:step>/finish", methods=["POST"])
@blp.arguments(schemas.FinishStepIn)
@blp.response(200, schemas.CaseOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def finish_step(args: dict[str, Any], application_id: int, step: str) -> Any:
    """Finish 审查 (review: every co-department's task closed), 制证 (production) or 送达 (delivery); the next
    step starts with its due instant."""
    application = processing.visible_case(me(), application_id)
    processing.finish_step(actor=me(), application=application, kind=step, note=args["note"])
    return case_view(processing.get_case(application_id))


@blp.route("/cases/<int:application_id>/pauses", methods=["POST"])
@blp.arguments(schemas.PauseIn)
@blp.response(201, schemas.CaseOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def pause(args: dict[str, Any], application_id: int) -> Any:
    """The lead department stops the case's clock (行政许可法 第四十五条: hearing, tender or auction, testing,
    appraisal, expert review; public notice) with a note; the due dates wait until it runs again."""
    application = processing.visible_case(me(), application_id)
    clock.pause_clock(actor=me(), application=application, reason=args["reason"], note=args["note"])
    return case_view(processing.get_case(application_id))


@blp.route("/cases/<int:application_id>/pauses/<int:pause_id>/end", methods=["POST"])
@blp.response(200, schemas.CaseOut)
@_problems(401, 403, 404, 409, 422)
@requires(REVIEW)
def resume(application_id: int, pause_id: int) -> Any:
    """The clock runs again; the case's, the running step's and the open tasks' due dates move on by the days it
    stood still. The joint site inspection's own pauses end with its findings (409 here)."""
    application = processing.visible_case(me(), application_id)
    clock.resume_clock(actor=me(), application=application, pause_id=pause_id)
    return case_view(processing.get_case(application_id))


@blp.route("/cases/<int:application_id>/decision", methods=["POST"])
@blp.arguments(schemas.CaseDecisionIn)
@blp.response(200, schemas.CaseOut)
@_problems(401, 403, 404, 409, 422, 503)
@requires(REVIEW)
def decide(args: dict[str, Any], application_id: int) -> Any:
    """The lead department's decision (approve / refuse, with reasons) under an authorisation for the item: a
    sealed PDF with the applicant's remedies (行政复议 60 days, 行政诉讼 6 months)."""
    application = processing.visible_case(me(), application_id)
    processing.decide(actor=me(), application=application, outcome=args["outcome"], reasons=args["reasons"])
    return case_view(processing.get_case(application_id))


@blp.route("/cases/<int:application_id>/decision.pdf", methods=["GET"])
@blp.doc(responses={"200": {"description": "The sealed decision", "content": {"application/pdf": {}}}})
@_problems(401, 403, 404)
@requires(REVIEW)
def decision_pdf(application_id: int) -> Any:
    application = processing.visible_case(me(), application_id)
    name = f"{application.case_number}-decision.pdf"
    return Response(
        processing.decision_pdf(application),
        content_type="application/pdf",
        headers={"Content-Disposition": content_disposition(name)},
    )


@blp.route("/authorisations", methods=["GET"])
@blp.response(200, schemas.AuthorisationOut(many=True))
@_problems(401, 403)
@requires(AUTHORISATIONS_MANAGE)
def list_authorisations() -> Any:
    """The chief representatives' authorisations (授权委托书), newest first."""
    return [authorisation_view(r) for r in authorisations.list_authorisations()]


@blp.route("/authorisations", methods=["POST"])
@blp.arguments(schemas.AuthorisationIn)
@blp.response(201, schemas.AuthorisationOut)
@_problems(401, 403, 422)
@requires(AUTHORISATIONS_MANAGE)
def grant(args: dict[str, Any]) -> Any:
    """Record an authorisation: the department's staff member, the items, the period, who approved it."""
    row = authorisations.grant(
        actor=me(),
        department_code=args["department"],
        username=args["username"],
        item_codes=args["items"],
        valid_from=args["valid_from"],
        valid_to=args["valid_to"],
        approved_by=args["approved_by"],
        reference=args["reference"],
    )
    return authorisation_view(row)


@blp.route("/authorisations/<int:authorisation_id>/revoke", methods=["POST"])
@blp.arguments(schemas.RevokeIn)
@blp.response(200, schemas.AuthorisationOut)
@_problems(401, 403, 404, 409, 422)
@requires(AUTHORISATIONS_MANAGE)
def revoke(args: dict[str, Any], authorisation_id: int) -> Any:
    """Revoke an authorisation, with effect at once."""
    row = authorisations.revoke(
        actor=me(), authorisation=authorisations.get_authorisation(authorisation_id), reason=args["reason"]
    )
    return authorisation_view(row)


@blp.route("/department-staff", methods=["POST"])
@blp.arguments(schemas.StaffIn)
@blp.response(201, schemas.StaffOut)
@_problems(401, 403, 422)
@requires(AUTHORISATIONS_MANAGE)
def add_staff(args: dict[str, Any]) -> Any:
    """Record a user on a department's staff at the center."""
    row = authorisations.add_staff(actor=me(), department_code=args["department"], username=args["username"])
    return {"department": row.department.code, "user_id": row.user_id}


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
