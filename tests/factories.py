"""The objects tests keep needing, each built in one place with sensible defaults and keyword overrides:
organisations, users with roles (and TOTP for staff), parties with API tokens, the standard world of a buyer,
two agencies, bidders and overseers; a published tender, a sealed and submitted bid, an opened tender; experts,
the pool, and a drawn and seated committee.

Everything goes through the app's services or its API (never rows written by hand), so what a factory makes is
what the app would have made. The scenario helpers (tests/tendering/helpers.py, tests/evaluation/helpers.py,
tests/accounts/helpers.py) keep their names and signatures and build on these.

    world = factories.world(app)                              # buyer, agencies, 4 bidders, admin, overseers
    tender = factories.published_tender(world, min_bids=1)    # overrides go into the draft's API body
    factories.submitted_bid(world, world.bidders[0], tender, price=990_000)
    tender = factories.opened_tender(world, clock, prices=(1_000_000, 900_000))
    committee = factories.seated_committee(world, clock)      # opened tender, pool, rep, everyone seated
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pyotp
from flask import Flask

from app.accounts.uscc import make_uscc
from app.core import time as clock_mod
from crypto.age import X25519Recipient, encrypt_bytes
from crypto.envelope import write_envelope

PASSWORD = "correct horse battery staple"
STAFF_ROLES = frozenset({"agency", "admin", "auditor", "supervisor"})  # they sign in with a second factor
_sequence = itertools.count(1000)


def _next() -> int:
    return next(_sequence)


# ---------------------------------------------------------------------------------------------- the cast


class Api:
    """A JSON API client authenticated with a bearer token (None: anonymous)."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json_body: Any = None, **kw: Any) -> Any:
        if json_body is not None:
            kw["json"] = json_body
        return self.client.post(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, json_body: Any, **kw: Any) -> Any:
        return self.client.patch(url, json=json_body, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url: str, data: bytes, headers: dict[str, str]) -> Any:
        return self.client.put(url, data=data, headers=self._headers(headers))

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


@dataclass
class Party:
    """A user with an API token (all scopes) and, when the user belongs to one, the organisation."""

    user_id: int
    org_id: int | None
    token: str
    api: Api


@dataclass
class World:
    app: Flask
    client: Any
    buyer_id: int
    agency: Party
    other_agency: Party
    bidders: list[Party] = field(default_factory=list)
    admin: Party | None = None
    auditor: Party | None = None
    supervisor: Party | None = None
    custodians: list[Party] = field(default_factory=list)
    anonymous: Api | None = None


def organisation(app: Flask, *, name: str | None = None, kind: str = "bidder", n: int | None = None) -> int:
    """An organisation (committed); bidders and agencies get a valid USCC made from `n`. Returns its id."""
    from app.accounts import services_organisations
    from app.extensions import db

    n = _next() if n is None else n
    with app.app_context():
        uscc = make_uscc("9", "1", "130400", f"MA{n:06d}") if kind in {"bidder", "agency"} else None
        org = services_organisations.create_organisation(
            actor="test", name=name or f"测试单位{n}有限公司", kind=kind, uscc=uscc
        )
        db.session.commit()
        return int(org.id)


def user(
    app: Flask,
    username: str | None = None,
    *,
    roles: Iterable[str] = ("bidder",),
    password: str = PASSWORD,
    totp: bool | None = None,
    organisation_id: int | None = None,
    display_name: str | None = None,
) -> tuple[int, str | None]:
    """A user made through the services (committed). With `totp` (by default: for the staff roles), an enrolled
    authenticator. Returns (user id, TOTP secret or None)."""
    from app.accounts import services_totp, services_users
    from app.extensions import db

    roles = list(roles)
    username = username or f"user{_next()}"
    if totp is None:
        totp = bool(STAFF_ROLES & set(roles))
    with app.app_context():
        made = services_users.create_user(
            actor="test",
            username=username,
            display_name=display_name or username.title(),
            password=password,
            roles=roles,
            organisation_id=organisation_id,
        )
        secret = None
        if totp:
            services_totp.begin_totp_enrolment(made)
            secret = services_totp.totp_secret_for_display(made)
            services_totp.confirm_totp_enrolment(made, pyotp.TOTP(secret).at(clock_mod.now_utc()))
        db.session.commit()
        return int(made.id), secret


