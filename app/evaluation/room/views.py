"""Pages of the evaluation room: the expert's room page and the agency's rooms.

- The expert's room page (/evaluation/tenders/<id>/rooms/<stage>, `evaluation` blueprint) is rendered here; while
  the member works, its script (static/room.js) saves drafts and submits through the JSON API (session cookie +
  X-CSRFToken header) and follows the room's live status through its server-sent events. The vote for the chair
  is a plain form post; an opened envelope's documents are shown in the page.
- The agency (evaluation.run) opens the rooms, appoints a chair, advances a room and reads its result
  (`evaluation_award` blueprint), over the same services as the JSON API (room/api.py).

Every write goes through `app.core.pages.attempt` (the request boundary commits).
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from app.core.errors import Conflict, NotFound
from app.core.pages import attempt, me
from app.core.problems import N_
from app.core.security import authenticated, requires
from app.core.storage import content_disposition
from app.evaluation.clarifications import services as services_clarifications
from app.evaluation.committee.services import get_committee, is_complete
from app.evaluation.models import Committee, RoomPhase
from app.evaluation.permissions import RUN
from app.evaluation.room import chair as services_chair
from app.evaluation.room import pages as services_pages
from app.evaluation.room import services as services_room
from app.evaluation.room import sheets as services_sheets
from app.evaluation.room.forms import AdvanceForm, AppointChairForm, OpenRoomForm
from app.evaluation.web import award_pages, expert_pages, managed_tender, member_tender, plain_text, see_other
from app.tendering import opening
from app.tendering.models import Tender, TenderStatus

BASE = "/agency/tenders/<int:tender_id>/evaluation"

# --- the room ------------------------------------------------------------------------------------------


@expert_pages.get("/tenders/<int:tender_id>/rooms/<int:stage>")
@authenticated  # seated declared members, the agency and overseers: checked in the services (refusals logged)
def room(tender_id: int, stage: int) -> Any:
    tender = member_tender(tender_id)
    if services_pages.pending_declaration(me(), tender):
        flash(_("Sign the no-conflict declaration before you see any bid."), "error")
        return redirect(url_for("evaluation.declaration", tender_id=tender_id), code=303)
    ctx = services_pages.room_page(me(), tender, stage)
    ctx["clarifications"] = services_clarifications.list_for_room(actor=me(), tender=tender, room=ctx["room"])
    return render_template("evaluation/room.html", tender=tender, stage=stage, **ctx)


@expert_pages.post("/tenders/<int:tender_id>/rooms/<int:stage>/chair-vote")
@authenticated  # seated declared members: checked in services_chair (refusals logged)
def vote_chair(tender_id: int, stage: int) -> Any:
    """The vote for the chair as a plain form post (the page works without JavaScript)."""
    tender = member_tender(tender_id)
    room_row = services_room.get_room(tender, stage)
    seat = request.form.get("seat", "")
    with attempt() as outcome:  # refusals (403/404) keep their error page, logged by the error handler
        if not seat.isdigit() or not 1 <= int(seat) <= 25:
            services_room.require_member(me(), tender, room_row, "chair-vote")
            flash(_("Choose the seat you vote for."), "error")
        else:
            out = services_chair.cast_vote(actor=me(), tender=tender, room=room_row, seat=int(seat))
            if out["chair_seat"] is not None:
                flash(_("Your vote is counted: seat %(seat)s is elected chair.", seat=out["chair_seat"]), "success")
            else:
                flash(_("Your vote is counted."), "success")
    outcome.flash()
    return redirect(url_for("evaluation.room", tender_id=tender_id, stage=stage) + "#chair-election", code=303)


# The chair's two steps as plain form posts (the page works without JavaScript); the same services as the API.
CHAIR_STEPS = {
    "close-review": (services_room.close_review, N_("The review is closed: the scoring sheets are open.")),
    "aggregate": (services_sheets.aggregate, N_("The scores are aggregated: the ranking is in the room's result.")),
}


@expert_pages.post("/tenders/<int:tender_id>/rooms/<int:stage>/chair/<step>")
@authenticated  # the room's chair: checked in the services (refusals logged)
def chair_step(tender_id: int, stage: int, step: str) -> Any:
    if step not in CHAIR_STEPS:
        raise NotFound(N_("No such step of the chair."))
    tender = member_tender(tender_id)
    room_row = services_room.get_room(tender, stage)
    action, done = CHAIR_STEPS[step]
    with attempt() as outcome:  # refusals (403/404) keep their error page, logged by the error handler
        action(actor=me(), tender=tender, room=room_row)
    if not outcome.failed:
        flash(_(done), "success")
    outcome.flash()
    return redirect(url_for("evaluation.room", tender_id=tender_id, stage=stage) + "#chair", code=303)


@expert_pages.get("/tenders/<int:tender_id>/rooms/<int:stage>/bids/<bid_id>/envelopes/<name>/files/<path:filename>")
@authenticated  # members only (service); the access is an evidence-log entry like a download
def view_file(tender_id: int, stage: int, bid_id: str, name: str, filename: str) -> Any:
    """One attached document of an opened envelope, shown in the page when the browser can (PDF, text, images)."""
    tender = member_tender(tender_id)
    room_row = services_room.get_room(tender, stage)
    _env, fh = services_room.open_envelope_file(actor=me(), tender=tender, room=room_row, bid_id=bid_id, envelope=name)
    found = services_pages.envelope_member(fh, filename)
    if found is None:
        raise NotFound(N_("No such file in this envelope."))
    size, chunks = found
    kind = services_pages.inline_type(filename)
    short = filename.rsplit("/", 1)[-1]
    disposition = content_disposition(short)
    headers = {
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
        # shown in the room's document viewer (a frame of the room page): framed by the platform's own pages only
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; "
        "frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "private, no-store",
        "Content-Disposition": disposition.replace("attachment", "inline", 1) if kind else disposition,
    }
    return Response(chunks, headers=headers, content_type=kind or "application/octet-stream")


def _committee(tender: Tender) -> Committee | None:
    try:
        return get_committee(tender)
    except NotFound:
        return None


def _seat_choices(committee: Committee | None) -> list[SelectChoice]:
    if committee is None:
        return []
    return [SelectChoice(str(m.seat), _("Seat %(seat)s", seat=m.seat)) for m in services_room.seated_members(committee)]


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


@award_pages.get(f"{BASE}/rooms")
@requires(RUN)
def rooms(tender_id: int) -> Any:
    return _rooms_page(managed_tender(tender_id))


@award_pages.post(f"{BASE}/rooms/<int:stage>/open")
@requires(RUN)
def open_room(tender_id: int, stage: int) -> Any:
    tender = managed_tender(tender_id)
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
    return see_other("evaluation_award.rooms", tender_id, f"stage-{stage}")


@award_pages.post(f"{BASE}/rooms/<int:stage>/chair")
@requires(RUN)
def appoint_chair(tender_id: int, stage: int) -> Any:
    tender = managed_tender(tender_id)
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
    return see_other("evaluation_award.rooms", tender_id, f"stage-{stage}")


@award_pages.post(f"{BASE}/rooms/<int:stage>/advance")
@requires(RUN)
def advance(tender_id: int, stage: int) -> Any:
    """As POST …/rooms/<stage>/advance of the API: the bids failed here are eliminated, the next stage opens."""
    tender = managed_tender(tender_id)
    services_room.get_room(tender, stage)
    form = AdvanceForm(prefix=f"a{stage}")
    if not form.validate_on_submit():
        return _rooms_page(tender, 400, **{f"advance_{stage}": form})
    with attempt(form) as outcome:
        if tender.current_stage != stage:
            raise Conflict(N_("The opening is not at this stage."))
        failed = services_room.failed_bids(tender, stage)
        reason = plain_text(form.reason.data).strip() or "; ".join(f"bid {b.public_id}: {why}" for b, why in failed)
        opening.advance_stage(actor=me(), tender=tender, eliminated=[b.id for b, _ in failed], reason=reason[:2000])
    if outcome.failed:
        return _rooms_page(tender, outcome.status, **{f"advance_{stage}": form, f"errors_{stage}": outcome.errors})
    flash(_("The opening moved on to stage %(stage)s.", stage=tender.current_stage), "success")
    return see_other("evaluation_award.rooms", tender_id)


@award_pages.get(f"{BASE}/rooms/<int:stage>/result")
@requires(RUN)
def result(tender_id: int, stage: int) -> Any:
    tender = managed_tender(tender_id)
    room = services_room.get_room(tender, stage)
    data = None if room.result is None else services_sheets.get_result(actor=me(), tender=tender, room=room)
    return render_template("evaluation/agency_result.html", tender=tender, room=room, stage=stage, result=data)
