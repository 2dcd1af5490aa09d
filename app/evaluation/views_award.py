"""The agency's pages from the seated committee to the award (评标室 → 评标报告 → 公示 → 质疑 → 中标), and the
bidder's objection page.

Thin views over the same services as the JSON API (room_api, report_api), with the same permissions: the
agency's steps need evaluation.run (the tender's own agency, checked in the services); a bidder of the tender
files objections. Every write goes through `app.core.pages.attempt` (the request boundary commits).

`award_steps(tender)` (Jinja global `evaluation_award_steps`) sums the steps up for the evaluation hub's partial
evaluation/_hub_award.html: each step's state and the page where its next action is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask import Blueprint, Flask, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, FloatField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.core.db import db
from app.core.errors import Conflict, NotFound
from app.core.pages import Errors, attempt, me
from app.core.problems import N_
from app.core.security import requires
from app.core.storage import content_disposition
from app.core.time import now_utc
from app.evaluation import report_api
from app.evaluation.committee.services import get_committee, is_complete, require_manager
from app.evaluation.models import Award, Committee, EvaluationReport, Objection, Room, RoomPhase
from app.evaluation.permissions import RUN
from app.evaluation.report import services as services_report
from app.evaluation.report.pdf import render_report_pdf
from app.evaluation.room import chair as services_chair
from app.evaluation.room import pages as services_pages
from app.evaluation.room import services as services_room
from app.evaluation.room import sheets as services_sheets
from app.tendering import opening
from app.tendering.models import Tender, TenderStatus
from app.tendering.permissions import BID
from app.tendering.services_tenders import get_tender

bp = Blueprint("evaluation_award", __name__, template_folder="templates")

BASE = "/agency/tenders/<int:tender_id>/evaluation"
MAX_TEXT = 10000
MAX_REASON = 2000


# --- forms -------------------------------------------------------------------------------------------


class OpenRoomForm(FlaskForm):
    chair_seat = SelectField(
        _l("Chair"),
        choices=[],
        description=_l("Appoint a seat as chair, or let the members elect theirs in the room."),
    )
    submit = SubmitField(_l("Open the room"))


class AppointChairForm(FlaskForm):
    seat = SelectField(_l("Seat to appoint as chair"), choices=[], validators=[InputRequired()])
    submit = SubmitField(_l("Appoint the chair"))


class AdvanceForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional)"),
        validators=[Optional(), Length(max=MAX_REASON)],
        description=_l("Left empty, the bids the committee failed are listed as the reason."),
    )
    submit = SubmitField(_l("Advance to the next stage"))


class PublishForm(FlaskForm):
    days = FloatField(
        _l("Publicity period in days (optional)"),
        validators=[Optional(), NumberRange(min=0, max=60)],
        description=_l("Never shorter than the configured period."),
    )
    submit = SubmitField(_l("Start the publicity"))


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    submit = SubmitField(_l("Send the answer"))


class AwardForm(FlaskForm):
    confirm = BooleanField(
        _l("I confirm the publicity has ended and the award goes to the first recommended candidate."),
        validators=[DataRequired(_l("Confirm before you award."))],
    )
    submit = SubmitField(_l("Issue the award notice"))


class ReassignForm(FlaskForm):
    reason = TextAreaField(
        _l("Why the winner is replaced"),
        validators=[DataRequired(), Length(max=MAX_REASON)],
        description=_l("The winner declined the award, or failed to sign the contract."),
    )
    confirm = BooleanField(
        _l("I confirm the award goes to the next recommended candidate."),
        validators=[DataRequired(_l("Confirm before you reassign."))],
    )
    submit = SubmitField(_l("Reassign the award"))


class ObjectionForm(FlaskForm):
    text = TextAreaField(_l("Your objection"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    submit = SubmitField(_l("File the objection"))


# --- helpers -----------------------------------------------------------------------------------------


def _managed(tender_id: int) -> Tender:
    """A tender of the caller's agency; anybody else is refused (and the refusal logged)."""
    tender = get_tender(tender_id, me())
    require_manager(me(), tender)
    return tender


