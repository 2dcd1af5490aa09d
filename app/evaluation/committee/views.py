"""Pages of the committee: the agency's evaluation hub, committee, draw and seats; the experts' answers.

- The agency (evaluation.run) runs a tender's evaluation from its hub, /agency/tenders/<id>/evaluation: the
  committee's rules and buyer representatives, the committed-then-revealed draw, the seats' answers.
  What the agency sees of the committee is `visibility.committee_view` (no expert names before publication).
  These routes are on the `evaluation_agency` blueprint.
- An expert (我的评标, /evaluation/) confirms or declines an invitation and signs the no-conflict declaration,
  as plain form posts that work without JavaScript (the `evaluation` blueprint).

Thin views: forms are checked by WTForms and the API's schemas, the services decide; `attempt()` turns a
domain error into the page's messages, the request boundary commits.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select

from app.accounts.models import User
from app.core.db import db
from app.core.errors import NotFound
from app.core.pages import Errors, attempt, me
from app.core.security import authenticated, requires
from app.core.views import register_nav
from app.evaluation import schemas, visibility
from app.evaluation.committee import services as services_committee
from app.evaluation.committee.forms import AppointForm, CommitteeForm, ReleaseForm
from app.evaluation.models import Committee, MemberStatus
from app.evaluation.permissions import RUN
from app.evaluation.pool.forms import specialty_choices
from app.evaluation.pool.views import specialty_names
from app.evaluation.room import pages as services_pages
from app.evaluation.web import agency_pages, choices, expert_pages, managed_tender, member_tender, user_label
from app.tendering.models import Tender

MAX_REASON = 2000
MAX_DETAIL = 5000
RULE_FIELDS = ("outlier_percent", "drop_extremes", "drop_min_members", "precision", "price_benchmark")

# --- my evaluations ------------------------------------------------------------------------------------


@expert_pages.get("/")
@authenticated  # the page lists the caller's own memberships only
def my_evaluations() -> Any:
    return render_template("evaluation/my_evaluations.html", memberships=services_pages.memberships(me()))


@expert_pages.post("/tenders/<int:tender_id>/confirm")
@authenticated  # membership is checked in the service (refusals logged)
def confirm(tender_id: int) -> Any:
    tender = member_tender(tender_id)
    with attempt() as outcome:
        services_committee.respond(actor=me(), tender=tender, accept=True)
    if outcome.failed:
        outcome.flash()
        return redirect(url_for("evaluation.my_evaluations"), code=303)
    flash(_("Seat confirmed. Sign the no-conflict declaration before the room opens to you."), "success")
    return redirect(url_for("evaluation.declaration", tender_id=tender_id), code=303)


@expert_pages.post("/tenders/<int:tender_id>/decline")
@authenticated
def decline(tender_id: int) -> Any:
    tender = member_tender(tender_id)
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


@expert_pages.get("/tenders/<int:tender_id>/declaration")
@authenticated
def declaration(tender_id: int) -> Any:
    tender = member_tender(tender_id)
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


@expert_pages.post("/tenders/<int:tender_id>/declaration")
@authenticated
def declare(tender_id: int) -> Any:
    tender = member_tender(tender_id)
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


def _committee(tender: Tender) -> Committee | None:
    try:
        return services_committee.get_committee(tender)
    except NotFound:
        return None


def _view(tender: Tender) -> dict[str, Any] | None:
    try:
        return visibility.committee_view(me(), tender)
    except NotFound:
        return None


def _buyer_users(tender: Tender) -> list[User]:
    stmt = select(User).where(User.organisation_id == tender.buyer_id, User.active.is_(True)).order_by(User.id)
    return list(db.session.scalars(stmt))


def _errors_from_schema(errors: Errors, exc: ma.ValidationError, form: Any) -> None:
    errors.from_schema(exc, form)


def _int_list(values: Any) -> list[int]:
    return [int(v) for v in values or []]


# --- the hub -----------------------------------------------------------------------------------------


def _step(key: str, title: str, state: str, colour: str, link: tuple[str, str] | None = None) -> dict[str, Any]:
    action, url = link or (None, None)
    return {"id": key, "title": title, "state": state, "colour": colour, "action": action, "url": url}


def _steps(tender: Tender, view: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The evaluation's first steps in order: each with its state and the next action."""
    committee_url = url_for("evaluation_agency.committee", tender_id=tender.id)
    draw_url = url_for("evaluation_agency.draw_page", tender_id=tender.id)
    seats_url = url_for("evaluation_agency.confirmations", tender_id=tender.id)
    later = _("Cannot start yet")
    if view is None:
        return [
            _step(
                "committee", _("Committee rules"), _("Not started"), "grey", (_("Define the committee"), committee_url)
            ),
            _step("draw", _("Draw of the experts"), later, "grey"),
            _step("confirmations", _("Confirmations and declarations"), later, "grey"),
        ]
    draws = view["draws"]
    held = [s for s in view["seats"] if s["kind"] == "expert" and s["status"] in ("invited", "confirmed")]
    vacant = view["expert_seats"] - len(held)
    see = _("See the committee") if draws else _("Change the committee")
    steps = [_step("committee", _("Committee rules"), _("Defined"), "green", (see, committee_url))]
    last = draws[-1] if draws else None
    title = _("Draw of the experts")
    if last is None:
        steps.append(_step("draw", title, _("Not started"), "grey", (_("Commit the draw"), draw_url)))
    elif last["status"] == "committed":
        steps.append(
            _step("draw", title, _("Seed committed, not yet drawn"), "yellow", (_("Perform the draw"), draw_url))
        )
    elif vacant > 0:
        state = _("%(count)s expert seat(s) vacant", count=vacant)
        steps.append(_step("draw", title, state, "orange", (_("Commit another round"), draw_url)))
    else:
        steps.append(_step("draw", title, _("Drawn"), "green", (_("See the draw record"), draw_url)))
    title = _("Confirmations and declarations")
    declared = sum(1 for s in view["seats"] if s["declared"] and s["status"] == "confirmed")
    if view["complete"]:
        state, colour = _("Every member confirmed and declared"), "green"
    elif not draws:
        state, colour = later, "grey"
    else:
        state, colour = _("%(declared)s of %(size)s declared", declared=declared, size=view["size"]), "yellow"
    steps.append(_step("confirmations", title, state, colour, (_("See the seats"), seats_url)))
    # Rooms, the chair and everything after them: evaluation/_hub_award.html.
    return steps


