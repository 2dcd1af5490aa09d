"""JSON API of the bundle (一照三证联办), under /api/v1/permits: definitions (public; defined by catalogue
administrators), one application for the four items, each material once, the desk's acceptance into four
parallel department cases, the output set, and public tracking. Bad input is a problem JSON and stores nothing."""

from __future__ import annotations

import io
from typing import Any

from flask import request, url_for
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import authenticated, public, requires
from app.permits.bundle import schemas, services
from app.permits.bundle.models import BundleCase
from app.permits.cases import processing
from app.permits.cases import services as cases
from app.permits.cases.models import ApplicationChannel
from app.permits.permissions import APPLY, CATALOGUE_MANAGE, CERTIFICATE_ISSUE, DESK

BINARY = {"schema": {"type": "string", "format": "binary"}}

blp = Blueprint(
    "permits-bundle-api",
    __name__,
    url_prefix="/api/v1/permits",
    description="The bundle (一照三证联办): one form, one set of materials, four departments in parallel, one "
    "output set.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def bundle_tracking_url(row: BundleCase, *, external: bool = False) -> str:
    return url_for("permits_bundle.tracking", number=row.number, token=row.tracking_token, _external=external)


def part_view(application: Any) -> dict[str, Any]:
    step = processing.current_step(application) if application.case_steps else None
    decision = application.decision
    return {
        "application_number": application.number,
        "case_number": application.case_number,
        "item_code": application.item.code,
        "item_name": application.item.name,
        "department": application.item.department.name,
        "status": application.status.value,
        "current_step": step.kind.value if step is not None else None,
        "promised_due": application.promised_due,
        "decision": decision.outcome.value if decision is not None else None,
    }


def tracking_view(row: BundleCase) -> dict[str, Any]:
    return {
        "number": row.number,
        "bundle": row.bundle.name,
        "status": row.status.value,
        "received_at": row.received_at,
        "parts": [part_view(p.application) for p in row.parts],
        "certificate_number": row.certificate_number,
    }


def case_view(row: BundleCase) -> dict[str, Any]:
    needed = services.needed_materials(row.bundle, row.answers)
    return {
        **tracking_view(row),
        "id": row.id,
        "bundle": row.bundle.code,
        "applicant_name": row.applicant_name,
        "materials": [
            {"key": m.key, "name": m.name, "always": m.always, "items": [i.code for i, _ in m.applies(row.answers)]}
            for m in needed
        ],
        "received": sorted(services.received_keys(row)),
        "uscc": row.uscc,
        "organisation_code": row.organisation_code,
        "tax_number": row.tax_number,
        "tracking_url": bundle_tracking_url(row),
    }


@blp.route("/bundles", methods=["GET"])
@blp.response(200, schemas.BundleDefinitionOut(many=True))
@public
def list_bundles() -> Any:
    """The bundles, each with its union form and de-duplicated materials."""
    return [services.definition_view(b) for b in services.list_bundles()]


@blp.route("/bundles", methods=["POST"])
@blp.arguments(schemas.BundleDefinitionIn)
@blp.response(200, schemas.BundleDefinitionOut)
@_problems(401, 403, 404, 422)
@requires(CATALOGUE_MANAGE)
def define(args: dict[str, Any]) -> Any:
    """Define or amend a bundle; members defining an attribute differently are refused (422, nothing stored)."""
    bundle = services.define_bundle(
        actor=me(),
        code=args["code"],
        name=args["name"],
        name_en=args["name_en"],
        item_codes=args["items"],
        licence_item=args["licence_item"],
    )
    return services.definition_view(bundle)


@blp.route("/bundles/<string:code>", methods=["GET"])
@blp.response(200, schemas.BundleDefinitionOut)
@_problems(404)
@public
def get_bundle(code: str) -> Any:
    return services.definition_view(services.get_bundle(code))


@blp.route("/bundles/<string:code>/applications", methods=["POST"])
@blp.arguments(schemas.BundleApplicationIn)
@blp.response(201, schemas.BundleCaseOut)
@_problems(401, 403, 404, 409, 422)
@authenticated(APPLY, DESK)
def submit(args: dict[str, Any], code: str) -> Any:
    """One application for every item of the bundle (the union form's answers)."""
    applicant = args["applicant"]
    row = services.submit_bundle(
        actor=me(),
        bundle=services.get_bundle(code),
        applicant=cases.check_applicant(applicant["kind"], applicant["name"], applicant["code"], applicant["phone"]),
        answers=args["answers"],
        channel=ApplicationChannel(args["channel"]),
    )
    return case_view(row)


@blp.route("/bundle-cases/<int:bundle_case_id>", methods=["GET"])
@blp.response(200, schemas.BundleCaseOut)
@_problems(401, 403, 404)
@authenticated(APPLY, DESK)
def get_case(bundle_case_id: int) -> Any:
    return case_view(services.visible_bundle_case(me(), bundle_case_id))


@blp.route("/bundle-cases/<int:bundle_case_id>/materials", methods=["POST"])
@blp.arguments(schemas.BundleMaterialQuery, location="query")
@blp.doc(requestBody={"required": True, "content": {"application/octet-stream": BINARY}})
@blp.response(201, schemas.BundleCaseOut)
@_problems(401, 403, 404, 409, 413, 422)
@authenticated(APPLY, DESK)
def attach(args: dict[str, Any], bundle_case_id: int) -> Any:
    """One file for one bundle material (its key): received by every item that asks for it."""
    row = services.visible_bundle_case(me(), bundle_case_id)
    services.attach_bundle_material(
        actor=me(),
        row=row,
        key=args["key"],
        name=args["name"],
        stream=io.BytesIO(request.get_data()),
        length=request.content_length,
        content_type=args["content_type"],
    )
    return case_view(row)


@blp.route("/bundle-cases/<int:bundle_case_id>/accept", methods=["POST"])
@blp.response(200, schemas.BundleCaseOut)
@_problems(401, 403, 404, 409)
@requires(DESK)
def accept(bundle_case_id: int) -> Any:
    """Accept every item at once: four department cases in parallel (409 and nothing stored if one cannot be)."""
    return case_view(services.accept_bundle(actor=me(), row=services.get_bundle_case(bundle_case_id)))


@blp.route("/bundle-cases/<int:bundle_case_id>/output", methods=["POST"])
@blp.arguments(schemas.BundleOutputIn)
@blp.response(200, schemas.BundleCaseOut)
@_problems(401, 403, 404, 409, 422, 503)
@requires(CERTIFICATE_ISSUE)
def output(args: dict[str, Any], bundle_case_id: int) -> Any:
    """Issue the licence with the unified social credit code; the organisation code and tax number recorded."""
    row = services.issue_output(actor=me(), row=services.get_bundle_case(bundle_case_id), uscc=args["uscc"])
    return case_view(row)


@blp.route("/bundle-tracking/<string:number>/<string:token>", methods=["GET"])
@blp.response(200, schemas.BundleCaseTrackingOut)
@_problems(404)
@public
def track(number: str, token: str) -> Any:
    """The four parts of a joint application, each with its status, step and due date."""
    return tracking_view(services.tracked_bundle(number, token))


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
