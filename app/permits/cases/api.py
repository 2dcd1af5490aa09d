"""JSON API of unified acceptance (/api/v1/permits): submit, attach materials, the desk's decision, status, tracking.

Applicants (any signed-in account, token scope permits.apply) submit and follow their own applications; desk
staff (permits.desk) enter applications at the desk and decide. The public tracking view needs the application's
number and its secret tracking token. Bad input is a problem JSON (4xx) and stores nothing.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.body import streams_body
from app.core.pages import me
from app.core.security import authenticated, public, requires
from app.permits.cases import schemas, services
from app.permits.cases.models import Application, ApplicationChannel
from app.permits.permissions import APPLY, DESK

PROBLEM = "application/problem+json"
BINARY = {"schema": {"type": "string", "format": "binary"}}

blp = Blueprint(
    "permits-cases-api",
    __name__,
    url_prefix="/api/v1/permits",
    description="Unified acceptance (统一受理): applications, materials, the desk's decision, tracking.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def tracking_url(application: Application, *, external: bool = False) -> str:
    return url_for(
        "permits_cases.tracking",
        number=application.number,
        token=application.tracking_token,
        _external=external,
    )


def tracking_view(application: Application) -> dict[str, Any]:
    return {
        "number": application.number,
        "case_number": application.case_number,
        "item_code": application.item.code,
        "item_name": application.item.name,
        "department": application.item.department.name,
        "status": application.status.value,
        "holder": services.holder(application).value,
        "received_at": application.received_at,
        "accepted_on": application.accepted_on,
        "statutory_due": application.statutory_due,
        "promised_due": application.promised_due,
        "decision_due": services.decision_due(application),
        "is_deemed": application.is_deemed,
        "deemed_rule": application.deemed_rule,
        "expected": services.expected_of_applicant(application),
        "steps": [
            {"kind": s.kind.value, "at": s.at, "actor": s.actor_name, "holder": s.holder.value}
            for s in application.steps
        ],
        "case_steps": [case_step_view(s) for s in application.case_steps],
        "tasks": [
            {
                "id": t.id,
                "department": t.department.name,
                "status": t.status.value,
                "opened_at": t.opened_at,
                "due_at": t.due_at,
                "answered_at": t.answered_at,
                "is_deemed": t.is_deemed,
                "deemed_at": t.deemed_at,
            }
            for t in application.tasks
        ],
        "case_decision": (
            {
                "outcome": d.outcome.value,
                "reasons": d.reasons,
                "remedies": d.remedies,
                "decided_at": d.decided_at,
                "department": d.department.name,
                "pdf_sha256": d.pdf_sha256,
            }
            if (d := application.decision) is not None
            else None
        ),
    }


def case_step_view(step: Any) -> dict[str, Any]:
    return {
        "kind": step.kind.value,
        "status": step.status.value,
        "share_days": step.share_days,
        "department": step.department.name,
        "responsible": step.responsible_name,
        "started_at": step.started_at,
        "due_on": step.due_on,
        "due_at": step.due_at,
        "finished_at": step.finished_at,
    }


def application_view(application: Application) -> dict[str, Any]:
    received = {m.item_material_id for m in application.materials}
    return {
        **tracking_view(application),
        "id": application.id,
        "applicant": {
            "kind": application.applicant_kind.value,
            "name": application.applicant_name,
            "code": application.applicant_code,
        },
        "channel": application.channel.value,
        "first_handler": services.first_handler_name(application),
        "refusal_reason": application.refusal_reason,
        "refusal_remedies": application.refusal_remedies,
        "needed": [
            {"material_id": m.id, "name": m.name, "requirement": m.requirement.value, "received": m.id in received}
            for m in services.applicable_materials(application.item, application.answers)
        ],
        "materials": [
            {
                "id": m.id,
                "material_id": m.item_material_id,
                "material": m.item_material.name,
                "name": m.name,
                "content_type": m.content_type,
                "size": m.size,
                "sha256": m.sha256,
                "received_at": m.received_at,
            }
            for m in application.materials
        ],
        "notices": [
            {
                "sequence": n.sequence,
                "issued_at": n.issued_at,
                "entries": n.entries,
                "note": n.note,
                "is_override": n.is_override,
                "override_reason": n.override_reason,
                "answered_at": n.answered_at,
            }
            for n in application.notices
        ],
        "tracking_url": tracking_url(application),
    }


def _own(application_id: int) -> Application:
    return services.visible_to(me(), services.get_application(application_id))


@blp.route("/applications", methods=["POST"])
@blp.arguments(schemas.ApplicationIn)
@blp.response(201, schemas.ApplicationOut)
@_problems(401, 403, 404, 409, 422)
@authenticated(APPLY, DESK)
def submit_application(args: dict[str, Any]) -> Any:
    """Apply for an item (online), or enter an application at the desk (channel desk, permits.desk)."""
    applicant = args["applicant"]
    row = services.submit_application(
        actor=me(),
        item_code=args["item_code"],
        applicant=services.check_applicant(applicant["kind"], applicant["name"], applicant["code"], applicant["phone"]),
        answers=args["answers"],
        channel=ApplicationChannel(args["channel"]),
    )
    return application_view(row)


@blp.route("/applications/<int:application_id>", methods=["GET"])
@blp.response(200, schemas.ApplicationOut)
@_problems(401, 403, 404)
@authenticated(APPLY, DESK)
def get_application(application_id: int) -> Any:
    """An application with its materials, notices, steps, due dates and the tracking address (its applicant or
    desk staff)."""
    return application_view(_own(application_id))


@blp.route("/applications/<int:application_id>/materials", methods=["POST"])
@blp.arguments(schemas.MaterialQuery, location="query")
@blp.doc(requestBody={"required": True, "content": {"application/octet-stream": BINARY}})
@blp.response(201, schemas.ReceivedOut)
@_problems(400, 401, 403, 404, 408, 409, 413, 422)
@authenticated(APPLY, DESK)
@streams_body
def attach_material(args: dict[str, Any], application_id: int) -> Any:
    """Send the file of one catalogue material (the raw body; PDF, JPEG, PNG or OFD), stored write-once."""
    row = services.attach_material(
        actor=me(),
        application=_own(application_id),
        material_id=args["material_id"],
        name=args["name"],
        stream=request.stream,
        length=request.content_length,
        content_type=args["content_type"],
        release_transaction=True,
    )
    return {
        "id": row.id,
        "material_id": row.item_material_id,
        "material": row.item_material.name,
        "name": row.name,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "received_at": row.received_at,
    }


@blp.route("/applications/<int:application_id>/resubmit", methods=["POST"])
@blp.response(200, schemas.ApplicationOut)
@_problems(401, 403, 404, 409, 422)
@authenticated(APPLY, DESK)
def resubmit_application(application_id: int) -> Any:
    """After a correction notice, once every listed material was sent again: back to the desk."""
    return application_view(services.resubmit_application(actor=me(), application=_own(application_id)))


@blp.route("/applications/<int:application_id>/decision", methods=["POST"])
@blp.arguments(schemas.DecisionIn)
@blp.response(200, schemas.ApplicationOut)
@_problems(401, 403, 404, 409, 422)
@requires(DESK)
def decide(args: dict[str, Any], application_id: int) -> Any:
    """The desk's decision: accept (case number, due dates, the steps; `co_departments` for a joint case), refuse
    (reason and remedies) or the one-time correction notice (every missing material, plus those marked defective;
    a second one needs `override_reason` from a supervisor)."""
    row = services.get_application(application_id)
    if args["decision"] == "accept":
        services.accept_application(
            actor=me(), application=row, co_departments=args.get("co_departments"), joint_mode=args.get("joint_mode")
        )
    elif args["decision"] == "refuse":
        services.refuse_acceptance(
            actor=me(), application=row, reason=args.get("reason", ""), remedies=args.get("remedies", "")
        )
    else:
        services.request_correction(
            actor=me(),
            application=row,
            defective=args["defective"],
            note=args["note"],
            override_reason=args.get("override_reason"),
        )
    return application_view(row)


@blp.route("/tracking/<string:number>/<string:token>", methods=["GET"])
@blp.response(200, schemas.TrackingOut)
@_problems(404)
@public
def track(number: str, token: str) -> Any:
    """The public tracking view: every step with its time, who holds it now, due dates, what is expected."""
    return tracking_view(services.tracked(number, token))


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
