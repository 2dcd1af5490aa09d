"""Slice (c): the evaluation room, through the API, with five members (four drawn experts and a buyer rep).

Hand-computed expectations (comprehensive: price 40, technical 45, commercial 15; drop extremes from 5 members;
precision 2; the review fails the second bid, so prices 1 000 000 and 1 500 000 remain):
- bid A (1 000 000): price 40 × 1.0M / 1.0M = 40.00; technical 40, 38, 36, 35, 20 → drop 40 and 20 →
  (38 + 36 + 35) / 3 = 36.333… → 36.33; commercial 12 by all (objective) → 12.00; total 88.33, rank 1.
- bid C (1 500 000): price 40 × 1.0M / 1.5M = 26.666… → 26.67; technical 30..34 → drop → (31+32+33)/3 = 32.00;
  commercial 10 (seat 4 first typed 9 and corrected it) → 10.00; total 68.67, rank 2.
- seat 5's technical 20 for bid A against the other members' mean (40+38+36+35)/4 = 37.25: |20 − 37.25| = 17.25
  > 30 % × 37.25 = 11.175, so it needs a written reason.

One behaviour a test, each starting at the stage its behaviour starts from: the committee seated, the room open,
every review in, the review closed, four sheets for A in, every sheet in, the result aggregated. The stages are the
steps below, built once per test process from the one before and restored for each test (tests/stages.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from tests import stages
from tests.evaluation.flows import CONF, QUAL, close_review, review_all, save_sheet, submitted
from tests.evaluation.helpers import (
    build_pool,
    buyer_rep,
    committee_body,
    draw,
    opened_tender,
    outsider,
    put_json,
    seat_everyone,
)
from tests.tendering.helpers import Party, World, audit_actions, build_world

TECH, COMM, PRICE = "技术方案", "商务及信誉", "投标报价"
SCORES = {  # (technical, commercial) by seat; seat 4 types 9 for C's commercial and corrects it to 10
    "A": {1: ("40", "12"), 2: ("38", "12"), 3: ("36", "12"), 4: ("35", "12"), 5: ("20", "12")},
    "C": {1: ("30", "10"), 2: ("31", "10"), 3: ("32", "10"), 4: ("33", "9"), 5: ("34", "10")},
}
OUTLIER_REASON = "施工组织设计缺少安全专项方案"


def seated_room(world: Any, clock: Any, **tender_kw: Any) -> tuple[int, dict[int, Party], Any, Party]:
    tender = opened_tender(world, clock, **tender_kw)
    tid = tender["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    body = committee_body(rep, rules={"drop_extremes": True, "drop_min_members": 5})
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", body).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    return tid, members, pool, rep


# ------------------------------------------------------------------------------------------------ the stages


@dataclass
class Room:
    """A tender of three bids (1 000 000, 1 200 000, 1 500 000) and its stage-1 room, as far as the steps went."""

    world: World
    tid: int
    members: dict[int, Party]  # seat -> party; seat 1 chairs
    pool: Any
    bids: list[int] = field(default_factory=list)  # A, B, C
    result: dict[str, Any] = field(default_factory=dict)  # the aggregation's answer

    @property
    def rooms(self) -> str:
        return f"/api/v1/tenders/{self.tid}/rooms"

    @property
    def base(self) -> str:
        return f"{self.rooms}/1"

    @property
    def sheets(self) -> str:
        return f"{self.base}/sheets"

    @property
    def chair(self) -> Party:
        return self.members[1]

    @property
    def agency(self) -> Any:
        return self.world.agency.api

    def bid(self, label: str) -> int:
        return self.bids["ABC".index(label)]

    def score(self, seat: int, label: str, reasons: dict[str, str] | None = None) -> dict[str, Any]:
        """Member `seat` saves and submits its sheet for `label` with SCORES; the submission must be accepted."""
        items = dict(zip((TECH, COMM), SCORES[label][seat], strict=True))
        return submitted(self.members[seat], self.base, self.bid(label), items, reasons)


def seat_the_committee(app: Any, clock: Any) -> Room:
    world = build_world(app)
    tid, members, pool, _rep = seated_room(world, clock)
    return Room(world, tid, members, pool)


def open_the_room(r: Room, clock: Any) -> Room:
    opened = r.agency.post(r.rooms, json_body={"stage": 1, "chair_seat": 1, "objective": [COMM]})
    assert opened.status_code == 201, opened.json
    r.bids = list(opened.json["bid_ids"])
    return r


def submit_every_review(r: Room, clock: Any) -> Room:
    """Seats 1, 2 and 3 fail bid B on the qualification (a majority); everything else passes."""
    review_all(r.base, r.members, r.bids, r.bid("B"), {1, 2, 3})
    return r


def close_the_review(r: Room, clock: Any) -> Room:
    close_review(r.base, r.chair)
    return r


def score_a_by_four(r: Room, clock: Any) -> Room:
    for seat in (1, 2, 3, 4):
        r.score(seat, "A")
    return r


def score_the_rest(r: Room, clock: Any) -> Room:
    """Seat 5 submits A with the reason its 20 needs; every seat submits C (seat 4's commercial a 9)."""
    r.score(5, "A", {TECH: OUTLIER_REASON})
    for seat in range(1, 6):
        r.score(seat, "C")
    return r


def correct(r: Room, seat: int, **body: Any) -> Any:
    return r.members[seat].api.post(f"{r.sheets}/{r.bid('C')}/corrections", json_body=body)


def aggregate(r: Room, clock: Any) -> Room:
    """Seat 4 corrects C's commercial to 10; the chair aggregates."""
    corrected = correct(r, 4, kind="objective_mismatch", reason="看错业绩表", items={COMM: 10})
    assert corrected.status_code == 201, corrected.json
    result = r.chair.api.post(f"{r.base}/aggregate")
    assert result.status_code == 200, result.json
    r.result = dict(result.json)
    return r


AT = stages.chain(
    "room",
    {
        "seated": seat_the_committee,
        "room_open": open_the_room,
        "reviews_in": submit_every_review,
        "reviewed": close_the_review,
        "a_scored_by_four": score_a_by_four,
        "all_scored": score_the_rest,
        "aggregated": aggregate,
    },
)


def stage(name: str) -> Any:
    return stages.fixture(AT, name)


seated_stage = stage("seated")
room_open_stage = stage("room_open")
reviews_in_stage = stage("reviews_in")
reviewed_stage = stage("reviewed")
a_scored_by_four_stage = stage("a_scored_by_four")
all_scored_stage = stage("all_scored")
aggregated_stage = stage("aggregated")


# ------------------------------------------------------------------------------------------------ opening the room


def test_only_the_tenders_agency_opens_a_room_for_an_opened_stage_with_a_seated_chair(seated: Room) -> None:
    r = seated
    assert r.world.other_agency.api.post(r.rooms, json_body={"stage": 1, "chair_seat": 1}).status_code == 403
    assert r.members[2].api.post(r.rooms, json_body={"stage": 1, "chair_seat": 1}).status_code == 403
    assert r.agency.post(r.rooms, json_body={"stage": 2, "chair_seat": 1}).status_code == 422
    assert r.agency.post(r.rooms, json_body={"stage": 1, "chair_seat": 9}).status_code == 422


def test_a_computed_criterion_cannot_be_declared_objective(seated: Room) -> None:
    body = {"stage": 1, "chair_seat": 1, "objective": [PRICE]}
    assert seated.agency.post(seated.rooms, json_body=body).status_code == 422


def test_a_room_opens_once_into_the_review_of_the_stages_requirements(seated: Room) -> None:
    r = seated
    opened = r.agency.post(r.rooms, json_body={"stage": 1, "chair_seat": 1, "objective": [COMM]})
    assert opened.status_code == 201, opened.json
    assert opened.json["phase"] == "review" and opened.json["requirements"] == [QUAL, CONF]
    assert r.agency.post(r.rooms, json_body={"stage": 1, "chair_seat": 1}).status_code == 409


# ------------------------------------------------------------------------------------------------ who sees what


def test_outsiders_are_refused_and_logged_and_the_agency_sees_the_status_but_no_bid(room_open: Room) -> None:
    r, bid_a = room_open, room_open.bid("A")
    stranger = outsider(r.pool, r.members)
    assert stranger.api.get(r.base).status_code == 403
    assert stranger.api.get(f"{r.base}/bids").status_code == 403
    assert r.world.bidders[0].api.get(f"{r.base}/bids/{bid_a}/envelopes/bid").status_code == 403
    assert put_json(stranger, f"{r.sheets}/{bid_a}", {"items": {TECH: 1}}).status_code == 403
    assert r.agency.get(r.base).json["viewer"] == "manager"
    assert r.agency.get(f"{r.base}/bids").status_code == 403
    denied = [
        d
        for a, _actor, s, d in audit_actions(r.world.app)
        if a == "access.denied" and s == f"tender:{r.tid}/evaluation"
    ]
    assert len(denied) >= 4


def test_members_read_the_opened_bids_and_their_prices(room_open: Room) -> None:
    bids = room_open.members[3].api.get(f"{room_open.base}/bids")
    assert bids.status_code == 200
    assert [b["price"] for b in bids.json] == [1_000_000, 1_200_000, 1_500_000]


def test_a_member_downloads_an_opened_file_through_the_room_and_the_download_is_logged(room_open: Room) -> None:
    r, bid_a, member = room_open, room_open.bid("A"), room_open.members[3]
    env = member.api.get(f"{r.base}/bids").json[0]["envelopes"][0]
    got = member.api.get(f"{r.base}/bids/{bid_a}/envelopes/{env['name']}")
    assert got.status_code == 200 and hashlib.sha256(got.data).hexdigest() == env["plaintext_sha256"]
    downloads = [d for a, *_r, d in audit_actions(r.world.app) if a == "evaluation.file.downloaded"]
    assert downloads == [
        {
            "stage": 1,
            "seat": 3,
            "bid_id": bid_a,
            "envelope": env["name"],
            "plaintext_sha256": env["plaintext_sha256"],
            "at": downloads[0]["at"],
        }
    ]


def test_an_unknown_envelope_or_bid_is_not_found(room_open: Room) -> None:
    r, member = room_open, room_open.members[3]
    assert member.api.get(f"{r.base}/bids/{r.bid('A')}/envelopes/nope").status_code == 404
    assert member.api.get(f"{r.base}/bids/{2**40}/envelopes/bid").status_code == 404


# ------------------------------------------------------------------------------------------------ the review


def one_fail(r: Room) -> dict[str, Any]:
    """A review draft that fails bid A on the qualification (no reason yet) and says nothing else."""
    return {"verdicts": [{"bid_id": r.bid("A"), "requirement": QUAL, "passed": False}]}


def test_saving_the_same_review_draft_again_changes_nothing_and_is_logged_once(room_open: Room) -> None:
    r = room_open
    first = put_json(r.chair, f"{r.base}/review", one_fail(r))
    again = put_json(r.chair, f"{r.base}/review", one_fail(r))
    assert first.status_code == again.status_code == 200 and first.json == again.json
    saves = [a for a, *_ in audit_actions(r.world.app) if a == "evaluation.review.saved"]
    assert len(saves) == 1


def test_an_incomplete_review_cannot_be_submitted(room_open: Room) -> None:
    r = room_open
    assert put_json(r.chair, f"{r.base}/review", one_fail(r)).status_code == 200
    assert r.chair.api.post(f"{r.base}/review/submit").status_code == 422


def test_a_verdict_on_a_requirement_the_stage_does_not_have_is_refused(room_open: Room) -> None:
    r = room_open
    bad = {"verdicts": [{"bid_id": r.bid("A"), "requirement": "astrology", "passed": True}]}
    assert put_json(r.chair, f"{r.base}/review", bad).status_code == 422


def test_the_review_cannot_be_closed_before_anyone_has_submitted(room_open: Room) -> None:
    assert room_open.chair.api.post(f"{room_open.base}/review/close").status_code == 409


def test_a_submitted_review_is_locked_and_only_the_chair_closes_the_review(reviews_in: Room) -> None:
    r = reviews_in
    assert put_json(r.chair, f"{r.base}/review", one_fail(r)).status_code == 409  # locked
    assert r.members[2].api.post(f"{r.base}/review/close").status_code == 403  # not the chair


def test_closing_the_review_takes_the_bids_the_majority_passed_into_scoring(reviews_in: Room) -> None:
    r = reviews_in
    closed = r.chair.api.post(f"{r.base}/review/close")
    assert closed.status_code == 200, closed.json
    assert closed.json["phase"] == "scoring" and closed.json["in_evaluation"] == [r.bid("A"), r.bid("C")]
    assert closed.json["review_result"]["bids"][r.bid("B")]["requirements"][QUAL]["fail"] == 3


def test_a_failed_bid_is_listed_with_the_reason_of_every_member_who_failed_it(reviewed: Room) -> None:
    r = reviewed
    with r.world.app.app_context():
        from app.evaluation.room.services import failed_bids
        from app.extensions import db
        from app.tendering.models import Tender

        failed = failed_bids(db.session.get(Tender, r.tid), 1)
        assert [(b.public_id, why) for b, why in failed] == [
            (r.bid("B"), f"{QUAL}: 资质证书过期 / 资质证书过期 / 资质证书过期")
        ]


# ------------------------------------------------------------------------------------------------ score sheets


def test_a_bid_that_failed_the_review_has_no_score_sheet(reviewed: Room) -> None:
    r = reviewed
    assert put_json(r.members[2], f"{r.sheets}/{r.bid('B')}", {"items": {TECH: 30}}).status_code == 404


def test_a_score_out_of_range_too_precise_not_a_number_or_for_a_computed_criterion_is_refused(reviewed: Room) -> None:
    r, url = reviewed, f"{reviewed.sheets}/{reviewed.bid('A')}"
    assert put_json(r.members[2], url, {"items": {TECH: 46}}).status_code == 422
    assert put_json(r.members[2], url, {"items": {TECH: "-1"}}).status_code == 422
    assert put_json(r.members[2], url, {"items": {TECH: "30.123"}}).status_code == 422
    assert put_json(r.members[2], url, {"items": {PRICE: 40}}).status_code == 422  # computed
    assert put_json(r.members[2], url, {"items": {TECH: True}}).status_code == 422


def test_a_partial_sheet_is_kept_as_a_draft_with_the_price_computed_and_cannot_be_submitted(reviewed: Room) -> None:
    r, bid_a = reviewed, reviewed.bid("A")
    partial = put_json(r.members[2], f"{r.sheets}/{bid_a}", {"items": {TECH: "38"}})
    assert partial.status_code == 200 and partial.json["status"] == "draft"
    assert partial.json["computed"] == {PRICE: "40.00"} and partial.json["total"] is None
    assert r.members[2].api.post(f"{r.sheets}/{bid_a}/submit").status_code == 422  # commercial missing
    refreshed = {s["bid_id"]: s for s in r.members[2].api.get(r.sheets).json}
    assert refreshed[bid_a]["items"] == {TECH: "38.00"} and refreshed[r.bid("C")]["status"] == "empty"


def test_a_submitted_sheet_totals_the_computed_price_and_is_locked(a_scored_by_four: Room) -> None:
    r = a_scored_by_four
    assert r.members[1].api.get(r.sheets).json[0]["total"] == "92.00"  # 40 + 12 + 40, computed
    assert put_json(r.members[1], f"{r.sheets}/{r.bid('A')}", {"items": {TECH: 41}}).status_code == 409  # locked


def test_the_chair_sees_who_has_submitted_never_a_score_and_no_result_before_all_are_in(
    a_scored_by_four: Room,
) -> None:
    r = a_scored_by_four
    status = r.chair.api.get(r.base).json
    assert [p["sheets_submitted"] for p in status["progress"]] == [1, 1, 1, 1, 0]
    assert "12.00" not in str(status) and "38.00" not in str(status)
    assert r.chair.api.get(f"{r.base}/result").status_code == 409
    assert [s["seat"] for s in r.chair.api.get(r.sheets).json] == [1, 1]  # only the chair's own
    assert r.chair.api.post(f"{r.base}/aggregate").status_code == 409


def test_a_score_far_from_the_others_is_refused_without_a_written_reason_and_accepted_with_one(
    a_scored_by_four: Room,
) -> None:
    r, s5, bid_a = a_scored_by_four, a_scored_by_four.members[5], a_scored_by_four.bid("A")
    save_sheet(s5, r.base, bid_a, {TECH: "20", COMM: "12"})
    refused = s5.api.post(f"{r.sheets}/{bid_a}/submit")
    assert refused.status_code == 422 and TECH in refused.json["errors"]["reasons"]
    save_sheet(s5, r.base, bid_a, {TECH: "20", COMM: "12"}, {TECH: OUTLIER_REASON})
    accepted = s5.api.post(f"{r.sheets}/{bid_a}/submit")
    assert accepted.status_code == 200 and accepted.json["total"] == "72.00"


# ------------------------------------------------------------------------------------------------ aggregation


def test_aggregation_names_the_objective_criterion_the_members_disagree_on(all_scored: Room) -> None:
    blocked = all_scored.chair.api.post(f"{all_scored.base}/aggregate")
    assert blocked.status_code == 409
    assert blocked.json["errors"]["objective_mismatch"] == [{"bid_id": all_scored.bid("C"), "criterion": COMM}]


def test_a_disagreement_is_fixed_only_by_its_kind_of_correction_with_a_reason_and_the_agreed_value(
    all_scored: Room,
) -> None:
    r = all_scored
    assert correct(r, 4, kind="changed_my_mind", reason="x", items={COMM: 10}).status_code == 422
    assert correct(r, 4, kind="objective_mismatch", items={COMM: 10}).status_code == 422
    assert correct(r, 4, kind="objective_mismatch", reason="看错", items={COMM: 9}).status_code == 422
    corrected = correct(r, 4, kind="objective_mismatch", reason="看错业绩表", items={COMM: 10})
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["version"] == 2 and corrected.json["total"] == "69.67"  # 33 + 10 + 26.67


def test_aggregation_drops_the_extremes_and_ranks_by_the_hand_computed_totals(aggregated: Room) -> None:
    r, result = aggregated, aggregated.result
    assert result["dropped_extremes"] is True
    ranked = [(b["bid_id"], b["rank"], b["total"], b["criteria"]) for b in result["bids"]]
    assert ranked == [
        (r.bid("A"), 1, "88.33", {PRICE: "40.00", TECH: "36.33", COMM: "12.00"}),
        (r.bid("C"), 2, "68.67", {PRICE: "26.67", TECH: "32.00", COMM: "10.00"}),
    ]


def test_after_aggregation_every_member_reads_the_result_and_the_room_is_finished(aggregated: Room) -> None:
    r = aggregated
    assert r.members[3].api.get(f"{r.base}/result").json == r.result
    assert r.agency.get(r.base).json["phase"] == "finished"


def test_after_aggregation_a_sheet_can_no_longer_be_corrected(aggregated: Room) -> None:
    late = correct(aggregated, 4, kind="transcription", reason="x", items={TECH: 30})
    assert late.status_code == 409


def test_every_step_of_the_room_is_logged_under_the_evaluation_subject_with_its_instant(aggregated: Room) -> None:
    entries = [(a, s, d) for a, _actor, s, d in audit_actions(aggregated.world.app) if a.startswith("evaluation.")]
    actions = {a for a, _s, _d in entries}
    for action in (
        "evaluation.room.opened",
        "evaluation.review.saved",
        "evaluation.review.submitted",
        "evaluation.review.closed",
        "evaluation.sheet.saved",
        "evaluation.sheet.submitted",
        "evaluation.sheet.corrected",
        "evaluation.result.aggregated",
    ):
        assert action in actions
        assert all(
            s == f"tender:{aggregated.tid}/evaluation" and d["at"].endswith("Z") for a, s, d in entries if a == action
        )
    submitted_entries = [d for a, _s, d in entries if a == "evaluation.sheet.submitted"]
    assert len(submitted_entries) == 10 and all("items" not in d for d in submitted_entries)  # scores stay out


def test_live_status_streams_and_ends_and_polling_falls_back(seated: Room) -> None:
    world, tid, members, pool = seated.world, seated.tid, seated.members, seated.pool
    base = f"/api/v1/tenders/{tid}/rooms/1"
    assert (
        world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 3}).status_code
        == 201
    )
    resp = members[1].api.get(f"{base}/events?max_seconds=1")
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    text = resp.get_data(as_text=True)
    assert text.startswith("event: status\ndata: {") and text.endswith("event: end\ndata: {}\n\n")
    assert '"phase": "review"' in text and '"chair": true' in text
    assert members[1].api.get(f"{base}/events?max_seconds=0").status_code == 422
    assert members[1].api.get(f"{base}/events?max_seconds=9999").status_code == 422
    assert outsider(pool, members).api.get(f"{base}/events?max_seconds=1").status_code == 403
    assert world.auditor.api.get(base).json["viewer"] == "overseer"
    assert members[1].api.get(f"/api/v1/tenders/{tid}/rooms/2").status_code == 404


