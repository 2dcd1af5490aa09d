"""The remote opening (不见面开标): who may watch (and that each visit is logged), the live state and its stream,
objections and questions with the host's answers (in the evidence log and on the replay timeline), and the bidders'
signed answers to the opening record."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.accounts.helpers import PASSWORD, csrf_from, login, make_user
from tests.factories import published_tender, submitted_bid
from tests.html import parse
from tests.tendering.helpers import World
from tests.tendering.test_opening import run_sweep

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def _client(world: World, username: str) -> Any:
    client = world.app.test_client()
    assert login(client, username).status_code == 303
    return client


def _staff(world: World, username: str, role: str, org_id: int | None = None) -> Any:
    """A user whose role must sign in with a TOTP code (agency, auditor, supervisor), signed in."""
    _uid, secret = make_user(world.app, username, [role], totp=True, organisation_id=org_id)
    client = world.app.test_client()
    assert login(client, username, totp_secret=secret).status_code == 303
    return client


def _host(world: World, username: str = "host") -> Any:
    return _staff(world, username, "agency", world.agency.org_id)


def _tender(world: World, clock: Any, bids: int = 2) -> int:
    at = clock.now() + timedelta(seconds=5)
    tender = published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), min_bids=1)
    for i, bidder in enumerate(world.bidders[:bids]):
        submitted_bid(world, bidder, tender, price=1_000_000 + 10_000 * i)
    return int(tender["id"])


def _open(world: World, clock: Any) -> None:
    clock.advance(timedelta(seconds=10))
    run_sweep(world.app)


def _entries(world: World, action: str) -> list[Any]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with world.app.app_context():
        rows = list(
            db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.index))
        )
        db.session.expunge_all()
        return rows


def _count(world: World, model: Any) -> int:
    from app.extensions import db

    with world.app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# the zone's name, algorithm names and formats, tender references
ALLOWED = {"Asia", "Shanghai", "UTC", "ZB", "SHA-256", "Ed25519", "JSON", "PDF", "TOTP"}


def _no_english(html: str, part: str = "main") -> None:
    """No English word in a Chinese page's main content, or in the elements with attribute `part` (hashes aside)."""
    doc = parse(html)
    parts = [doc.one("main")] if part == "main" else doc.select(attrs={part: True})
    texts = [t for p in parts for t in p.strings() if not re.fullmatch(r"\s*[0-9a-f]{64}\s*", t)]
    where = [t for t in texts if set(re.findall(r"[A-Za-z][A-Za-z]+(?:-\d+)?", t)) - ALLOWED]
    assert where == [], where


def _post(client: Any, page: str, url: str, data: dict[str, Any], **kw: Any) -> Any:
    token = csrf_from(client.get(page, **kw).data)
    return client.post(url, data={"csrf_token": token, **data}, **kw)


def test_only_bidders_and_overseers_watch_and_every_visit_is_logged(world: World, clock: Any) -> None:
    tid = _tender(world, clock)
    page = f"/tenders/{tid}/opening/live"
    outsider = _client(world, "bidder3")  # a bidder of the platform, not of this tender
    for url in (page, f"{page}/panel", f"{page}.json", f"{page}/stream", f"/tenders/{tid}/opening/answers/1.json"):
        assert outsider.get(url).status_code == 403, url
    denied = [e for e in _entries(world, "access.denied") if e.subject == f"tender:{tid}/opening"]
    assert len(denied) == 5 and {e.actor for e in denied} == {f"user:{world.bidders[2].user_id}"}
    assert world.app.test_client().get(page).status_code in (302, 303, 401)  # anonymous: to the sign-in

    for client in (
        _client(world, "bidder1"),
        _host(world),
        _staff(world, "auditor9", "auditor"),
        _staff(world, "supervisor9", "supervisor"),
    ):
        assert client.get(page, headers=EN).status_code == 200
    client = _client(world, "bidder2")
    assert client.get(page).status_code == 200 and client.get(page).status_code == 200  # two visits
    assert client.get(f"{page}.json").status_code == 200 and client.get(f"{page}/panel").status_code == 200
    watched = _entries(world, "tendering.opening.watched")
    assert [e.data["role"] for e in watched] == ["bidder", "host", "overseer", "overseer", "bidder", "bidder"]
    assert all(e.subject == f"tender:{tid}/opening" for e in watched)
    # the host sees which bidders joined (签到), in the order they came, once the opening starts (before it that
    # would name the bidders); a bidder does not see the others
    host = _host(world, "host3")
    early = parse(host.get(page, headers=ZH).get_data(as_text=True))
    assert early.by_id("present").texts("li") == [] and "投标人1建设有限公司" not in early.by_id("present").text
    _open(world, clock)
    host_page = parse(host.get(page, headers=ZH).get_data(as_text=True))
    assert host_page.by_id("present").texts("li") == ["投标人1建设有限公司", "投标人2建设有限公司"]
    assert not parse(client.get(f"{page}/panel").get_data(as_text=True)).has("present")
    other_agency = _staff(world, "host2", "agency", world.other_agency.org_id)
    assert other_agency.get(page).status_code == 403  # another agency is no overseer of this tender


