"""The remote opening's JSON API (/api/v1/tenders/<id>/opening/…, /opening-records/<stage>/answers), with bearer
tokens: the live state for the tender's bidders and overseers (each viewer logged), objections and questions and the
host's answers, the bidders' signed answers to the record — and every refusal, as problem JSON."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from tests.factories import PASSWORD
from tests.html import parse
from tests.tendering.helpers import World
from tests.tendering.remote.test_remote_opening import _client, _entries, _host, _open, _tender

PROBLEM = "application/problem+json"


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == PROBLEM, resp.mimetype
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    return dict(body)


def _count(world: World, model: Any) -> int:
    from app.extensions import db

    with world.app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _watched(world: World, tid: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(e.actor), dict(e.data))
        for e in _entries(world, "tendering.opening.watched")
        if e.subject == f"tender:{tid}/opening"
    ]


def test_the_state_is_for_the_tenders_bidders_and_overseers_and_each_viewer_is_logged(world: World, clock: Any) -> None:
    tid = _tender(world, clock)
    url = f"/api/v1/tenders/{tid}/opening/live"
    b1, b2, outsider = world.bidders[0], world.bidders[1], world.bidders[2]  # bidder3 has no bid on this tender

    before = b1.api.get(url)
    assert before.status_code == 200
    state = before.json
    assert state["status"] == "published" and state["bids"] == [] and state["records"] == []
    assert state["viewer_role"] == "bidder" and "投标人2建设有限公司" not in before.get_data(as_text=True)

    denied_before = len(_entries(world, "access.denied"))
    for who in (outsider, world.other_agency):
        body = _problem(who.api.get(url), 403)
        assert "bidders" in body["detail"]
    for path in (url, f"/api/v1/tenders/{tid}/opening/messages", f"/api/v1/tenders/{tid}/opening-records/1/answers"):
        _problem(outsider.api.get(path), 403)
    denied = _entries(world, "access.denied")[denied_before:]
    assert [e.actor for e in denied] == [f"user:{outsider.user_id}", f"user:{world.other_agency.user_id}"] + [
        f"user:{outsider.user_id}"
    ] * 3
    assert all(e.subject == f"tender:{tid}/opening" for e in denied)
    _problem(world.anonymous.get(url), 401)  # type: ignore[union-attr]
    _problem(b1.api.get(f"/api/v1/tenders/{tid + 999}/opening/live"), 404)

    roles = {}
    for who in (world.agency, world.auditor, world.supervisor, b2):
        assert who is not None
        resp = who.api.get(url)
        assert resp.status_code == 200, resp.json
        roles[who.user_id] = resp.json["viewer_role"]
    assert list(roles.values()) == ["host", "overseer", "overseer", "bidder"]

    # a polling program is logged when it starts and again after a quiet gap, not once per poll
    for _ in range(3):
        assert b1.api.get(url).status_code == 200
    logged = _watched(world, tid)
    assert [actor for actor, _data in logged] == [
        f"user:{u}" for u in (b1.user_id, world.agency.user_id, world.auditor.user_id, world.supervisor.user_id)
    ] + [f"user:{b2.user_id}"]
    assert [data for _actor, data in logged] == [
        {"role": r, "via": "api"} for r in ("bidder", "host", "overseer", "overseer", "bidder")
    ]
    clock.advance(timedelta(minutes=6))
    assert b1.api.get(f"/api/v1/tenders/{tid}/opening/messages").status_code == 200
    assert len(_watched(world, tid)) == 6

    _open(world, clock)
    # the host's page shows the bidders who followed through the API as present (签到), as it does those of the page
    host_page = parse(_host(world).get(f"/tenders/{tid}/opening/live").get_data(as_text=True))
    assert host_page.by_id("present").texts("li") == ["投标人1建设有限公司", "投标人2建设有限公司"]
    assert len(_watched(world, tid)) == 7  # a page visit is always an entry
    opened = b1.api.get(url).json
    assert opened["status"] == "opened" and opened["channel_open"] is True
    assert [[e["outcome"] for e in b["envelopes"]] for b in opened["bids"]] == [["opened"], ["opened"]]
    [rec] = opened["records"]
    published = _entries(world, "tendering.opening.record_published")[-1]
    assert rec["record_sha256"] == published.data["record_sha256"] and rec["answers"][0]["verdict"] is None
    assert opened["version"] != state["version"]


def test_a_draft_is_not_found_for_bidders_and_the_state_reads_the_same_through_page_and_api(
    world: World, clock: Any
) -> None:
    resp = world.agency.api.post(
        "/api/v1/tenders",
        {
            "title": "草稿",
            "buyer_id": world.buyer_id,
            "category": "construction",
            "description": "x",
            "budget_amount": 1000,
            "submission_deadline_at": (clock.now() + timedelta(days=30)).isoformat(),
            "opening_at": (clock.now() + timedelta(days=30)).isoformat(),
            "min_bids": 1,
        },
    )
    draft = resp.json["id"]
    _problem(world.bidders[0].api.get(f"/api/v1/tenders/{draft}/opening/live"), 404)
    _problem(
        world.bidders[0].api.post(f"/api/v1/tenders/{draft}/opening/messages", {"kind": "question", "text": "?"}), 404
    )

    tid = _tender(world, clock)
    _open(world, clock)
    api_state = world.bidders[0].api.get(f"/api/v1/tenders/{tid}/opening/live").json
    page_state = _client(world, "bidder1").get(f"/tenders/{tid}/opening/live.json").get_json()
    assert api_state.pop("viewer_role") == "bidder"
    assert api_state == page_state


def test_objections_and_questions_raised_listed_and_answered_through_the_api(world: World, clock: Any) -> None:
    from app.tendering.models import OpeningMessage

    tid = _tender(world, clock)
    base = f"/api/v1/tenders/{tid}/opening/messages"
    b1, b2 = world.bidders[0], world.bidders[1]
    _problem(b1.api.post(base, {"kind": "objection", "text": "太早"}), 409)  # nothing before the opening starts
    _open(world, clock)

    for bad in (
        {"kind": "objection", "text": "  "},
        {"kind": "complaint", "text": "x"},
        {"kind": "question", "text": "长" * 2001},
        {"kind": "question", "text": "a\x00b"},
        {"kind": "question"},
        {"text": "x"},
        {"kind": 1, "text": "x"},
        {"kind": "question", "text": "x", "extra": 1},
    ):
        body = _problem(b1.api.post(base, bad), 422)
        assert body["errors"], bad
    _problem(b1.api.post(base, data="not json", headers={"Content-Type": "application/json"}), 400)
    _problem(world.auditor.api.post(base, {"kind": "objection", "text": "x"}), 403)  # type: ignore[union-attr]
    _problem(world.bidders[2].api.post(base, {"kind": "objection", "text": "x"}), 403)  # no bid on this tender
    _problem(world.agency.api.post(base, {"kind": "objection", "text": "x"}), 403)  # the host raises nothing
    assert _count(world, OpeningMessage) == 0

    text = "第二标段的报价未宣读，请核对。"
    raised = b1.api.post(base, {"kind": "objection", "text": text})
    assert raised.status_code == 201, raised.json
    msg = raised.json
    assert (msg["kind"], msg["text"], msg["bidder"], msg["answer"]) == ("objection", text, "投标人1建设有限公司", None)
    question = b2.api.post(base, {"kind": "question", "text": "是否当场公布评标时间？"})
    assert question.status_code == 201
    listed = world.auditor.api.get(base).json  # type: ignore[union-attr]
    assert [(m["kind"], m["bidder"], m["answer"]) for m in listed] == [
        ("objection", "投标人1建设有限公司", None),
        ("question", "投标人2建设有限公司", None),
    ]

    answer_url = f"{base}/{msg['id']}/answer"
    _problem(b2.api.post(answer_url, {"answer": "不"}), 403)  # a bidder does not answer
    _problem(world.other_agency.api.post(answer_url, {"answer": "不"}), 403)  # another agency is not the host
    _problem(world.agency.api.post(answer_url, {"answer": "  "}), 422)
    _problem(world.agency.api.post(answer_url, {}), 422)
    _problem(world.agency.api.post(f"{base}/99999/answer", {"answer": "x"}), 404)
    _problem(world.agency.api.post(f"{base}/{2**40}/answer", {"answer": "x"}), 404)
    reply = "已核对：第二标段报价为 1,010,000 元，已当场补充宣读。"
    answered = world.agency.api.post(answer_url, {"answer": reply})
    assert answered.status_code == 200, answered.json
    assert answered.json["answer"] == reply and answered.json["answered_at"]
    _problem(world.agency.api.post(answer_url, {"answer": "again"}), 409)

    listed = b2.api.get(base).json
    assert [m["answer"] for m in listed] == [reply, None]
    state = b2.api.get(f"/api/v1/tenders/{tid}/opening/live").json
    assert state["messages"] == listed
    page = _client(world, "bidder2").get(f"/tenders/{tid}/opening/live").get_data(as_text=True)
    assert text in page and reply in page
    raised_entry = _entries(world, "tendering.opening.objection_raised")[-1]
    answered_entry = _entries(world, "tendering.opening.objection_answered")[-1]
    assert raised_entry.data["text"] == text and answered_entry.data["message_index"] == raised_entry.index
    assert answered_entry.actor == f"user:{world.agency.user_id}"
    assert _entries(world, "tendering.opening.question_raised")[-1].data["text"] == "是否当场公布评标时间？"

    clock.advance(timedelta(hours=3))  # after TENDER_REMOTE_OPENING_WINDOW the channel is closed
    _problem(b1.api.post(base, {"kind": "question", "text": "还在吗？"}), 409)
    assert _count(world, OpeningMessage) == 2
    assert b1.api.get(f"/api/v1/tenders/{tid}/opening/live").json["channel_open"] is False


def test_bidders_confirm_or_dispute_the_record_through_the_api_signed_as_in_the_page(world: World, clock: Any) -> None:
    from app.core.keys import platform_public_keys
    from app.extensions import db
    from app.tendering.models import OpeningConfirmation
    from crypto.signing import load_public_key, verify_document

    tid = _tender(world, clock, bids=3)
    url = f"/api/v1/tenders/{tid}/opening-records/1/answers"
    b1, b2, b3 = world.bidders[:3]
    _problem(b1.api.post(url, {"verdict": "confirmed", "record_sha256": "0" * 64, "password": PASSWORD}), 404)
    _open(world, clock)
    digest = b1.api.get(f"/api/v1/tenders/{tid}/opening/live").json["records"][0]["record_sha256"]
    good = {"verdict": "confirmed", "record_sha256": digest, "password": PASSWORD}

    refused_before = len(_entries(world, "tendering.opening.answer_refused"))
    for bad, status in (
        ({**good, "record_sha256": "0" * 64}, 422),  # a hash of another record
        ({**good, "record_sha256": digest.upper()}, 422),
        ({**good, "record_sha256": digest[:-1]}, 422),
        ({**good, "verdict": "maybe"}, 422),
        ({**good, "verdict": "disputed"}, 422),  # no reasons
        ({**good, "reason": "because"}, 422),  # reasons only when disputing
        ({"verdict": "confirmed", "record_sha256": digest}, 422),  # no re-authentication
        ({**good, "password": ""}, 422),
        ({**good, "totp": "12"}, 422),
        ({**good, "reason": "a\x00b", "verdict": "disputed"}, 422),
        ({**good, "password": "wrong-password"}, 403),  # logged
    ):
        body = _problem(b1.api.post(url, bad), status)
        if status == 422:
            assert body["errors"], bad
    _problem(b1.api.post(f"/api/v1/tenders/{tid}/opening-records/2/answers", good), 404)
    _problem(b1.api.post(f"/api/v1/tenders/{tid}/opening-records/{10**12}/answers", good), 404)
    _problem(world.bidders[3].api.post(url, good), 403)  # no bid on this tender
    _problem(world.auditor.api.post(url, good), 403)  # type: ignore[union-attr]
    _problem(world.agency.api.post(url, good), 403)
    assert _count(world, OpeningConfirmation) == 0
    assert len(_entries(world, "tendering.opening.answer_refused")) == refused_before + 1

    confirmed = b1.api.post(url, good)
    assert confirmed.status_code == 201, confirmed.json
    _problem(b1.api.post(url, good), 409)  # once per organisation
    reason = "第三家投标人的投标文件解密时间晚于开标时间，应当核实。"
    disputed = b2.api.post(url, {**good, "verdict": "disputed", "reason": reason})
    assert disputed.status_code == 201, disputed.json

    with world.app.app_context():
        keys = {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}
        stored = [r.signed for r in db.session.scalars(select(OpeningConfirmation).order_by(OpeningConfirmation.id))]
    assert stored == [confirmed.json, disputed.json]
    payloads = [verify_document(doc, keys) for doc in stored]
    assert [(p["verdict"], p["reason"], p["bidder"]["organisation_id"]) for p in payloads] == [
        ("confirmed", None, b1.org_id),
        ("disputed", reason, b2.org_id),
    ]
    assert all(p["record_sha256"] == digest and p["reauthenticated_with"] == "password" for p in payloads)
    entry = _entries(world, "tendering.opening.record_disputed")[-1]
    assert payloads[1]["audit_index"] == entry.index and entry.data["reason"] == reason

    listed = b3.api.get(url)
    assert listed.status_code == 200 and listed.json == {"stage": 1, "record_sha256": digest, "answers": stored}
    state = world.agency.api.get(f"/api/v1/tenders/{tid}/opening/live").json
    assert [a["verdict"] for a in state["records"][0]["answers"]] == ["confirmed", "disputed", None]
    page = _client(world, "bidder3").get(f"/tenders/{tid}/opening", headers={"Accept-Language": "zh-CN"})
    assert reason in page.get_data(as_text=True)  # the record page shows who confirmed and who disputed

    # the page and the API are one rule: an answer given in one is refused in the other
    html = _client(world, "bidder1").get(f"/tenders/{tid}/opening/live").get_data(as_text=True)
    assert 'id="answer-form-1"' not in html

    clock.advance(timedelta(hours=3))
    _problem(b3.api.post(url, good), 409)  # past the window
    assert _count(world, OpeningConfirmation) == 2


def test_too_many_wrong_credentials_through_the_api_are_refused_for_a_while(world: World, clock: Any) -> None:
    from app.tendering.models import OpeningConfirmation

    tid = _tender(world, clock)
    _open(world, clock)
    b1 = world.bidders[0]
    url = f"/api/v1/tenders/{tid}/opening-records/1/answers"
    digest = b1.api.get(f"/api/v1/tenders/{tid}/opening/live").json["records"][0]["record_sha256"]
    for _ in range(5):
        _problem(b1.api.post(url, {"verdict": "confirmed", "record_sha256": digest, "password": "nope-nope"}), 403)
    _problem(b1.api.post(url, {"verdict": "confirmed", "record_sha256": digest, "password": PASSWORD}), 429)
    assert _count(world, OpeningConfirmation) == 0
    clock.advance(timedelta(minutes=16))
    assert b1.api.post(url, {"verdict": "confirmed", "record_sha256": digest, "password": PASSWORD}).status_code == 201


def test_a_token_without_the_scope_is_refused(world: World, clock: Any) -> None:
    from app.accounts import services_tokens
    from app.accounts.models import User
    from app.extensions import db
    from tests.factories import Api

    tid = _tender(world, clock)
    with world.app.app_context():
        user = db.session.get(User, world.bidders[0].user_id)
        _row, text = services_tokens.create_token(user=user, name="narrow", scopes=["accounts.self"])
        db.session.commit()
    narrow = Api(world.app.test_client(use_cookies=False), text)
    _problem(narrow.get(f"/api/v1/tenders/{tid}/opening/live"), 403)