@agency_pages.get("/agency/tenders/<int:tender_id>/evaluation")
@requires(RUN)
def hub(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    view = _view(tender)
    return render_template(
        "evaluation/agency_hub.html",
        tender=tender,
        view=view,
        steps=_steps(tender, view),
        opened=services_committee.has_opening_record(tender),
    )


# --- the committee -----------------------------------------------------------------------------------


def _prepare_committee(form: CommitteeForm, tender: Tender) -> CommitteeForm:
    specialties = choices([("", _("— none —")), *specialty_choices()])
    for row in form.groups:
        row.form.specialty.choices = specialties
    form.buyer_rep_ids.choices = choices((u.id, user_label(u)) for u in _buyer_users(tender))
    return form


def _fill_committee(form: CommitteeForm, tender: Tender, committee: Committee | None) -> None:
    rules = committee.rules if committee is not None else services_committee.default_rules(tender)
    form.outlier_percent.data = rules.get("outlier_percent")
    form.drop_extremes.data = bool(rules.get("drop_extremes"))
    form.drop_min_members.data = rules.get("drop_min_members")
    form.precision.data = rules.get("precision")
    form.price_benchmark.data = rules.get("price_benchmark", "lowest")
    if committee is None:
        return
    form.size.data, form.expert_seats.data = committee.size, committee.expert_seats
    form.reserves_per_group.data = committee.reserves_per_group
    form.buyer_rep_ids.data = list(committee.buyer_rep_ids or [])
    named = [g for g in committee.groups if g.get("specialty")]
    for row, group in zip(form.groups, named, strict=False):
        row.form.specialty.data, row.form.count.data = group["specialty"], group["count"]


def _committee_body(form: CommitteeForm, tender: Tender) -> dict[str, Any]:
    rules = dict(services_committee.default_rules(tender))
    if form.outlier_percent.data is not None:
        rules["outlier_percent"] = form.outlier_percent.data
    rules["drop_extremes"] = bool(form.drop_extremes.data)
    for name in ("drop_min_members", "precision"):
        if form[name].data is not None:
            rules[name] = form[name].data
    rules["price_benchmark"] = form.price_benchmark.data
    return {
        "size": form.size.data,
        "expert_seats": form.expert_seats.data,
        "groups": [
            {"specialty": row.form.specialty.data, "count": row.form.count.data or 1}
            for row in form.groups
            if row.form.specialty.data
        ],
        "reserves_per_group": form.reserves_per_group.data,
        "buyer_rep_ids": _int_list(form.buyer_rep_ids.data),
        "rules": {k: rules[k] for k in RULE_FIELDS if k in rules},
    }


def _render_committee(tender: Tender, form: CommitteeForm, errors: Errors, status: int = 200, **extra: Any) -> Any:
    committee = _committee(tender)
    view = _view(tender)
    appoint = extra.pop("appoint", None) or AppointForm(prefix="appoint")
    vacant_rep_seats = []
    if committee is not None:
        held = {s["seat"] for s in (view or {}).get("seats", []) if s["status"] in ("invited", "confirmed")}
        vacant_rep_seats = [s for s in range(committee.expert_seats + 1, committee.size + 1) if s not in held]
    appoint.seat.choices = choices((s, str(s)) for s in vacant_rep_seats)
    appoint.user_id.choices = choices((u.id, user_label(u)) for u in _buyer_users(tender))
    return render_template(
        "evaluation/agency_committee.html",
        tender=tender,
        form=form,
        errors=errors,
        view=view,
        editable=committee is None or not committee.draws,
        appoint=appoint,
        appoint_errors=extra.pop("appoint_errors", None) or Errors(),
        vacant_rep_seats=vacant_rep_seats,
        specialties=specialty_names(),
        users={u.id: u for u in _buyer_users(tender)},
        **extra,
    ), status


@agency_pages.route("/agency/tenders/<int:tender_id>/evaluation/committee", methods=["GET", "POST"])
@requires(RUN)
def committee(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = _prepare_committee(CommitteeForm(), tender)
    errors = Errors()
    if request.method == "GET":
        _fill_committee(form, tender, _committee(tender))
        return _render_committee(tender, form, errors)
    if not form.validate_on_submit():
        return _render_committee(tender, form, errors, 400)
    try:
        body = schemas.CommitteeArgs().load(_committee_body(form, tender))
    except ma.ValidationError as exc:
        _errors_from_schema(errors, exc, form)
        return _render_committee(tender, form, errors, 422)
    with attempt(form) as outcome:
        services_committee.define_committee(actor=me(), tender=tender, data=body)
    if outcome.failed:
        return _render_committee(tender, form, outcome.errors, outcome.status)
    flash(_("The committee was saved."), "success")
    return redirect(url_for("evaluation_agency.hub", tender_id=tender_id), code=303)


@agency_pages.post("/agency/tenders/<int:tender_id>/evaluation/committee/buyer-reps")
@requires(RUN)
def appoint(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = AppointForm(prefix="appoint")
    form.seat.choices = choices((s, str(s)) for s in range(1, 26))
    form.user_id.choices = choices((u.id, user_label(u)) for u in _buyer_users(tender))
    errors = Errors()
    main = _prepare_committee(CommitteeForm(formdata=None), tender)
    _fill_committee(main, tender, _committee(tender))
    if not form.validate_on_submit():
        return _render_committee(tender, main, Errors(), 400, appoint=form, appoint_errors=errors)
    with attempt(form) as outcome:
        services_committee.appoint_buyer_rep(actor=me(), tender=tender, seat=form.seat.data, user_id=form.user_id.data)
    if outcome.failed:
        return _render_committee(tender, main, Errors(), outcome.status, appoint=form, appoint_errors=outcome.errors)
    flash(_("The buyer representative was appointed."), "success")
    return redirect(url_for("evaluation_agency.committee", tender_id=tender_id), code=303)


# --- the draw ----------------------------------------------------------------------------------------


def _render_draw(tender: Tender, status: int = 200, **extra: Any) -> Any:
    view = _view(tender)
    return render_template(
        "evaluation/agency_draw.html",
        tender=tender,
        view=view,
        draws=list(reversed((view or {}).get("draws", []))),
        specialties=specialty_names(),
        release=extra.pop("release", None) or ReleaseForm(),
        release_errors=extra.pop("release_errors", None) or Errors(),
        release_seat=extra.pop("release_seat", None),
        verified=_verified,
        opened=services_committee.has_opening_record(tender),
        **extra,
    ), status


def _verified(draw: dict[str, Any]) -> bool | None:
    """Whether the revealed seed hashes to the commitment (None before the reveal)."""
    from app.evaluation.committee import draw as draw_mod

    if not draw.get("seed"):
        return None
    return bool(draw_mod.seed_sha256(bytes.fromhex(draw["seed"])) == draw["seed_sha256"])


@agency_pages.get("/agency/tenders/<int:tender_id>/evaluation/draw")
@requires(RUN)
def draw_page(tender_id: int) -> Any:
    return _render_draw(managed_tender(tender_id))


@agency_pages.post("/agency/tenders/<int:tender_id>/evaluation/draw")
@requires(RUN)
def commit_draw(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt() as outcome:
        row = services_committee.commit_draw(actor=me(), tender=tender)
    if outcome.failed:
        return _render_draw(tender, outcome.status, errors=outcome.errors)
    flash(_("Round %(round)s: the seed is committed. Perform the draw to reveal it.", round=row.round), "success")
    return redirect(url_for("evaluation_agency.draw_page", tender_id=tender_id), code=303)


@agency_pages.post("/agency/tenders/<int:tender_id>/evaluation/draw/<int:round_no>/perform")
@requires(RUN)
def perform_draw(tender_id: int, round_no: int) -> Any:
    tender = managed_tender(tender_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt() as outcome:
        row = services_committee.perform_draw(actor=me(), tender=tender, round_no=round_no)
    if outcome.failed:
        return _render_draw(tender, outcome.status, errors=outcome.errors)
    if row.status.value == "failed":
        flash(_("The draw failed: the pool cannot fill the seats. Fix the pool and commit another round."), "error")
    else:
        flash(_("Round %(round)s was drawn; the experts are invited.", round=round_no), "success")
    return redirect(url_for("evaluation_agency.draw_page", tender_id=tender_id), code=303)


@agency_pages.post("/agency/tenders/<int:tender_id>/evaluation/seats/<int:seat>/release")
@requires(RUN)
def release_seat(tender_id: int, seat: int) -> Any:
    tender = managed_tender(tender_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        return _render_draw(tender, 400, release=form, release_seat=seat)
    with attempt(form) as outcome:
        services_committee.release_seat(actor=me(), tender=tender, seat=seat, reason=form.reason.data or "")
    if outcome.failed:
        return _render_draw(tender, outcome.status, release=form, release_errors=outcome.errors, release_seat=seat)
    flash(_("Seat %(seat)s was released; the next reserve is invited when there is one.", seat=seat), "success")
    return redirect(url_for("evaluation_agency.draw_page", tender_id=tender_id), code=303)


@agency_pages.get("/agency/tenders/<int:tender_id>/evaluation/seats")
@requires(RUN)
def confirmations(tender_id: int) -> Any:
    tender = managed_tender(tender_id)
    return render_template(
        "evaluation/agency_seats.html", tender=tender, view=_view(tender), specialties=specialty_names()
    )


def init_app(app: Flask) -> None:
    del app
    register_nav("evaluation.my_evaluations", _l("My evaluations"), "@authenticated", order=30)