def test_before_the_opening_nothing_is_counted_then_progress_and_record_appear(world: World, clock: Any) -> None:
    from app.extensions import db
    from app.tendering import opening

    tid = _tender(world, clock)
    bidder = _client(world, "bidder1")
    before = bidder.get(f"/tenders/{tid}/opening/live.json").get_json()
    assert before["status"] == "published" and before["bids"] == [] and before["records"] == []
    html = bidder.get(f"/tenders/{tid}/opening/live", headers=ZH).get_data(as_text=True)
    assert "投标人1建设有限公司" not in html and "投标人2建设有限公司" not in html and 'id="not-started"' in html

    clock.advance(timedelta(seconds=10))
    with world.app.app_context():  # the opening starts; nothing is decrypted yet
        assert opening.start_due(tid)
        db.session.commit()
    started = bidder.get(f"/tenders/{tid}/opening/live.json").get_json()
    assert started["status"] == "opening" and len(started["bids"]) == 2
    assert [e["outcome"] for b in started["bids"] for e in b["envelopes"]] == ["sealed", "sealed"]
    assert started["version"] != before["version"]

    run_sweep(world.app)
    done = bidder.get(f"/tenders/{tid}/opening/live.json").get_json()
    assert [e["outcome"] for b in done["bids"] for e in b["envelopes"]] == ["opened", "opened"]
    assert [b["outcome"] for b in done["bids"]] == ["valid", "valid"]
    [rec] = done["records"]
    published = _entries(world, "tendering.opening.record_published")[-1]
    assert rec["result"] == "opened" and rec["record_sha256"] == published.data["record_sha256"]
    assert [a["verdict"] for a in rec["answers"]] == [None, None]
    page = bidder.get(f"/tenders/{tid}/opening/live", headers=ZH).get_data(as_text=True)
    doc = parse(page)
    assert doc.has("record-1") and doc.has("answer-form-1")
    assert "投标人1建设有限公司" in page and "Envelope opened" not in page


def test_the_stream_sends_the_state_and_only_when_it_changed(world: World, clock: Any) -> None:
    world.app.config.update(TENDER_LIVE_STREAM_SECONDS=0, TENDER_LIVE_STREAM_POLL_SECONDS=0)
    tid = _tender(world, clock)
    _open(world, clock)
    bidder = _client(world, "bidder2")
    resp = bidder.get(f"/tenders/{tid}/opening/live/stream")
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    body = resp.get_data(as_text=True)
    event = next(block for block in body.split("\n\n") if block.startswith("id: "))
    lines = dict(line.split(": ", 1) for line in event.splitlines())
    assert lines["event"] == "opening"
    state = json.loads(lines["data"])
    assert state["version"] == lines["id"] and state["status"] == "opened"
    assert [e["outcome"] for b in state["bids"] for e in b["envelopes"]] == ["opened", "opened"]
    assert state["records"][0]["stage"] == 1
    # the browser reconnects with the last id it saw: an unchanged state is not sent again
    again = bidder.get(f"/tenders/{tid}/opening/live/stream", headers={"Last-Event-ID": lines["id"]})
    assert "event: opening" not in again.get_data(as_text=True)