def party(
    app: Flask, client: Any, username: str | None = None, *, role: str = "bidder", org_id: int | None = None
) -> Party:
    """A user with one role and an API token for every scope (staff roles enrol TOTP, as they must)."""
    from app.accounts import services_tokens
    from app.accounts.models import User
    from app.extensions import db

    user_id, _secret = user(app, username, roles=[role], organisation_id=org_id)
    with app.app_context():
        row = db.session.get(User, user_id)
        _token, text = services_tokens.create_token(user=row, name="tests", scopes=["*"], expires_in_days=30)
        db.session.commit()
    return Party(user_id, org_id, text, Api(client, text))


def world(app: Flask, *, bidders: int = 4, custodians: int = 3) -> World:
    """The standard cast: a buyer; an agency (user `agent`) and another one (`agent2`); `bidders` bidder
    companies with one user each (`bidder1`…); `root` (admin), `auditor`, `supervisor` and `custodian1`…"""
    client = app.test_client()
    buyer = organisation(app, name="邯郸市第一中学", kind="buyer", n=1)
    agency_org = organisation(app, name="邯郸招标代理有限公司", kind="agency", n=2)
    other_agency_org = organisation(app, name="另一家代理公司", kind="agency", n=3)
    made = World(
        app=app,
        client=client,
        buyer_id=buyer,
        agency=party(app, client, "agent", role="agency", org_id=agency_org),
        other_agency=party(app, client, "agent2", role="agency", org_id=other_agency_org),
        anonymous=Api(client, None),
    )
    for i in range(bidders):
        org = organisation(app, name=f"投标人{i + 1}建设有限公司", kind="bidder", n=10 + i)
        made.bidders.append(party(app, client, f"bidder{i + 1}", role="bidder", org_id=org))
    made.admin = party(app, client, "root", role="admin")
    made.auditor = party(app, client, "auditor", role="auditor")
    made.supervisor = party(app, client, "supervisor", role="supervisor")
    for i in range(custodians):
        made.custodians.append(party(app, client, f"custodian{i + 1}", role="supervisor"))
    return made


# ---------------------------------------------------------------------------------------------- tenders and bids


def tender_body(made: World, **overrides: Any) -> dict[str, Any]:
    """The API body of a draft: the buyer's construction tender, 1 500 000 元, opening in an hour, 3 bids."""
    now = clock_mod.now_utc()
    body: dict[str, Any] = {
        "title": "邯郸市第一中学教学楼改造工程",
        "buyer_id": made.buyer_id,
        "category": "construction",
        "description": "教学楼外墙及屋面改造",
        "budget_amount": 150_000_000,
        "submission_deadline_at": (now + timedelta(hours=1)).isoformat(),
        "opening_at": (now + timedelta(hours=1)).isoformat(),
        "min_bids": 3,
    }
    body.update(overrides)
    return body


