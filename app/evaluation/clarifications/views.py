"""Pages of the clarifications (评标澄清): the chair asks from the room page, a bidder answers.

Routes on the `evaluation` blueprint; the services decide who may ask and answer (refusals logged).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.pages import attempt, me
from app.core.security import authenticated, requires
from app.core.views import register_nav
from app.evaluation.clarifications import services as services_clarifications
from app.evaluation.room import services as services_room
from app.evaluation.web import expert_pages, member_tender
from app.tendering.common import log_refusal
from app.tendering.permissions import BID

# --- clarifications (评标澄清) ----------------------------------------------------------------------------


@expert_pages.post("/tenders/<int:tender_id>/rooms/<int:stage>/clarifications")
@authenticated  # the chair of the room: checked in the service (refusals logged)
def request_clarification(tender_id: int, stage: int) -> Any:
    tender = member_tender(tender_id)
    room_row = services_room.get_room(tender, stage)
    back = url_for("evaluation.room", tender_id=tender_id, stage=stage, _anchor="clarifications")
    bid_id = request.form.get("bid_id") or ""  # the bid's public id
    try:
        raw_hours = (request.form.get("hours") or "").strip()
        hours = float(raw_hours) if raw_hours else None
    except ValueError:
        services_room.require_chair(me(), tender, room_row, "clarification-request")
        flash(_("Choose a bidder and a number of hours."), "error")
        return redirect(back, code=303)
    with attempt() as outcome:
        services_clarifications.issue(
            actor=me(),
            tender=tender,
            room=room_row,
            bid_id=bid_id,
            question=(request.form.get("question") or "")[: services_clarifications.MAX_QUESTION + 1],
            hours=hours,
        )
    if outcome.failed:
        outcome.flash()
        return redirect(back, code=303)
    flash(_("The clarification request was sent to the bidder."), "success")
    return redirect(back, code=303)


@expert_pages.get("/clarifications")
@requires(BID)  # a bidder's users: only the requests addressed to their organisation
def my_clarifications() -> Any:
    rows = services_clarifications.list_for_bidder(actor=me())
    return render_template(
        "evaluation/clarifications.html",
        open_rows=[r for r in rows if r["status"] == "open"],
        other_rows=[r for r in rows if r["status"] != "open"],
        max_answer=services_clarifications.MAX_ANSWER,
    )


@expert_pages.post("/clarifications/<int:clarification_id>/answer")
@requires(BID)  # the organisation the request is addressed to: checked in the service (refusals logged)
def answer_clarification(clarification_id: int) -> Any:
    back = url_for("evaluation.my_clarifications")
    upload = request.files.get("file")
    attached = None
    if upload is not None and upload.filename:
        attached = services_clarifications.AnswerFile(
            name=upload.filename,
            stream=upload.stream,
            length=upload.content_length or None,
            content_type=upload.mimetype or "application/octet-stream",
        )
    try:
        with attempt() as outcome:
            services_clarifications.answer(
                actor=me(),
                clarification_id=clarification_id,
                text=(request.form.get("text") or "")[: services_clarifications.MAX_ANSWER + 1],
                confirmed=request.form.get("confirm") == "1",
                file=attached,
            )
    except services_clarifications.ClarificationLate as exc:
        log_refusal(exc)  # the late attempt stays in the evidence log
        flash(_("The deadline for this clarification has passed: the answer was not received."), "error")
        return redirect(back, code=303)
    if outcome.failed:
        outcome.flash()
        return redirect(back, code=303)
    flash(_("Your clarification was received."), "success")
    return redirect(back, code=303)


def init_app(app: Flask) -> None:
    del app
    register_nav("evaluation.my_clarifications", _l("Clarification requests"), BID, order=31)
