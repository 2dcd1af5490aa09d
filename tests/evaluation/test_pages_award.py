"""The agency's pages from the seated committee to the award (app/evaluation/room/ and report/ views), with the
test client:
open the room (chair appointed or elected), see the progress and the result, the report's signatures and PDF,
start the publicity, answer a bidder's objection (filed from the bidder's page), award and reassign; the hub's
summary of these steps. Wrong roles are refused; bad input answers the page with its error summary and writes
nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import render_template_string

from tests.accounts.helpers import PASSWORD, csrf_from, login, make_user
from tests.evaluation.helpers import browser, put_json
from tests.evaluation.test_pages import COMM, TECH, drawn_committee, scoring_room
from tests.evaluation.test_zh_pages import english_words, user_data, visible_text
from tests.html import Document, parse
from tests.tendering.helpers import World, audit_actions

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def page(resp: Any) -> Document:
    return parse(resp)


def agency_browser(world: World, name: str = "agentpages", org_id: int | None = None) -> Any:
    """A user of the tender's agency signed in through the form (password and TOTP)."""
    _uid, secret = make_user(world.app, name, ["agency"], totp=True, organisation_id=org_id or world.agency.org_id)
    client = world.app.test_client()
    assert login(client, name, totp_secret=secret).status_code == 303
    return client