def published_tender(
    made: World, *, document: bytes = b"%PDF-1.4 tender documents", **overrides: Any
) -> dict[str, Any]:
    """A tender drafted by the agency (`overrides` go into the draft body), with its document, published.
    Returns the tender as the publish call answers it (id, recipient, …)."""
    api = made.agency.api
    resp = api.post("/api/v1/tenders", tender_body(made, **overrides))
    assert resp.status_code == 201, resp.json
    tender_id = resp.json["id"]
    resp = api.post(
        f"/api/v1/tenders/{tender_id}/documents?name=招标文件.pdf&content_type=application/pdf",
        data=document,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 201, resp.json
    resp = api.post(f"/api/v1/tenders/{tender_id}/publish")
    assert resp.status_code == 200, resp.json
    return dict(resp.json)


def bid_form(price: int = 1_000_000, days: int = 90) -> dict[str, Any]:
    """A bid form's values: the price in 分 and the duration in days."""
    return {"price": price, "currency": "CNY", "duration_days": days}


def envelope(form: dict[str, Any] | None, files: dict[str, bytes] | None = None) -> bytes:
    """An envelope's plaintext: the form and the files, as the bid page writes it before sealing."""
    buf = io.BytesIO()
    write_envelope(buf, form, [(name, io.BytesIO(data), len(data)) for name, data in (files or {}).items()])
    return buf.getvalue()


def seal(plaintext: bytes, *recipients: str) -> bytes:
    return encrypt_bytes(plaintext, [X25519Recipient.parse(r) for r in recipients])


def sealed_bid(
    tender: dict[str, Any], *, price: int = 1_000_000, days: int = 90, files: dict[str, bytes] | None = None
) -> bytes:
    """A bid envelope sealed to the tender's recipient (a technical file named after the price by default)."""
    if files is None:
        files = {"技术方案.txt": f"方案 {price}".encode()}
    return seal(envelope(bid_form(price, days), files), tender["recipient"])


def upload(api: Api, tender_id: int, envelope_name: str, data: bytes, chunk: int = 64 * 1024) -> str:
    """Upload in chunks (at least the server's `chunk_min`: 5 MiB on S3) and complete; returns the upload id."""
    resp = api.post(f"/api/v1/tenders/{tender_id}/uploads", {"envelope": envelope_name, "size": len(data)})
    assert resp.status_code == 201, resp.json
    upload_id = resp.json["id"]
    chunk = max(chunk, resp.json["chunk_min"])
    for start in range(0, len(data), chunk):
        part = data[start : start + chunk]
        headers = {
            "Content-Range": f"bytes {start}-{start + len(part) - 1}/{len(data)}",
            "Content-Type": "application/octet-stream",
        }
        resp = api.put(f"/api/v1/uploads/{upload_id}", part, headers)
        assert resp.status_code == 200, resp.json
    resp = api.post(f"/api/v1/uploads/{upload_id}/complete")
    assert resp.status_code == 200, resp.json
    return str(upload_id)


def submitted_bid(
    made: World, bidder: Party, tender: dict[str, Any], *, price: int = 1_000_000, **kw: Any
) -> dict[str, Any]:
    """A sealed bid uploaded and submitted by `bidder` (`kw`: days, files). Returns the submission's answer."""
    tid = tender["id"]
    data = sealed_bid(tender, price=price, **kw)
    resp = bidder.api.post(f"/api/v1/tenders/{tid}/bid", {"uploads": {"bid": upload(bidder.api, tid, "bid", data)}})
    assert resp.status_code == 201, resp.json
    return dict(resp.json)


def run_open_due(app: Flask) -> Any:
    """What the beat does at an opening time: open every tender that is due (committed)."""
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
    made: World, clock: Any, prices: tuple[int, ...] = (1_000_000, 1_200_000, 1_500_000), **overrides: Any
) -> dict[str, Any]:
    """A published tender whose bids were submitted by the first len(prices) bidders and opened (stage 1)."""
    at = clock.now() + timedelta(seconds=5)
    tender = published_tender(made, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), **overrides)
    for bidder, price in zip(made.bidders, prices, strict=False):
        submitted_bid(made, bidder, tender, price=price)
    clock.advance(timedelta(seconds=5))
    run_open_due(made.app)
    assert made.anonymous is not None
    return dict(made.anonymous.get(f"/api/v1/tenders/{tender['id']}").json)


# ---------------------------------------------------------------------------------------------- experts, committees


@dataclass
class Pool:
    experts: dict[int, Party] = field(default_factory=dict)  # expert id -> party
    by_user: dict[int, Party] = field(default_factory=dict)  # user id -> party
    ids: dict[str, int] = field(default_factory=dict)  # label -> expert id


@dataclass
class Committee:
    """A tender's committee, drawn and seated: every member confirmed and declared no conflict."""

    tender_id: int
    pool: Pool
    rep: Party
    members: dict[int, Party]  # seat -> party


def expert(
    made: World,
    username: str | None = None,
    *,
    specialties: Iterable[str] = ("civil",),
    employer_id: int | None = None,
    region: str = "邯郸",
) -> tuple[int, Party]:
    """An expert enrolled by the admin (a user with the expert role). Returns (expert id, party)."""
    assert made.admin is not None
    who = party(made.app, made.client, username or f"expert{_next()}", role="expert")
    resp = made.admin.api.post(
        "/api/v1/evaluation/experts",
        {"user_id": who.user_id, "specialties": list(specialties), "employer_id": employer_id, "region": region},
    )
    assert resp.status_code == 201, resp.json
    return int(resp.json["id"]), who


