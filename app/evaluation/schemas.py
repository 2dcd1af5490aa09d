"""Marshmallow schemas of the evaluation API (expert pool, committee, draw, declarations)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app.core.fields import Instant, Integer, QueryInteger
from app.tendering.schemas import PlainText

ID = validate.Range(min=1, max=2**31 - 1)
# A bid is named outside the database by its public id only (26 characters of lowercase base32).
BID_ID = validate.Regexp(r"^[a-z2-7]{26}$", error="not a bid id")
BID_ID_DOC = {"description": "The bid's public id (26 characters a-z, 2-7)"}


class SpecialtyArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    name_zh = PlainText(required=True, validate=validate.Length(min=1, max=100))
    name_en = PlainText(required=True, validate=validate.Length(min=1, max=100))
    active = ma.fields.Boolean(load_default=True)


class SpecialtyListArgs(ma.Schema):
    include_inactive = ma.fields.Boolean(load_default=False, metadata={"description": "Also the deactivated ones"})


class SpecialtyOut(ma.Schema):
    code = ma.fields.String(required=True)
    name_zh = ma.fields.String(required=True)
    name_en = ma.fields.String(required=True)
    active = ma.fields.Boolean(required=True)


class ExpertArgs(ma.Schema):
    user_id = Integer(required=True, validate=ID)
    employer_id = Integer(allow_none=True, validate=ID)
    region = PlainText(load_default="", validate=validate.Length(max=100))
    specialties = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=40)),
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "An expert has at least one specialty: codes of active specialties"},
    )
    qualifications = ma.fields.List(PlainText(validate=validate.Length(max=200)), validate=validate.Length(max=20))
    available = ma.fields.Boolean(load_default=True)


class ExpertUpdateArgs(ma.Schema):
    employer_id = Integer(allow_none=True, validate=ID)
    region = PlainText(validate=validate.Length(max=100))
    specialties = ma.fields.List(
        ma.fields.String(validate=validate.Length(max=40)),
        validate=validate.Length(min=1, max=20),
        metadata={"description": "When given, at least one: an expert has at least one specialty"},
    )
    qualifications = ma.fields.List(PlainText(validate=validate.Length(max=200)), validate=validate.Length(max=20))
    available = ma.fields.Boolean()


class AvailabilityArgs(ma.Schema):
    available = ma.fields.Boolean(required=True)


class StatusArgs(ma.Schema):
    status = ma.fields.String(required=True, validate=validate.OneOf(["active", "suspended", "blacklisted"]))
    reason = PlainText(load_default="", validate=validate.Length(max=2000))


class RelationshipArgs(ma.Schema):
    organisation_id = Integer(required=True, validate=ID)
    note = PlainText(load_default="", validate=validate.Length(max=2000))


class RelationshipOut(ma.Schema):
    organisation_id = Integer(required=True)
    organisation_name = ma.fields.String(attribute="organisation.name")
    note = ma.fields.String()
    declared_at = Instant()


class ExpertOut(ma.Schema):
    id = Integer(required=True)
    user_id = Integer(required=True)
    name = ma.fields.String(attribute="user.display_name")
    employer_id = Integer(allow_none=True)
    region = ma.fields.String()
    specialties = ma.fields.List(ma.fields.String())
    qualifications = ma.fields.List(ma.fields.String())
    available = ma.fields.Boolean()
    status = ma.fields.Function(lambda e: e.status.value)
    status_reason = ma.fields.String(allow_none=True)
    status_changed_at = Instant(allow_none=True)
    relationships = ma.fields.List(ma.fields.Nested(RelationshipOut))


class ExpertListArgs(ma.Schema):
    specialty = ma.fields.String(validate=validate.Length(max=40))
    status = ma.fields.String(validate=validate.OneOf(["active", "suspended", "blacklisted"]))


class GroupArgs(ma.Schema):
    specialty = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    count = Integer(required=True, validate=validate.Range(min=1, max=25))


class RulesArgs(ma.Schema):
    outlier_percent = Integer(validate=validate.Range(min=1, max=100))
    drop_extremes = ma.fields.Boolean()
    drop_min_members = Integer(validate=validate.Range(min=3, max=25))
    precision = Integer(validate=validate.Range(min=0, max=4))
    tie_break = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(["lower_price", "higher_technical", "earlier_receipt"])),
        validate=validate.Length(max=3),
    )
    price_benchmark = ma.fields.String(validate=validate.OneOf(["lowest", "average"]))


class CommitteeArgs(ma.Schema):
    size = Integer(required=True, validate=validate.Range(min=5, max=25))
    expert_seats = Integer(required=True, validate=validate.Range(min=4, max=25))
    groups = ma.fields.List(ma.fields.Nested(GroupArgs), load_default=list, validate=validate.Length(max=25))
    reserves_per_group = Integer(load_default=2, validate=validate.Range(min=0, max=10))
    buyer_rep_ids = ma.fields.List(Integer(validate=ID), load_default=list, validate=validate.Length(max=25))
    rules = ma.fields.Nested(RulesArgs, load_default=dict)


class AppointArgs(ma.Schema):
    seat = Integer(required=True, validate=validate.Range(min=1, max=25))
    user_id = Integer(required=True, validate=ID)


class DeclineArgs(ma.Schema):
    reason = PlainText(required=True, validate=validate.Length(min=1, max=2000))


class ReleaseArgs(ma.Schema):
    reason = PlainText(required=True, validate=validate.Length(min=1, max=2000))


class DeclarationArgs(ma.Schema):
    no_conflict = ma.fields.Boolean(required=True, metadata={"description": "false: recuse, with the detail"})
    detail = PlainText(load_default="", validate=validate.Length(max=5000))


class SeatOut(ma.Schema):
    seat = Integer(allow_none=True)
    kind = ma.fields.String(required=True)
    specialty = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True)
    declared = ma.fields.Boolean(required=True)
    is_self = ma.fields.Boolean(required=True)
    name = ma.fields.String(
        allow_none=True, metadata={"description": "Only to overseers, the member, or after publication"}
    )
    user_id = Integer(allow_none=True)
    expert_id = Integer(allow_none=True)
    reserve_rank = Integer(allow_none=True)
    decline_reason = ma.fields.String(allow_none=True)
    invited_at = Instant(allow_none=True)
    responded_at = Instant(allow_none=True)
    declared_at = Instant(allow_none=True)


class DrawOut(ma.Schema):
    round = Integer(required=True)
    status = ma.fields.String(required=True)
    seed_sha256 = ma.fields.String(required=True, metadata={"description": "The commitment, logged before the draw"})
    committed_at = Instant(required=True)
    commit_audit_index = Integer(required=True)
    seed = ma.fields.String(allow_none=True, metadata={"description": "Revealed at the draw (hex)"})
    performed_at = Instant(allow_none=True)
    draw_audit_index = Integer(allow_none=True)
    snapshot_sha256 = ma.fields.String(allow_none=True)
    failure = ma.fields.String(allow_none=True)


class DrawRecordOut(DrawOut):
    requirements = ma.fields.Dict(allow_none=True)
    snapshot = ma.fields.Dict(allow_none=True)
    result = ma.fields.Dict(allow_none=True)
    verification = ma.fields.List(
        ma.fields.String(), allow_none=True, metadata={"description": "Problems found on replay; empty: verified"}
    )


class CommitteeOut(ma.Schema):
    tender_id = Integer(required=True)
    viewer = ma.fields.String(required=True, metadata={"description": "overseer | manager | member"})
    size = Integer(required=True)
    expert_seats = Integer(required=True)
    groups = ma.fields.List(ma.fields.Dict())
    reserves_per_group = Integer()
    rules = ma.fields.Dict()
    complete = ma.fields.Boolean(required=True)
    names_published_at = Instant(allow_none=True)
    reserves_left = Integer()
    seats = ma.fields.List(ma.fields.Nested(SeatOut))
    others = ma.fields.List(ma.fields.Nested(SeatOut))
    draws = ma.fields.List(ma.fields.Nested(DrawOut))


class MemberOut(ma.Schema):
    seat = Integer(allow_none=True)
    kind = ma.fields.Function(lambda m: m.kind.value)
    status = ma.fields.Function(lambda m: m.status.value)
    declared_at = Instant(allow_none=True)
    declaration = ma.fields.Dict(allow_none=True, metadata={"description": "The platform-signed declaration"})


class InvitationOut(ma.Schema):
    tender_id = Integer(required=True)
    tender_title = ma.fields.String(required=True)
    tender_reference = ma.fields.String(allow_none=True)
    seat = Integer(allow_none=True)
    kind = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    declared = ma.fields.Boolean(required=True)
    invited_at = Instant(allow_none=True)


# --- the room (slice c) ------------------------------------------------------------------------------

NAME = validate.Length(min=1, max=200)


class EvaluationRoomArgs(ma.Schema):
    stage = Integer(required=True, validate=validate.Range(min=1, max=10))
    chair_seat = Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=25),
        metadata={"description": "The agency appoints the chair; omitted, the members elect theirs in the room"},
    )
    requirements = ma.fields.List(PlainText(validate=NAME), validate=validate.Length(min=1, max=30))
    objective = ma.fields.List(
        PlainText(validate=NAME),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={"description": "Criteria every member must score alike"},
    )


class ProgressOut(ma.Schema):
    seat = Integer(required=True)
    chair = ma.fields.Boolean(required=True)
    review_submitted = ma.fields.Boolean(required=True)
    sheets_submitted = Integer(required=True)
    sheets_expected = Integer(required=True)


class EvaluationRoomOut(ma.Schema):
    tender_id = Integer(required=True)
    stage = Integer(required=True)
    phase = ma.fields.String(required=True, metadata={"description": "review | scoring | finished"})
    viewer = ma.fields.String(required=True, metadata={"description": "member | manager | overseer"})
    requirements = ma.fields.List(ma.fields.String())
    objective = ma.fields.List(ma.fields.String())
    bid_ids = ma.fields.List(ma.fields.String(), metadata=BID_ID_DOC)
    in_evaluation = ma.fields.List(ma.fields.String(), metadata=BID_ID_DOC)
    opened_at = Instant(required=True)
    review_closed_at = Instant(allow_none=True)
    finished_at = Instant(allow_none=True)
    progress = ma.fields.List(ma.fields.Nested(ProgressOut))
    review_result = ma.fields.Dict(
        allow_none=True, metadata={"description": "Majority per bid and requirement, once the review is closed"}
    )
    chair_seat = Integer(allow_none=True, metadata={"description": "None while the chair is being elected"})
    chair_election = ma.fields.Nested(
        "ChairElectionOut", allow_none=True, metadata={"description": "None when the agency appointed at opening"}
    )


class ChairTallyOut(ma.Schema):
    seat = Integer(required=True)
    votes = Integer(required=True)


class ChairElectionOut(ma.Schema):
    status = ma.fields.String(required=True, metadata={"description": "open | elected | closed (by an appointment)"})
    opened_at = ma.fields.String(allow_none=True)
    decided_at = ma.fields.String(allow_none=True)
    seats = Integer(required=True)
    majority = Integer(required=True, metadata={"description": "Votes needed: a strict majority of seats"})
    votes_cast = Integer(required=True)
    tally = ma.fields.List(
        ma.fields.Nested(ChairTallyOut), metadata={"description": "Votes per candidate seat; never who voted for whom"}
    )


class ChairVoteArgs(ma.Schema):
    seat = Integer(required=True, validate=validate.Range(min=1, max=25), metadata={"description": "Whom"})


class ChairBallotOut(ma.Schema):
    chair_seat = Integer(allow_none=True)
    election = ma.fields.Nested(ChairElectionOut, allow_none=True)
    my_vote = Integer(allow_none=True, metadata={"description": "The seat the caller voted for"})


class EventArgs(ma.Schema):
    max_seconds = QueryInteger(
        load_default=25, validate=validate.Range(min=1, max=60), metadata={"description": "The stream then ends"}
    )


class EnvelopeFileOut(ma.Schema):
    name = ma.fields.String(required=True)
    size = Integer()


class OpenedEnvelopeOut(ma.Schema):
    name = ma.fields.String(required=True)
    stage = Integer(required=True)
    plaintext_sha256 = ma.fields.String(allow_none=True)
    plaintext_size = Integer(allow_none=True)
    files = ma.fields.List(ma.fields.Nested(EnvelopeFileOut))


class RoomBidOut(ma.Schema):
    bid_id = ma.fields.String(required=True, metadata=BID_ID_DOC)
    bidder = ma.fields.String(required=True)
    price = Integer(allow_none=True)
    received_at = Instant(allow_none=True)
    in_evaluation = ma.fields.Boolean(required=True)
    envelopes = ma.fields.List(ma.fields.Nested(OpenedEnvelopeOut))


class VerdictArgs(ma.Schema):
    bid_id = ma.fields.String(required=True, validate=BID_ID, metadata=BID_ID_DOC)
    requirement = PlainText(required=True, validate=NAME)
    passed = ma.fields.Boolean(required=True)
    reason = PlainText(load_default="", validate=validate.Length(max=2000))


class ReviewArgs(ma.Schema):
    verdicts = ma.fields.List(ma.fields.Nested(VerdictArgs), required=True, validate=validate.Length(max=2000))


class VerdictOut(ma.Schema):
    bid_id = ma.fields.String(required=True, metadata=BID_ID_DOC)
    requirement = ma.fields.String(required=True)
    passed = ma.fields.Boolean(required=True)
    reason = ma.fields.String()


class ReviewOut(ma.Schema):
    seat = Integer(required=True)
    verdicts = ma.fields.List(ma.fields.Nested(VerdictOut))
    saved_at = Instant(allow_none=True)
    submitted_at = Instant(allow_none=True)


POINTS = ma.fields.Dict(
    keys=ma.fields.String(validate=NAME),
    values=ma.fields.Raw(metadata={"description": "points: a number or decimal text"}),
    load_default=dict,
    validate=validate.Length(max=50),
)
REASONS = ma.fields.Dict(
    keys=ma.fields.String(validate=NAME),
    values=PlainText(validate=validate.Length(max=2000)),
    load_default=dict,
    validate=validate.Length(max=50),
)


class SheetArgs(ma.Schema):
    items = POINTS
    reasons = REASONS


class CorrectionArgs(ma.Schema):
    kind = ma.fields.String(
        required=True,
        validate=validate.OneOf(["transcription", "misread_document", "objective_mismatch", "missing_outlier_reason"]),
    )
    reason = PlainText(required=True, validate=validate.Length(min=1, max=2000))
    items = POINTS
    reasons = REASONS


class SheetOut(ma.Schema):
    bid_id = ma.fields.String(required=True, metadata=BID_ID_DOC)
    seat = Integer(required=True)
    version = Integer(required=True)
    status = ma.fields.String(required=True, metadata={"description": "empty | draft | submitted"})
    items = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    computed = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(), metadata={"description": "Price criteria, by formula"}
    )
    reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    total = ma.fields.String(allow_none=True, metadata={"description": "Computed at submission"})
    saved_at = Instant(allow_none=True)
    submitted_at = Instant(allow_none=True)
    correction_kind = ma.fields.String(allow_none=True)
    correction_reason = ma.fields.String(allow_none=True)


class ResultOut(ma.Schema):
    stage = Integer(required=True)
    finished_at = Instant(allow_none=True)
    method = ma.fields.String(required=True)
    rules = ma.fields.Dict()
    dropped_extremes = ma.fields.Boolean()
    bids = ma.fields.List(ma.fields.Dict(), required=True)


class RoomAdvanceArgs(ma.Schema):
    reason = PlainText(load_default="", validate=validate.Length(max=2000))


class RoomAdvanceOut(ma.Schema):
    tender_id = Integer(required=True)
    current_stage = Integer(required=True)
    eliminated = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
