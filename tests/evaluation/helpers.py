"""Helpers for the evaluation tests: an opened tender, an expert pool, a drawn and seated committee."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.accounts.helpers import login
from tests.tendering.helpers import (
    Party,
    World,
    create_published,
    envelope_plaintext,
    form,
    iso,
    make_org,
    make_party,
    seal,
    submit,
    upload,
)


def run_open_due(app: Any) -> Any:
    from app.extensions import db
    from app.tendering.tasks import open_due

    with app.app_context():
        try:
            result = open_due()
            db.session.commit()
        finally:
            db.session.remove()
    return result


def opened_tender(
    world: World, clock: Any, prices: tuple[int, ...] = (1_000_000, 1_200_000, 1_500_000), **kw: Any
) -> dict:
    """A published tender whose bids were submitted by the first len(prices) bidders and opened (stage 1)."""
    at = clock.now() + timedelta(seconds=5)
    tender = create_published(world, submission_deadline_at=iso(at), opening_at=iso(at), **kw)
    tid = tender["id"]
    for bidder, price in zip(world.bidders, prices, strict=False):
        data = seal(envelope_plaintext(form(price), {"技术方案.txt": f"方案 {price}".encode()}), tender["recipient"])
        assert submit(bidder.api, tid, {"bid": upload(bidder.api, tid, "bid", data)}).status_code == 201
    clock.advance(timedelta(seconds=5))
    run_open_due(world.app)
    return dict(world.anonymous.get(f"/api/v1/tenders/{tid}").json)


@dataclass
class Pool:
    experts: dict[int, Party] = field(default_factory=dict)  # expert id -> party
    by_user: dict[int, Party] = field(default_factory=dict)  # user id -> party
    ids: dict[str, int] = field(default_factory=dict)  # label -> expert id


def enrol(world: World, username: str, specialties: list[str], *, employer_id: int | None = None) -> tuple[int, Party]:
    party = make_party(world.app, world.client, username, "expert", None)
    resp = world.admin.api.post(
        "/api/v1/evaluation/experts",
        {"user_id": party.user_id, "specialties": specialties, "employer_id": employer_id, "region": "邯郸"},
    )
    assert resp.status_code == 201, resp.json
    return int(resp.json["id"]), party


def build_pool(world: World, plain: int = 10) -> Pool:
    """`plain` unconflicted experts (every other one civil), plus one of each kind that must never be drawn."""
    pool = Pool()
    employer = make_org(world.app, "邯郸市设计研究院", "other", 90)
    for i in range(plain):
        specs = ["civil", "cost"] if i % 2 == 0 else ["electrical"]
        expert_id, party = enrol(world, f"expert{i + 1}", specs, employer_id=employer)
        pool.experts[expert_id] = party
        pool.by_user[party.user_id] = party
    bad = {
        "employed-by-bidder": {"employer_id": world.bidders[0].org_id},
        "employed-by-buyer": {"employer_id": world.buyer_id},
        "related": {},
        "suspended": {},
        "unavailable": {},
    }
    for label, kw in bad.items():
        expert_id, party = enrol(world, f"x-{label}", ["civil"], **kw)
        pool.ids[label] = expert_id
        pool.by_user[party.user_id] = party
        if label == "related":
            resp = party.api.post(
                "/api/v1/evaluation/experts/me/relationships",
                {"organisation_id": world.bidders[1].org_id, "note": "前雇主"},
            )
            assert resp.status_code == 201, resp.json
        if label == "suspended":
            resp = world.admin.api.post(
                f"/api/v1/evaluation/experts/{expert_id}/status", {"status": "suspended", "reason": "考核不合格"}
            )
            assert resp.status_code == 200, resp.json
        if label == "unavailable":
            assert party.api.patch("/api/v1/evaluation/experts/me", {"available": False}).status_code == 200
    return pool


def buyer_rep(world: World, username: str = "buyerrep") -> Party:
    return make_party(world.app, world.client, username, "agency", world.buyer_id)


def committee_body(rep: Party, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "size": 5,
        "expert_seats": 4,
        "groups": [{"specialty": "civil", "count": 2}],
        "reserves_per_group": 2,
        "buyer_rep_ids": [rep.user_id],
    }
    body.update(overrides)
    return body


def draw(world: World, tid: int) -> dict[str, Any]:
    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/committee/draws")
    assert resp.status_code == 201, resp.json
    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/committee/draws/{resp.json['round']}/perform")
    assert resp.status_code == 200, resp.json
    return dict(resp.json)


def seated(world: World, tid: int) -> list[dict[str, Any]]:
    """The seats as an overseer sees them."""
    assert world.auditor is not None
    resp = world.auditor.api.get(f"/api/v1/tenders/{tid}/committee")
    assert resp.status_code == 200, resp.json
    return list(resp.json["seats"])


def seat_everyone(world: World, tid: int, pool: Pool, rep: Party) -> dict[int, Party]:
    """Every invited expert confirms, every member declares no conflict; returns seat -> party."""
    out: dict[int, Party] = {}
    for seat in seated(world, tid):
        party = rep if seat["kind"] == "buyer_rep" else pool.by_user[seat["user_id"]]
        if seat["status"] == "invited":
            assert party.api.post(f"/api/v1/tenders/{tid}/committee/confirm").status_code == 200
        resp = party.api.post(f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": True})
        assert resp.status_code == 200, resp.json
        out[seat["seat"]] = party
    return out


def put_json(party: Party, url: str, body: Any) -> Any:
    """PUT with a JSON body (the tendering test client's put() sends raw bytes)."""
    return party.api.client.put(url, json=body, headers=party.api._headers())


def user_field(world: World, user_id: int, name: str) -> str:
    """One attribute of a user (username, display_name), read in the app's context."""
    from app.accounts.models import User
    from app.extensions import db

    with world.app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return str(getattr(user, name))


def browser(world: World, user_id: int) -> Any:
    """A test client signed in through the form as the user (session cookie, CSRF like a browser)."""
    client = world.app.test_client()
    resp = login(client, user_field(world, user_id, "username"))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client


def outsider(pool: Pool, members: dict[int, Party]) -> Party:
    """An expert of the pool who holds no seat on the committee."""
    seated_users = {p.user_id for p in members.values()}
    return next(p for p in pool.experts.values() if p.user_id not in seated_users)