def test_lowest_evaluated_price_passes_then_ranks_by_price(world, clock) -> None:
    tid, members, _pool, _rep = seated_room(
        world, clock, prices=(1_300_000, 1_100_000, 1_200_000), evaluation_method="lowest_evaluated_price"
    )
    agency = world.agency.api
    opened = agency.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 2})
    assert opened.status_code == 201, opened.json
    assert opened.json["requirements"] == ["资格审查"]
    bid_a, bid_b, bid_c = opened.json["bid_ids"]
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for seat, party in members.items():
        verdicts = [
            {"bid_id": b, "requirement": "资格审查", "passed": not (b == bid_b and seat != 5), "reason": "无业绩"}
            for b in (bid_a, bid_b, bid_c)
        ]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    closed = members[2].api.post(f"{base}/review/close")
    assert closed.status_code == 200 and closed.json["phase"] == "finished"
    result = members[1].api.get(f"{base}/result").json
    assert [(b["bid_id"], b["rank"], b["evaluated_price"]) for b in result["bids"]] == [
        (bid_c, 1, 1_200_000),
        (bid_a, 2, 1_300_000),
    ]
    # no sheets in a lowest-evaluated-price room
    assert members[1].api.get(f"{base}/sheets").json == []
    assert put_json(members[1], f"{base}/sheets/{bid_a}", {"items": {}}).status_code == 409