def pool(made: World, plain: int = 10) -> Pool:
    """`plain` unconflicted experts (every other one civil), plus one of each kind that must never be drawn:
    employed by a bidder or by the buyer, related to a bidder, suspended, unavailable."""
    assert made.admin is not None
    out = Pool()
    employer = organisation(made.app, name="邯郸市设计研究院", kind="other", n=90)
    for i in range(plain):
        specs = ["civil", "cost"] if i % 2 == 0 else ["electrical"]
        expert_id, who = expert(made, f"expert{i + 1}", specialties=specs, employer_id=employer)
        out.experts[expert_id] = who
        out.by_user[who.user_id] = who
    bad: dict[str, dict[str, Any]] = {
        "employed-by-bidder": {"employer_id": made.bidders[0].org_id},
        "employed-by-buyer": {"employer_id": made.buyer_id},
        "related": {},
        "suspended": {},
        "unavailable": {},
    }
    for label, kw in bad.items():
        expert_id, who = expert(made, f"x-{label}", specialties=["civil"], **kw)
        out.ids[label] = expert_id
        out.by_user[who.user_id] = who
        if label == "related":
            resp = who.api.post(
                "/api/v1/evaluation/experts/me/relationships",
                {"organisation_id": made.bidders[1].org_id, "note": "前雇主"},
            )
            assert resp.status_code == 201, resp.json
        if label == "suspended":
            resp = made.admin.api.post(
                f"/api/v1/evaluation/experts/{expert_id}/status", {"status": "suspended", "reason": "考核不合格"}
            )
            assert resp.status_code == 200, resp.json
        if label == "unavailable":
            assert who.api.patch("/api/v1/evaluation/experts/me", {"available": False}).status_code == 200
    return out


def buyer_rep(made: World, username: str = "buyerrep") -> Party:
    """A representative of the buyer (a user of the buyer's organisation who may sit on its committees)."""
    return party(made.app, made.client, username, role="agency", org_id=made.buyer_id)


def committee_body(rep: Party, **overrides: Any) -> dict[str, Any]:
    """The committee's composition: five seats, four experts (two civil), two reserves a group, `rep` seated."""
    body: dict[str, Any] = {
        "size": 5,
        "expert_seats": 4,
        "groups": [{"specialty": "civil", "count": 2}],
        "reserves_per_group": 2,
        "buyer_rep_ids": [rep.user_id],
    }
    body.update(overrides)
    return body


def put_json(who: Party, url: str, body: Any) -> Any:
    """PUT with a JSON body (the API client's put() sends raw bytes)."""
    return who.api.client.put(url, json=body, headers=who.api._headers())


def draw(made: World, tid: int) -> dict[str, Any]:
    """Commit to a draw round and perform it (the agency). Returns the performed round."""
    resp = made.agency.api.post(f"/api/v1/tenders/{tid}/committee/draws")
    assert resp.status_code == 201, resp.json
    resp = made.agency.api.post(f"/api/v1/tenders/{tid}/committee/draws/{resp.json['round']}/perform")
    assert resp.status_code == 200, resp.json
    return dict(resp.json)


def seats(made: World, tid: int) -> list[dict[str, Any]]:
    """The seats as an overseer sees them."""
    assert made.auditor is not None
    resp = made.auditor.api.get(f"/api/v1/tenders/{tid}/committee")
    assert resp.status_code == 200, resp.json
    return list(resp.json["seats"])


def seat_everyone(made: World, tid: int, experts: Pool, rep: Party) -> dict[int, Party]:
    """Every invited expert confirms, every member declares no conflict; returns seat -> party."""
    out: dict[int, Party] = {}
    for seat in seats(made, tid):
        who = rep if seat["kind"] == "buyer_rep" else experts.by_user[seat["user_id"]]
        if seat["status"] == "invited":
            assert who.api.post(f"/api/v1/tenders/{tid}/committee/confirm").status_code == 200
        resp = who.api.post(f"/api/v1/tenders/{tid}/committee/declaration", {"no_conflict": True})
        assert resp.status_code == 200, resp.json
        out[seat["seat"]] = who
    return out


def seated_committee(
    made: World,
    clock: Any,
    *,
    tender_id: int | None = None,
    plain: int = 8,
    prices: tuple[int, ...] = (1_000_000, 1_200_000, 1_500_000),
    **composition: Any,
) -> Committee:
    """A committee drawn from a fresh pool and seated, on `tender_id` or on a new opened tender (three bids).
    `composition` overrides the committee body (rules, size, groups…)."""
    tid = tender_id if tender_id is not None else int(opened_tender(made, clock, prices)["id"])
    experts = pool(made, plain=plain)
    rep = buyer_rep(made)
    resp = put_json(made.agency, f"/api/v1/tenders/{tid}/committee", committee_body(rep, **composition))
    assert resp.status_code == 200, resp.json
    draw(made, tid)
    return Committee(tid, experts, rep, seat_everyone(made, tid, experts, rep))
