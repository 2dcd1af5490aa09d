"""The chair elected by the committee (评标委员会推选主任委员), through the API and the room page.

Five seats: a strict majority is 3 votes. Votes are secret (counts only) until the result; bidders and outsiders
neither vote nor see the count; the agency's appointment closes an open election.
"""

from __future__ import annotations

from typing import Any

from tests.accounts.helpers import csrf_from
from tests.evaluation.helpers import (
    browser,
    build_pool,
    buyer_rep,
    committee_body,
    draw,
    opened_tender,
    outsider,
    put_json,
    seat_everyone,
    user_field,
)
from tests.html import parse
from tests.tendering.helpers import Party, World, audit_actions

QUAL, CONF = "资格审查", "符合性审查"


def electing_room(world: World, clock: Any) -> tuple[int, dict[int, Party], Any, dict[str, Any]]:
    tender = opened_tender(world, clock)
    tid = tender["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    body = committee_body(rep, rules={"drop_extremes": False})
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", body).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1})
    assert opened.status_code == 201, opened.json
    return tid, members, pool, opened.json


def vote(party: Party, base: str, seat: int) -> Any:
    return party.api.post(f"{base}/chair/votes", json_body={"seat": seat})


def tally(status: dict[str, Any]) -> dict[int, int]:
    return {t["seat"]: t["votes"] for t in status["chair_election"]["tally"]}


def chair_events(world: World, tid: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (a, d)
        for a, _actor, s, d in audit_actions(world.app)
        if a.startswith("evaluation.chair.") and s == f"tender:{tid}/evaluation"
    ]


def test_members_elect_their_chair_by_a_strict_majority(world, clock) -> None:
    tid, members, pool, opened = electing_room(world, clock)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    assert opened["chair_seat"] is None
    election = opened["chair_election"]
    assert (election["status"], election["seats"], election["majority"], election["votes_cast"]) == ("open", 5, 3, 0)
    assert [d.get("chair_election") for a, *_r, d in audit_actions(world.app) if a == "evaluation.room.opened"] == [
        "open"
    ]

    # before a chair exists the members read the bids and do their review; chair-only actions are refused (409)
    bids = opened["bid_ids"]
    assert members[2].api.get(f"{base}/bids").status_code == 200
    for party in members.values():
        verdicts = [{"bid_id": b, "requirement": r, "passed": True} for b in bids for r in (QUAL, CONF)]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    refused = members[1].api.post(f"{base}/review/close")
    assert refused.status_code == 409 and "no chair" in refused.json["detail"]
    assert members[1].api.post(f"{base}/aggregate").status_code == 409

    # outsiders, bidders and the agency cast no vote and see no count (the agency and overseers see counts)
    stranger, bidder = outsider(pool, members), world.bidders[0]
    assert vote(stranger, base, 1).status_code == 403
    assert vote(bidder, base, 1).status_code == 403
    assert vote(world.agency, base, 1).status_code == 403
    assert bidder.api.get(f"{base}/chair").status_code == 403
    assert bidder.api.get(base).status_code == 403
    assert stranger.api.get(f"{base}/chair").status_code == 403
    assert vote(members[1], base, 9).status_code == 422  # no such seat
    assert members[1].api.post(f"{base}/chair/votes", json_body={"seat": "x"}).status_code == 422

    # a split vote: 2 for seat 2, 2 for seat 3; a repeated vote changes nothing
    for seat, whom in ((1, 2), (2, 2), (3, 3), (4, 3)):
        cast = vote(members[seat], base, whom)
        assert cast.status_code == 200, cast.json
        assert cast.json["my_vote"] == whom and cast.json["chair_seat"] is None
    assert vote(members[1], base, 2).status_code == 200
    status = members[5].api.get(base).json
    assert status["chair_seat"] is None and status["chair_election"]["status"] == "open"
    assert tally(status) == {2: 2, 3: 2} and status["chair_election"]["votes_cast"] == 4
    # secret: a member sees the count and their own vote only; nobody's choice appears anywhere in the status
    assert members[5].api.get(f"{base}/chair").json["my_vote"] is None
    assert members[3].api.get(f"{base}/chair").json["my_vote"] == 3
    assert "candidate" not in str(status) and "my_vote" not in status
    assert tally(world.agency.api.get(base).json) == {2: 2, 3: 2}
    assert members[2].api.post(f"{base}/review/close").status_code == 409  # still no chair

    # seat 3 changes their vote: 3 of 5 for seat 2 elect at once
    elected = vote(members[3], base, 2)
    assert elected.status_code == 200 and elected.json["chair_seat"] == 2
    assert elected.json["election"]["status"] == "elected" and elected.json["election"]["decided_at"]
    status = members[4].api.get(base).json
    assert status["chair_seat"] == 2 and tally(status) == {2: 3, 3: 1}
    assert [p["seat"] for p in status["progress"] if p["chair"]] == [2]
    assert vote(members[5], base, 5).status_code == 409  # decided: no more votes
    assert world.agency.api.post(f"{base}/chair", json_body={"seat": 4}).status_code == 409  # already has a chair

    # the elected chair does what only the chair does; the others still may not
    assert members[1].api.post(f"{base}/review/close").status_code == 403
    closed = members[2].api.post(f"{base}/review/close")
    assert closed.status_code == 200 and closed.json["phase"] == "scoring", closed.json

    events = chair_events(world, tid)
    votes = [d for a, d in events if a == "evaluation.chair.voted"]
    assert [(d["seat"], d["candidate_seat"], d["changed"]) for d in votes] == [
        (1, 2, False),
        (2, 2, False),
        (3, 3, False),
        (4, 3, False),
        (3, 2, True),
    ]
    assert all(d["at"] and d["stage"] == 1 for d in votes)
    result = [d for a, d in events if a == "evaluation.chair.elected"]
    assert len(result) == 1
    assert {k: v for k, v in result[0].items() if k != "at"} == {
        "stage": 1,
        "seat": 2,
        "tally": {"2": 3, "3": 1},
        "votes_cast": 4,
        "seats": 5,
        "majority": 3,
    }


def test_the_agency_appointment_closes_an_open_election(world, clock) -> None:
    tid, members, _pool, _opened = electing_room(world, clock)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    assert vote(members[1], base, 1).status_code == 200
    assert vote(members[2], base, 3).status_code == 200

    assert members[1].api.post(f"{base}/chair", json_body={"seat": 1}).status_code == 403  # members do not appoint
    assert world.other_agency.api.post(f"{base}/chair", json_body={"seat": 1}).status_code == 403
    assert world.agency.api.post(f"{base}/chair", json_body={"seat": 9}).status_code == 422
    appointed = world.agency.api.post(f"{base}/chair", json_body={"seat": 4})
    assert appointed.status_code == 200, appointed.json
    assert appointed.json["chair_seat"] == 4
    assert appointed.json["chair_election"]["status"] == "closed"
    assert tally(appointed.json) == {1: 1, 3: 1} and appointed.json["chair_election"]["votes_cast"] == 2
    assert vote(members[3], base, 1).status_code == 409  # the election is over
    assert world.agency.api.post(f"{base}/chair", json_body={"seat": 5}).status_code == 409

    events = chair_events(world, tid)
    assert [a for a, _d in events] == [
        "evaluation.chair.voted",
        "evaluation.chair.voted",
        "evaluation.chair.election_closed",
        "evaluation.chair.appointed",
    ]
    closed, appointment = events[2][1], events[3][1]
    assert closed["reason"] == "appointed" and closed["tally"] == {"1": 1, "3": 1} and closed["votes_cast"] == 2
    assert appointment["seat"] == 4 and appointment["stage"] == 1


def test_an_appointed_room_has_no_election(world, clock) -> None:
    tender = opened_tender(world, clock)
    tid = tender["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 3})
    assert opened.status_code == 201
    assert opened.json["chair_seat"] == 3 and opened.json["chair_election"] is None
    base = f"/api/v1/tenders/{tid}/rooms/1"
    assert vote(members[1], base, 1).status_code == 409
    assert members[1].api.get(f"{base}/chair").json == {"chair_seat": 3, "election": None, "my_vote": None}


# --- the room page -----------------------------------------------------------------------------------------


def test_members_vote_through_the_room_page(world, clock) -> None:
    tid, members, pool, _opened = electing_room(world, clock)
    page_url = f"/evaluation/tenders/{tid}/rooms/1"
    vote_url = f"{page_url}/chair-vote"

    me = browser(world, members[1].user_id)
    me.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"  # like a browser: on every request, flashes too
    page = me.get(page_url).get_data(as_text=True)
    doc = parse(page)
    assert doc.has("chair-election") and "Cast my vote" in doc.text
    candidates = doc.select("tr", data_candidate_seat=True)
    assert [tr.get("data-candidate-seat") for tr in candidates] == ["1", "2", "3", "4", "5"]
    name = user_field(world, members[4].user_id, "display_name")
    assert name in [td.text for tr in candidates for td in tr.select("td")]  # seats listed with the names
    token = csrf_from(page)
    assert me.post(vote_url, data={"seat": "2"}).status_code == 400  # no CSRF token
    cast = me.post(vote_url, data={"seat": "2", "csrf_token": token})
    assert cast.status_code == 303 and cast.headers["Location"].endswith(f"{page_url}#chair-election")
    page = me.get(page_url).get_data(as_text=True)
    assert "Your vote is counted." in page and "Your vote: seat 2." in page
    assert "1 of 5 members have voted." in page and "Change my vote" in page
    chosen = [el for el in parse(page).select("input", checked=True) if el.has_attr("required")]
    assert [el.get("value") for el in chosen] == ["2"]
    bad = me.post(vote_url, data={"seat": "nine", "csrf_token": token})
    assert bad.status_code == 303
    assert "Choose the seat you vote for." in me.get(page_url).get_data(as_text=True)

    # in Chinese, two more votes elect seat 2; the page shows the result
    for seat in (2, 3):
        other = browser(world, members[seat].user_id)
        token = csrf_from(other.get(page_url).get_data(as_text=True))
        assert other.post(vote_url, data={"seat": "2", "csrf_token": token}).status_code == 303
    page = other.get(page_url, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert 'id="election-result"' in page and 'data-status="elected"' in page and 'name="seat"' not in page
    chair_page = browser(world, members[2].user_id).get(page_url).get_data(as_text=True)
    assert 'id="chair"' in chair_page  # the elected chair has the chair's buttons

    # a stranger (no seat) cannot vote through the page either (refused and logged)
    stranger = browser(world, outsider(pool, members).user_id)
    token = csrf_from(stranger.get("/").get_data(as_text=True))
    assert stranger.post(vote_url, data={"seat": "1", "csrf_token": token}).status_code == 403
    assert stranger.get(page_url).status_code == 403
