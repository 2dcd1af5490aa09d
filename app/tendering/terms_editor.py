"""The agency's editors of a tender's evaluation criteria and bid form, as rows of form controls.

The criteria (评标办法) and the bid form (开标一览表) are JSON documents validated by app.tendering.terms; the
agency edits them as repeatable rows (WTForms FieldList of FormField), one row per criterion, price adjustment
or bid-form field, with "add a row" and "remove" submit buttons that work without JavaScript. This module turns
the rows into the JSON the API takes (rows left empty are skipped), fills rows from stored JSON, and puts the
validation messages that name an item back onto its row.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, IntegerField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.core.forms import parse_yuan
from app.tendering import terms
from app.tendering.models import EvaluationMethod

MAX_CRITERIA = 50
MAX_ADJUSTMENTS = 20
MAX_FIELDS = terms.MAX_PROPERTIES
FIELD_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

CATEGORY_LABELS = {
    "price": _l("Price"),
    "technical": _l("Technical"),
    "commercial": _l("Commercial"),
}
ADJUSTMENT_LABELS = {
    "percent": _l("Percentage of the bid price"),
    "amount": _l("Amount (yuan)"),
}
FIELD_TYPE_LABELS = {
    "money": _l("Amount of money (yuan)"),
    "integer": _l("Whole number"),
    "text": _l("Text"),
    "boolean": _l("Yes / no"),
    "choice": _l("Choice"),
}


def _choices(labels: dict[str, Any]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class CriterionRow(Form):
    """One evaluation criterion (no CSRF of its own: it is part of the tender form)."""

    name = StringField(_l("Criterion"), validators=[Optional()])
    category = SelectField(_l("Category"), choices=_choices(CATEGORY_LABELS), default="technical")
    weight = IntegerField(_l("Points"), validators=[Optional()])
    description = StringField(_l("Description"), validators=[Optional()])
    remove = SubmitField(_l("Remove"))


class AdjustmentRow(Form):
    """One price adjustment (价格折算) the committee records per bid, within [min, max]."""

    name = StringField(_l("Price adjustment"), validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=_choices(ADJUSTMENT_LABELS), default="percent")
    low = StringField(_l("Lowest"), validators=[Optional()])
    high = StringField(_l("Highest"), validators=[Optional()])
    description = StringField(_l("Description"), validators=[Optional()])
    remove = SubmitField(_l("Remove"))


class BidFieldRow(Form):
    """One field of the bid form that bidders fill in."""

    key = StringField(_l("Field key"), validators=[Optional()])
    label = StringField(_l("Label"), validators=[Optional()])
    type = SelectField(_l("Type"), choices=_choices(FIELD_TYPE_LABELS), default="text")
    required = BooleanField(_l("Required"))
    low = StringField(_l("Minimum"), validators=[Optional()])
    high = StringField(_l("Maximum"), validators=[Optional()])
    choices = StringField(_l("Choices (comma-separated)"), validators=[Optional()])
    remove = SubmitField(_l("Remove"))


def _signed_yuan(text: str) -> int:
    """Yuan typed with an optional minus sign (an adjustment may deduct) as 分."""
    raw = text.strip()
    negative = raw.startswith(("-", "−"))
    fen = parse_yuan(raw[1:] if negative else raw)
    return -fen if negative else fen


def _yuan_text(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _row_error(errors: dict[str, list[str]], field: Any, message: str) -> None:
    errors.setdefault(field.name, []).append(str(message))


def _whole(text: str) -> int:
    raw = text.strip()
    if not re.fullmatch(r"[-−]?[0-9]{1,15}", raw):
        raise ValueError(_("Enter a whole number."))
    return int(raw.replace("−", "-"))


# --- rows → JSON -------------------------------------------------------------------------------------------


def criteria_from_rows(form: Any, method: str, errors: dict[str, list[str]]) -> tuple[dict[str, Any], list[int]]:
    """The criteria document from the rows, and for each of its items the index of the row it came from."""
    comprehensive = method != EvaluationMethod.LOWEST_EVALUATED_PRICE.value
    items: list[dict[str, Any]] = []
    used: list[int] = []
    for i, entry in enumerate(form.criteria.entries):
        row = entry.form
        name = (row.name.data or "").strip()
        if not name:
            continue
        item: dict[str, Any] = {"name": name}
        if comprehensive:
            item["category"] = row.category.data
            if row.weight.data is None:
                _row_error(errors, row.weight, _("Give the points of this criterion."))
            else:
                item["weight"] = row.weight.data
        description = (row.description.data or "").strip()
        if description:
            item["description"] = description
        items.append(item)
        used.append(i)
    doc: dict[str, Any] = {"items": items}
    if comprehensive:
        if form.outlier_percent.data is not None:
            doc["outlier_percent"] = form.outlier_percent.data
        doc["drop_extremes"] = bool(form.drop_extremes.data)
        return doc, used
    adjustments = []
    for entry in form.adjustments.entries:
        row = entry.form
        name = (row.name.data or "").strip()
        if not name:
            continue
        adjustment: dict[str, Any] = {"name": name, "kind": row.kind.data}
        for key, field in (("min", row.low), ("max", row.high)):
            text = (field.data or "").strip()
            if not text:
                _row_error(errors, field, _("Required."))
                continue
            try:
                adjustment[key] = _signed_yuan(text) if row.kind.data == "amount" else _whole(text)
            except ValueError as exc:
                _row_error(errors, field, str(exc))
        description = (row.description.data or "").strip()
        if description:
            adjustment["description"] = description
        adjustments.append(adjustment)
    if adjustments:
        doc["adjustments"] = adjustments
    return doc, used


_BOUNDS = {"money": ("minimum", "maximum"), "integer": ("minimum", "maximum"), "text": ("minLength", "maxLength")}


def bid_form_from_rows(form: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The bid form's JSON Schema from the rows (money: an integer of 分 of format money, typed in 元)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for entry in form.bid_fields.entries:
        row = entry.form
        key = (row.key.data or "").strip()
        if not key:
            continue
        if not FIELD_KEY.match(key):
            _row_error(errors, row.key, _("A key is 1-64 of A-Z, a-z, 0-9 and '_', not starting with a digit."))
            continue
        if key in properties:
            _row_error(errors, row.key, _("This key is already used by another field."))
            continue
        kind = row.type.data
        prop: dict[str, Any] = {}
        label = (row.label.data or "").strip()
        if kind == "money":
            prop = {"type": "integer", "format": terms.MONEY_FORMAT, "minimum": 0}
        elif kind == "integer":
            prop = {"type": "integer"}
        elif kind == "boolean":
            prop = {"type": "boolean"}
        elif kind == "choice":
            options = [c.strip() for c in re.split(r"[,，]", row.choices.data or "") if c.strip()]
            if not options:
                _row_error(errors, row.choices, _("List the choices, separated by commas."))
            prop = {"type": "string", "enum": list(dict.fromkeys(options))}
        else:
            prop = {"type": "string"}
        if label:
            prop["title"] = label
        for keyword, field in zip(_BOUNDS.get(kind, ()), (row.low, row.high), strict=False):
            text = (field.data or "").strip()
            if not text:
                continue
            try:
                value = parse_yuan(text) if kind == "money" else _whole(text)
            except ValueError as exc:
                _row_error(errors, field, str(exc))
                continue
            if kind == "text" and value < 0:
                _row_error(errors, field, _("Enter a whole number."))
                continue
            prop[keyword] = value
        properties[key] = prop
        if row.required.data:
            required.append(key)
    title = (form.bid_form_title.data or "").strip() or terms.DEFAULT_BID_FORM["title"]
    return {
        "type": "object",
        "title": title,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


# --- JSON → rows -------------------------------------------------------------------------------------------


def _fill(field_list: Any, rows: list[dict[str, Any]], minimum: int) -> None:
    while field_list.entries:
        field_list.pop_entry()
    for data in rows:
        field_list.append_entry(data)
    while len(field_list.entries) < minimum:
        field_list.append_entry()


def fill_criteria(form: Any, criteria: dict[str, Any]) -> None:
    items = criteria.get("items") or []
    _fill(
        form.criteria,
        [
            {
                "name": i.get("name", ""),
                "category": i.get("category", "technical"),
                "weight": i.get("weight"),
                "description": i.get("description", ""),
            }
            for i in items
        ],
        1,
    )
    form.outlier_percent.data = criteria.get("outlier_percent")
    form.drop_extremes.data = bool(criteria.get("drop_extremes", False))
    rows = []
    for a in criteria.get("adjustments") or []:
        amount = a.get("kind") == "amount"
        low, high = a.get("min", 0), a.get("max", 0)
        rows.append(
            {
                "name": a.get("name", ""),
                "kind": a.get("kind", "percent"),
                "low": _yuan_text(low) if amount else str(low),
                "high": _yuan_text(high) if amount else str(high),
                "description": a.get("description", ""),
            }
        )
    _fill(form.adjustments, rows, 1)


def fill_bid_form(form: Any, schema: dict[str, Any]) -> None:
    form.bid_form_title.data = schema.get("title") or ""
    required = set(schema.get("required") or [])
    rows = []
    for key, raw in (schema.get("properties") or {}).items():
        prop = raw if isinstance(raw, dict) else {}
        title = str(prop.get("title") or "")
        row: dict[str, Any] = {"key": key, "label": title, "required": key in required, "low": "", "high": ""}
        if terms.is_money_field(key, prop):
            row.update(type="money", label=terms.money_label(title) if title else "")
            row.update({k: parse_yuan_text(prop.get(s)) for k, s in (("low", "minimum"), ("high", "maximum"))})
        elif "enum" in prop:
            row.update(type="choice", choices=", ".join(str(v) for v in prop["enum"]))
        elif prop.get("type") == "integer":
            row.update({k: _text_of(prop.get(s)) for k, s in (("low", "minimum"), ("high", "maximum"))}, type="integer")
        elif prop.get("type") == "boolean":
            row["type"] = "boolean"
        else:
            row.update({k: _text_of(prop.get(s)) for k, s in (("low", "minLength"), ("high", "maxLength"))})
            row["type"] = "text"
        rows.append(row)
    _fill(form.bid_fields, rows, 1)


def parse_yuan_text(fen: Any) -> str:
    """A bound in 分 as the 元 text of the row ('' when there is none, or for the usual minimum of 0)."""
    return _yuan_text(fen) if isinstance(fen, int) and not isinstance(fen, bool) and fen != 0 else ""


def _text_of(value: Any) -> str:
    return "" if value is None else str(value)


# --- row actions and errors ---------------------------------------------------------------------------------


def row_action(form: Any) -> bool:
    """An "add a row" or a row's "remove" button was pressed: change the rows (True), the page shows them again."""
    for rows, add in (
        (form.criteria, form.add_criterion),
        (form.adjustments, form.add_adjustment),
        (form.bid_fields, form.add_field),
    ):
        for i, entry in enumerate(rows.entries):
            if entry.form.remove.data:
                del rows.entries[i]
                if not rows.entries:
                    rows.append_entry()
                return True
        if add.data:
            if rows.max_entries is None or len(rows.entries) < rows.max_entries:
                rows.append_entry()
            return True
    return False


_ITEM_PATH = re.compile(r"items/(\d+)/(name|category|weight|description)\b")
_FIELD_PATH = re.compile(r"\$\.([A-Za-z0-9_]+)")


def errors_onto_rows(form: Any, errors: Any, used: list[int]) -> None:
    """Messages of the criteria and bid form that name an item or a field are shown on its row as well."""
    for message in list(errors.get("criteria", [])):
        for index, attr in _ITEM_PATH.findall(message):
            if int(index) < len(used):
                row = form.criteria.entries[used[int(index)]].form
                target = row[attr]
                errors.setdefault(target.name, []).append(message)
    by_key = {(e.form.key.data or "").strip(): e.form for e in form.bid_fields.entries}
    for message in list(errors.get("bid_fields", [])):
        for key in _FIELD_PATH.findall(message):
            if key in by_key:
                errors.setdefault(by_key[key].key.name, []).append(message)
