"""Slice (b): the expert pool, the committee definition, the committed draw, answers, declarations, confidentiality."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.core.keys import platform_public_keys
from app.evaluation.committee import draw as draw_mod
from crypto.signing import load_public_key, verify_document
from tests.evaluation.helpers import (
    Party,
    Pool,
    build_pool,
    buyer_rep,
    committee_body,
    draw,
    enrol,
    opened_tender,
    put_json,
    seat_everyone,
    seated,
)
from tests.tendering.helpers import audit_actions, create_published


def test_the_pool_is_kept_by_its_maintainers_with_reasons_and_checks(world) -> None:
    admin = world.admin.api
    expert_id, party = enrol(world, "zhang", ["civil"])
    assert party.api.get("/api/v1/evaluation/experts/me").json["specialties"] == ["civil"]
    # only the expert role joins, once, with known specialties
    again = admin.post("/api/v1/evaluation/experts", {"user_id": party.user_id, "specialties": ["civil"]})
    assert again.status_code == 409
    bidder = admin.post("/api/v1/evaluation/experts", {"user_id": world.bidders[0].user_id, "specialties": ["civil"]})
    assert bidder.status_code == 422
    assert admin.patch(f"/api/v1/evaluation/experts/{expert_id}", {"specialties": ["astrology"]}).status_code == 422
    assert admin.patch(f"/api/v1/evaluation/experts/{expert_id}", {"specialties": []}).status_code == 422
    # suspending and blacklisting need a reason
    assert admin.post(f"/api/v1/evaluation/experts/{expert_id}/status", {"status": "blacklisted"}).status_code == 422
    resp = admin.post(f"/api/v1/evaluation/experts/{expert_id}/status", {"status": "blacklisted", "reason": "收受财物"})
    assert resp.json["status"] == "blacklisted" and resp.json["status_reason"] == "收受财物"
    # a new specialty joins the maintained list and can then be used
    assert (
        admin.post("/api/v1/evaluation/specialties", {"code": "Bad Code", "name_zh": "x", "name_en": "x"}).status_code
        == 422
    )
    assert (
        admin.post(
            "/api/v1/evaluation/specialties", {"code": "bridges", "name_zh": "桥梁", "name_en": "Bridges"}
        ).status_code
        == 200
    )
    assert "bridges" in [s["code"] for s in party.api.get("/api/v1/evaluation/specialties").json]
    assert (
        admin.patch(f"/api/v1/evaluation/experts/{expert_id}", {"specialties": ["bridges", "civil"]}).status_code == 200
    )
    # the pool is not readable by agencies or experts
    assert world.agency.api.get("/api/v1/evaluation/experts").status_code == 403
    assert party.api.get(f"/api/v1/evaluation/experts/{expert_id}").status_code == 403
    actions = [a for a, *_ in audit_actions(world.app)]
    for action in ("evaluation.expert.enrolled", "evaluation.expert.status", "evaluation.specialty.saved"):
        assert action in actions


def test_committee_composition_is_checked(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    rep = buyer_rep(world)
    url = f"/api/v1/tenders/{tid}/committee"

    def status(**overrides) -> int:
        return put_json(world.agency, url, committee_body(rep, **overrides)).status_code

    assert status(size=4, expert_seats=3) == 422  # even
    assert status(size=7, expert_seats=4, buyer_rep_ids=[rep.user_id] * 3) == 422  # experts under two thirds
    assert status(buyer_rep_ids=[world.bidders[0].user_id]) == 422  # not a user of the buyer
    assert status(buyer_rep_ids=[]) == 422  # 5 - 4 = 1 needed
    assert status(groups=[{"specialty": "civil", "count": 3}, {"specialty": "cost", "count": 2}]) == 422  # 5 > 4
    assert status(groups=[{"specialty": "nope", "count": 1}]) == 422
    assert status(rules={"tie_break": ["lower_price", "lower_price"]}) == 422
    assert status(size="five") == 422
    assert put_json(world.other_agency, url, committee_body(rep)).status_code == 403
    resp = put_json(world.agency, url, committee_body(rep))
    assert resp.status_code == 200, resp.json
    assert resp.json["groups"] == [{"specialty": "civil", "count": 2}, {"specialty": None, "count": 2}]
    assert resp.json["rules"]["outlier_percent"] == 30
    assert [s["kind"] for s in resp.json["seats"]] == ["buyer_rep"]
    # no draw before the opening record: the bidders (and so the conflicts) are not known yet
    assert world.agency.api.post(f"/api/v1/tenders/{tid}/committee/draws").status_code == 409


# ------------------------------------------------------------------ the committed draw, one behaviour a test
# Fixtures: `composed` (an opened tender, the pool with one expert of each excluded kind, the committee defined);
# `drawn` (the draw committed and performed, with the auditor's replayable record).


@dataclass
class Drawing:
    world: Any
    tender: dict[str, Any]
    pool: Pool
    rep: Party
    record: dict[str, Any] = field(default_factory=dict)  # the auditor's record of round 1

    @property
    def tid(self) -> int:
        return int(self.tender["id"])

    @property
    def committee(self) -> str:
        return f"/api/v1/tenders/{self.tid}/committee"

    def seat(self, seat: int) -> dict[str, Any]:
        return next(s for s in seated(self.world, self.tid) if s["seat"] == seat)


@pytest.fixture
def composed(world: Any, clock: Any) -> Drawing:
    tender = opened_tender(world, clock)
    pool, rep = build_pool(world), buyer_rep(world)
    assert put_json(world.agency, f"/api/v1/tenders/{tender['id']}/committee", committee_body(rep)).status_code == 200
    return Drawing(world, tender, pool, rep)


@pytest.fixture
def drawn(composed: Drawing) -> Drawing:
    draw(composed.world, composed.tid)
    rec = composed.world.auditor.api.get(f"{composed.committee}/draws/1")
    assert rec.status_code == 200, rec.json
    composed.record = dict(rec.json)
    return composed


def test_a_draw_is_committed_before_it_is_performed_and_each_happens_once(composed: Drawing) -> None:
    world, api, tid = composed.world, composed.world.agency.api, composed.tid
    assert composed.tender["status"] == "opened"
    committed = api.post(f"{composed.committee}/draws")
    assert committed.status_code == 201 and committed.json["seed"] is None
    assert api.post(f"{composed.committee}/draws").status_code == 409  # one pending commitment at a time
    entries = {a: (subject, data) for a, _actor, subject, data in audit_actions(world.app)}
    subject, data = entries["evaluation.draw.committed"]
    assert subject == f"tender:{tid}/evaluation" and data == {
        "round": 1,
        "seed_sha256": committed.json["seed_sha256"],
        "committed_at": data["committed_at"],
    }
    performed = api.post(f"{composed.committee}/draws/1/perform")
    assert performed.status_code == 200 and performed.json["status"] == "performed"
    assert hashlib.sha256(bytes.fromhex(performed.json["seed"])).hexdigest() == committed.json["seed_sha256"]
    assert api.post(f"{composed.committee}/draws/1/perform").status_code == 409
    log = [(a, d) for a, _actor, _s, d in audit_actions(world.app)]
    committed_at = next(i for i, (a, _) in enumerate(log) if a == "evaluation.draw.committed")
    performed_at = next(i for i, (a, _) in enumerate(log) if a == "evaluation.draw.performed")
    assert committed_at < performed_at and log[performed_at][1]["seed"] == performed.json["seed"]


def test_the_auditor_replays_the_draw_from_its_record_alone(drawn: Drawing) -> None:
    rec = drawn.record
    assert rec["verification"] == []
    assert draw_mod.replay(rec["seed"], rec["snapshot"], rec["requirements"]) == rec["result"]
    performed = next(d for a, _x, _s, d in audit_actions(drawn.world.app) if a == "evaluation.draw.performed")
    assert draw_mod.snapshot_sha256(rec["snapshot"]) == performed["snapshot_sha256"]


def test_conflicted_suspended_and_unavailable_experts_are_never_drawn(drawn: Drawing) -> None:
    excluded, ids = drawn.record["result"]["excluded"], drawn.pool.ids
    assert excluded[str(ids["employed-by-bidder"])] == "employer-conflict"
    assert excluded[str(ids["employed-by-buyer"])] == "employer-conflict"
    assert excluded[str(ids["related"])] == "declared-relationship"
    assert excluded[str(ids["suspended"])] == "suspended"
    assert excluded[str(ids["unavailable"])] == "unavailable"


def test_the_overseer_sees_the_names_and_the_agency_only_the_seats(drawn: Drawing) -> None:
    seats = seated(drawn.world, drawn.tid)
    assert [s["seat"] for s in seats] == [1, 2, 3, 4, 5] and all(s["name"] for s in seats)
    assert len([s for s in seats if s["specialty"] == "civil"]) == 2
    api = drawn.world.agency.api
    agency_view = api.get(drawn.committee).json
    assert agency_view["viewer"] == "manager"
    assert all(s["name"] is None and s["user_id"] is None and s["expert_id"] is None for s in agency_view["seats"])
    assert agency_view["others"] == []  # reserves are not listed to the agency
    assert api.get(f"{drawn.committee}/draws/1").status_code == 403


def test_an_expert_sees_only_their_own_name_and_a_bidder_nothing(drawn: Drawing) -> None:
    first = drawn.pool.by_user[drawn.seat(1)["user_id"]]
    own = first.api.get(drawn.committee).json
    assert [s["name"] is not None for s in own["seats"]] == [s["seat"] == 1 for s in own["seats"]]
    assert drawn.world.bidders[3].api.get(drawn.committee).status_code == 403
    logged = [(a, s) for a, _x, s, _d in audit_actions(drawn.world.app)]
    assert ("access.denied", f"tender:{drawn.tid}/evaluation") in logged


def test_a_decline_passes_the_seat_to_the_groups_first_reserve(drawn: Drawing) -> None:
    civil_seat = next(s for s in seated(drawn.world, drawn.tid) if s["specialty"] == "civil")
    decliner = drawn.pool.by_user[civil_seat["user_id"]]
    assert decliner.api.post(f"{drawn.committee}/decline", {"reason": ""}).status_code == 422
    resp = decliner.api.post(f"{drawn.committee}/decline", {"reason": "出差在外"})
    assert resp.status_code == 200 and resp.json["status"] == "declined"
    now_civil = drawn.seat(civil_seat["seat"])
    first_reserve = drawn.record["result"]["groups"][0]["reserves"][0]
    assert now_civil["expert_id"] == first_reserve and now_civil["status"] == "invited"
    assert decliner.api.post(f"{drawn.committee}/confirm").status_code == 409


def test_the_agency_releases_an_unreachable_expert_and_the_next_reserve_moves_up(drawn: Drawing) -> None:
    other = next(s for s in seated(drawn.world, drawn.tid) if s["specialty"] is None)
    url = f"{drawn.committee}/seats/{other['seat']}/release"
    released = drawn.world.agency.api.post(url, {"reason": "电话无人接听"})
    assert released.status_code == 200
    assert drawn.seat(other["seat"])["expert_id"] == drawn.record["result"]["groups"][1]["reserves"][0]


def test_a_declaration_needs_a_confirmed_seat(drawn: Drawing) -> None:
    invited = next(s for s in seated(drawn.world, drawn.tid) if s["status"] == "invited")
    waiting = drawn.pool.by_user[invited["user_id"]]
    assert waiting.api.post(f"{drawn.committee}/declaration", {"no_conflict": True}).status_code == 409


def test_declarations_are_signed_by_the_platform_and_made_once(drawn: Drawing) -> None:
    from app.evaluation.models import CommitteeMember
    from app.extensions import db

    world = drawn.world
    members = seat_everyone(world, drawn.tid, drawn.pool, drawn.rep)
    assert sorted(members) == [1, 2, 3, 4, 5]
    view = world.auditor.api.get(drawn.committee).json
    assert view["complete"] is True and all(s["declared"] for s in view["seats"])
    assert members[1].api.post(f"{drawn.committee}/declaration", {"no_conflict": True}).status_code == 409  # once
    with world.app.app_context():
        keys = {k["key_id"]: load_public_key(k["public_key"]) for k in platform_public_keys()}
        doc = db.session.query(CommitteeMember).filter_by(user_id=members[1].user_id).one().declaration
    payload = verify_document(doc, keys)
    assert payload["seat"] == 1 and {b["organisation_id"] for b in payload["bidders"]} >= {world.bidders[0].org_id}
    invitations = members[1].api.get("/api/v1/evaluation/invitations").json
    assert invitations[0]["tender_id"] == drawn.tid and invitations[0]["declared"] is True


def test_a_recusal_and_an_exhausted_reserve_list_lead_to_a_supplementary_round(world, clock) -> None:
    tender = opened_tender(world, clock)
    tid = tender["id"]
    pool = build_pool(world, plain=6)
    rep = buyer_rep(world)
    api = world.agency.api
    body = committee_body(rep, groups=[], reserves_per_group=0)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", body).status_code == 200
    draw(world, tid)
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", body).status_code == 409  # fixed once drawn
    assert api.post(f"/api/v1/tenders/{tid}/committee/draws").status_code == 409  # every seat is taken
    seats = seated(world, tid)
    recusing = pool.by_user[seats[0]["user_id"]]
    assert recusing.api.post(f"/api/v1/tenders/{tid}/committee/confirm").status_code == 200
    assert recusing.api.post(f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": False}).status_code == 422
    resp = recusing.api.post(
        f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": False, "detail": "与投标人1有亲属关系"}
    )
    assert resp.json["status"] == "recused"
    assert 1 not in [s["seat"] for s in seated(world, tid)]
    second = draw(world, tid)
    assert second["round"] == 2 and second["status"] == "performed"
    rec = world.auditor.api.get(f"/api/v1/tenders/{tid}/committee/draws/2").json
    assert rec["verification"] == [] and rec["requirements"]["groups"] == [
        {"specialty": None, "count": 1, "reserves": 0}
    ]
    assert set(rec["snapshot"]["already_drawn"]) == {s["expert_id"] for s in seats if s["expert_id"]}
    refill = next(s for s in seated(world, tid) if s["seat"] == 1)
    assert refill["expert_id"] not in {s["expert_id"] for s in seats}
    # a round the pool cannot satisfy fails with the seed revealed, never reused
    for s in seated(world, tid):
        if s["kind"] == "expert" and s["seat"] in (1, 2):
            party = pool.by_user[s["user_id"]]
            party.api.post(f"/api/v1/tenders/{tid}/committee/decline", {"reason": "有事"})
    third = draw(world, tid)
    assert third["status"] == "failed" and "eligible" in third["failure"] and third["seed"]
    assert "evaluation.draw.failed" in [a for a, *_ in audit_actions(world.app)]


def test_a_recused_buyer_representative_is_replaced_by_appointment(world, clock) -> None:
    tender = opened_tender(world, clock)
    tid = tender["id"]
    build_pool(world, plain=6)
    rep, substitute = buyer_rep(world), buyer_rep(world, "buyerrep2")
    assert put_json(world.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep)).status_code == 200
    draw(world, tid)
    url = f"/api/v1/tenders/{tid}/committee/buyer-reps"
    assert world.agency.api.post(url, {"seat": 5, "user_id": substitute.user_id}).status_code == 409  # not vacant
    resp = rep.api.post(
        f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": False, "detail": "曾任投标人顾问"}
    )
    assert resp.status_code == 200 and resp.json["status"] == "recused"
    assert world.agency.api.post(url, {"seat": 1, "user_id": substitute.user_id}).status_code == 422  # an expert seat
    assert world.agency.api.post(url, {"seat": 5, "user_id": world.bidders[0].user_id}).status_code == 422
    assert world.other_agency.api.post(url, {"seat": 5, "user_id": substitute.user_id}).status_code == 403
    resp = world.agency.api.post(url, {"seat": 5, "user_id": substitute.user_id})
    assert resp.status_code == 200 and resp.json["seat"] == 5 and resp.json["kind"] == "buyer_rep"
    seat5 = next(s for s in seated(world, tid) if s["seat"] == 5)
    assert seat5["user_id"] == substitute.user_id and seat5["status"] == "confirmed"
