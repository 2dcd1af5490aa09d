"""Slice (c): the evaluation room, through the API, with five members (four drawn experts and a buyer rep).

Hand-computed expectations (comprehensive: price 40, technical 45, commercial 15; drop extremes from 5 members;
precision 2; the review fails the second bid, so prices 1 000 000 and 1 500 000 remain):
- bid A (1 000 000): price 40 × 1.0M / 1.0M = 40.00; technical 40, 38, 36, 35, 20 → drop 40 and 20 →
  (38 + 36 + 35) / 3 = 36.333… → 36.33; commercial 12 by all (objective) → 12.00; total 88.33, rank 1.
- bid C (1 500 000): price 40 × 1.0M / 1.5M = 26.666… → 26.67; technical 30..34 → drop → (31+32+33)/3 = 32.00;
  commercial 10 (seat 4 first typed 9 and corrected it) → 10.00; total 68.67, rank 2.
- seat 5's technical 20 for bid A against the other members' mean (40+38+36+35)/4 = 37.25: |20 − 37.25| = 17.25
  > 30 % × 37.25 = 11.175, so it needs a written reason.
"""

from __future__ import annotations

import hashlib
from typing import Any

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
from tests.tendering.helpers import Party, audit_actions

TECH, COMM, PRICE = "技术方案", "商务及信誉", "投标报价"
QUAL, CONF = "资格审查", "符合性审查"


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


def review_all(api_base: str, members: dict[int, Party], bids: list[int], fail_bid: int | None, fails: set[int]):
    for seat, party in members.items():
        verdicts = []
        for bid in bids:
            for req in (QUAL, CONF):
                failing = bid == fail_bid and req == QUAL and seat in fails
                verdicts.append(
                    {
                        "bid_id": bid,
                        "requirement": req,
                        "passed": not failing,
                        "reason": "资质证书过期" if failing else "",
                    }
                )
        resp = put_json(party, f"{api_base}/review", {"verdicts": verdicts})
        assert resp.status_code == 200, resp.json
        resp = party.api.post(f"{api_base}/review/submit")
        assert resp.status_code == 200, resp.json


