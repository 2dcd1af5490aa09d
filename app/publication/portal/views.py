"""The public tender portal (/portal): search, a tender's public page, Atom feeds. No account needed."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.security import public
from app.core.views import register_nav
from app.publication.portal import feeds, search, services
from app.tendering import terms

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")

SORT_LABELS = {
    "published_desc": _l("Newest first"),
    "published_asc": _l("Oldest first"),
    "deadline_asc": _l("Deadline, soonest first"),
    "deadline_desc": _l("Deadline, latest first"),
    "budget_desc": _l("Budget, highest first"),
    "budget_asc": _l("Budget, lowest first"),
}
STATUS_OPEN_LABEL = _l("Open for bids")


@bp.get("/")
@public
def search_page() -> Any:
    query = search.parse_query(request.args)
    result = search.search_tenders(query)
    return render_template(
        "portal/search.html",
        query=query,
        result=result,
        regions=search.list_regions(),
        categories=[(c, terms.CATEGORY_LABELS[c]) for c in search.CATEGORY_CHOICES],
        statuses=search.STATUS_CHOICES,
        sorts=SORT_LABELS,
        open_label=STATUS_OPEN_LABEL,
        labels=search.LABELS,
        per_page_choices=search.PER_PAGE_CHOICES,
        budget_public=search.is_budget_public,
        yuan=lambda fen: search.yuan_text(fen) if fen is not None else "",
    )


@bp.get("/tenders/<int:tender_id>")
@public
def tender(tender_id: int) -> Any:
    page = services.tender_page(services.get_public_tender(tender_id))
    return render_template("portal/tender.html", **page)


def _lang() -> str:
    return "zh-CN" if str(get_locale() or "zh_CN").startswith("zh") else "en"


def _feed(kind: str, title: str, entries: list[feeds.Entry]) -> Any:
    body = feeds.atom(
        feed_id=feeds.tag(f"feeds/{kind}"),
        title=title,
        self_url=url_for(f"portal.feed_{kind}", _external=True),
        page_url=url_for("portal.search_page", _external=True),
        entries=entries,
        lang=_lang(),
    )
    resp = Response(body, content_type="application/atom+xml; charset=utf-8")
    resp.set_etag(hashlib.sha256(body).hexdigest()[:32])
    resp.last_modified = feeds.last_updated(entries)
    resp.cache_control.public = True
    resp.cache_control.max_age = int(current_app.config.get("PORTAL_FEED_MAX_AGE", 60))
    resp.vary.add("Accept-Language")
    resp.vary.add("Cookie")  # the language chosen in the page is kept in the session
    return resp.make_conditional(request)


@bp.get("/feeds/tenders.atom")
@public
def feed_tenders() -> Any:
    return _feed("tenders", _("New tenders"), feeds.tender_entries())


@bp.get("/feeds/results.atom")
@public
def feed_results() -> Any:
    return _feed("results", _("Tender results"), feeds.result_entries())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("portal.search_page", _l("Tender portal"), "@public", order=19)
