"""The chair closes the review and aggregates the scores from the room page with plain form posts (no script):
each step moves the room on and is logged once; a step too early comes back to the room as a message and writes
nothing; another member is refused (403) and an unknown step is not found."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.helpers import csrf_from
from tests.evaluation.helpers import browser, put_json, seat_everyone
from tests.evaluation.test_pages import COMM, TECH, drawn_committee, scoring_room
from tests.evaluation.test_pages_award import EN, count
from tests.html import parse
from tests.tendering.helpers import World

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def _step(client: Any, tid: int, step: str) -> Any:
    token = csrf_from(client.get("/evaluation/").data)
    return client.post(f"/evaluation/tenders/{tid}/rooms/1/chair/{step}", data={"csrf_token": token}, headers=EN)


def _phase(client: Any, tid: int) -> str:
    page = parse(client.get(f"/evaluation/tenders/{tid}/rooms/1", headers=EN).get_data(as_text=True))
    return str(page.by_id("phase").get("data-phase"))


def test_the_chair_closes_the_review_with_a_form(world: World, clock: Any) -> None:
    tid, pool, rep = drawn_committee(world, clock)
    members = seat_everyone(world, tid, pool, rep)
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 2})
    assert opened.status_code == 201, opened.json
    base = f"/api/v1/tenders/{tid}/rooms/1"
    chair = browser(world, members[2].user_id)
    page = parse(chair.get(f"/evaluation/tenders/{tid}/rooms/1", headers=EN).get_data(as_text=True))
    assert page.by_id("chair").first("button", data_chair_step="close-review") is not None

    # not every review is in: back to the room with the reason, the room stays in review
    early = _step(chair, tid, "close-review")
    assert early.status_code == 303 and early.headers["Location"].endswith("/rooms/1#chair")
    assert _phase(chair, tid) == "review"
    assert count(world.app, "evaluation.review.closed") == 0

    for party in members.values():
        verdicts = [
            {"bid_id": b, "requirement": r, "passed": True}
            for b in opened.json["bid_ids"]
            for r in opened.json["requirements"]
        ]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200

    other = browser(world, members[1].user_id)
    assert _step(other, tid, "close-review").status_code == 403  # only the chair
    assert _phase(chair, tid) == "review"

    done = _step(chair, tid, "close-review")
    assert done.status_code == 303
    assert _phase(chair, tid) == "scoring"
    assert count(world.app, "evaluation.review.closed") == 1
    assert _step(chair, tid, "no-such-step").status_code == 404


def test_the_chair_aggregates_with_a_form_once_every_sheet_is_in(world: World, clock: Any) -> None:
    tid, members, _pool, bids = scoring_room(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    chair = browser(world, members[1].user_id)
    early = _step(chair, tid, "aggregate")
    assert early.status_code == 303
    assert _phase(chair, tid) == "scoring" and count(world.app, "evaluation.result.aggregated") == 0

    for party in members.values():
        for bid, tech in zip(bids, ("40", "30"), strict=True):
            assert put_json(party, f"{base}/sheets/{bid}", {"items": {TECH: tech, COMM: "12"}}).status_code == 200
            assert party.api.post(f"{base}/sheets/{bid}/submit").status_code == 200
    assert _step(browser(world, members[2].user_id), tid, "aggregate").status_code == 403
    assert count(world.app, "evaluation.result.aggregated") == 0

    assert _step(chair, tid, "aggregate").status_code == 303
    page = chair.get(f"/evaluation/tenders/{tid}/rooms/1", headers=EN).get_data(as_text=True)
    assert 'id="result"' in page and "92.00" in page and 'id="draw-up-form"' in page
    assert count(world.app, "evaluation.result.aggregated") == 1