def test_a_room_with_five_members_reviews_scores_and_aggregates(world, clock) -> None:
    tid, members, pool, _rep = seated_room(world, clock)
    agency = world.agency.api
    rooms = f"/api/v1/tenders/{tid}/rooms"
    base = f"{rooms}/1"
    chair = members[1]

    # opening the room: the tender's agency, an opened stage, a seated chair, once
    assert world.other_agency.api.post(rooms, json_body={"stage": 1, "chair_seat": 1}).status_code == 403
    assert members[2].api.post(rooms, json_body={"stage": 1, "chair_seat": 1}).status_code == 403
    assert agency.post(rooms, json_body={"stage": 2, "chair_seat": 1}).status_code == 422
    assert agency.post(rooms, json_body={"stage": 1, "chair_seat": 9}).status_code == 422
    assert agency.post(rooms, json_body={"stage": 1, "chair_seat": 1, "objective": [PRICE]}).status_code == 422
    opened = agency.post(rooms, json_body={"stage": 1, "chair_seat": 1, "objective": [COMM]})
    assert opened.status_code == 201, opened.json
    assert opened.json["phase"] == "review" and opened.json["requirements"] == [QUAL, CONF]
    assert agency.post(rooms, json_body={"stage": 1, "chair_seat": 1}).status_code == 409
    bid_a, bid_b, bid_c = opened.json["bid_ids"]

    # outsiders are refused (and the refusals logged); the agency sees the status, not the bids
    stranger = outsider(pool, members)
    assert stranger.api.get(base).status_code == 403
    assert stranger.api.get(f"{base}/bids").status_code == 403
    assert world.bidders[0].api.get(f"{base}/bids/{bid_a}/envelopes/bid").status_code == 403
    assert put_json(stranger, f"{base}/sheets/{bid_a}", {"items": {TECH: 1}}).status_code == 403
    assert agency.get(base).json["viewer"] == "manager"
    assert agency.get(f"{base}/bids").status_code == 403
    denied = [
        d for a, _actor, s, d in audit_actions(world.app) if a == "access.denied" and s == f"tender:{tid}/evaluation"
    ]
    assert len(denied) >= 4

    # members read the opened bids and download the opened files through the room (logged)
    bids = members[3].api.get(f"{base}/bids")
    assert bids.status_code == 200
    assert [b["price"] for b in bids.json] == [1_000_000, 1_200_000, 1_500_000]
    env = bids.json[0]["envelopes"][0]
    got = members[3].api.get(f"{base}/bids/{bid_a}/envelopes/{env['name']}")
    assert got.status_code == 200 and hashlib.sha256(got.data).hexdigest() == env["plaintext_sha256"]
    assert members[3].api.get(f"{base}/bids/{bid_a}/envelopes/nope").status_code == 404
    assert members[3].api.get(f"{base}/bids/{2**40}/envelopes/bid").status_code == 404
    downloads = [d for a, *_r, d in audit_actions(world.app) if a == "evaluation.file.downloaded"]
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

    # the review: drafts are idempotent, a fail needs a reason, the chair closes once all are in
    draft = {"verdicts": [{"bid_id": bid_a, "requirement": QUAL, "passed": False}]}
    first = put_json(chair, f"{base}/review", draft)
    again = put_json(chair, f"{base}/review", draft)
    assert first.status_code == again.status_code == 200 and first.json == again.json
    saves = [a for a, *_ in audit_actions(world.app) if a == "evaluation.review.saved"]
    assert len(saves) == 1
    assert chair.api.post(f"{base}/review/submit").status_code == 422  # incomplete
    bad = {"verdicts": [{"bid_id": bid_a, "requirement": "astrology", "passed": True}]}
    assert put_json(chair, f"{base}/review", bad).status_code == 422
    assert chair.api.post(f"{base}/review/close").status_code == 409  # nobody has submitted
    review_all(base, members, [bid_a, bid_b, bid_c], bid_b, {1, 2, 3})
    assert put_json(chair, f"{base}/review", draft).status_code == 409  # locked
    assert members[2].api.post(f"{base}/review/close").status_code == 403  # not the chair
    closed = chair.api.post(f"{base}/review/close")
    assert closed.status_code == 200, closed.json
    assert closed.json["phase"] == "scoring" and closed.json["in_evaluation"] == [bid_a, bid_c]
    assert closed.json["review_result"]["bids"][bid_b]["requirements"][QUAL]["fail"] == 3
    with world.app.app_context():
        from app.evaluation.room.services import failed_bids
        from app.extensions import db
        from app.tendering.models import Tender

        failed = failed_bids(db.session.get(Tender, tid), 1)
        assert [(b.public_id, why) for b, why in failed] == [
            (bid_b, f"{QUAL}: 资质证书过期 / 资质证书过期 / 资质证书过期")
        ]

    # score sheets: ranges, precision, computed price, drafts kept across a refresh
    sheet = f"{base}/sheets"
    assert put_json(members[2], f"{sheet}/{bid_b}", {"items": {TECH: 30}}).status_code == 404  # failed the review
    assert put_json(members[2], f"{sheet}/{bid_a}", {"items": {TECH: 46}}).status_code == 422
    assert put_json(members[2], f"{sheet}/{bid_a}", {"items": {TECH: "-1"}}).status_code == 422
    assert put_json(members[2], f"{sheet}/{bid_a}", {"items": {TECH: "30.123"}}).status_code == 422
    assert put_json(members[2], f"{sheet}/{bid_a}", {"items": {PRICE: 40}}).status_code == 422  # computed
    assert put_json(members[2], f"{sheet}/{bid_a}", {"items": {TECH: True}}).status_code == 422
    partial = put_json(members[2], f"{sheet}/{bid_a}", {"items": {TECH: "38"}})
    assert partial.status_code == 200 and partial.json["status"] == "draft"
    assert partial.json["computed"] == {PRICE: "40.00"} and partial.json["total"] is None
    assert members[2].api.post(f"{sheet}/{bid_a}/submit").status_code == 422  # commercial missing
    refreshed = {s["bid_id"]: s for s in members[2].api.get(sheet).json}
    assert refreshed[bid_a]["items"] == {TECH: "38.00"} and refreshed[bid_c]["status"] == "empty"

    scores = {
        bid_a: {1: ("40", "12"), 2: ("38", "12"), 3: ("36", "12"), 4: ("35", "12"), 5: ("20", "12")},
        bid_c: {1: ("30", "10"), 2: ("31", "10"), 3: ("32", "10"), 4: ("33", "9"), 5: ("34", "10")},
    }
    for seat in (1, 2, 3, 4):
        resp = put_json(
            members[seat], f"{sheet}/{bid_a}", {"items": dict(zip((TECH, COMM), scores[bid_a][seat], strict=True))}
        )
        assert resp.status_code == 200, resp.json
        resp = members[seat].api.post(f"{sheet}/{bid_a}/submit")
        assert resp.status_code == 200, resp.json
    assert members[1].api.get(sheet).json[0]["total"] == "92.00"  # 40 + 12 + 40, computed
    assert put_json(members[1], f"{sheet}/{bid_a}", {"items": {TECH: 41}}).status_code == 409  # locked

    # the chair sees who has submitted, never the scores, and no result before all are in
    status = chair.api.get(base).json
    assert [p["sheets_submitted"] for p in status["progress"]] == [1, 1, 1, 1, 0]
    assert "12.00" not in str(status) and "38.00" not in str(status)
    assert chair.api.get(f"{base}/result").status_code == 409
    assert [s["seat"] for s in chair.api.get(sheet).json] == [1, 1]  # only the chair's own
    assert chair.api.post(f"{base}/aggregate").status_code == 409

    # seat 5's outlier is refused without a reason, accepted with one
    s5 = members[5]
    assert put_json(s5, f"{sheet}/{bid_a}", {"items": {TECH: "20", COMM: "12"}}).status_code == 200
    refused = s5.api.post(f"{sheet}/{bid_a}/submit")
    assert refused.status_code == 422 and TECH in refused.json["errors"]["reasons"]
    body = {"items": {TECH: "20", COMM: "12"}, "reasons": {TECH: "施工组织设计缺少安全专项方案"}}
    assert put_json(s5, f"{sheet}/{bid_a}", body).status_code == 200
    accepted = s5.api.post(f"{sheet}/{bid_a}/submit")
    assert accepted.status_code == 200 and accepted.json["total"] == "72.00"

    for seat, (tech, comm) in scores[bid_c].items():
        assert put_json(members[seat], f"{sheet}/{bid_c}", {"items": {TECH: tech, COMM: comm}}).status_code == 200
        resp = members[seat].api.post(f"{sheet}/{bid_c}/submit")
        assert resp.status_code == 200, resp.json

    # objective criteria must agree: aggregation names the disagreement, a listed correction fixes it
    blocked = chair.api.post(f"{base}/aggregate")
    assert blocked.status_code == 409
    assert blocked.json["errors"]["objective_mismatch"] == [{"bid_id": bid_c, "criterion": COMM}]
    fix = f"{sheet}/{bid_c}/corrections"
    assert (
        members[4].api.post(fix, json_body={"kind": "changed_my_mind", "reason": "x", "items": {COMM: 10}}).status_code
        == 422
    )
    assert members[4].api.post(fix, json_body={"kind": "objective_mismatch", "items": {COMM: 10}}).status_code == 422
    assert (
        members[4]
        .api.post(fix, json_body={"kind": "objective_mismatch", "reason": "看错", "items": {COMM: 9}})
        .status_code
        == 422
    )
    corrected = members[4].api.post(
        fix, json_body={"kind": "objective_mismatch", "reason": "看错业绩表", "items": {COMM: 10}}
    )
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["version"] == 2 and corrected.json["total"] == "69.67"  # 33 + 10 + 26.67

    result = chair.api.post(f"{base}/aggregate")
    assert result.status_code == 200, result.json
    assert result.json["dropped_extremes"] is True
    ranked = [(b["bid_id"], b["rank"], b["total"], b["criteria"]) for b in result.json["bids"]]
    assert ranked == [
        (bid_a, 1, "88.33", {PRICE: "40.00", TECH: "36.33", COMM: "12.00"}),
        (bid_c, 2, "68.67", {PRICE: "26.67", TECH: "32.00", COMM: "10.00"}),
    ]
    assert members[3].api.get(f"{base}/result").json == result.json
    assert agency.get(base).json["phase"] == "finished"
    late = members[4].api.post(fix, json_body={"kind": "transcription", "reason": "x", "items": {TECH: 30}})
    assert late.status_code == 409

    # every step is in the evidence log under the tender's evaluation subject, with its instant
    entries = [(a, s, d) for a, _actor, s, d in audit_actions(world.app) if a.startswith("evaluation.")]
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
        assert all(s == f"tender:{tid}/evaluation" and d["at"].endswith("Z") for a, s, d in entries if a == action)
    submitted = [d for a, _s, d in entries if a == "evaluation.sheet.submitted"]
    assert len(submitted) == 10 and all("items" not in d for d in submitted)  # scores stay out until the end


def test_live_status_streams_and_ends_and_polling_falls_back(world, clock) -> None:
    tid, members, pool, _rep = seated_room(world, clock)
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
