"""Clarifications during the evaluation (评标澄清): the chair asks one bidder, the bidder answers in writing before
the deadline; members read every answer; a bidder reads only its own requests; late answers are refused and
logged; the sweep expires overdue requests (idempotent). Through the API, and the bidder's page (test client)."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from typing import Any

from tests.accounts.helpers import csrf_from
from tests.evaluation.flows import review_all
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
from tests.html import parse as parse_html
from tests.tendering.helpers import Party, World, audit_actions, run_task

QUESTION = "请说明贵公司技术方案第3.2节所述设备的品牌和型号。"
ANSWER = "设备品牌为邯郸重工，型号HZ-200；本澄清不改变投标报价及实质性内容。"
EN = {"Accept-Language": "en-US,en;q=0.9"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def open_room(world: World, clock: Any) -> tuple[int, dict[int, Party], list[int], Any]:
    """An opened tender (bids of bidders 1..3), its committee seated and declared, the stage-1 room open (chair 1)."""
    tid = opened_tender(world, clock)["id"]
    pool = build_pool(world, plain=8)
    rep = buyer_rep(world)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    members = seat_everyone(world, tid, pool, rep)
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": 1})
    assert opened.status_code == 201, opened.json
    return tid, members, list(opened.json["bid_ids"]), pool


def answer(party: Party, cid: int, text: str = ANSWER, confirm: str = "1", file: tuple[bytes, str] | None = None):
    data: dict[str, Any] = {"text": text, "confirm": confirm}
    if file is not None:
        data["file"] = (io.BytesIO(file[0]), file[1])
    return party.api.post(f"/api/v1/my/clarifications/{cid}/answer", data=data, content_type="multipart/form-data")


def run_sweep(app: Any) -> Any:
    from app.evaluation.tasks import clarifications_due

    return run_task(app, clarifications_due)


def entries(world: World, action: str) -> list[dict[str, Any]]:
    return [d for a, _actor, _s, d in audit_actions(world.app) if a == action]


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_chair_asks_the_bidder_answers_members_read(world, clock) -> None:
    tid, members, bids, pool = open_room(world, clock)
    url = f"/api/v1/tenders/{tid}/rooms/1/clarifications"
    chair, member = members[1], members[2]
    first, second = world.bidders[0], world.bidders[1]

    # only the chair asks (refusals logged); the bid must be before the room; the question is required
    body = {"bid_id": bids[0], "question": QUESTION}
    assert member.api.post(url, json_body=body).status_code == 403
    assert world.agency.api.post(url, json_body=body).status_code == 403
    assert first.api.post(url, json_body=body).status_code == 403
    assert world.anonymous.post(url, json_body=body).status_code == 401
    assert chair.api.post(url, json_body={"bid_id": 2**40, "question": QUESTION}).status_code == 422
    assert chair.api.post(url, json_body={"bid_id": bids[0], "question": "  "}).status_code == 422
    assert chair.api.post(url, json_body={"bid_id": bids[0], "question": QUESTION, "hours": -1}).status_code == 422
    denied = [d for d in entries(world, "access.denied") if d.get("attempt") == "clarification-request"]
    assert len(denied) == 3

    asked = chair.api.post(url, json_body=body)
    assert asked.status_code == 201, asked.json
    cid = asked.json["id"]
    assert asked.json["status"] == "open" and asked.json["bidder"] == "投标人1建设有限公司"
    assert asked.json["asked_by_seat"] == 1
    assert parse(asked.json["due_at"]) - parse(asked.json["asked_at"]) == timedelta(hours=24)

    # the bidder sees its own request and nothing else; another bidder sees nothing and cannot answer
    mine = first.api.get("/api/v1/my/clarifications")
    assert mine.status_code == 200 and [c["id"] for c in mine.json] == [cid]
    assert set(mine.json[0]) == {
        "id",
        "tender_id",
        "tender_reference",
        "tender_title",
        "stage",
        "bid_id",
        "question",
        "asked_at",
        "due_at",
        "status",
        "answer",
        "answered_at",
        "file",
    }
    text = mine.get_data(as_text=True)
    names = [user_field(world, p.user_id, "username") for p in members.values()]
    assert not any(n in text for n in names) and "seat" not in text and "投标人2" not in text
    assert second.api.get("/api/v1/my/clarifications").json == []
    assert answer(second, cid).status_code == 403
    assert entries(world, "access.denied")[-1]["clarification_id"] == cid
    assert member.api.get("/api/v1/my/clarifications").status_code == 403  # experts hold no bidding permission
    assert answer(first, 2**40).status_code == 404

    # the answer: the signed statement is required; once, with its file stored write-once with its SHA-256
    assert answer(first, cid, confirm="0").status_code == 422
    assert answer(first, cid, text=" ").status_code == 422
    pdf = b"%PDF-1.4 clarification " + bytes(range(256))
    done = answer(first, cid, file=(pdf, "澄清函.pdf"))
    assert done.status_code == 200, done.json
    assert done.json["status"] == "answered" and done.json["answer"] == ANSWER
    assert done.json["file"] == {"name": "澄清函.pdf", "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf)}
    again = answer(first, cid, text="改口")
    assert again.status_code == 409 and again.mimetype == "application/problem+json"

    # every member (and the agency, overseers) reads the answer; members download the file (logged)
    for party in (chair, member):
        listed = party.api.get(url)
        assert listed.status_code == 200
        assert [(c["id"], c["status"], c["answer"]) for c in listed.json] == [(cid, "answered", ANSWER)]
    assert world.agency.api.get(url).status_code == 200
    assert world.auditor.api.get(url).status_code == 200
    assert outsider(pool, members).api.get(url).status_code == 403
    assert first.api.get(url).status_code == 403  # the bidder never reads the room's list
    got = member.api.get(f"{url}/{cid}/file")
    assert got.status_code == 200 and got.data == pdf
    assert got.headers["ETag"] == f'"{hashlib.sha256(pdf).hexdigest()}"'
    assert first.api.get(f"{url}/{cid}/file").status_code == 403
    assert world.agency.api.get(f"{url}/{cid}/file").status_code == 403
    assert member.api.get(f"{url}/{2**40}/file").status_code == 404

    # the evidence log: each step with its instant, under the tender's evaluation subject
    requested = entries(world, "evaluation.clarification.requested")
    assert requested == [
        {
            "clarification_id": cid,
            "stage": 1,
            "bid_id": bids[0],
            "seat": 1,
            "question_sha256": hashlib.sha256(QUESTION.encode()).hexdigest(),
            "due_at": requested[0]["due_at"],
            "at": requested[0]["at"],
        }
    ]
    answered = entries(world, "evaluation.clarification.answered")
    assert len(answered) == 1 and answered[0]["answer_sha256"] == hashlib.sha256(ANSWER.encode()).hexdigest()
    assert answered[0]["file"]["sha256"] == hashlib.sha256(pdf).hexdigest() and answered[0]["statement_confirmed"]
    assert entries(world, "evaluation.clarification.file_downloaded")[0]["seat"] == 2
    subjects = {s for a, _actor, s, _d in audit_actions(world.app) if a.startswith("evaluation.clarification.")}
    assert subjects == {f"tender:{tid}/evaluation"}


def test_a_late_answer_is_refused_and_logged_and_the_sweep_expires(world, clock) -> None:
    tid, members, bids, _pool = open_room(world, clock)
    url = f"/api/v1/tenders/{tid}/rooms/1/clarifications"
    chair = members[1]
    late = chair.api.post(url, json_body={"bid_id": bids[1], "question": QUESTION, "hours": 1}).json["id"]
    timely = chair.api.post(url, json_body={"bid_id": bids[2], "question": QUESTION}).json["id"]

    clock.advance(timedelta(hours=1))  # the deadline is reached: nothing is received any more
    refused = answer(world.bidders[1], late)
    assert refused.status_code == 409 and refused.json["type"].endswith("/clarification-deadline-passed")
    assert [d["clarification_id"] for d in entries(world, "evaluation.clarification.refused")] == [late]
    assert world.bidders[1].api.get("/api/v1/my/clarifications").json[0]["status"] == "expired"

    assert run_sweep(world.app) == {"clarifications_expired": 1}
    assert run_sweep(world.app) == {"clarifications_expired": 0}  # idempotent
    expired = entries(world, "evaluation.clarification.expired")
    assert [d["clarification_id"] for d in expired] == [late] and expired[0]["at"]
    assert answer(world.bidders[1], late).status_code == 409
    assert len(entries(world, "evaluation.clarification.refused")) == 2

    assert answer(world.bidders[2], timely).status_code == 200  # the other one is still within its 24 hours
    clock.advance(timedelta(days=2))
    assert run_sweep(world.app) == {"clarifications_expired": 0}  # an answered request never expires
    states = {c["id"]: c["status"] for c in chair.api.get(url).json}
    assert states == {late: "expired", timely: "answered"}


def test_only_bids_still_in_the_evaluation_while_the_room_reviews_or_scores(world, clock) -> None:
    tid, members, bids, _pool = open_room(world, clock)
    base = f"/api/v1/tenders/{tid}/rooms/1"
    review_all(base, members, bids, bids[1], {1, 2, 3})  # the majority fails the second bid
    assert members[1].api.post(f"{base}/review/close").json["phase"] == "scoring"
    url = f"{base}/clarifications"
    assert members[1].api.post(url, json_body={"bid_id": bids[1], "question": QUESTION}).status_code == 422
    assert members[1].api.post(url, json_body={"bid_id": bids[2], "question": QUESTION}).status_code == 201


def test_the_chair_asks_and_the_bidder_answers_through_the_pages(world, clock) -> None:
    from app.core.time import format_center_time

    tid, members, bids, _pool = open_room(world, clock)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"

    chair = browser(world, members[1].user_id)
    page = chair.get(room_url, headers=ZH).get_data(as_text=True)
    assert 'id="clarification-form"' in page
    token = csrf_from(page)
    sent = chair.post(
        f"{room_url}/clarifications", data={"csrf_token": token, "bid_id": str(bids[0]), "question": QUESTION}
    )
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"{room_url}#clarifications")
    listed = chair.get(room_url, headers=EN).get_data(as_text=True)
    assert QUESTION in listed and "waiting for the bidder" in listed

    member = browser(world, members[2].user_id)
    member_page = member.get(room_url).get_data(as_text=True)
    assert 'id="clarification-form"' not in member_page
    refused = member.post(
        f"{room_url}/clarifications",
        data={"csrf_token": csrf_from(member_page), "bid_id": str(bids[0]), "question": "x"},
    )
    assert refused.status_code == 403

    bidder = browser(world, world.bidders[0].user_id)
    mine = bidder.get("/evaluation/clarifications", headers=EN)
    assert mine.status_code == 200
    html = mine.get_data(as_text=True)
    due = world.bidders[0].api.get("/api/v1/my/clarifications").json[0]
    with world.app.app_context():
        shown = format_center_time(parse(due["due_at"]), "Asia/Shanghai")
    assert QUESTION in html and shown in html and "(Asia/Shanghai, UTC+08:00)" in html
    assert "may not change the substance of the bid" in html
    identities = [user_field(world, p.user_id, f) for p in members.values() for f in ("username", "display_name")]
    assert not [name for name in identities if name in html]  # no member's account or name
    assert "/evaluation/clarifications" in parse_html(html).links()  # the bidder's navigation entry
    other = browser(world, world.bidders[1].user_id)
    assert QUESTION not in other.get("/evaluation/clarifications").get_data(as_text=True)

    actions = [f.get("action") or "" for f in parse_html(html).select("form", action=True)]
    action = next(a for a in actions if a.startswith("/evaluation/clarifications/") and a.endswith("/answer"))
    token = csrf_from(html)
    unsigned = bidder.post(action, data={"csrf_token": token, "text": ANSWER}, headers=EN)
    assert unsigned.status_code == 303
    assert "confirm the statement" in bidder.get("/evaluation/clarifications", headers=EN).get_data(as_text=True)
    doc = b"scan of the signed letter"
    posted = bidder.post(
        action,
        data={"csrf_token": token, "text": ANSWER, "confirm": "1", "file": (io.BytesIO(doc), "letter.pdf")},
        content_type="multipart/form-data",
        headers=EN,
    )
    assert posted.status_code == 303
    after = bidder.get("/evaluation/clarifications", headers=EN).get_data(as_text=True)
    assert "Your clarification was received." in after and 'id="no-open-clarifications"' in after
    assert hashlib.sha256(doc).hexdigest() in after

    room_page = member.get(room_url, headers=EN).get_data(as_text=True)
    assert ANSWER in room_page and "letter.pdf" in room_page
    assert f"/api/v1/tenders/{tid}/rooms/1/clarifications/" in room_page  # the members' download link

    # a late answer through the page is refused, flashed and logged
    asked = members[1].api.post(
        f"/api/v1/tenders/{tid}/rooms/1/clarifications",
        json_body={"bid_id": bids[0], "question": "补充说明", "hours": 1},
    )
    clock.advance(timedelta(hours=2))
    late = bidder.post(
        f"/evaluation/clarifications/{asked.json['id']}/answer",
        data={"csrf_token": token, "text": ANSWER, "confirm": "1"},
        headers=EN,
    )
    assert late.status_code == 303
    assert "deadline for this clarification has passed" in bidder.get(
        "/evaluation/clarifications", headers=EN
    ).get_data(as_text=True)
    assert [d["clarification_id"] for d in entries(world, "evaluation.clarification.refused")] == [asked.json["id"]]


def test_an_attachment_over_the_size_limit_is_refused_and_the_request_stays_open(world, clock) -> None:
    tid, members, bids, _pool = open_room(world, clock)
    world.app.config["EVALUATION_CLARIFICATION_MAX_FILE"] = 16
    url = f"/api/v1/tenders/{tid}/rooms/1/clarifications"
    cid = members[1].api.post(url, json_body={"bid_id": bids[0], "question": QUESTION}).json["id"]
    bidder = world.bidders[0]

    refused = answer(bidder, cid, file=(b"x" * 17, "too-big.pdf"))
    assert refused.status_code == 422, refused.json
    assert refused.mimetype == "application/problem+json" and "file" in refused.json["errors"]
    mine = bidder.api.get("/api/v1/my/clarifications").json
    assert [(c["id"], c["status"], c["answer"], c["file"]) for c in mine] == [(cid, "open", None, None)]
    assert entries(world, "evaluation.clarification.answered") == []

    done = answer(bidder, cid, file=(b"x" * 16, "fits.pdf"))  # at the limit: accepted
    assert done.status_code == 200, done.json
    assert done.json["file"] == {"name": "fits.pdf", "sha256": hashlib.sha256(b"x" * 16).hexdigest(), "size": 16}