def test_objection_and_answer_lifecycle_in_the_log_and_on_the_replay_timeline(world: World, clock: Any) -> None:
    from app.extensions import db
    from app.recordings import replay, services
    from app.recordings.models import RecordingSession
    from app.tendering.models import OpeningMessage
    from tests.recordings.conftest import create_room

    tid = _tender(world, clock)
    create_room(world.app)
    with world.app.app_context():
        session_id = services.request_start("room-a", actor="test", subject=f"tender:{tid}").id
        db.session.commit()
    page = f"/tenders/{tid}/opening/live"
    bidder = _client(world, "bidder1")
    early = _post(bidder, page, f"/tenders/{tid}/opening/messages", {"kind": "objection", "text": "太早"})
    assert early.status_code == 409  # before the opening starts, nothing is taken
    _open(world, clock)

    raised_before = len(_entries(world, "tendering.opening.objection_raised"))
    for bad in (
        {"kind": "objection", "text": "  "},
        {"kind": "complaint", "text": "x"},
        {"kind": "question", "text": "长" * 2001},
        {"kind": "question", "text": "a\x00b"},
    ):
        resp = _post(bidder, page, f"/tenders/{tid}/opening/messages", bad, headers=ZH)
        assert resp.status_code == 422, bad
        assert "There is a problem" not in resp.get_data(as_text=True)
    assert (
        _count(world, OpeningMessage) == 0
        and len(_entries(world, "tendering.opening.objection_raised")) == raised_before
    )
    auditor = _staff(world, "auditor9", "auditor")
    assert (
        _post(auditor, page, f"/tenders/{tid}/opening/messages", {"kind": "objection", "text": "x"}).status_code == 403
    )

    text = "第二标段的报价未宣读，请核对。"
    sent = _post(bidder, page, f"/tenders/{tid}/opening/messages", {"kind": "objection", "text": text})
    assert sent.status_code == 303
    with world.app.app_context():
        msg = db.session.scalars(select(OpeningMessage)).one()
        mid = msg.id
        assert (msg.kind, msg.text, msg.answer) == ("objection", text, None)
    other = _client(world, "bidder2")
    seen = other.get(f"{page}.json").get_json()["messages"]
    assert [(m["kind"], m["text"], m["answer"]) for m in seen] == [("objection", text, None)]

    answer_url = f"/tenders/{tid}/opening/messages/{mid}/answer"
    assert _post(other, page, answer_url, {"answer": "不"}).status_code == 403  # a bidder does not answer
    assert (
        _post(
            _staff(world, "host2", "agency", world.other_agency.org_id), "/", answer_url, {"answer": "不"}
        ).status_code
        == 403
    )
    agent = _host(world)
    assert _post(agent, page, answer_url, {"answer": ""}).status_code == 422
    assert _post(agent, page, f"/tenders/{tid}/opening/messages/99999/answer", {"answer": "x"}).status_code == 404
    reply = "已核对：第二标段报价为 1,010,000 元，已当场补充宣读。"
    assert _post(agent, page, answer_url, {"answer": reply}).status_code == 303
    assert _post(agent, page, answer_url, {"answer": "again"}).status_code == 409
    seen = other.get(f"{page}.json").get_json()["messages"]
    assert seen[0]["answer"] == reply and seen[0]["answered_at"]
    html = other.get(page, headers=ZH).get_data(as_text=True)
    assert text in html and reply in html

    raised = _entries(world, "tendering.opening.objection_raised")[-1]
    answered = _entries(world, "tendering.opening.objection_answered")[-1]
    assert raised.data["text"] == text and answered.data["answer"] == reply
    assert answered.data["message_index"] == raised.index
    with world.app.app_context():
        session = db.session.get(RecordingSession, session_id)
        actions = [e["action"] for e in replay.timeline_events(session)]
    assert "tendering.opening.objection_raised" in actions and "tendering.opening.objection_answered" in actions

    clock.advance(timedelta(hours=3))  # after the window the channel closes
    late = _post(bidder, page, f"/tenders/{tid}/opening/messages", {"kind": "question", "text": "还在吗？"})
    assert late.status_code == 409 and _count(world, OpeningMessage) == 1


