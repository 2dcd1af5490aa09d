"""JSON API of the expert pool (/api/v1): specialties, experts, their relationships, an expert's own profile.

The routes are on the `evaluation-api` blueprint (app/evaluation/web.py), shared with committee/api.py.
"""

from __future__ import annotations

from typing import Any

from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import authenticated, requires
from app.evaluation import schemas
from app.evaluation.permissions import COMMITTEE, OVERSEE, POOL, RUN
from app.evaluation.pool import services as services_pool
from app.evaluation.web import committee_api as blp


def problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


# --- specialties and the pool ------------------------------------------------------------------------


@blp.route("/evaluation/specialties", methods=["GET"])
@blp.arguments(schemas.SpecialtyListArgs, location="query")
@blp.response(200, schemas.SpecialtyOut(many=True))
@problems(401, 422)
@authenticated(POOL, RUN, OVERSEE, COMMITTEE)
def list_specialties(args: dict[str, Any]) -> Any:
    """The maintained specialty list (active entries; `include_inactive=true` for all, e.g. to reactivate one)."""
    return services_pool.list_specialties(include_inactive=args["include_inactive"])


@blp.route("/evaluation/specialties", methods=["POST"])
@blp.arguments(schemas.SpecialtyArgs)
@blp.response(200, schemas.SpecialtyOut)
@problems(401, 403, 422)
@requires(POOL)
def save_specialty(args: dict[str, Any]) -> Any:
    """Add a specialty, or rename or (de)activate one by its code."""
    row = services_pool.save_specialty(actor=me(), **args)
    return row


@blp.route("/evaluation/experts", methods=["GET"])
@blp.arguments(schemas.ExpertListArgs, location="query")
@blp.response(200, schemas.ExpertOut(many=True))
@problems(401, 403, 422)
@requires(POOL)
def list_experts(args: dict[str, Any]) -> Any:
    """The pool, for its maintainers."""
    return services_pool.list_experts(**args)


@blp.route("/evaluation/experts", methods=["POST"])
@blp.arguments(schemas.ExpertArgs)
@blp.response(201, schemas.ExpertOut)
@problems(401, 403, 409, 422)
@requires(POOL)
def create_expert(args: dict[str, Any]) -> Any:
    """Enrol a user holding the expert role."""
    expert = services_pool.create_expert(actor=me(), data=args)
    return expert


@blp.route("/evaluation/experts/me", methods=["GET"])
@blp.response(200, schemas.ExpertOut)
@problems(401, 404)
@authenticated(COMMITTEE)
def own_profile() -> Any:
    """The caller's own expert profile."""
    return services_pool.get_own_profile(me())


@blp.route("/evaluation/experts/me", methods=["PATCH"])
@blp.arguments(schemas.AvailabilityArgs)
@blp.response(200, schemas.ExpertOut)
@problems(401, 404, 422)
@authenticated(COMMITTEE)
def set_availability(args: dict[str, Any]) -> Any:
    """An expert marks themselves available or unavailable for future draws."""
    expert = services_pool.set_availability(actor=me(), available=args["available"])
    return expert


@blp.route("/evaluation/experts/me/relationships", methods=["POST"])
@blp.arguments(schemas.RelationshipArgs)
@blp.response(201, schemas.RelationshipOut)
@problems(401, 404, 422)
@authenticated(COMMITTEE)
def declare_own_relationship(args: dict[str, Any]) -> Any:
    """An expert declares an organisation they must never judge."""
    expert = services_pool.get_own_profile(me())
    rel = services_pool.declare_relationship(actor=me(), expert=expert, **args)
    return rel


@blp.route("/evaluation/experts/<int:expert_id>", methods=["GET"])
@blp.response(200, schemas.ExpertOut)
@problems(401, 403, 404)
@requires(POOL)
def get_expert(expert_id: int) -> Any:
    return services_pool.get_expert(expert_id)


@blp.route("/evaluation/experts/<int:expert_id>", methods=["PATCH"])
@blp.arguments(schemas.ExpertUpdateArgs)
@blp.response(200, schemas.ExpertOut)
@problems(401, 403, 404, 422)
@requires(POOL)
def update_expert(args: dict[str, Any], expert_id: int) -> Any:
    expert = services_pool.update_expert(actor=me(), expert=services_pool.get_expert(expert_id), data=args)
    return expert


@blp.route("/evaluation/experts/<int:expert_id>/status", methods=["POST"])
@blp.arguments(schemas.StatusArgs)
@blp.response(200, schemas.ExpertOut)
@problems(401, 403, 404, 422)
@requires(POOL)
def set_expert_status(args: dict[str, Any], expert_id: int) -> Any:
    """Activate, suspend or blacklist an expert (with the reason)."""
    expert = services_pool.set_status(actor=me(), expert=services_pool.get_expert(expert_id), **args)
    return expert


@blp.route("/evaluation/experts/<int:expert_id>/relationships", methods=["POST"])
@blp.arguments(schemas.RelationshipArgs)
@blp.response(201, schemas.RelationshipOut)
@problems(401, 403, 404, 422)
@requires(POOL)
def declare_relationship(args: dict[str, Any], expert_id: int) -> Any:
    rel = services_pool.declare_relationship(actor=me(), expert=services_pool.get_expert(expert_id), **args)
    return rel
