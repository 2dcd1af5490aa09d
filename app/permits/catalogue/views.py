"""The public guide (办事指南): search the catalogue, read an item's every fact, download templates and samples.

Read-only and public; zh-CN first, English where the catalogue has English names. Limits read "N 个工作日",
money is in 元, a conditional material says in words when it is needed.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, Flask, Response, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import ValidationFailed
from app.core.problems import N_
from app.core.security import public
from app.core.storage import content_disposition, get_storage
from app.core.views import register_nav
from app.permits.catalogue import conditions, form_schema, schemas, services
from app.permits.catalogue.models import Channel, DayCount, Item, ItemKind, ItemMaterial

bp = Blueprint("permits", __name__, url_prefix="/permits", template_folder="templates")

PER_PAGE = 20

KIND_LABELS = {
    ItemKind.LICENCE: _l("Administrative licence"),
    ItemKind.NON_LICENCE: _l("Non-licence approval"),
    ItemKind.PUBLIC_SERVICE: _l("Public service"),
}
CHANNEL_LABELS = {
    Channel.ONLINE: _l("Online only"),
    Channel.DESK: _l("At the service desk only"),
    Channel.BOTH: _l("Online or at the service desk"),
}
DATATYPE_LABELS = {
    "string": _l("Short text"),
    "text": _l("Long text"),
    "number": _l("Number"),
    "datetime": _l("Date"),
    "singlevaluelist": _l("One choice"),
    "multivaluelist": _l("Several choices"),
}


def english() -> bool:
    return str(get_locale() or "zh_CN").startswith("en")


def localized(zh: str, en: str) -> str:
    """The English text on an English page when the catalogue has one, else the Chinese."""
    return en if english() and en else zh


def department_options() -> list[tuple[str, str, int]]:
    """(code, name in the page's language, item count) for the guide's department filter (language looked up once)."""
    en = english()
    return [(d.code, d.name_en if en and d.name_en else d.name, n) for d, n in services.list_departments()]


def limit_text(days: int, day_count: DayCount) -> str:
    if day_count is DayCount.WORKING:
        return str(_("%(n)s working days", n=days))
    return str(_("%(n)s calendar days", n=days))


def validity_text(months: int | None) -> str:
    if months is None:
        return str(_("No time limit"))
    if months % 12 == 0:
        return str(_("%(n)s years", n=months // 12))
    return str(_("%(n)s months", n=months))


def copies_text(material: ItemMaterial) -> str:
    parts = []
    if material.originals:
        parts.append(_("%(n)s original(s)", n=material.originals))
    if material.copies:
        parts.append(_("%(n)s copy(ies)", n=material.copies))
    return "，".join(parts) if parts else str(_("Electronic file"))


def condition_text(item: Item, material: ItemMaterial) -> str:
    if material.condition_tree is None:
        return ""
    return conditions.describe(material.condition_tree, item.form_schema)


@bp.get("/")
@public
def guide() -> Any:
    try:
        args = schemas.PermitItemListArgs(unknown=ma.EXCLUDE).load(request.args)
    except ma.ValidationError as exc:
        raise ValidationFailed(N_("The search parameters are not valid."), errors={"query": exc.messages}) from None
    page = args["page"]
    rows, total = services.search_items(
        q=args.get("q"), kind=args.get("kind"), department=args.get("department"), page=page, per_page=PER_PAGE
    )
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    filters = {k: args.get(k) or None for k in ("q", "kind", "department")}
    return render_template(
        "permits/guide.html",
        items=rows,
        total=total,
        q=args.get("q") or "",
        kind=args.get("kind") or "",
        department=args.get("department") or "",
        departments=department_options(),
        kinds=KIND_LABELS,
        previous_url=url_for("permits.guide", **filters, page=page - 1) if page > 1 else None,
        next_url=url_for("permits.guide", **filters, page=page + 1) if page < pages else None,
        page=page,
        pages=pages,
    )


@bp.get("/items/<string:code>")
@public
def item_page(code: str) -> Any:
    item = services.get_item(code)
    return render_template(
        "permits/item.html",
        item=item,
        attributes=form_schema.attributes(item.form_schema),
        condition_text=condition_text,
    )


@bp.get("/files/<string:sha256>")
@public
def catalogue_file(sha256: str) -> Any:
    """A template or sample file, by its SHA-256 (which the guide shows beside the link)."""
    row = services.get_file(sha256)
    headers = {
        "Content-Disposition": content_disposition(row.name),
        "ETag": f'"{row.sha256}"',
        "Content-Length": str(row.size),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "public, max-age=86400, immutable",
    }
    chunks = get_storage().get(row.bucket, row.key)
    return Response(stream_with_context(chunks), headers=headers, content_type="application/octet-stream")


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "permits_localized": localized,
        "permits_limit": limit_text,
        "permits_validity": validity_text,
        "permits_copies": copies_text,
        "permits_kind": lambda kind: KIND_LABELS[kind],
        "permits_channel": lambda channel: CHANNEL_LABELS[channel],
        "permits_datatype": lambda datatype: DATATYPE_LABELS.get(datatype, datatype),
    }


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("permits.guide", _l("Service guide"), "@public", order=10)
