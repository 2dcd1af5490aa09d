"""The chair draws up the evaluation report from the room page: a plain form post (no JavaScript needed).

The same service as POST /api/v1/tenders/<id>/evaluation/report (services_report.draw_up): only the chair of the
last room, once its result is aggregated, and only once; refusals are logged by the service and keep their error
page. The form's only field, how many candidates to recommend, is optional (EVALUATION_RECOMMENDED_CANDIDATES when
left empty); any other error comes back to the room as a message.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.db import db
from app.core.errors import field_error
from app.core.pages import attempt, me
from app.core.problems import N_
from app.core.security import authenticated
from app.evaluation import services_report, services_room
from app.evaluation.models import EvaluationReport
from app.tendering.models import Tender
from app.tendering.services_tenders import get_tender

bp = Blueprint("evaluation_chair_report", __name__, url_prefix="/evaluation")


@bp.post("/tenders/<int:tender_id>/report/draw-up")
@authenticated  # the chair of the last room: checked in services_report.draw_up (refusals logged)
def draw_up(tender_id: int) -> Any:
    tender = get_tender(tender_id, me())
    back = url_for("evaluation.room", tender_id=tender_id, stage=tender.stage_count, _anchor="chair")
    raw = (request.form.get("recommended") or "").strip()
    with attempt() as outcome:
        if raw and not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            # only the chair learns what is wrong with the form: anybody else is refused first (and logged)
            services_room.require_chair(me(), tender, services_report.final_room(tender), "draw-up-report")
            raise field_error(
                "recommended",
                N_("1 to %(limit)s candidates"),
                params={"limit": services_report.MAX_RECOMMENDED},
            )
        services_report.draw_up(actor=me(), tender=tender, recommended=int(raw) if raw else None)
    if outcome.failed:
        outcome.flash()
        return redirect(back, code=303)
    flash(_("The evaluation report is drawn up: every member now signs it."), "success")
    return redirect(url_for("evaluation.report", tender_id=tender_id), code=303)


def report_drawn_up(tender: Tender) -> bool:
    """Whether the tender's report is drawn up (Jinja global `evaluation_report_drawn_up`, for the room page)."""
    return db.session.scalar(select(EvaluationReport.id).where(EvaluationReport.tender_id == tender.id)) is not None


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(report_drawn_up, "evaluation_report_drawn_up")
