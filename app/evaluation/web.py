"""The evaluation's blueprints and what the sub-packages' views share.

The code is grouped by concern (pool/, committee/, room/, clarifications/, report/, each with its services, API,
forms and views); the endpoints are named by audience, as the URLs are:

- `expert_pages` ("evaluation.*", /evaluation/...): the experts' and the bidders' pages, with static/room.js;
- `agency_pages` ("evaluation_agency.*"): the agency's hub, committee, draw and seats pages, and the pool
  maintainers' pages under /admin/;
- `award_pages` ("evaluation_award.*"): the agency's pages from the rooms to the award, the bidder's objections;
- `committee_api` ("evaluation-api", /api/v1): the pool's and the committees' JSON API (pool/api.py and
  committee/api.py); the room, report and clarification APIs have a blueprint of their own.

Every sub-package's views module is imported before `init_app` registers the blueprints (app/evaluation/__init__).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, redirect, url_for
from flask_smorest import Blueprint as ApiBlueprint
from wtforms.fields.choices import SelectChoice

from app.accounts.models import User
from app.core.pages import me
from app.evaluation.committee import services as services_committee
from app.tendering.models import Tender
from app.tendering.services_tenders import get_tender

expert_pages = Blueprint(
    "evaluation",
    __name__,
    url_prefix="/evaluation",
    template_folder="templates",
    static_folder="static",
)
agency_pages = Blueprint("evaluation_agency", __name__, template_folder="templates")
award_pages = Blueprint("evaluation_award", __name__, template_folder="templates")

committee_api = ApiBlueprint(
    "evaluation-api",
    __name__,
    url_prefix="/api/v1",
    description="Expert pool, evaluation committees, the committed random draw, no-conflict declarations.",
)


def member_tender(tender_id: int) -> Tender:
    """A tender as the caller may see it (a committee member's pages; membership is checked by the services)."""
    return get_tender(tender_id, me())


def managed_tender(tender_id: int) -> Tender:
    """A tender of the caller's agency; anybody else is refused (and the refusal logged)."""
    tender = get_tender(tender_id, me())
    services_committee.require_manager(me(), tender)
    return tender


def choices(pairs: Any) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def user_label(user: User) -> str:
    return f"{user.display_name}（{user.username}）"


def see_other(endpoint: str, tender_id: int, anchor: str | None = None) -> Any:
    """303 to one of the tender's pages (after a form post)."""
    return redirect(url_for(endpoint, tender_id=tender_id, _anchor=anchor), code=303)


def plain_text(value: str | None) -> str:
    """Browsers send CRLF line breaks from text areas; the texts are stored with LF."""
    return (value or "").replace("\r\n", "\n")


def init_api(app: Flask) -> None:
    from app.extensions import api

    del app
    api.register_blueprint(committee_api)


def init_app(app: Flask) -> None:
    app.register_blueprint(expert_pages)
    app.register_blueprint(award_pages)
    app.register_blueprint(agency_pages)