def _committee(tender: Tender) -> Committee | None:
    try:
        return get_committee(tender)
    except NotFound:
        return None


def _report(tender: Tender) -> EvaluationReport | None:
    found: EvaluationReport | None = db.session.scalar(
        select(EvaluationReport).where(EvaluationReport.tender_id == tender.id)
    )
    return found


def _award(tender: Tender) -> Award | None:
    found: Award | None = db.session.scalar(select(Award).where(Award.tender_id == tender.id))
    return found


def _seat_choices(committee: Committee | None) -> list[SelectChoice]:
    if committee is None:
        return []
    return [SelectChoice(str(m.seat), _("Seat %(seat)s", seat=m.seat)) for m in services_room.seated_members(committee)]


def _back(endpoint: str, tender_id: int, anchor: str | None = None) -> Any:
    return redirect(url_for(endpoint, tender_id=tender_id, _anchor=anchor), code=303)


def _schema_errors(schema: ma.Schema, data: dict[str, Any], errors: Errors, form: Any) -> dict[str, Any] | None:
    """Validate as the API does; the messages go on the form's fields."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ma.ValidationError as exc:
        errors.from_schema(exc, form)
        return None
    return loaded


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n")


# --- rooms -------------------------------------------------------------------------------------------


def _rooms_page(tender: Tender, status: int = 200, **forms: Any) -> Any:
    committee = _committee(tender)
    rooms = {r.stage: r for r in services_pages.tender_rooms(tender)}
    seats = _seat_choices(committee)
    stages = []
    for stage in range(1, tender.stage_count + 1):
        room = rooms.get(stage)
        open_form = forms.get(f"open_{stage}") or OpenRoomForm(formdata=None, prefix=f"s{stage}")
        open_form.chair_seat.choices = [SelectChoice("", _("The members elect the chair")), *seats]
        chair_form = forms.get(f"chair_{stage}") or AppointChairForm(formdata=None, prefix=f"c{stage}")
        chair_form.seat.choices = seats
        advance_form = forms.get(f"advance_{stage}") or AdvanceForm(formdata=None, prefix=f"a{stage}")
        state = services_sheets.status_payload(room, "manager") if room is not None else None
        stages.append(
            {
                "stage": stage,
                "room": room,
                "state": state,
                "can_open": room is None and stage <= tender.current_stage and committee is not None,
                "election_open": room is not None and services_chair.is_open(room),
                "can_advance": room is not None
                and tender.status is TenderStatus.OPENING
                and stage == tender.current_stage
                and stage < tender.stage_count
                and room.phase is not RoomPhase.REVIEW,
                "open_form": open_form,
                "chair_form": chair_form,
                "advance_form": advance_form,
                "errors": forms.get(f"errors_{stage}"),
            }
        )
    return render_template(
        "evaluation/agency_rooms.html",
        tender=tender,
        committee=committee,
        complete=committee is not None and is_complete(committee),
        stages=stages,
    ), status


@bp.get(f"{BASE}/rooms")
@requires(RUN)
def rooms(tender_id: int) -> Any:
    return _rooms_page(_managed(tender_id))


@bp.post(f"{BASE}/rooms/<int:stage>/open")
@requires(RUN)
def open_room(tender_id: int, stage: int) -> Any:
    tender = _managed(tender_id)
    form = OpenRoomForm(prefix=f"s{stage}")
    form.chair_seat.choices = [SelectChoice("", ""), *_seat_choices(_committee(tender))]
    if not form.validate_on_submit():
        return _rooms_page(tender, 400, **{f"open_{stage}": form})
    seat = int(form.chair_seat.data) if form.chair_seat.data else None
    with attempt(form) as outcome:
        services_room.open_room(actor=me(), tender=tender, stage=stage, chair_seat=seat)
    if outcome.failed:
        return _rooms_page(tender, outcome.status, **{f"open_{stage}": form, f"errors_{stage}": outcome.errors})
    flash(_("The room of stage %(stage)s is open.", stage=stage), "success")
    return _back("evaluation_award.rooms", tender_id, f"stage-{stage}")


@bp.post(f"{BASE}/rooms/<int:stage>/chair")
@requires(RUN)
def appoint_chair(tender_id: int, stage: int) -> Any:
    tender = _managed(tender_id)
    room = services_room.get_room(tender, stage)
    form = AppointChairForm(prefix=f"c{stage}")
    form.seat.choices = _seat_choices(_committee(tender))
    if not form.validate_on_submit():
        return _rooms_page(tender, 400, **{f"chair_{stage}": form})
    with attempt(form) as outcome:
        services_chair.appoint_chair(actor=me(), tender=tender, room=room, seat=int(form.seat.data))
    if outcome.failed:
        return _rooms_page(tender, outcome.status, **{f"chair_{stage}": form, f"errors_{stage}": outcome.errors})
    flash(_("Seat %(seat)s is appointed chair.", seat=form.seat.data), "success")
    return _back("evaluation_award.rooms", tender_id, f"stage-{stage}")


@bp.post(f"{BASE}/rooms/<int:stage>/advance")
@requires(RUN)
def advance(tender_id: int, stage: int) -> Any:
    """As POST …/rooms/<stage>/advance of the API: the bids failed here are eliminated, the next stage opens."""
    tender = _managed(tender_id)
    services_room.get_room(tender, stage)
    form = AdvanceForm(prefix=f"a{stage}")
    if not form.validate_on_submit():
        return _rooms_page(tender, 400, **{f"advance_{stage}": form})
    with attempt(form) as outcome:
        if tender.current_stage != stage:
            raise Conflict(N_("The opening is not at this stage."))
        failed = services_room.failed_bids(tender, stage)
        reason = _text(form.reason.data).strip() or "; ".join(f"bid {b.public_id}: {why}" for b, why in failed)
        opening.advance_stage(actor=me(), tender=tender, eliminated=[b.id for b, _ in failed], reason=reason[:2000])
    if outcome.failed:
        return _rooms_page(tender, outcome.status, **{f"advance_{stage}": form, f"errors_{stage}": outcome.errors})
    flash(_("The opening moved on to stage %(stage)s.", stage=tender.current_stage), "success")
    return _back("evaluation_award.rooms", tender_id)


@bp.get(f"{BASE}/rooms/<int:stage>/result")
@requires(RUN)
def result(tender_id: int, stage: int) -> Any:
    tender = _managed(tender_id)
    room = services_room.get_room(tender, stage)
    data = None if room.result is None else services_sheets.get_result(actor=me(), tender=tender, room=room)
    return render_template("evaluation/agency_result.html", tender=tender, room=room, stage=stage, result=data)


# --- report ------------------------------------------------------------------------------------------


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


@bp.get(f"{BASE}/report")
@requires(RUN)
def report(tender_id: int) -> Any:
    tender = _managed(tender_id)
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


@bp.get(f"{BASE}/report.pdf")
@requires(RUN)
def report_pdf(tender_id: int) -> Any:
    tender = _managed(tender_id)
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


@bp.get(f"{BASE}/publicity")
@requires(RUN)
def publicity(tender_id: int) -> Any:
    return _publicity_page(_managed(tender_id))


@bp.post(f"{BASE}/publicity")
@requires(RUN)
def publish(tender_id: int) -> Any:
    tender = _managed(tender_id)
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
    return _back("evaluation_award.publicity", tender_id)


@bp.post(f"{BASE}/objections/<int:objection_id>/answer")
@requires(RUN)
def answer_objection(tender_id: int, objection_id: int) -> Any:
    tender = _managed(tender_id)
    form = AnswerForm(prefix=f"o{objection_id}")
    errors = Errors()
    if not form.validate_on_submit():
        return _publicity_page(tender, 400, answers={objection_id: (form, errors)})
    args = _schema_errors(report_api.EvaluationAnswerArgs(), {"answer": _text(form.answer.data)}, errors, form)
    if args is None:
        return _publicity_page(tender, 422, answers={objection_id: (form, errors)})
    with attempt(form) as outcome:
        services_report.answer_objection(actor=me(), tender=tender, objection_id=objection_id, answer=args["answer"])
    if outcome.failed:
        return _publicity_page(tender, outcome.status, answers={objection_id: (form, outcome.errors)})
    flash(_("The objection is answered."), "success")
    return _back("evaluation_award.publicity", tender_id, "objections")


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


@bp.get(f"{BASE}/award")
@requires(RUN)
def award(tender_id: int) -> Any:
    return _award_page(_managed(tender_id))


@bp.post(f"{BASE}/award")
@requires(RUN)
def issue_award(tender_id: int) -> Any:
    tender = _managed(tender_id)
    form = AwardForm()
    if not form.validate_on_submit():
        return _award_page(tender, 400, award_form=form)
    with attempt(form) as outcome:
        services_report.issue_award(actor=me(), tender=tender)
    if outcome.failed:
        return _award_page(tender, outcome.status, award_form=form, errors=outcome.errors)
    flash(_("The award notice is issued; the other bidders received their result notices."), "success")
    return _back("evaluation_award.award", tender_id)


@bp.post(f"{BASE}/award/reassign")
@requires(RUN)
def reassign_award(tender_id: int) -> Any:
    tender = _managed(tender_id)
    form = ReassignForm()
    errors = Errors()
    if not form.validate_on_submit():
        return _award_page(tender, 400, reassign_form=form)
    args = _schema_errors(report_api.EvaluationReassignArgs(), {"reason": _text(form.reason.data)}, errors, form)
    if args is None:
        return _award_page(tender, 422, reassign_form=form, errors=errors)
    with attempt(form) as outcome:
        services_report.reassign_award(actor=me(), tender=tender, reason=args["reason"])
    if outcome.failed:
        return _award_page(tender, outcome.status, reassign_form=form, errors=outcome.errors)
    flash(_("The award went to the next recommended candidate."), "success")
    return _back("evaluation_award.award", tender_id)


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


@bp.get("/tenders/<int:tender_id>/objections")
@requires(BID)  # a bidder of this tender: checked in the service (refusals logged)
def bidder_objections(tender_id: int) -> Any:
    return _bidder_page(get_tender(tender_id, me()))


@bp.post("/tenders/<int:tender_id>/objections")
@requires(BID)
def file_objection(tender_id: int) -> Any:
    tender = get_tender(tender_id, me())
    form = ObjectionForm()
    errors = Errors()
    if not form.validate_on_submit():
        services_report.list_objections(me(), tender)  # outsiders are refused, not told what is missing
        return _bidder_page(tender, 400, form)
    args = _schema_errors(report_api.EvaluationObjectionArgs(), {"text": _text(form.text.data)}, errors, form)
    if args is None:
        return _bidder_page(tender, 422, form, errors)
    with attempt(form) as outcome:
        services_report.file_objection(actor=me(), tender=tender, text=args["text"])
    if outcome.failed:
        return _bidder_page(tender, outcome.status, form, outcome.errors)
    flash(_("Your objection is filed; the agency answers it before the process goes on."), "success")
    return _back("evaluation_award.bidder_objections", tender_id)


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
        steps.append(Step("award", _("Award"), _("Issued"), "green", award_url, _("See the award notice")))
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
    app.register_blueprint(bp)
    app.add_template_global(award_steps, "evaluation_award_steps")