def post(client: Any, url: str, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Any:
    token = csrf_from(client.get("/evaluation/").data)
    return client.post(url, data={"csrf_token": token, **(data or {})}, headers=headers or EN)


def aggregated(world: World, clock: Any) -> tuple[int, dict[int, Any], list[str]]:
    """Two bids (1 000 000 and 1 250 000 分), every sheet submitted (technical 40 and 30 points), aggregated by the
    chair (seat 1): the first bid ranks first."""
    tid, members, _pool, bids = scoring_room(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for party in members.values():
        for bid, tech in zip(bids, ("40", "30"), strict=True):
            assert put_json(party, f"{base}/sheets/{bid}", {"items": {TECH: tech, COMM: "12"}}).status_code == 200
            assert party.api.post(f"{base}/sheets/{bid}/submit").status_code == 200
    assert members[1].api.post(f"{base}/aggregate").status_code == 200
    return tid, members, bids


def drawn_up(world: World, clock: Any, sign: bool = True) -> tuple[int, dict[int, Any], list[str], str]:
    tid, members, bids = aggregated(world, clock)
    resp = members[1].api.post(f"/api/v1/tenders/{tid}/evaluation/report", json_body={"recommended": 2})
    assert resp.status_code == 201, resp.json
    sha = str(resp.json["report_sha256"])
    if sign:
        for party in members.values():
            signed = party.api.post(
                f"/api/v1/tenders/{tid}/evaluation/report/signatures",
                json_body={"report_sha256": sha, "password": PASSWORD},
            )
            assert signed.status_code == 201, signed.json
    return tid, members, bids, sha


def count(app: Any, action: str) -> int:
    return sum(1 for a, *_ in audit_actions(app) if a == action)


# --- rooms -------------------------------------------------------------------------------------------


def test_the_agency_opens_a_room_with_an_election_and_appoints_the_chair(world, clock) -> None:
    from tests.evaluation.helpers import seat_everyone

    tid, pool, rep = drawn_committee(world, clock)
    agency = agency_browser(world)
    url = f"/agency/tenders/{tid}/evaluation/rooms"
    shown = page(agency.get(url, headers=EN))
    assert shown.has("incomplete") and shown.has("open-room-1")  # the form shows; the service decides
    refused = post(agency, f"{url}/1/open", {"s1-chair_seat": ""})
    assert refused.status_code == 409
    assert "Every seat must be confirmed and declared" in refused.get_data(as_text=True)
    assert page(refused).error_summary is not None
    assert world.agency.api.get(f"/api/v1/tenders/{tid}/rooms/1").status_code == 404  # nothing written

    seat_everyone(world, tid, pool, rep)
    bad = post(agency, f"{url}/1/open", {"s1-chair_seat": "99"})  # not a seat of the form's choices
    assert bad.status_code == 400 and page(bad).error_summary is not None
    assert world.agency.api.get(f"/api/v1/tenders/{tid}/rooms/1").status_code == 404

    opened = post(agency, f"{url}/1/open", {"s1-chair_seat": ""})
    assert opened.status_code == 303, opened.get_data(as_text=True)
    room = world.agency.api.get(f"/api/v1/tenders/{tid}/rooms/1").json
    assert room["chair_seat"] is None and room["chair_election"]["status"] == "open"
    shown = page(agency.get(url, headers=ZH))
    assert shown.has("appoint-chair-1") and shown.by_id("stage-1").get("data-stage") == "1"
    assert len(shown.select("tr", data_seat=True)) == 5
    assert post(agency, f"{url}/1/open", {"s1-chair_seat": ""}).status_code == 409  # already open

    appointed = post(agency, f"{url}/1/chair", {"c1-seat": "2"})
    assert appointed.status_code == 303
    assert world.agency.api.get(f"/api/v1/tenders/{tid}/rooms/1").json["chair_seat"] == 2
    shown = page(agency.get(url, headers=EN))
    assert not shown.has("appoint-chair-1") and shown.by_id("stage-1").get("data-stage") == "1"


def test_progress_the_result_in_yuan_and_the_hub_summary(world, clock) -> None:
    tid, members, bids = aggregated(world, clock)
    agency = agency_browser(world)
    rooms = page(agency.get(f"/agency/tenders/{tid}/evaluation/rooms", headers=EN))
    assert rooms.by_id("progress-1").text.count("2 / 2") == len(members)
    assert rooms.has("result-link-1")
    result = agency.get(f"/agency/tenders/{tid}/evaluation/rooms/1/result", headers=ZH)
    assert result.status_code == 200
    shown = page(result)
    ranking = shown.by_id("ranking").text
    assert "1,000,000.00 元" not in ranking  # prices are in 分: 1 000 000 分 = 10 000.00 元
    assert "10,000.00 元" in ranking and "12,500.00 元" in ranking
    ranks = [a.get("data-bid") for t, a in shown.tags if t == "tr" and a.get("data-rank")]
    assert ranks == bids  # same technical points: 40 for the first bid, 30 for the second
    assert "投标人1建设有限公司" in ranking

    # the hub's partial, rendered with the tender as the hub's page would
    from app.tendering.models import Tender

    with world.app.test_request_context("/", headers=EN):
        from app.extensions import db

        tender = db.session.get(Tender, tid)
        html = render_template_string('{% include "evaluation/_hub_award.html" %}', tender=tender)
    hub = parse(html)
    assert [a.get("data-step") for t, a in hub.tags if t == "li"] == [
        "rooms",
        "chair",
        "report",
        "publicity",
        "objections",
        "award",
    ]
    assert "Finished" in hub.by_id("hub-step-rooms").text and "Seat 1" in hub.by_id("hub-step-chair").text
    assert "Not drawn up" in hub.by_id("hub-step-report").text
    assert hub.by_id("hub-step-rooms").get("data-step") == "rooms"
    links = {a.get("data-action"): a.get("href") for t, a in hub.tags if t == "a"}
    assert links["rooms"] == f"/agency/tenders/{tid}/evaluation/rooms"
    assert links["report"] == f"/agency/tenders/{tid}/evaluation/report"
    with world.app.test_request_context("/", headers=ZH):
        tender = db.session.get(Tender, tid)
        zh = render_template_string('{% include "evaluation/_hub_award.html" %}', tender=tender)
    assert "评标室" in zh and not english_words(visible_text(zh), set())


def test_outsiders_and_other_roles_are_refused(world, clock) -> None:
    tid, members, _bids, _sha = drawn_up(world, clock)
    other = agency_browser(world, "otheragent", world.other_agency.org_id)
    bidder = browser(world, world.bidders[0].user_id)
    expert = browser(world, members[2].user_id)
    base = f"/agency/tenders/{tid}/evaluation"
    for path in ("/rooms", "/rooms/1/result", "/report", "/report.pdf", "/publicity", "/award"):
        assert other.get(base + path).status_code == 403, path
        assert bidder.get(base + path).status_code == 403, path
        assert expert.get(base + path).status_code == 403, path
    before = count(world.app, "evaluation.publicity.started")
    assert post(other, f"{base}/publicity").status_code == 403
    assert post(bidder, f"{base}/publicity").status_code == 403
    assert post(other, f"{base}/award", {"confirm": "y"}).status_code == 403
    assert count(world.app, "evaluation.publicity.started") == before
    # a bidder who did not bid on the tender may not object (the page is refused)
    outsider_bidder = browser(world, world.bidders[3].user_id)
    assert outsider_bidder.get(f"/tenders/{tid}/objections").status_code == 403
    # the agency is not a bidder
    agency = agency_browser(world)
    assert agency.get(f"/tenders/{tid}/objections").status_code == 403


# --- report, publicity, objections, award -------------------------------------------------------------


def test_report_signatures_pdf_and_publicity_needs_every_signature(world, clock) -> None:
    tid, members, _bids, sha = drawn_up(world, clock, sign=False)
    agency = agency_browser(world)
    base = f"/agency/tenders/{tid}/evaluation"
    signed = members[2].api.post(
        f"/api/v1/tenders/{tid}/evaluation/report/signatures", json_body={"report_sha256": sha, "password": PASSWORD}
    )
    assert signed.status_code == 201
    shown = page(agency.get(f"{base}/report", headers=ZH))
    assert shown.by_id("report-sha256").text == sha and shown.by_id("report-status").get("data-status") == "signing"
    rows = {a.get("data-seat"): a.get("data-signed") for t, a in shown.tags if t == "tr" and a.get("data-signed")}
    assert rows == {str(s): ("yes" if s == 2 else "no") for s in members}
    assert "(Asia/Shanghai, UTC+08:00)" in shown.by_id("signatures").text  # signed at, in the center's zone
    pdf = agency.get(f"{base}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    # publicity refused while members have not signed: the page answers 409 with its summary, nothing written
    early = post(agency, f"{base}/publicity", {})
    assert early.status_code == 409  # the form is not shown, the service refuses
    assert count(world.app, "evaluation.publicity.started") == 0


def test_publicity_objection_answer_and_award_through_the_pages(world, clock) -> None:
    tid, _members, bids, _sha = drawn_up(world, clock)
    agency = agency_browser(world)
    base = f"/agency/tenders/{tid}/evaluation"
    report = page(agency.get(f"{base}/report", headers=EN))
    assert report.has("to-publicity")
    shown = page(agency.get(f"{base}/publicity", headers=ZH))
    assert shown.has("publish-form")

    # too short a period: the form shows the service's message on the field, nothing written
    short = post(agency, f"{base}/publicity", {"days": "0.5"})
    assert short.status_code == 422 and page(short).error_summary is not None
    assert page(short).has("days-error")
    bad = post(agency, f"{base}/publicity", {"days": "abc"})
    assert bad.status_code == 400
    assert count(world.app, "evaluation.publicity.started") == 0

    started = post(agency, f"{base}/publicity", {"days": ""})
    assert started.status_code == 303
    window = page(agency.get(f"{base}/publicity", headers=EN))
    assert window.by_id("publicity-window").get("data-state") == "open" and window.has("no-objections")
    view = world.agency.api.get(f"/api/v1/tenders/{tid}/evaluation/report").json
    assert view["publicity_started_at"] is not None

    # the bidder finds the objection page from the tender page and files one
    bidder = browser(world, world.bidders[1].user_id)
    detail = page(bidder.get(f"/tenders/{tid}", headers=EN))
    assert detail.by_id("objections-link").get("href") == f"/tenders/{tid}/objections"
    empty = post(bidder, f"/tenders/{tid}/objections", {"text": "  "})
    assert empty.status_code == 400 and page(empty).has("text-error")
    filed = post(bidder, f"/tenders/{tid}/objections", {"text": "第一中标候选人业绩不实"})
    assert filed.status_code == 303
    mine = page(bidder.get(f"/tenders/{tid}/objections", headers=ZH))
    objection_id = next(
        str(a["id"]).split("-")[1]
        for t, a in mine.tags
        if t == "section" and str(a.get("id", "")).startswith("objection-")
    )
    assert mine.by_id(f"objection-{objection_id}").get("data-status") == "open"

    # the agency sees it, cannot award while it is open (and before the window ends), answers it
    listed = page(agency.get(f"{base}/publicity", headers=EN))
    assert listed.has("suspended") and listed.by_id(f"objection-{objection_id}").get("data-status") == "open"
    blank = post(agency, f"{base}/objections/{objection_id}/answer", {f"o{objection_id}-answer": ""})
    assert blank.status_code == 400 and page(blank).has(f"o{objection_id}-answer-error")
    clock.advance(timedelta(days=3, seconds=1))  # past the window (the sessions expired meanwhile)
    agency = agency_browser(world, "agentpages2")
    bidder = browser(world, world.bidders[1].user_id)
    refused = post(agency, f"{base}/award", {"confirm": "y"})
    assert refused.status_code == 409 and "objection is open" in refused.get_data(as_text=True)
    assert world.agency.api.get(f"/api/v1/tenders/{tid}/evaluation/award").status_code == 404
    answered = post(agency, f"{base}/objections/{objection_id}/answer", {f"o{objection_id}-answer": "经核查，业绩属实"})
    assert answered.status_code == 303
    objections = world.agency.api.get(f"/api/v1/tenders/{tid}/evaluation/objections").json
    assert objections[0]["status"] == "answered" and objections[0]["answer"] == "经核查，业绩属实"
    assert "经核查，业绩属实" in bidder.get(f"/tenders/{tid}/objections").get_data(as_text=True)

    # award: the confirmation is required
    unconfirmed = post(agency, f"{base}/award", {})
    assert unconfirmed.status_code == 400 and page(unconfirmed).has("confirm-error")
    assert world.agency.api.get(f"/api/v1/tenders/{tid}/evaluation/award").status_code == 404
    awarded = post(agency, f"{base}/award", {"confirm": "y"})
    assert awarded.status_code == 303
    notice = page(agency.get(f"{base}/award", headers=ZH))
    assert notice.by_id("award-notice").get("data-winner") == bids[0]
    assert "投标人1建设有限公司" in notice.by_id("winner").text
    notices = {a.get("data-bid"): a.get("data-notice") for t, a in notice.tags if t == "tr" and a.get("data-notice")}
    assert notices == {bids[0]: "award", bids[1]: "result"}
    assert "10,000.00 元" in notice.by_id("award-notice").text

    # reassign: the reason is required; then the second candidate wins
    no_reason = post(agency, f"{base}/award/reassign", {"confirm": "y", "reason": ""})
    assert no_reason.status_code == 400 and page(no_reason).has("reason-error")
    assert count(world.app, "evaluation.award.declined") == 0
    moved = post(agency, f"{base}/award/reassign", {"confirm": "y", "reason": "中标人放弃中标"})
    assert moved.status_code == 303
    api = world.agency.api.get(f"/api/v1/tenders/{tid}/evaluation/award").json
    assert api["document"]["payload"]["winner"]["bid_id"] == bids[1]
    shown = page(agency.get(f"{base}/award", headers=EN))
    assert "中标人放弃中标" in shown.by_id("declined").text and shown.has("no-candidate-left")
    again = post(agency, f"{base}/award/reassign", {"confirm": "y", "reason": "又放弃"})
    assert again.status_code == 409 and "No recommended candidate is left" in again.get_data(as_text=True)

    # every page, filled in, reads in Chinese (the zh walk of test_zh_pages sees them before any evaluation)
    data = user_data(world.app) | {"第一中标候选人业绩不实", "经核查，业绩属实", "中标人放弃中标", *bids}
    for path in ("/rooms", "/rooms/1/result", "/report", "/publicity", "/award"):
        html = agency.get(base + path, headers=ZH).get_data(as_text=True)
        assert not english_words(visible_text(html), data), (path, english_words(visible_text(html), data))
    html = bidder.get(f"/tenders/{tid}/objections", headers=ZH).get_data(as_text=True)
    assert not english_words(visible_text(html), data)


def test_a_review_stage_is_advanced_from_the_rooms_page(world, clock) -> None:
    from tests.evaluation.flows import review_all
    from tests.evaluation.helpers import build_pool, buyer_rep, committee_body, draw, run_open_due, seat_everyone
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

    agency = agency_browser(world)
    url = f"/agency/tenders/{tid}/evaluation/rooms"
    shown = page(agency.get(url, headers=EN))
    assert shown.has("open-room-1") and not shown.has("open-room-2")  # stage 2 is not opened yet
    assert post(agency, f"{url}/1/open", {"s1-chair_seat": "1"}).status_code == 303
    shown = page(agency.get(url, headers=EN))
    assert not shown.has("advance-1")  # the committee has not decided yet
    early = post(agency, f"{url}/1/advance", {"a1-reason": ""})
    assert early.status_code == 409 and page(early).error_summary is not None
    assert world.agency.api.get(f"/api/v1/tenders/{tid}").json["current_stage"] == 1

    bids = world.agency.api.get(f"/api/v1/tenders/{tid}/rooms/1").json["bid_ids"]
    base = f"/api/v1/tenders/{tid}/rooms/1"
    review_all(base, members, bids, bids[2], {2, 3, 4, 5})
    assert members[1].api.post(f"{base}/review/close").status_code == 200
    shown = page(agency.get(url, headers=EN))
    assert shown.has("advance-1") and shown.by_id("advance-1").get("data-confirm")
    advanced = post(agency, f"{url}/1/advance", {"a1-reason": ""})
    assert advanced.status_code == 303
    assert world.agency.api.get(f"/api/v1/tenders/{tid}").json["current_stage"] == 2
    assert not page(agency.get(url, headers=EN)).has("advance-1")
