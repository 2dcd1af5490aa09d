"""Reading the generated application form and the desk's correction form (plain HTML forms, not WTForms: the
fields come from each item's form schema)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from app.permits.catalogue import conditions
from app.permits.catalogue.models import Item, ItemMaterial

MAX_DEFECTS = 100


def _number(text: str) -> Any:
    """A number as the schema wants it (int when whole); the text itself when it is not one (the schema says so)."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return text
    if not value.is_finite():
        return text
    return int(value) if value == value.to_integral_value() else float(value)


def answers_from(attributes: list[dict[str, Any]], form: MultiDict[str, str]) -> dict[str, Any]:
    """The answers of a posted form, typed by each attribute's datatype; empty fields are left out (a required
    one is then reported by the schema)."""
    answers: dict[str, Any] = {}
    for attribute in attributes:
        name = "answer-" + attribute["code"]
        if attribute["datatype"] == "multivaluelist":
            chosen = [v for v in form.getlist(name) if v]
            if chosen:
                answers[attribute["code"]] = chosen
            continue
        text = (form.get(name) or "").strip()
        if not text:
            continue
        answers[attribute["code"]] = _number(text) if attribute["datatype"] == "number" else text
    return answers


def defects_from(form: MultiDict[str, str]) -> list[dict[str, Any]]:
    """The materials the desk ticked as defective, each with its reason (`defective` ids, `reason-<id>`)."""
    out = []
    for raw in form.getlist("defective")[:MAX_DEFECTS]:
        if raw.isdigit():
            out.append({"material_id": int(raw), "reason": form.get(f"reason-{raw}", "")})
    return out


def condition_text(item: Item, material: ItemMaterial) -> str:
    if material.condition_tree is None:
        return ""
    return conditions.describe(material.condition_tree, item.form_schema)