def test_bidders_confirm_or_dispute_the_record_signed_and_shown(world: World, clock: Any) -> None:
    from app.core.keys import platform_public_keys
    from app.extensions import db
    from app.tendering.models import OpeningConfirmation
    from crypto.signing import SignatureError, load_public_key, verify_document

    tid = _tender(world, clock, bids=3)
    _open(world, clock)
    page = f"/tenders/{tid}/opening/live"
    url = f"/tenders/{tid}/opening/answers"
    b1, b2 = _client(world, "bidder1"), _client(world, "bidder2")
    digest = b1.get(f"{page}.json").get_json()["records"][0]["record_sha256"]
    good = {"stage": "1", "verdict": "confirmed", "record_sha256": digest, "password": PASSWORD}

    refused_before = len(_entries(world, "tendering.opening.answer_refused"))
    for bad, status in (
        ({**good, "password": "wrong-password"}, 403),
        ({**good, "password": ""}, 422),
        ({**good, "record_sha256": "0" * 64}, 422),
        ({**good, "verdict": "maybe"}, 422),
        ({**good, "verdict": "disputed"}, 422),  # no reasons
        ({**good, "reason": "because"}, 422),  # reasons only when disputing
        ({**good, "stage": "2"}, 404),
        ({**good, "stage": "x"}, 404),
    ):
        assert _post(b1, page, url, bad).status_code == status, bad
    assert _count(world, OpeningConfirmation) == 0
    assert len(_entries(world, "tendering.opening.answer_refused")) == refused_before + 1
    assert _post(_staff(world, "auditor9", "auditor"), page, url, good).status_code == 403

    assert _post(b1, page, url, good).status_code == 303
    assert _post(b1, page, url, good).status_code == 409  # once per organisation
    reason = "第三家投标人的投标文件解密时间晚于开标时间，应当核实。"
    disputed = {**good, "verdict": "disputed", "reason": reason}
    assert _post(b2, page, url, disputed).status_code == 303

    with world.app.app_context():
        keys = {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}
        rows = list(db.session.scalars(select(OpeningConfirmation).order_by(OpeningConfirmation.id)))
        payloads = [verify_document(r.signed, keys) for r in rows]
    assert [(p["verdict"], p["reason"]) for p in payloads] == [("confirmed", None), ("disputed", reason)]
    assert all(p["record_sha256"] == digest and p["reauthenticated_with"] == "password" for p in payloads)
    assert [p["bidder"]["organisation_id"] for p in payloads] == [world.bidders[0].org_id, world.bidders[1].org_id]
    confirmed = _entries(world, "tendering.opening.record_confirmed")[-1]
    assert payloads[0]["audit_index"] == confirmed.index and confirmed.data["record_sha256"] == digest
    tampered = json.loads(json.dumps(rows[0].signed))
    tampered["payload"]["verdict"] = "disputed"
    with pytest.raises(SignatureError):
        verify_document(tampered, keys)

    signed = b1.get(f"/tenders/{tid}/opening/answers/1.json").get_json()
    assert signed["record_sha256"] == digest and len(signed["answers"]) == 2
    record_page = b1.get(f"/tenders/{tid}/opening", headers=ZH).get_data(as_text=True)
    doc = parse(record_page)
    verdicts = [li.get("data-verdict") for li in doc.select("li", data_verdict=True)]
    assert verdicts == ["confirmed", "disputed", "none"]
    assert reason in record_page and "did not answer" not in record_page
    en = b1.get(f"/tenders/{tid}/opening", headers=EN).get_data(as_text=True)
    assert "did not answer" in en and "confirmed" in en

    for client in (b1, _client(world, "bidder3"), _host(world)):  # answered, still to answer, the host
        _no_english(client.get(page, headers=ZH).get_data(as_text=True))
    _no_english(record_page, "data-answers")  # the record's own data (USCCs, key ids, file names) aside

    clock.advance(timedelta(hours=3))
    late = _post(_client(world, "bidder3"), page, url, good)
    assert late.status_code == 409 and _count(world, OpeningConfirmation) == 2
    closed = parse(b1.get(page, headers=EN).get_data(as_text=True))
    assert [li.text for li in closed.select("li", data_verdict="none")] == ["投标人3建设有限公司: did not answer"]
    assert not closed.has("answer-form-1") and not closed.has("raise-form")


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)  # the stages' rules run on both in test_opening
def test_a_two_stage_opening_is_followed_and_answered_stage_by_stage(world: World, clock: Any) -> None:
    from tests.tendering.helpers import envelope_plaintext, form, seal, submit, upload

    envelopes = [{"name": "technical", "stage": 1}, {"name": "price", "stage": 2, "form": True}]
    at = clock.now() + timedelta(seconds=5)
    tender = published_tender(
        world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), min_bids=2, envelopes=envelopes
    )
    tid, recipient = tender["id"], tender["recipient"]
    bid_ids = []
    for i, bidder in enumerate(world.bidders[:3]):
        tech = seal(envelope_plaintext(None, {"技术标.txt": f"TECH-{i}".encode()}), recipient)
        price = seal(envelope_plaintext(form(500 + i)), recipient)
        uploads = {
            "technical": upload(bidder.api, tid, "technical", tech),
            "price": upload(bidder.api, tid, "price", price),
        }
        resp = submit(bidder.api, tid, uploads)
        assert resp.status_code == 201, resp.json
        bid_ids.append(resp.json["receipt"]["payload"]["bid"]["id"])
    _open(world, clock)
    page = f"/tenders/{tid}/opening/live"
    b1, b3 = _client(world, "bidder1"), _client(world, "bidder3")
    first = b1.get(f"{page}.json").get_json()
    assert first["status"] == "opening" and first["stage"] == 1 and first["channel_open"]
    assert [[e["name"] for e in b["envelopes"]] for b in first["bids"]] == [["technical"]] * 3  # prices stay sealed
    [rec1] = first["records"]
    assert rec1["result"] == "next-stage"
    body = {"stage": "1", "verdict": "confirmed", "record_sha256": rec1["record_sha256"], "password": PASSWORD}
    assert _post(b1, page, f"/tenders/{tid}/opening/answers", body).status_code == 303

    advanced = world.agency.api.post(
        f"/api/v1/tenders/{tid}/stages/advance", {"eliminated": [bid_ids[2]], "reason": "技术标不满足要求"}
    )
    assert advanced.status_code == 200
    run_sweep(world.app)
    second = b1.get(f"{page}.json").get_json()
    assert second["status"] == "opened" and [r["stage"] for r in second["records"]] == [1, 2]
    assert [[(e["name"], e["outcome"]) for e in b["envelopes"]] for b in second["bids"]] == [[("price", "opened")]] * 2
    assert [a["verdict"] for a in second["records"][0]["answers"]] == ["confirmed", None, None]
    # the eliminated bidder is in the second record (its price never opened) and answers it
    rec2 = second["records"][1]
    assert len(rec2["answers"]) == 3
    body = {"stage": "2", "verdict": "disputed", "reason": "淘汰理由不成立。", "record_sha256": rec2["record_sha256"]}
    assert _post(b3, page, f"/tenders/{tid}/opening/answers", {**body, "password": PASSWORD}).status_code == 303
    assert (
        _post(b3, page, f"/tenders/{tid}/opening/answers", {**body, "stage": "1", "password": PASSWORD}).status_code
        == 422
    )
