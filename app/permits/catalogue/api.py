"""Read-only JSON API of the catalogue (/api/v1/permits): departments, the item list and each item's definition.

Public without sign-in, like the guide pages. The list is Open311's service list (service_code, service_name,
group, metadata); an item is its service definition (attributes with datatypes, required, order and values)
with every fact of the guide: limits, fees, outputs, the restricted JSON Schema of the form, the materials.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint

from app.core.api import problem_responses
from app.core.security import public
from app.permits.catalogue import form_schema, schemas, services
from app.permits.catalogue.models import CatalogueFile, Department, Item

PROBLEM = "application/problem+json"

blp = Blueprint(
    "permits-catalogue-api",
    __name__,
    url_prefix="/api/v1/permits",
    description="The permit item catalogue (办事指南): departments, items, application forms and materials.",
)


def _problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def department_view(dept: Department, item_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": dept.code,
        "name": dept.name,
        "name_en": dept.name_en,
        "window": dept.window,
        "phone": dept.phone,
    }
    if item_count is not None:
        out["item_count"] = item_count
    return out


def item_summary(item: Item) -> dict[str, Any]:
    return {
        "service_code": item.code,
        "service_name": item.name,
        "service_name_en": item.name_en,
        "group": item.department.name,
        "department_code": item.department.code,
        "kind": item.kind.value,
        "metadata": True,
        "type": "batch",
        "statutory_limit": {"days": item.statutory_limit_days, "day_count": item.day_count.value},
        "promised_limit": {"days": item.promised_limit_days, "day_count": item.day_count.value},
        "deemed_approval": item.deemed_approval,
        "channel": item.channel.value,
    }


def file_view(row: CatalogueFile | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "name": row.name,
        "sha256": row.sha256,
        "size": row.size,
        "content_type": row.content_type,
        "url": url_for("permits.catalogue_file", sha256=row.sha256, _external=False),
    }


def item_view(item: Item) -> dict[str, Any]:
    return {
        **item_summary(item),
        "description": item.description,
        "legal_basis": item.legal_basis,
        "acceptance_day_counts": item.acceptance_day_counts,
        "fees": [
            {
                "name": f.name,
                "amount_fen": f.amount_fen,
                "unit": f.unit,
                "legal_basis": f.legal_basis,
                "kind": f.kind.value,
                "per": f.per,
            }
            for f in item.fees
        ],
        "output": {"name": item.output_name, "validity_months": item.output_validity_months},
        "attributes": form_schema.attributes(item.form_schema),
        "form_schema": item.form_schema,
        "materials": [
            {
                "name": m.name,
                "requirement": m.requirement.value,
                "condition": m.condition,
                "condition_tree": m.condition_tree,
                "originals": m.originals,
                "copies": m.copies,
                "note": m.note,
                "template": file_view(m.template),
                "sample": file_view(m.sample),
            }
            for m in item.materials
        ],
        "department": department_view(item.department),
    }


@blp.route("/departments", methods=["GET"])
@blp.response(200, schemas.PermitDepartmentOut(many=True))
@public
def list_departments() -> Any:
    """The departments with items at the center, in the catalogue's order, with their number of items."""
    return [department_view(d, n) for d, n in services.list_departments()]


@blp.route("/items", methods=["GET"])
@blp.arguments(schemas.PermitItemListArgs, location="query")
@blp.response(200, schemas.PermitItemPage)
@_problems(422)
@public
def list_items(args: dict[str, Any]) -> Any:
    """Items (Open311 service list): search the name, code or department (`q`); filter by kind and department."""
    rows, total = services.search_items(
        q=args.get("q"),
        kind=args.get("kind"),
        department=args.get("department"),
        page=args["page"],
        per_page=args["per_page"],
    )
    return {
        "items": [item_summary(i) for i in rows],
        "total": total,
        "page": args["page"],
        "per_page": args["per_page"],
    }


@blp.route("/items/<string:code>", methods=["GET"])
@blp.response(200, schemas.PermitItemOut)
@_problems(404)
@public
def get_item(code: str) -> Any:
    """An item's service definition: the form's attributes and schema, materials, limits, fees and outputs."""
    return item_view(services.get_item(code))


def init_app(app: Any) -> None:
    from app.extensions import api

    api.register_blueprint(blp)
