"""JSON API of the committees (/api/v1): the committee's rules, the verifiable draw, the seats, declarations.

The routes are on the `evaluation-api` blueprint (app/evaluation/web.py), shared with pool/api.py.
"""

from __future__ import annotations

from typing import Any

from app.core.api import problem_responses
from app.core.pages import me
from app.core.security import authenticated, requires
from app.evaluation import schemas, visibility
from app.evaluation.committee import services as services_committee
from app.evaluation.permissions import COMMITTEE, OVERSEE, RUN
from app.evaluation.web import committee_api as blp
from app.tendering.models import Tender
from app.tendering.services_tenders import get_tender


def problems(*statuses: int) -> Any:
    return problem_responses(blp, *statuses)


def _tender(tender_id: int) -> Tender:
    return get_tender(tender_id, me())


# --- committee and draw ------------------------------------------------------------------------------


@blp.route("/tenders/<int:tender_id>/committee", methods=["PUT"])
@blp.arguments(schemas.CommitteeArgs)
@blp.response(200, schemas.CommitteeOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def define_committee(args: dict[str, Any], tender_id: int) -> Any:
    """Define (or redefine, until the first draw) the committee of a tender."""
    tender = _tender(tender_id)
    services_committee.define_committee(actor=me(), tender=tender, data=args)
    return visibility.committee_view(me(), tender)


@blp.route("/tenders/<int:tender_id>/committee", methods=["GET"])
@blp.response(200, schemas.CommitteeOut)
@problems(401, 403, 404)
@authenticated(COMMITTEE, RUN, OVERSEE)
def get_committee(tender_id: int) -> Any:
    """The committee as the caller may see it: names only to overseers and to each member for themselves."""
    return visibility.committee_view(me(), _tender(tender_id))


@blp.route("/tenders/<int:tender_id>/committee/buyer-reps", methods=["POST"])
@blp.arguments(schemas.AppointArgs)
@blp.response(200, schemas.MemberOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def appoint_buyer_rep(args: dict[str, Any], tender_id: int) -> Any:
    """Fill a buyer representative's seat left vacant by a recusal."""
    member = services_committee.appoint_buyer_rep(actor=me(), tender=_tender(tender_id), **args)
    return member


@blp.route("/tenders/<int:tender_id>/committee/draws", methods=["POST"])
@blp.response(201, schemas.DrawOut)
@problems(401, 403, 404, 409)
@requires(RUN)
def commit_draw(tender_id: int) -> Any:
    """Commit to a random seed (its SHA-256 is logged); the seed is revealed when the draw is performed."""
    row = services_committee.commit_draw(actor=me(), tender=_tender(tender_id))
    return visibility.draw_summary(row)


@blp.route("/tenders/<int:tender_id>/committee/draws/<int:round_no>/perform", methods=["POST"])
@blp.response(200, schemas.DrawOut)
@problems(401, 403, 404, 409)
@requires(RUN)
def perform_draw(tender_id: int, round_no: int) -> Any:
    """Perform a committed draw. A pool that cannot satisfy the requirements ends it as `failed`."""
    row = services_committee.perform_draw(actor=me(), tender=_tender(tender_id), round_no=round_no)
    return visibility.draw_summary(row)


@blp.route("/tenders/<int:tender_id>/committee/draws/<int:round_no>", methods=["GET"])
@blp.response(200, schemas.DrawRecordOut)
@problems(401, 403, 404)
@authenticated(COMMITTEE, RUN, OVERSEE)
def draw_record(tender_id: int, round_no: int) -> Any:
    """The replayable record of a draw and its verification: overseers; everyone concerned after publication."""
    return visibility.draw_record(me(), _tender(tender_id), round_no)


@blp.route("/tenders/<int:tender_id>/committee/seats/<int:seat>/release", methods=["POST"])
@blp.arguments(schemas.ReleaseArgs)
@blp.response(200, schemas.MemberOut)
@problems(401, 403, 404, 409, 422)
@requires(RUN)
def release_seat(args: dict[str, Any], tender_id: int, seat: int) -> Any:
    """Record that an invited expert cannot serve (unreachable, refused by phone); the next reserve is invited."""
    member = services_committee.release_seat(actor=me(), tender=_tender(tender_id), seat=seat, reason=args["reason"])
    return member


@blp.route("/tenders/<int:tender_id>/committee/confirm", methods=["POST"])
@blp.response(200, schemas.MemberOut)
@problems(401, 403, 404, 409)
@authenticated(COMMITTEE)
def confirm(tender_id: int) -> Any:
    """A drawn expert accepts the seat."""
    member = services_committee.respond(actor=me(), tender=_tender(tender_id), accept=True)
    return member


@blp.route("/tenders/<int:tender_id>/committee/decline", methods=["POST"])
@blp.arguments(schemas.DeclineArgs)
@blp.response(200, schemas.MemberOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def decline(args: dict[str, Any], tender_id: int) -> Any:
    """A drawn expert declines, with the reason; the next reserve of the group is invited."""
    member = services_committee.respond(actor=me(), tender=_tender(tender_id), accept=False, reason=args["reason"])
    return member


@blp.route("/tenders/<int:tender_id>/committee/declaration", methods=["POST"])
@blp.arguments(schemas.DeclarationArgs)
@blp.response(200, schemas.MemberOut)
@problems(401, 403, 404, 409, 422)
@authenticated(COMMITTEE)
def declare(args: dict[str, Any], tender_id: int) -> Any:
    """Sign the no-conflict declaration before seeing any bid, or recuse with the detail."""
    member = services_committee.declare(actor=me(), tender=_tender(tender_id), **args)
    return member


@blp.route("/evaluation/invitations", methods=["GET"])
@blp.response(200, schemas.InvitationOut(many=True))
@problems(401)
@authenticated(COMMITTEE)
def my_invitations() -> Any:
    """The caller's committee seats and invitations."""
    return visibility.my_invitations(me())
