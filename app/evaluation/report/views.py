"""Pages of the evaluation report and what follows it (评标报告 → 公示 → 质疑 → 中标).

- A seated member reads the report and signs it (/evaluation/tenders/<id>/report, `evaluation` blueprint; the
  signature re-authenticates).
- The agency (evaluation.run) reads the report and its PDF, publishes the candidates, answers objections and
  issues the award; a bidder of the tender files objections (`evaluation_award` blueprint), over the same
  services as the JSON API (report/api.py).

`award_steps(tender)` (Jinja global `evaluation_award_steps`) sums the steps from the rooms to the award up for
the evaluation hub's partial evaluation/_hub_award.html: each step's state and the page where its next action is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask import Flask, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.core.db import db
from app.core.errors import field_error
from app.core.pages import Errors, attempt, me
from app.core.problems import N_
from app.core.security import authenticated, requires
from app.core.storage import content_disposition
from app.core.time import now_utc
from app.evaluation.models import Award, EvaluationReport, Objection, Room
from app.evaluation.permissions import RUN
from app.evaluation.report import api as report_api
from app.evaluation.report import services as services_report
from app.evaluation.report.forms import AnswerForm, AwardForm, ObjectionForm, PublishForm, ReassignForm
from app.evaluation.report.pdf import render_report_pdf
from app.evaluation.room import pages as services_pages
from app.evaluation.room import services as services_room
from app.evaluation.web import award_pages, expert_pages, managed_tender, member_tender, plain_text, see_other
from app.tendering.common import log_refusal
from app.tendering.models import Tender
from app.tendering.permissions import BID
from app.tendering.services_tenders import get_tender

MAX_DETAIL = 5000
BASE = "/agency/tenders/<int:tender_id>/evaluation"

# --- the report: the members' page and signature -----------------------------------------------------


@expert_pages.get("/tenders/<int:tender_id>/report", endpoint="report")
@authenticated  # the committee, the agency and overseers: checked in the service
def expert_report(tender_id: int) -> Any:
    tender = member_tender(tender_id)
    view = services_report.report_view(me(), tender)
    mine = services_pages.own_signature_state(me(), tender)
    return render_template("evaluation/report.html", tender=tender, view=view, **mine)


# --- the chair draws the report up from the room page: a plain form post, no script needed ----------


@expert_pages.post("/tenders/<int:tender_id>/report/draw-up", endpoint="draw_up_report")
@authenticated  # the chair of the last room: checked in services_report.draw_up (refusals logged)
def draw_up_report(tender_id: int) -> Any:
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


@expert_pages.post("/tenders/<int:tender_id>/report/sign")
@authenticated  # a seated member, re-authenticated in the service
def sign_report(tender_id: int) -> Any:
    tender = member_tender(tender_id)
    password = request.form.get("password") or None
    totp = (request.form.get("totp") or "").strip() or None
    try:
        with attempt() as outcome:
            services_report.sign(
                actor=me(),
                tender=tender,
                report_sha256=(request.form.get("report_sha256") or "").strip(),
                password=password,
                totp=totp,
                dissent=(request.form.get("dissent") or "").strip()[:MAX_DETAIL] or None,
            )
    except services_report.ReauthenticationFailed as exc:
        log_refusal(exc)  # the wrong credential stays in the evidence log (and counts toward the limit)
        flash(_("Not signed: the password or code is wrong."), "error")
        return redirect(url_for("evaluation.report", tender_id=tender_id), code=303)
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("evaluation.report", tender_id=tender_id), code=303)
    flash(_("You signed the evaluation report."), "success")
    return redirect(url_for("evaluation.report", tender_id=tender_id), code=303)


def _report(tender: Tender) -> EvaluationReport | None:
    found: EvaluationReport | None = db.session.scalar(
        select(EvaluationReport).where(EvaluationReport.tender_id == tender.id)
    )
    return found


def _award(tender: Tender) -> Award | None:
    found: Award | None = db.session.scalar(select(Award).where(Award.tender_id == tender.id))
    return found


def _schema_errors(schema: ma.Schema, data: dict[str, Any], errors: Errors, form: Any) -> dict[str, Any] | None:
    """Validate as the API does; the messages go on the form's fields."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ma.ValidationError as exc:
        errors.from_schema(exc, form)
        return None
    return loaded


