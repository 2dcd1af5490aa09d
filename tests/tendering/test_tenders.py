"""Slice (a): drafting, validation of the terms, publication with key custody, public reading, questions,
clarifications that push a late deadline, cancellation."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest

from app.core import time as clock_mod
from tests.tendering.helpers import audit_actions, create_published, database_bytes, draft_body, iso


def test_publish_generates_the_opening_key_and_freezes_the_terms(world, clock) -> None:
    tender = create_published(world)
    assert tender["status"] == "published" and tender["open_for_bids"] is True
    assert tender["recipient"].startswith("age1") and tender["reference"].startswith("ZB2026")
    assert tender["custody_mode"] == "timed" and tender["custody_total"] == 1
    assert tender["envelopes"] == [{"name": "bid", "stage": 1, "form": True}]
    assert "Asia/Shanghai, UTC+08:00" in tender["opening_local"]
    assert tender["opening_local"].startswith("2026-01-05 10:00:00")  # 01:00 UTC + 1h, shown at UTC+8

    resp = world.agency.api.patch(f"/api/v1/tenders/{tender['id']}", {"title": "changed"})
    assert resp.status_code == 409
    actions = [a for a, *_ in audit_actions(world.app)]
    assert {"tendering.tender.drafted", "tendering.tender.document_added", "tendering.tender.published"} <= set(actions)
    published = next(d for a, _, _, d in audit_actions(world.app) if a == "tendering.tender.published")
    assert published["recipient"] == tender["recipient"] and len(published["terms_sha256"]) == 64

    versions = world.anonymous.get(f"/api/v1/tenders/{tender['id']}/versions").json
    assert [v["kind"] for v in versions] == ["publication"]


def test_the_secret_key_is_stored_only_sealed(world, clock) -> None:
    from app.extensions import db
    from app.tendering.models import CustodyShare, Tender

    tender = create_published(world)
    with world.app.app_context():
        row = db.session.get(Tender, tender["id"])
        shares = list(db.session.query(CustodyShare).filter_by(tender_id=row.id))
        assert row.escrow_ciphertext and b"AGE-SECRET-KEY" not in row.escrow_ciphertext
        assert len(shares) == 1 and shares[0].holder == "platform" and shares[0].wrapped
        assert b"SCP-SHARE" not in shares[0].wrapped
    assert b"AGE-SECRET-KEY-1" not in database_bytes(world.app)
    assert tender["recipient"].encode() in database_bytes(world.app)  # the search does see the tables


def test_public_list_search_read_and_download_without_sign_in(world, clock) -> None:
    document = b"%PDF-1.4 \xe6\x8b\x9b\xe6\xa0\x87 tender documents"
    tender = create_published(world, document=document)
    draft = world.agency.api.post("/api/v1/tenders", draft_body(world, title="草稿项目")).json

    anon = world.anonymous
    listing = anon.get("/api/v1/tenders").json
    assert [t["id"] for t in listing["items"]] == [tender["id"]] and listing["total"] == 1
    assert anon.get("/api/v1/tenders?q=教学楼").json["total"] == 1
    assert anon.get("/api/v1/tenders?q=nothing-like-this").json["total"] == 0
    assert anon.get("/api/v1/tenders?category=construction&status=published").json["total"] == 1
    assert anon.get("/api/v1/tenders?status=bogus").status_code == 422
    assert anon.get(f"/api/v1/tenders/{draft['id']}").status_code == 404  # drafts are private
    assert world.agency.api.get(f"/api/v1/tenders/{draft['id']}").status_code == 200
    assert world.other_agency.api.get(f"/api/v1/tenders/{draft['id']}").status_code == 404

    doc = tender["documents"][0]
    assert doc["sha256"] == hashlib.sha256(document).hexdigest() and doc["name"] == "招标文件.pdf"
    resp = anon.get(f"/api/v1/tenders/{tender['id']}/documents/{doc['id']}")
    assert resp.status_code == 200 and resp.data == document
    assert resp.headers["ETag"] == f'"{doc["sha256"]}"'
    assert anon.get(f"/api/v1/tenders/{tender['id']}/documents/999").status_code == 404


def test_secret_budget_is_hidden_from_the_public(world, clock) -> None:
    tender = create_published(world, budget_secret=True)
    assert world.anonymous.get(f"/api/v1/tenders/{tender['id']}").json["budget_amount"] is None
    assert world.agency.api.get(f"/api/v1/tenders/{tender['id']}").json["budget_amount"] == 150_000_000


@pytest.mark.parametrize(
    ("override", "field"),
    [
        (
            {"bid_form_schema": {"type": "object", "properties": {"price": {"$ref": "http://evil/x"}}}},
            "bid_form_schema",
        ),
        (
            {"bid_form_schema": {"type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]}},
            "bid_form_schema",
        ),
        (
            {
                "bid_form_schema": {
                    "type": "object",
                    "properties": {"price": {"type": "integer"}, "x": {"type": "string", "pattern": "(a+)+$"}},
                    "required": ["price"],
                    "additionalProperties": False,
                }
            },
            "bid_form_schema",
        ),
        (
            {
                "bid_form_schema": {
                    "type": "object",
                    "properties": {"price": {"type": "integer"}},
                    "required": ["price"],
                }
            },
            "bid_form_schema",
        ),
        (
            {
                "bid_form_schema": {
                    "type": "object",
                    "properties": {"price": {"type": "integer", "minLength": -1}},
                    "required": ["price"],
                    "additionalProperties": False,
                }
            },
            "bid_form_schema",
        ),
        ({"envelopes": [{"name": "tech", "stage": 1}, {"name": "price", "stage": 3, "form": True}]}, "envelopes"),
        ({"envelopes": [{"name": "tech", "stage": 1}]}, "envelopes"),
        ({"envelopes": [{"name": "../x", "stage": 1, "form": True}]}, "envelopes"),
        ({"criteria": {"items": [{"name": "价格", "category": "price", "weight": 50}]}}, "criteria"),
        ({"criteria": {"items": [{"name": "技术", "category": "technical", "weight": 100}]}}, "criteria"),
        ({"custody_mode": "committee", "custodian_ids": []}, "custodian_ids"),
        ({"custody_mode": "committee", "custodian_ids": [999999], "custody_threshold": 1}, "custodian_ids"),
        ({"max_bid_size": 10}, "max_bid_size"),
        ({"buyer_id": 999999}, "buyer_id"),
    ],
)
def test_inconsistent_terms_are_refused_with_422(world, clock, override, field) -> None:
    resp = world.agency.api.post("/api/v1/tenders", draft_body(world, **override))
    assert resp.status_code == 422, resp.json
    assert resp.mimetype == "application/problem+json"
    errors = resp.json.get("errors", {})
    assert field in errors or field in errors.get("json", {}), resp.json


def test_opening_before_deadline_and_naive_times_are_refused(world, clock) -> None:
    now = clock_mod.now_utc()
    body = draft_body(
        world, submission_deadline_at=iso(now + timedelta(days=2)), opening_at=iso(now + timedelta(days=1))
    )
    assert world.agency.api.post("/api/v1/tenders", body).status_code == 422
    body = draft_body(world, submission_deadline_at="2026-03-01T09:00:00")
    assert world.agency.api.post("/api/v1/tenders", body).status_code == 422


def test_minimum_period_to_deadline_is_configuration(world, clock) -> None:
    world.app.config["TENDER_MIN_DAYS_TO_DEADLINE"] = 20
    api = world.agency.api
    draft = api.post("/api/v1/tenders", draft_body(world)).json
    api.post(f"/api/v1/tenders/{draft['id']}/documents?name=a.pdf", data=b"x")
    resp = api.post(f"/api/v1/tenders/{draft['id']}/publish")
    assert resp.status_code == 422 and "submission_deadline_at" in resp.json["errors"]
    now = clock_mod.now_utc()
    far = iso(now + timedelta(days=21))
    assert (
        api.patch(f"/api/v1/tenders/{draft['id']}", {"submission_deadline_at": far, "opening_at": far}).status_code
        == 200
    )
    assert api.post(f"/api/v1/tenders/{draft['id']}/publish").status_code == 200


def test_a_tender_without_documents_cannot_be_published(world, clock) -> None:
    draft = world.agency.api.post("/api/v1/tenders", draft_body(world)).json
    assert world.agency.api.post(f"/api/v1/tenders/{draft['id']}/publish").status_code == 422


def test_another_agency_cannot_manage_the_tender_and_is_logged(world, clock) -> None:
    draft = world.agency.api.post("/api/v1/tenders", draft_body(world)).json
    world.agency.api.post(f"/api/v1/tenders/{draft['id']}/documents?name=a.pdf", data=b"x")
    published = world.agency.api.post(f"/api/v1/tenders/{draft['id']}/publish").json
    resp = world.other_agency.api.post(f"/api/v1/tenders/{published['id']}/cancel", {"reason": "mine now"})
    assert resp.status_code == 403
    denied = [e for e in audit_actions(world.app) if e[0] == "access.denied"]
    assert denied and denied[-1][1] == f"user:{world.other_agency.user_id}"
    assert world.anonymous.get(f"/api/v1/tenders/{published['id']}").json["status"] == "published"
    # bidders lack the permission altogether
    assert world.bidders[0].api.post("/api/v1/tenders", draft_body(world)).status_code == 403


def test_questions_are_answered_publicly_without_naming_the_asker(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    bidder = world.bidders[0]
    assert bidder.api.post(f"/api/v1/tenders/{tid}/interest").status_code == 200
    # no evidence entry of its own (their number would count the interested): a hiding commitment in the next
    # constant-rate batch, which names neither the bidder nor the tender
    assert not [a for a in audit_actions(world.app) if a[0] == "tendering.interest.registered"]
    with world.app.app_context():
        from sqlalchemy import select

        from app.audit.models import SealedLeaf
        from app.extensions import db
        from app.tendering.models import TenderInterest

        interest = db.session.scalar(select(TenderInterest).where(TenderInterest.tender_id == tid))
        assert interest is not None and interest.commitment is not None
        assert db.session.scalar(select(SealedLeaf).where(SealedLeaf.commitment == bytes.fromhex(interest.commitment)))
    asked = bidder.api.post(f"/api/v1/tenders/{tid}/questions", {"text": "屋面防水等级？"})
    assert asked.status_code == 201
    assert world.anonymous.get(f"/api/v1/tenders/{tid}/questions").json == []
    pending = world.agency.api.get(f"/api/v1/tenders/{tid}/questions/all").json
    assert [q["text"] for q in pending] == ["屋面防水等级？"]
    assert set(pending[0]) == {"id", "text", "asked_at", "answer", "answered_at"}
    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/questions/{asked.json['id']}/answer", {"answer": "一级"})
    assert resp.status_code == 200
    public = world.anonymous.get(f"/api/v1/tenders/{tid}/questions").json
    assert public[0]["answer"] == "一级" and "asked_by" not in str(public)
    second = world.agency.api.post(f"/api/v1/tenders/{tid}/questions/{asked.json['id']}/answer", {"answer": "二级"})
    assert second.status_code == 409
    notes = bidder.api.get("/api/v1/notifications").json
    assert [n["kind"] for n in notes] == ["answer"]
    entry = next(e for e in audit_actions(world.app) if e[0] == "tendering.question.asked")
    assert entry[1] == "sealed-bidder"


def test_a_late_clarification_pushes_deadline_and_opening(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    world.bidders[1].api.post(f"/api/v1/tenders/{tid}/interest")
    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/clarifications", {"text": "第3.2条更正：工期为90日历天"})
    assert resp.status_code == 201
    assert resp.json["number"] == 2 and resp.json["deadline_pushed"] is True
    now = clock_mod.now_utc()
    after = world.anonymous.get(f"/api/v1/tenders/{tid}").json
    deadline = datetime.fromisoformat(after["submission_deadline_at"])
    opening = datetime.fromisoformat(after["opening_at"])
    assert deadline == now + timedelta(days=15)
    assert opening - deadline == datetime.fromisoformat(tender["opening_at"]) - datetime.fromisoformat(
        tender["submission_deadline_at"]
    )
    assert after["version"] == 2
    notes = world.bidders[1].api.get("/api/v1/notifications").json
    assert len(notes) == 1 and "第3.2条" in notes[0]["message"]
    assert world.bidders[0].api.get("/api/v1/notifications").json == []  # not interested: not notified
    entry = next(d for a, _, _, d in audit_actions(world.app) if a == "tendering.tender.clarification")
    assert entry["deadline_pushed"] is True and "submission_deadline_at" in entry["changes"]

    # an early clarification changes no date; a deadline is never shortened
    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/clarifications", {"text": "补充说明"})
    assert resp.json["deadline_pushed"] is False and "submission_deadline_at" not in resp.json["changes"]
    shorter = iso(now + timedelta(days=14))
    resp = world.agency.api.post(
        f"/api/v1/tenders/{tid}/clarifications", {"text": "x", "submission_deadline_at": shorter}
    )
    assert resp.status_code == 422


def test_a_document_added_after_publication_is_an_amendment(world, clock) -> None:
    tender = create_published(world)
    resp = world.agency.api.post(f"/api/v1/tenders/{tender['id']}/documents?name=补遗1.pdf", data=b"addendum")
    assert resp.status_code == 201 and resp.json["added_in_version"] == 1
    versions = world.anonymous.get(f"/api/v1/tenders/{tender['id']}/versions").json
    assert [v["kind"] for v in versions] == ["publication", "amendment"]
    assert versions[1]["changes"]["documents"][0]["sha256"] == hashlib.sha256(b"addendum").hexdigest()


def test_cancel_until_the_opening_with_a_reason(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    world.bidders[0].api.post(f"/api/v1/tenders/{tid}/interest")
    assert world.agency.api.post(f"/api/v1/tenders/{tid}/cancel", {"reason": ""}).status_code == 422
    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/cancel", {"reason": "采购需求变更"})
    assert (
        resp.status_code == 200 and resp.json["status"] == "cancelled" and resp.json["cancel_reason"] == "采购需求变更"
    )
    assert world.bidders[0].api.get("/api/v1/notifications").json[-1]["kind"] == "cancellation"

    other = create_published(world)
    clock.advance(timedelta(hours=2))
    assert world.agency.api.post(f"/api/v1/tenders/{other['id']}/cancel", {"reason": "late"}).status_code == 409


def test_committee_custodians_download_their_share_once(world, clock) -> None:
    ids = [p.user_id for p in world.custodians]
    tender = create_published(
        world, custody_mode="committee", custodian_ids=ids, custody_threshold=2, platform_holds_share=False
    )
    assert tender["custody_threshold"] == 2 and tender["custody_total"] == 3
    first = world.custodians[0].api.post(f"/api/v1/tenders/{tender['id']}/custody/share")
    assert first.status_code == 200 and first.json["share"].startswith("SCP-SHARE-1:")
    again = world.custodians[0].api.post(f"/api/v1/tenders/{tender['id']}/custody/share")
    assert again.status_code == 409
    assert world.bidders[0].api.post(f"/api/v1/tenders/{tender['id']}/custody/share").status_code == 403
    stored = database_bytes(world.app)
    assert first.json["share"].encode() not in stored and first.json["share"].split(":")[4].encode() not in stored
