"""The experts' pages (Flask test client): my evaluations, answering an invitation, the no-conflict declaration,
the room (bids only after the declaration, only to seated members), the score sheet, documents viewed in the page."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.accounts.helpers import csrf_from, login, make_user
from tests.evaluation.helpers import (
    Pool,
    browser,
    build_pool,
    buyer_rep,
    committee_body,
    draw,
    opened_tender,
    outsider,
    put_json,
    seat_everyone,
    seated,
)
from tests.html import parse
from tests.tendering.helpers import Party, World, audit_actions

TECH, COMM, PRICE = "技术方案", "商务及信誉", "投标报价"
QUAL, CONF = "资格审查", "符合性审查"
# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def drawn_committee(world: World, clock: Any, **tender_kw: Any) -> tuple[int, Pool, Party]:
    """An opened tender (three bids) with its committee drawn: seats invited, nobody has answered yet."""
    tender = opened_tender(world, clock, **tender_kw)
    tid = tender["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    body = committee_body(rep, rules={"drop_extremes": False})
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", body).status_code == 200
    draw(world, tid)
    return tid, pool, rep


def scoring_room(
    world: World, clock: Any, chair_seat: int = 1, **tender_kw: Any
) -> tuple[int, dict[int, Party], Pool, list[int]]:
    """Everyone seated and declared, the room of stage 1 opened, every bid passed the review: scoring."""
    tid, pool, rep = drawn_committee(world, clock, **tender_kw)
    members = seat_everyone(world, tid, pool, rep)
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": chair_seat})
    assert opened.status_code == 201, opened.json
    bids = list(opened.json["bid_ids"])
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for party in members.values():
        verdicts = [{"bid_id": b, "requirement": r, "passed": True} for b in bids for r in opened.json["requirements"]]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    closed = members[chair_seat].api.post(f"{base}/review/close")
    assert closed.status_code == 200 and closed.json["phase"] == "scoring", closed.json
    return tid, members, pool, bids


def _html(resp: Any) -> str:
    return str(resp.get_data(as_text=True))


def _config(page: str) -> dict[str, Any]:
    script = parse(page).by_id("room-config")  # fails the test when the page has none
    assert script.tag == "script" and script.get("type") == "application/json"
    return dict(json.loads(script.text))


def test_an_invited_expert_confirms_declares_and_only_then_sees_the_bids(world, clock) -> None:
    tid, pool, rep = drawn_committee(world, clock)
    seats = seated(world, tid)
    mine = next(s for s in seats if s["kind"] == "expert" and s["status"] == "invited")
    me = browser(world, mine["user_id"])
    room_url = f"/evaluation/tenders/{tid}/rooms/1"

    page = _html(me.get("/evaluation/", headers=EN))
    assert "My evaluations" in page and "邯郸市第一中学教学楼改造工程" in page
    assert (
        f'action="/evaluation/tenders/{tid}/confirm"' in page and f'action="/evaluation/tenders/{tid}/decline"' in page
    )
    assert "投标人1建设有限公司" not in page  # nothing about the bids before the declaration

    token = csrf_from(page)
    assert me.post(f"/evaluation/tenders/{tid}/confirm", data={}).status_code == 400  # no CSRF token
    confirmed = me.post(f"/evaluation/tenders/{tid}/confirm", data={"csrf_token": token})
    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith(
        f"/evaluation/tenders/{tid}/declaration"
    )

    # confirmed but not declared: the room sends the member to the declaration, no bid is shown
    gated = me.get(room_url)
    assert gated.status_code == 303 and gated.headers["Location"].endswith(f"/evaluation/tenders/{tid}/declaration")
    declaration = _html(me.get(f"/evaluation/tenders/{tid}/declaration", headers=ZH))
    assert "本人承诺" in declaration and "投标人1建设有限公司" in declaration  # the bidders to check against
    assert 'id="sign-declaration"' in declaration
    unticked = me.post(
        f"/evaluation/tenders/{tid}/declaration", data={"csrf_token": token, "choice": "no_conflict"}, headers=EN
    )
    assert unticked.status_code == 303
    assert "Tick the statement" in _html(me.get(f"/evaluation/tenders/{tid}/declaration", headers=EN))
    assert me.get(room_url).status_code == 303  # still not declared

    signed = me.post(
        f"/evaluation/tenders/{tid}/declaration", data={"csrf_token": token, "choice": "no_conflict", "agree": "1"}
    )
    assert signed.status_code == 303
    assert any(a == "evaluation.member.declared" for a, *_ in audit_actions(world.app))
    assert me.get(room_url).status_code == 404  # declared, but the room is not open yet
    assert "not open yet" in _html(me.get("/evaluation/", headers=EN))

    # the others take their seats; the agency opens the room; now the bids are there
    for seat in seated(world, tid):
        if seat["user_id"] == mine["user_id"]:
            continue
        party = rep if seat["kind"] == "buyer_rep" else pool.by_user[seat["user_id"]]
        if seat["status"] == "invited":
            assert party.api.post(f"/api/v1/tenders/{tid}/committee/confirm").status_code == 200
        resp = party.api.post(f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": True})
        assert resp.status_code == 200, resp.json
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 1})
    assert opened.status_code == 201, opened.json
    bid_a = opened.json["bid_ids"][0]
    room = me.get(room_url, headers=ZH)
    assert room.status_code == 200
    page = _html(room)
    assert "投标人1建设有限公司" in page and "10,000.00" in page  # bidder and price of the first bid
    assert f"/api/v1/tenders/{tid}/rooms/1/bids/{bid_a}/envelopes/bid" in page  # download via the logged API
    assert f"/evaluation/tenders/{tid}/rooms/1/bids/{bid_a}/envelopes/bid/files/" in page  # viewed in the page
    assert 'id="review"' in page and page.count("data-verdict") == 6  # three bids × two requirements
    assert f'data-seat="{mine["seat"]}"' in page
    cfg = _config(page)
    assert cfg["phase"] == "review" and cfg["urls"]["events"] == f"/api/v1/tenders/{tid}/rooms/1/events"
    assert cfg["urls"]["review"] == f"/api/v1/tenders/{tid}/rooms/1/review"
    assert "/evaluation/static/room.js" in page
    assert me.get("/evaluation/static/room.js").status_code == 200
    assert f"/evaluation/tenders/{tid}/rooms/1" in _html(me.get("/evaluation/"))


def test_outsiders_are_refused_and_the_agency_sees_progress_but_no_bid(world, clock) -> None:
    tid, members, pool, bids = scoring_room(world, clock)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    stranger = browser(world, outsider(pool, members).user_id)
    assert stranger.get(room_url).status_code == 403
    assert stranger.get(f"/evaluation/tenders/{tid}/declaration").status_code == 403
    file_url = f"{room_url}/bids/{bids[0]}/envelopes/bid/files/技术方案.txt"
    assert stranger.get(file_url).status_code == 403
    assert "邯郸市第一中学" not in _html(stranger.get("/evaluation/"))  # nothing of a committee it is not on
    bidder = browser(world, world.bidders[0].user_id)
    assert bidder.get(room_url).status_code == 403
    denied = [s for a, _actor, s, _d in audit_actions(world.app) if a == "access.denied"]
    assert denied.count(f"tender:{tid}/evaluation") >= 4

    anonymous = world.app.test_client()
    assert anonymous.get(room_url).status_code in (302, 303, 401)
    assert anonymous.get("/evaluation/").status_code in (302, 303, 401)

    # the agency sees the progress, never a bid nor a sheet
    _uid, secret = make_user(world.app, "agentpage", ["agency"], totp=True, organisation_id=world.agency.org_id)
    agency = world.app.test_client()
    assert login(agency, "agentpage", totp_secret=secret).status_code == 303
    page = _html(agency.get(room_url, headers=EN))
    assert "Room status" in page and 'data-seat="5"' in page
    assert "投标人1建设有限公司" not in page and "data-sheet" not in page and "/files/" not in page


def test_a_declined_invitation_needs_its_reason(world, clock) -> None:
    tid, _pool, _rep = drawn_committee(world, clock)
    mine = next(s for s in seated(world, tid) if s["kind"] == "expert" and s["status"] == "invited")
    me = browser(world, mine["user_id"])
    token = csrf_from(me.get("/evaluation/").data)
    empty = me.post(f"/evaluation/tenders/{tid}/decline", data={"csrf_token": token, "reason": "  "}, headers=EN)
    assert empty.status_code == 303
    assert "Give the reason for declining." in _html(me.get("/evaluation/", headers=EN))
    assert 'data-status="invited"' in _html(me.get("/evaluation/"))
    done = me.post(f"/evaluation/tenders/{tid}/decline", data={"csrf_token": token, "reason": "出差在外地"})
    assert done.status_code == 303
    page = _html(me.get("/evaluation/", headers=ZH))
    assert 'data-status="declined"' in page and "出差在外地" in page
    again = me.post(f"/evaluation/tenders/{tid}/confirm", data={"csrf_token": token}, headers=EN)
    assert again.status_code == 303  # a conflict is shown on the page, not an error page
    assert "no pending invitation" in _html(me.get("/evaluation/", headers=EN))


def test_the_score_sheet_shows_ranges_computed_price_and_keeps_drafts(world, clock) -> None:
    tid, members, _pool, bids = scoring_room(world, clock)
    bid_a = bids[0]
    me = browser(world, members[2].user_id)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    page = _html(me.get(room_url, headers=ZH))
    assert page.count("data-sheet ") == 3
    assert f'data-criterion="{TECH}" data-min="0" data-max="45" data-precision="2"' in page
    assert f'data-criterion="{COMM}" data-min="0" data-max="15"' in page
    assert f'data-criterion="{PRICE}"' not in page  # computed, never typed
    assert "<output data-computed-value>40.00</output>" in page  # the lowest price gets the full 40
    assert 'id="review"' not in page and 'id="review-result"' in page
    cfg = _config(page)
    assert cfg["phase"] == "scoring" and cfg["precision"] == 2 and cfg["member"] is True

    # the page's script saves through the API with the session cookie and the CSRF header
    token = csrf_from(page)
    url = f"/api/v1/tenders/{tid}/rooms/1/sheets/{bid_a}"
    body = {"items": {TECH: "38.5"}, "reasons": {}}
    assert me.put(url, json=body).status_code in (400, 403)  # no CSRF header: refused
    saved = me.put(url, json=body, headers={"X-CSRFToken": token})
    assert saved.status_code == 200, saved.json
    again = _html(me.get(room_url))
    assert 'data-kind="points" value="38.50"' in again  # a refresh loses nothing
    refused = me.put(url, json={"items": {TECH: "46"}, "reasons": {}}, headers={"X-CSRFToken": token})
    assert refused.status_code == 422 and TECH in refused.json["errors"]

    # a document of the opened bid, shown in the page; the access is logged like a download
    viewed = me.get(f"{room_url}/bids/{bid_a}/envelopes/bid/files/技术方案.txt")
    assert viewed.status_code == 200 and viewed.get_data() == "方案 1000000".encode()
    assert viewed.mimetype == "text/plain" and viewed.headers["Content-Disposition"].startswith("inline")
    assert viewed.headers["X-Content-Type-Options"] == "nosniff"
    logged = [d for a, *_r, d in audit_actions(world.app) if a == "evaluation.file.downloaded"]
    assert logged and logged[-1]["bid_id"] == bid_a and logged[-1]["seat"] == 2
    assert me.get(f"{room_url}/bids/{bid_a}/envelopes/bid/files/nope.txt").status_code == 404
    assert me.get(f"{room_url}/bids/{bid_a}/envelopes/nope/files/技术方案.txt").status_code == 404
    assert me.get(f"{room_url}/bids/{2**40}/envelopes/bid/files/x.txt").status_code == 404


def test_the_chair_sees_the_chair_actions_others_do_not(world, clock) -> None:
    tid, members, _pool, _bids = scoring_room(world, clock, chair_seat=3)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    chair = _html(browser(world, members[3].user_id).get(room_url, headers=EN))
    assert 'id="chair"' in chair and 'data-chair-step="aggregate"' in chair
    other = _html(browser(world, members[1].user_id).get(room_url, headers=EN))
    assert 'id="chair"' not in other and "data-chair-step" not in other


def test_the_result_the_report_and_its_signature_with_re_authentication(world, clock) -> None:
    tid, members, pool, bids = scoring_room(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for party in members.values():
        for bid, tech in zip(bids, ("40", "30"), strict=True):
            assert put_json(party, f"{base}/sheets/{bid}", {"items": {TECH: tech, COMM: "12"}}).status_code == 200
            assert party.api.post(f"{base}/sheets/{bid}/submit").status_code == 200
    chair = browser(world, members[1].user_id)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    token = csrf_from(chair.get(room_url).data)
    aggregated = chair.post(f"{base}/aggregate", headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert aggregated.status_code == 200, aggregated.json
    page = _html(chair.get(room_url, headers=EN))
    assert 'id="result"' in page and "92.00" in page  # 40 + 12 + 40
    assert 'id="draw-up-form"' in page  # a plain form post (app/evaluation/report/views.py)
    drawn = chair.post(f"/api/v1/tenders/{tid}/evaluation/report", json={}, headers={"X-CSRFToken": token})
    assert drawn.status_code == 201, drawn.json
    sha = drawn.json["report_sha256"]

    report_url = f"/evaluation/tenders/{tid}/report"
    me = browser(world, members[2].user_id)
    page = _html(me.get(report_url, headers=EN))
    assert sha in page and 'id="sign-form"' in page and "投标人1建设有限公司" in page
    token = csrf_from(page)
    wrong = me.post(
        f"{report_url}/sign", data={"csrf_token": token, "report_sha256": sha, "password": "nope"}, headers=EN
    )
    assert wrong.status_code == 303
    assert "the password or code is wrong" in _html(me.get(report_url, headers=EN))
    assert any(a == "evaluation.report.sign_refused" for a, *_ in audit_actions(world.app))
    from tests.accounts.helpers import PASSWORD

    signed = me.post(
        f"{report_url}/sign",
        data={"csrf_token": token, "report_sha256": sha, "password": PASSWORD, "dissent": "技术分偏高"},
    )
    assert signed.status_code == 303
    page = _html(me.get(report_url, headers=EN))
    assert 'id="signed"' in page and 'id="sign-form"' not in page and "技术分偏高" in page
    assert browser(world, outsider(pool, members).user_id).get(report_url).status_code == 403


DUR, GAP = "工期偏差", "缺项补价"
ADJUSTED = {
    "items": [{"name": QUAL, "description": "资质、业绩"}],
    "adjustments": [
        {"name": DUR, "kind": "percent", "min": -5, "max": 10, "description": "工期每偏离一天加价"},
        {"name": GAP, "kind": "amount", "min": 0, "max": 200_000},
    ],
}


def adjusted_room(world: World, clock: Any) -> tuple[int, dict[int, Party], Pool, list[int]]:
    return scoring_room(
        world,
        clock,
        prices=(1_300_000, 1_100_000),
        min_bids=2,
        evaluation_method="lowest_evaluated_price",
        criteria=ADJUSTED,
    )


def test_a_lowest_price_room_records_price_adjustments_within_their_bounds(world, clock) -> None:
    tid, members, _pool, bids = adjusted_room(world, clock)
    page = _html(browser(world, members[2].user_id).get(f"/evaluation/tenders/{tid}/rooms/1", headers=EN))
    assert page.count("data-sheet ") == 2 and 'data-mode="adjusted"' in page
    assert f'data-bid="{bids[0]}" data-status="empty" data-mode="adjusted" data-price="1300000"' in page
    assert f'data-criterion="{DUR}" data-min="-5" data-max="10" data-precision="2" data-kind="percent"' in page
    # an amount is typed in 元 (two decimals), its bounds shown in 元: 200 000 分 is 2,000.00
    assert (
        f'data-criterion="{GAP}" data-min="0.00" data-max="2,000.00" data-precision="2" data-kind="amount" '
        'data-unit="yuan"'
    ) in page
    assert "CNY 0.00 – CNY 2,000.00" in page and "200000" not in page.replace('data-price="1', "")
    assert "data-computed-value" not in page and "Evaluated price (computed)" in page
    assert 'id="adjustments"' in page and "工期每偏离一天加价" in page