# --- the report: the agency's pages -----------------------------------------------------------------


def _signatures(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Each seat with its signature (when it signed, any dissent) and, once published, its member's name."""
    signed = {s["payload"]["seat"]: s["payload"] for s in view["signatures"]}
    rows = []
    for m in view["report"]["committee"]["members"]:
        sig = signed.get(m["seat"])
        rows.append(
            {
                "seat": m["seat"],
                "chair": m.get("chair", False),
                "name": m.get("name"),
                "signed_at": sig["signed_at"] if sig else None,
                "dissent": sig.get("dissent") if sig else None,
            }
        )
    return rows


@award_pages.get(f"{BASE}/report")
@requires(RUN)
def report(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    view = services_report.report_view(me(), tender) if _report(tender) is not None else None
    rooms = services_pages.tender_rooms(tender)
    last = rooms[-1] if rooms else None
    return render_template(
        "evaluation/agency_report.html",
        tender=tender,
        view=view,
        signatures=_signatures(view) if view else [],
        aggregated=last is not None and last.stage >= tender.stage_count and last.result is not None,
    )


@award_pages.get(f"{BASE}/report.pdf")
@requires(RUN)
def report_pdf(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    pdf = render_report_pdf(services_report.report_view(me(), tender))
    filename = f"{tender.reference or tender.id}-evaluation-report.pdf"
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": content_disposition(filename)})


# --- publicity and objections ------------------------------------------------------------------------


def _publicity_page(
    tender: Tender, status: int = 200, publish_form: Any = None, errors: Errors | None = None, answers: Any = None
) -> Any:
    report_row = _report(tender)
    view = services_report.report_view(me(), tender) if report_row is not None else None
    objections = [services_report.objection_view(o) for o in services_report.list_objections(me(), tender)]
    answers = dict(answers or {})
    for o in objections:
        if o["status"] == "open" and o["id"] not in answers:
            answers[o["id"]] = (AnswerForm(formdata=None, prefix=f"o{o['id']}"), None)
    return render_template(
        "evaluation/agency_publicity.html",
        tender=tender,
        view=view,
        in_publicity=report_row is not None and services_report.in_publicity(report_row),
        objections=objections,
        open_count=sum(1 for o in objections if o["status"] == "open"),
        publish_form=publish_form or PublishForm(formdata=None),
        errors=errors,
        answers=answers,
        period_days=services_report.publicity_period().total_seconds() / 86400,
    ), status


@award_pages.get(f"{BASE}/publicity")
@requires(RUN)
def publicity(tender_id: int) -> Any:
    return _publicity_page(managed_tender(tender_id))


@award_pages.post(f"{BASE}/publicity")
@requires(RUN)
def publish(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = PublishForm()
    errors = Errors()
    if not form.validate_on_submit():
        return _publicity_page(tender, 400, form, errors)
    args = _schema_errors(report_api.EvaluationPublishArgs(), {"days": form.days.data}, errors, form)
    if args is None:
        return _publicity_page(tender, 422, form, errors)
    with attempt(form) as outcome:
        services_report.publish(actor=me(), tender=tender, days=args["days"])
    if outcome.failed:
        return _publicity_page(tender, outcome.status, form, outcome.errors)
    flash(_("The candidates are published; the publicity period has started."), "success")
    return see_other("evaluation_award.publicity", tender_id)


@award_pages.post(f"{BASE}/objections/<int:objection_id>/answer")
@requires(RUN)
def answer_objection(tender_id: int, objection_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = AnswerForm(prefix=f"o{objection_id}")
    errors = Errors()
    if not form.validate_on_submit():
        return _publicity_page(tender, 400, answers={objection_id: (form, errors)})
    args = _schema_errors(report_api.EvaluationAnswerArgs(), {"answer": plain_text(form.answer.data)}, errors, form)
    if args is None:
        return _publicity_page(tender, 422, answers={objection_id: (form, errors)})
    with attempt(form) as outcome:
        services_report.answer_objection(actor=me(), tender=tender, objection_id=objection_id, answer=args["answer"])
    if outcome.failed:
        return _publicity_page(tender, outcome.status, answers={objection_id: (form, outcome.errors)})
    flash(_("The objection is answered."), "success")
    return see_other("evaluation_award.publicity", tender_id, "objections")


# --- award -------------------------------------------------------------------------------------------


def _award_page(
    tender: Tender, status: int = 200, award_form: Any = None, reassign_form: Any = None, errors: Errors | None = None
) -> Any:
    report_row = _report(tender)
    award_row = _award(tender)
    view = services_report.award_view(me(), tender) if award_row is not None else None
    recommended = list(report_row.document["recommended"]) if report_row is not None else []
    payload = view["document"]["payload"] if view else None
    gone = {d["bid_id"] for d in (payload or {}).get("declined", [])}
    if payload:
        gone.add(payload["winner"]["bid_id"])
    upcoming = next((c for c in recommended if c["bid_id"] not in gone), None) if payload else None
    now = now_utc()
    return render_template(
        "evaluation/agency_award.html",
        tender=tender,
        report=report_row,
        recommended=recommended,
        view=view,
        payload=payload,
        next_candidate=upcoming,
        window_over=report_row is not None
        and report_row.publicity_ends_at is not None
        and now >= report_row.publicity_ends_at,
        open_objections=services_report.open_objections(tender),
        award_form=award_form or AwardForm(formdata=None),
        reassign_form=reassign_form or ReassignForm(formdata=None),
        errors=errors,
    ), status


@award_pages.get(f"{BASE}/award")
@requires(RUN)
def award(tender_id: int) -> Any:
    return _award_page(managed_tender(tender_id))


@award_pages.post(f"{BASE}/award")
@requires(RUN)
def issue_award(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = AwardForm()
    if not form.validate_on_submit():
        return _award_page(tender, 400, award_form=form)
    with attempt(form) as outcome:
        services_report.issue_award(actor=me(), tender=tender)
    if outcome.failed:
        return _award_page(tender, outcome.status, award_form=form, errors=outcome.errors)
    flash(_("The award notice is issued; the other bidders received their result notices."), "success")
    return see_other("evaluation_award.award", tender_id)


@award_pages.post(f"{BASE}/award/reassign")
@requires(RUN)
def reassign_award(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = ReassignForm()
    errors = Errors()
    if not form.validate_on_submit():
        return _award_page(tender, 400, reassign_form=form)
    args = _schema_errors(report_api.EvaluationReassignArgs(), {"reason": plain_text(form.reason.data)}, errors, form)
    if args is None:
        return _award_page(tender, 422, reassign_form=form, errors=errors)
    with attempt(form) as outcome:
        services_report.reassign_award(actor=me(), tender=tender, reason=args["reason"])
    if outcome.failed:
        return _award_page(tender, outcome.status, reassign_form=form, errors=outcome.errors)
    flash(_("The award went to the next recommended candidate."), "success")
    return see_other("evaluation_award.award", tender_id)


# --- the bidder's objections -------------------------------------------------------------------------


def _bidder_page(tender: Tender, status: int = 200, form: Any = None, errors: Errors | None = None) -> Any:
    mine = [services_report.objection_view(o) for o in services_report.list_objections(me(), tender)]
    report_row = _report(tender)
    return render_template(
        "evaluation/bidder_objections.html",
        tender=tender,
        objections=mine,
        report=report_row,
        in_publicity=report_row is not None and services_report.in_publicity(report_row),
        form=form or ObjectionForm(formdata=None),
        errors=errors,
    ), status


@award_pages.get("/tenders/<int:tender_id>/objections")
@requires(BID)  # a bidder of this tender: checked in the service (refusals logged)
def bidder_objections(tender_id: int) -> Any:
    return _bidder_page(get_tender(tender_id, me()))


@award_pages.post("/tenders/<int:tender_id>/objections")
@requires(BID)
def file_objection(tender_id: int) -> Any:
    tender = get_tender(tender_id, me())
    form = ObjectionForm()
    errors = Errors()
    if not form.validate_on_submit():
        services_report.list_objections(me(), tender)  # outsiders are refused, not told what is missing
        return _bidder_page(tender, 400, form)
    args = _schema_errors(report_api.EvaluationObjectionArgs(), {"text": plain_text(form.text.data)}, errors, form)
    if args is None:
        return _bidder_page(tender, 422, form, errors)
    with attempt(form) as outcome:
        services_report.file_objection(actor=me(), tender=tender, text=args["text"])
    if outcome.failed:
        return _bidder_page(tender, outcome.status, form, outcome.errors)
    flash(_("Your objection is filed; the agency answers it before the process goes on."), "success")
    return see_other("evaluation_award.bidder_objections", tender_id)


# --- the hub's summary -------------------------------------------------------------------------------


@dataclass
class Step:
    key: str
    title: str
    label: str  # the state, as a tag
    colour: str
    href: str | None = None  # the page of the next action
    action: str | None = None


def award_steps(tender: Tender) -> list[Step]:
    """The steps after the seated committee, each with its state and where its next action is (reads only)."""
    tid = tender.id
    rooms_url = url_for("evaluation_award.rooms", tender_id=tid)
    report_url = url_for("evaluation_award.report", tender_id=tid)
    publicity_url = url_for("evaluation_award.publicity", tender_id=tid)
    award_url = url_for("evaluation_award.award", tender_id=tid)
    rooms = services_pages.tender_rooms(tender)
    last: Room | None = rooms[-1] if rooms else None
    report_row = _report(tender)
    award_row = _award(tender)
    steps: list[Step] = []

    if last is None:
        steps.append(Step("rooms", _("Evaluation rooms"), _("Not opened"), "grey", rooms_url, _("Open the room")))
    elif last.stage >= tender.stage_count and last.result is not None:
        steps.append(Step("rooms", _("Evaluation rooms"), _("Finished"), "green", rooms_url, _("See the result")))
    else:
        label = _("Stage %(stage)s under way", stage=last.stage)
        steps.append(Step("rooms", _("Evaluation rooms"), label, "blue", rooms_url, _("See the rooms")))

    if last is None:
        steps.append(Step("chair", _("Chair"), _("Not yet"), "grey"))
    elif last.chair is not None:
        steps.append(Step("chair", _("Chair"), _("Seat %(seat)s", seat=last.chair.seat), "green"))
    else:
        steps.append(Step("chair", _("Chair"), _("Election open"), "yellow", rooms_url, _("Appoint the chair")))

    if report_row is None:
        steps.append(Step("report", _("Evaluation report"), _("Not drawn up"), "grey", report_url, _("See the report")))
    elif report_row.status.value == "signing":
        steps.append(
            Step("report", _("Evaluation report"), _("Being signed"), "yellow", report_url, _("See the signatures"))
        )
    else:
        steps.append(
            Step(
                "report", _("Evaluation report"), _("Signed by every member"), "green", report_url, _("See the report")
            )
        )

    if report_row is None or report_row.publicity_started_at is None:
        ready = report_row is not None and report_row.status.value == "final"
        steps.append(
            Step(
                "publicity",
                _("Publicity"),
                _("Not started"),
                "grey",
                publicity_url if ready else None,
                _("Start the publicity") if ready else None,
            )
        )
    elif services_report.in_publicity(report_row):
        steps.append(
            Step("publicity", _("Publicity"), _("In publicity"), "blue", publicity_url, _("See the publicity"))
        )
    else:
        steps.append(Step("publicity", _("Publicity"), _("Ended"), "green", publicity_url, _("See the publicity")))

    open_count = services_report.open_objections(tender)
    total = len(list(db.session.scalars(select(Objection.id).where(Objection.tender_id == tid))))
    if open_count:
        label = _("%(count)s open", count=open_count)
        steps.append(Step("objections", _("Objections"), label, "red", publicity_url + "#objections", _("Answer")))
    elif total:
        steps.append(
            Step(
                "objections",
                _("Objections"),
                _("All answered"),
                "green",
                publicity_url + "#objections",
                _("See the objections"),
            )
        )
    else:
        steps.append(Step("objections", _("Objections"), _("None"), "grey"))

    if award_row is not None:
        steps.append(Step("award", _("Award"), _("Awarded"), "green", award_url, _("See the award notice")))
    elif report_row is not None and report_row.publicity_ends_at is not None:
        due = now_utc() >= report_row.publicity_ends_at and not open_count
        steps.append(
            Step(
                "award",
                _("Award"),
                _("Ready to award") if due else _("Waiting for the publicity to end"),
                "turquoise" if due else "grey",
                award_url,
                _("Award") if due else _("See the award"),
            )
        )
    else:
        steps.append(Step("award", _("Award"), _("Not yet"), "grey"))
    return steps


def init_app(app: Flask) -> None:
    app.add_template_global(award_steps, "evaluation_award_steps")
    app.add_template_global(report_drawn_up, "evaluation_report_drawn_up")