def test_a_stage_review_eliminates_failed_bids_before_their_later_envelopes_are_opened(world, clock) -> None:
    from datetime import timedelta

    from tests.evaluation.helpers import run_open_due
    from tests.tendering.helpers import create_published, envelope_plaintext, form, iso, seal, submit, upload

    at = clock.now() + timedelta(seconds=5)
    envelopes = [{"name": "technical", "stage": 1}, {"name": "price", "stage": 2, "form": True}]
    tender = create_published(
        world, submission_deadline_at=iso(at), opening_at=iso(at), min_bids=2, envelopes=envelopes
    )
    tid, recipient = tender["id"], tender["recipient"]
    for i, bidder in enumerate(world.bidders[:3]):
        tech = seal(envelope_plaintext(None, {"技术标.txt": f"TECH-{i}".encode()}), recipient)
        price = seal(envelope_plaintext(form(900_000 + i)), recipient)
        uploads = {
            "technical": upload(bidder.api, tid, "technical", tech),
            "price": upload(bidder.api, tid, "price", price),
        }
        assert submit(bidder.api, tid, uploads).status_code == 201
    clock.advance(timedelta(seconds=5))
    run_open_due(world.app)
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    rooms = f"/api/v1/tenders/{tid}/rooms"
    # objective criteria belong to the scoring room (the last stage), not to a review-only stage
    assert world.agency.api.post(rooms, json_body={"stage": 1, "chair_seat": 1, "objective": [TECH]}).status_code == 422
    opened = world.agency.api.post(rooms, json_body={"stage": 1, "chair_seat": 1})
    assert opened.status_code == 201
    bid_a, bid_b, bid_c = opened.json["bid_ids"]
    listed = members[2].api.get(f"{rooms}/1/bids").json
    assert [b["price"] for b in listed] == [None, None, None]  # the price envelopes are still sealed
    assert [e["name"] for e in listed[0]["envelopes"]] == ["technical"]
    assert members[2].api.get(f"{rooms}/1/bids/{bid_a}/envelopes/price").status_code == 404
    # the agency cannot advance before the committee has decided
    assert world.agency.api.post(f"{rooms}/1/advance", json_body={}).status_code == 409
    review_all(f"{rooms}/1", members, [bid_a, bid_b, bid_c], bid_c, {2, 3, 4, 5})
    closed = members[1].api.post(f"{rooms}/1/review/close")
    assert closed.status_code == 200 and closed.json["phase"] == "finished"
    assert members[1].api.get(f"{rooms}/1/result").status_code == 409  # review-only stage: no ranking
    assert members[1].api.post(f"{rooms}/1/advance", json_body={}).status_code == 403  # the agency's step
    advanced = world.agency.api.post(f"{rooms}/1/advance", json_body={})
    assert advanced.status_code == 200, advanced.json
    assert advanced.json["current_stage"] == 2 and list(advanced.json["eliminated"]) == [str(bid_c)]
    run_open_due(world.app)
    mine = world.bidders[2].api.get(f"/api/v1/tenders/{tid}/bid").json["versions"][0]["envelopes"]
    assert [e["outcome"] for e in mine] == ["opened", "sealed"]  # the failed bid's price was never opened
    stage2 = world.agency.api.post(rooms, json_body={"stage": 2, "chair_seat": 2, "objective": [COMM]})
    assert stage2.status_code == 201 and stage2.json["bid_ids"] == [bid_a, bid_b]
    prices = [b["price"] for b in members[2].api.get(f"{rooms}/2/bids").json]
    assert prices == [900_000, 900_001]
