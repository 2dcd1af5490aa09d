"""HTML side of the evaluation: the experts' pages (我的评标, the no-conflict declaration, the room, the report).

Thin views over the services. Answers to an invitation, the declaration and the report signature are plain
form posts (they work without JavaScript). The room page is rendered here; while the member works, its script
(static/room.js) saves drafts and submits through the JSON API (session cookie + X-CSRFToken header) and
follows the room's live status through its server-sent events.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.core.errors import NotFound
from app.core.pages import attempt, me
from app.core.problems import N_
from app.core.security import authenticated, requires
from app.core.storage import content_disposition
from app.core.views import register_nav
from app.evaluation.clarifications import services as services_clarifications
from app.evaluation.committee import services as services_committee
from app.evaluation.models import MemberStatus
from app.evaluation.report import services as services_report
from app.evaluation.room import chair as services_chair
from app.evaluation.room import pages as services_pages
from app.evaluation.room import services as services_room
from app.tendering.common import log_refusal
from app.tendering.models import Tender
from app.tendering.permissions import BID
from app.tendering.services_tenders import get_tender

bp = Blueprint(
    "evaluation",
    __name__,
    url_prefix="/evaluation",
    template_folder="templates",
    static_folder="static",
)

MAX_REASON = 2000
MAX_DETAIL = 5000


def _tender(tender_id: int) -> Tender:
    return get_tender(tender_id, me())


# --- my evaluations ------------------------------------------------------------------------------------


@bp.get("/")
@authenticated  # the page lists the caller's own memberships only
def my_evaluations() -> Any:
    return render_template("evaluation/my_evaluations.html", memberships=services_pages.memberships(me()))


@bp.post("/tenders/<int:tender_id>/confirm")
@authenticated  # membership is checked in the service (refusals logged)
def confirm(tender_id: int) -> Any:
    tender = _tender(tender_id)
    with attempt() as outcome:
        services_committee.respond(actor=me(), tender=tender, accept=True)
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("evaluation.my_evaluations"), code=303)
    flash(_("Seat confirmed. Sign the no-conflict declaration before the room opens to you."), "success")
    return redirect(url_for("evaluation.declaration", tender_id=tender_id), code=303)


@bp.post("/tenders/<int:tender_id>/decline")
@authenticated
def decline(tender_id: int) -> Any:
    tender = _tender(tender_id)
    reason = (request.form.get("reason") or "").strip()[:MAX_REASON]
    if not reason:
        services_pages.own_membership(me(), tender)  # outsiders are refused, not told what is missing
        flash(_("Give the reason for declining."), "error")
        return redirect(url_for("evaluation.my_evaluations"), code=303)
    with attempt() as outcome:
        services_committee.respond(actor=me(), tender=tender, accept=False, reason=reason)
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("evaluation.my_evaluations"), code=303)
    flash(_("You declined the seat; the next reserve is invited."), "success")
    return redirect(url_for("evaluation.my_evaluations"), code=303)


# --- the no-conflict declaration -----------------------------------------------------------------------


@bp.get("/tenders/<int:tender_id>/declaration")
@authenticated
def declaration(tender_id: int) -> Any:
    tender = _tender(tender_id)
    member = services_pages.seat_holder(me(), tender)
    return render_template(
        "evaluation/declaration.html",
        tender=tender,
        member=member,
        bidders=services_committee.bidders_for_declaration(tender),
        statement=services_committee.DECLARATION_STATEMENT,
        can_declare=member.status is MemberStatus.CONFIRMED and member.seat is not None and member.declared_at is None,
        rooms=services_pages.tender_rooms(tender) if member.has_declared else [],
    )


@bp.post("/tenders/<int:tender_id>/declaration")
@authenticated
def declare(tender_id: int) -> Any:
    tender = _tender(tender_id)
    choice = request.form.get("choice")
    detail = (request.form.get("detail") or "").strip()[:MAX_DETAIL]
    if choice not in ("no_conflict", "recuse") or (choice == "no_conflict" and request.form.get("agree") != "1"):
        services_pages.own_membership(me(), tender)
        flash(_("Tick the statement to sign it, or declare a conflict with its detail."), "error")
        return redirect(url_for("evaluation.declaration", tender_id=tender_id), code=303)
    with attempt() as outcome:
        member = services_committee.declare(
            actor=me(), tender=tender, no_conflict=choice == "no_conflict", detail=detail
        )
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("evaluation.declaration", tender_id=tender_id), code=303)
    if member.status is MemberStatus.RECUSED:
        flash(_("You withdrew from the committee for a conflict of interest."), "success")
        return redirect(url_for("evaluation.my_evaluations"), code=303)
    flash(_("Declaration signed. The room opens to you once the agency opens it."), "success")
    return redirect(url_for("evaluation.my_evaluations"), code=303)


# --- the room ------------------------------------------------------------------------------------------


@bp.get("/tenders/<int:tender_id>/rooms/<int:stage>")
@authenticated  # seated declared members, the agency and overseers: checked in the services (refusals logged)
def room(tender_id: int, stage: int) -> Any:
    tender = _tender(tender_id)
    if services_pages.pending_declaration(me(), tender):
        flash(_("Sign the no-conflict declaration before you see any bid."), "error")
        return redirect(url_for("evaluation.declaration", tender_id=tender_id), code=303)
    ctx = services_pages.room_page(me(), tender, stage)
    ctx["clarifications"] = services_clarifications.list_for_room(actor=me(), tender=tender, room=ctx["room"])
    return render_template("evaluation/room.html", tender=tender, stage=stage, **ctx)


@bp.post("/tenders/<int:tender_id>/rooms/<int:stage>/chair-vote")
@authenticated  # seated declared members: checked in services_chair (refusals logged)
def vote_chair(tender_id: int, stage: int) -> Any:
    """The vote for the chair as a plain form post (the page works without JavaScript)."""
    tender = _tender(tender_id)
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


@bp.get("/tenders/<int:tender_id>/rooms/<int:stage>/bids/<bid_id>/envelopes/<name>/files/<path:filename>")
@authenticated  # members only (service); the access is an evidence-log entry like a download
def view_file(tender_id: int, stage: int, bid_id: str, name: str, filename: str) -> Any:
    """One attached document of an opened envelope, shown in the page when the browser can (PDF, text, images)."""
    tender = _tender(tender_id)
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


# --- clarifications (评标澄清) ----------------------------------------------------------------------------


@bp.post("/tenders/<int:tender_id>/rooms/<int:stage>/clarifications")
@authenticated  # the chair of the room: checked in the service (refusals logged)
def request_clarification(tender_id: int, stage: int) -> Any:
    tender = _tender(tender_id)
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


@bp.get("/clarifications")
@requires(BID)  # a bidder's users: only the requests addressed to their organisation
def my_clarifications() -> Any:
    rows = services_clarifications.list_for_bidder(actor=me())
    return render_template(
        "evaluation/clarifications.html",
        open_rows=[r for r in rows if r["status"] == "open"],
        other_rows=[r for r in rows if r["status"] != "open"],
        max_answer=services_clarifications.MAX_ANSWER,
    )


@bp.post("/clarifications/<int:clarification_id>/answer")
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


# --- the report ----------------------------------------------------------------------------------------


@bp.get("/tenders/<int:tender_id>/report")
@authenticated  # the committee, the agency and overseers: checked in the service
def report(tender_id: int) -> Any:
    tender = _tender(tender_id)
    view = services_report.report_view(me(), tender)
    mine = services_pages.own_signature_state(me(), tender)
    return render_template("evaluation/report.html", tender=tender, view=view, **mine)


@bp.post("/tenders/<int:tender_id>/report/sign")
@authenticated  # a seated member, re-authenticated in the service
def sign_report(tender_id: int) -> Any:
    tender = _tender(tender_id)
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


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("evaluation.my_evaluations", _l("My evaluations"), "@authenticated", order=30)
    register_nav("evaluation.my_clarifications", _l("Clarification requests"), BID, order=31)
