"""Nothing sealed leaks into OCDS: before the opening a release carries no bid and no bidder count. Two tenders that
differ only in how many bids they hold publish releases of one shape until their openings."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from app.publication.ocds.schemas_ocds import errors
from tests import factories


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and list lengths kept, every scalar replaced by its type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def all_releases(world: Any) -> list[dict[str, Any]]:
    resp = world.anonymous.get("/api/v1/ocds/releases?limit=1000")
    assert resp.status_code == 200 and errors("release-package", resp.json) == []
    return list(resp.json["releases"])


def of(world: Any, tid: int) -> list[dict[str, Any]]:
    return [r for r in all_releases(world) if r["ocid"].endswith(f"-{tid}")]


def test_releases_before_the_opening_are_identical_in_shape_whatever_the_number_of_bids(world, clock) -> None:
    at = clock.now() + timedelta(hours=1)
    one = factories.published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat())
    many = factories.published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat())
    factories.submitted_bid(world, world.bidders[0], one, price=1_000_000)
    for bidder, price in zip(world.bidders[:3], (1_000_000, 1_100_000, 1_200_000), strict=True):
        factories.submitted_bid(world, bidder, many, price=price)
    for t in (one, many):
        resp = world.agency.api.post(f"/api/v1/tenders/{t['id']}/clarifications", {"text": "澄清：图纸更正"})
        assert resp.status_code == 201
    before_one, before_many = of(world, one["id"]), of(world, many["id"])
    assert [r["tag"] for r in before_one] == [r["tag"] for r in before_many] == [["tender"], ["tenderAmendment"]]
    assert [shape(r) for r in before_one] == [shape(r) for r in before_many]
    bidder_names = {"投标人1建设有限公司", "投标人2建设有限公司", "投标人3建设有限公司"}
    for release in before_one + before_many:
        text = json.dumps(release, ensure_ascii=False)
        assert "bids" not in release and "numberOfTenderers" not in release["tender"]
        assert "tenderers" not in release["tender"] and "awards" not in release
        assert not any(name in text for name in bidder_names)
        assert {role for p in release["parties"] for role in p["roles"]} == {"buyer", "procuringEntity"}

    clock.set(clock.now() + timedelta(days=16))
    factories.run_open_due(world.app)
    after_one, after_many = of(world, one["id"]), of(world, many["id"])
    assert after_one[:2] == before_one and after_many[:2] == before_many  # published releases never change
    assert after_one[-1]["tender"]["numberOfTenderers"] == 1 and after_one[-1]["tender"]["status"] == "unsuccessful"
    assert after_many[-1]["tender"]["numberOfTenderers"] == 3 and after_many[-1]["tender"]["status"] == "active"
    assert len(after_many[-1]["bids"]["details"]) == 3


def test_a_two_stage_opening_publishes_bids_only_after_the_price_stage(world, clock) -> None:
    from tests.tendering.helpers import envelope_plaintext, form, seal, submit, upload

    at = clock.now() + timedelta(seconds=5)
    envelopes = [{"name": "technical", "stage": 1}, {"name": "price", "stage": 2, "form": True}]
    tender = factories.published_tender(
        world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), min_bids=2, envelopes=envelopes
    )
    tid, recipient = tender["id"], tender["recipient"]
    bid_ids = []
    for i, bidder in enumerate(world.bidders[:3]):
        tech = seal(envelope_plaintext(None, {"技术标.txt": f"TECH-{i}".encode()}), recipient)
        price = seal(envelope_plaintext(form(50_000 + i)), recipient)
        uploads = {
            "technical": upload(bidder.api, tid, "technical", tech),
            "price": upload(bidder.api, tid, "price", price),
        }
        resp = submit(bidder.api, tid, uploads)
        assert resp.status_code == 201, resp.json
        bid_ids.append(resp.json["receipt"]["payload"]["bid"]["id"])
    clock.advance(timedelta(seconds=5))
    factories.run_open_due(world.app)
    assert [r["tag"] for r in of(world, tid)] == [["tender"]]  # stage 1's record: names wait for the last stage
    resp = world.agency.api.post(
        f"/api/v1/tenders/{tid}/stages/advance", {"eliminated": [bid_ids[2]], "reason": "技术标不满足要求"}
    )
    assert resp.status_code == 200
    factories.run_open_due(world.app)
    _published, opened = of(world, tid)
    assert opened["tag"] == ["tenderUpdate"] and errors("release", opened) == []
    details = {d["id"]: d for d in opened["bids"]["details"]}
    assert details[bid_ids[0]]["value"] == {"amount": 500, "currency": "CNY"}
    assert details[bid_ids[1]]["status"] == "valid"
    assert details[bid_ids[2]]["status"] == "disqualified" and "value" not in details[bid_ids[2]]  # never opened
