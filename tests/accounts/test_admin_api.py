"""Setting the platform up through the API only: organisations, users, roles, TOTP enrolment, the expert pool."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask

from app.accounts.uscc import make_uscc
from app.core import time as clock_mod
from app.core.time import FakeClock
from tests.accounts.helpers import PASSWORD, make_user, next_totp
from tests.tendering.helpers import Api, audit_actions


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    return dict(resp.get_json())


def _token(client: Any, username: str, password: str, totp: str | None = None) -> str:
    body: dict[str, Any] = {"username": username, "password": password, "name": "setup", "scopes": ["*"]}
    if totp:
        body["totp"] = totp
    resp = client.post("/api/v1/auth/tokens", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return str(resp.json["token"])


@pytest.fixture
def admin(app: Flask, clock: FakeClock) -> Api:
    _uid, secret = make_user(app, "root", ["admin"], totp=True)
    assert secret is not None
    client = app.test_client()
    return Api(client, _token(client, "root", PASSWORD, next_totp(secret)))


def _actions(app: Flask) -> list[str]:
    return [a[0] for a in audit_actions(app)]


def test_integrator_sets_up_through_the_api(app: Flask, admin: Api, clock: FakeClock) -> None:
    client = admin.client
    # The administrator creates a buyer and an agency organisation, and an agency user with its role.
    resp = admin.post("/api/v1/organisations", {"name": "邯郸市第一中学", "kind": "buyer"})
    assert resp.status_code == 201, resp.json
    buyer_id = resp.json["id"]
    assert resp.json["active"] is True and resp.json["kind"] == "buyer"
    uscc = make_uscc("9", "1", "130400", "MA000002")
    resp = admin.post("/api/v1/organisations", {"name": "邯郸招标代理有限公司", "kind": "agency", "uscc": uscc})
    assert resp.status_code == 201, resp.json
    agency_org = resp.json["id"]
    resp = admin.post(
        "/api/v1/users",
        {"username": "agent", "display_name": "代理甲", "roles": ["agency"], "organisation_id": agency_org},
    )
    assert resp.status_code == 201, resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    created = resp.json
    password = created["password"]
    assert password and created["roles"] == ["agency"] and created["organisation"]["id"] == agency_org
    assert created["totp_required"] is True and created["totp_enabled"] is False

    # The agency role requires TOTP: no token before enrolment; the agent enrols with the password.
    resp = client.post(
        "/api/v1/auth/tokens", json={"username": "agent", "password": password, "name": "x", "scopes": ["*"]}
    )
    assert resp.status_code == 403, resp.json
    resp = client.post("/api/v1/auth/totp", json={"username": "agent", "password": password})
    assert resp.status_code == 201, resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    secret = resp.json["secret"]
    assert resp.json["otpauth_uri"].startswith("otpauth://totp/") and secret in resp.json["otpauth_uri"]
    resp = client.post("/api/v1/auth/totp/confirm", json={"username": "agent", "password": password, "totp": "000000"})
    _problem(resp, 422)
    code = pyotp.TOTP(secret).at(clock_mod.now_utc())
    resp = client.post("/api/v1/auth/totp/confirm", json={"username": "agent", "password": password, "totp": code})
    assert resp.status_code == 204, resp.get_data(as_text=True)
    # Once on, the password alone no longer starts an enrolment.
    _problem(client.post("/api/v1/auth/totp", json={"username": "agent", "password": password}), 401)
    agent = Api(client, _token(client, "agent", password, next_totp(secret)))

    # The agent finds the buyer in the directory and drafts a tender naming it.
    resp = agent.get("/api/v1/organisations?kind=buyer&name=第一中学")
    assert resp.status_code == 200, resp.json
    assert resp.json["total"] == 1 and [o["id"] for o in resp.json["items"]] == [buyer_id]
    now = clock_mod.now_utc()
    draft = {
        "title": "教学楼改造工程",
        "buyer_id": resp.json["items"][0]["id"],
        "category": "construction",
        "description": "外墙及屋面改造",
        "budget_amount": 150_000_000,
        "submission_deadline_at": (now + timedelta(days=30)).isoformat(),
        "opening_at": (now + timedelta(days=30)).isoformat(),
        "min_bids": 3,
    }
    resp = agent.post("/api/v1/tenders", draft)
    assert resp.status_code == 201, resp.json
    assert resp.json["buyer"]["id"] == buyer_id and resp.json["agency"]["id"] == agency_org
    tender_id = resp.json["id"]

    # A deactivated buyer is named by no new tender; a draft that names it already keeps it.
    assert admin.post(f"/api/v1/organisations/{buyer_id}/deactivate").status_code == 200
    body = _problem(agent.post("/api/v1/tenders", draft), 422)
    assert body["errors"] == {"buyer_id": ["inactive"]}
    assert agent.patch(f"/api/v1/tenders/{tender_id}", {"title": "教学楼改造工程（一期）"}).status_code == 200
    assert agent.get("/api/v1/organisations?kind=buyer").json["total"] == 0

    # The administrator puts an expert with a specialty into the pool.
    resp = admin.post("/api/v1/users", {"username": "expert1", "roles": ["expert"], "password": "a long enough secret"})
    assert resp.status_code == 201 and resp.json["password"] is None
    expert_user = resp.json["id"]
    resp = admin.post(
        "/api/v1/evaluation/experts", {"user_id": expert_user, "specialties": ["civil"], "region": "邯郸"}
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["specialties"] == ["civil"]

    actions = _actions(app)
    for action in (
        "accounts.organisation_created",
        "accounts.user_created",
        "accounts.totp_enabled",
        "tendering.tender.drafted",
        "evaluation.expert.enrolled",
    ):
        assert action in actions, (action, actions)


def test_organisation_update_and_deactivation(app: Flask, admin: Api) -> None:
    resp = admin.post("/api/v1/organisations", {"name": "市医院", "kind": "buyer"})
    org = resp.json["id"]
    resp = admin.patch(f"/api/v1/organisations/{org}", {"name": "邯郸市中心医院"})
    assert resp.status_code == 200 and resp.json["name"] == "邯郸市中心医院"
    # An agency needs a code: turning the buyer into an agency without one is refused.
    body = _problem(admin.patch(f"/api/v1/organisations/{org}", {"kind": "agency"}), 422)
    assert body["errors"] == {"uscc": ["required"]}
    _problem(admin.patch(f"/api/v1/organisations/{org}", {"uscc": "91130400MA0000000X"}), 422)
    admin.post("/api/v1/organisations", {"name": "另一家", "kind": "other"})
    _problem(admin.patch(f"/api/v1/organisations/{org}", {"name": "另一家"}), 409)

    resp = admin.post(f"/api/v1/organisations/{org}/deactivate")
    assert resp.status_code == 200 and resp.json["active"] is False
    assert admin.get("/api/v1/organisations?name=中心医院").json["total"] == 0
    assert admin.get("/api/v1/organisations?name=中心医院&active=false").json["total"] == 1
    # A deactivated organisation takes no new users.
    body = _problem(admin.post("/api/v1/users", {"username": "nurse", "roles": [], "organisation_id": org}), 422)
    assert body["errors"] == {"organisation_id": ["inactive"]}
    assert admin.post(f"/api/v1/organisations/{org}/activate").json["active"] is True

    actions = [a for a in audit_actions(app) if a[2] == f"organisation:{org}"]
    assert [a[0] for a in actions] == [
        "accounts.organisation_created",
        "accounts.organisation_updated",
        "accounts.organisation_deactivated",
        "accounts.organisation_activated",
    ]
    assert actions[1][3] == {"before": {"name": "市医院"}, "after": {"name": "邯郸市中心医院"}}


def test_user_administration(app: Flask, admin: Api, clock: FakeClock) -> None:
    client = admin.client
    resp = admin.post("/api/v1/users", {"username": "Bea", "roles": ["bidder"], "email": "bea@example.com"})
    assert resp.status_code == 201
    uid, password = resp.json["id"], resp.json["password"]
    assert resp.json["username"] == "bea"

    resp = admin.get("/api/v1/users?role=bidder")
    assert [u["username"] for u in resp.json["items"]] == ["bea"] and resp.json["total"] == 1
    assert admin.get("/api/v1/users?q=be&per_page=1").json["per_page"] == 1

    resp = admin.patch(f"/api/v1/users/{uid}", {"display_name": "Bea Li", "roles": ["bidder", "expert"]})
    assert resp.status_code == 200 and resp.json["roles"] == ["bidder", "expert"]
    assert resp.json["email"] == "bea@example.com"  # left out: unchanged
    resp = admin.delete(f"/api/v1/users/{uid}/roles/expert")
    assert resp.json["roles"] == ["bidder"]
    resp = admin.post(f"/api/v1/users/{uid}/roles", {"role": "auditor"})
    assert resp.json["roles"] == ["auditor", "bidder"]
    resp = admin.client.put(
        f"/api/v1/users/{uid}/roles", json={"roles": ["bidder"]}, headers={"Authorization": f"Bearer {admin.token}"}
    )
    assert resp.json["roles"] == ["bidder"]
    body = _problem(admin.post(f"/api/v1/users/{uid}/roles", {"role": "pope"}), 422)
    assert body["errors"] == {"roles": ["pope"]}
    _problem(admin.delete(f"/api/v1/users/{uid}/roles/pope"), 422)

    # Lockout after failed sign-ins, lifted by unlock.
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/api/v1/auth/tokens", json={"username": "bea", "password": "wrong!", "name": "x", "scopes": ["*"]})
    assert admin.get(f"/api/v1/users/{uid}").json["locked_until"] is not None
    assert admin.post(f"/api/v1/users/{uid}/unlock").json["locked_until"] is None
    _token(client, "bea", password)

    # Reset password: the old one stops working, the new one is shown once.
    resp = admin.post(f"/api/v1/users/{uid}/reset-password", {})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    new_password = resp.json["password"]
    assert new_password != password
    _token(client, "bea", new_password)
    _problem(admin.post(f"/api/v1/users/{uid}/reset-password", {"password": "short"}), 422)

    # Deactivation (locks the account) and reactivation.
    resp = admin.post(f"/api/v1/users/{uid}/deactivate")
    assert resp.json["active"] is False
    _problem(
        client.post(
            "/api/v1/auth/tokens", json={"username": "bea", "password": new_password, "name": "x", "scopes": ["*"]}
        ),
        401,
    )
    assert admin.post(f"/api/v1/users/{uid}/activate").json["active"] is True

    actions = [a[0] for a in audit_actions(app) if a[2] == f"user:{uid}"]
    for action in (
        "accounts.user_created",
        "accounts.profile_updated",
        "accounts.roles_changed",
        "accounts.user_unlocked",
        "accounts.password_reset",
        "accounts.user_deactivated",
        "accounts.user_activated",
    ):
        assert action in actions, (action, actions)


def test_administrator_cannot_lock_themselves_out(app: Flask, admin: Api) -> None:
    me = admin.get("/api/v1/me").json["id"]
    make_user(app, "root2", ["admin"])  # another admin: the last-admin rule is not what refuses
    _problem(admin.post(f"/api/v1/users/{me}/deactivate"), 409)
    _problem(admin.post(f"/api/v1/users/{me}/reset-totp"), 409)
    _problem(admin.post(f"/api/v1/users/{me}/reset-password", {}), 409)
    _problem(admin.delete(f"/api/v1/users/{me}/roles/admin"), 409)
    assert admin.get("/api/v1/me").status_code == 200


def test_roles_and_permissions(app: Flask, admin: Api) -> None:
    roles = admin.get("/api/v1/roles").json
    by_name = {r["name"]: r for r in roles}
    assert "accounts.organisations" in by_name["agency"]["permissions"]
    assert by_name["agency"]["requires_totp"] is True
    declared = {p["name"] for p in admin.get("/api/v1/permissions").json}
    assert {"accounts.admin", "tendering.manage", "evaluation.pool"} <= declared
    bidder = by_name["bidder"]
    resp = admin.patch(f"/api/v1/roles/{bidder['id']}", {"requires_totp": True})
    assert resp.status_code == 200 and resp.json["requires_totp"] is True
    assert resp.json["permissions"] == bidder["permissions"]  # left out: unchanged
    body = _problem(admin.patch(f"/api/v1/roles/{bidder['id']}", {"permissions": ["no.such"]}), 422)
    assert body["errors"] == {"permissions": ["no.such"]}
    _problem(admin.patch(f"/api/v1/roles/{by_name['admin']['id']}", {"permissions": []}), 409)
    assert "accounts.role_changed" in _actions(app)


def test_own_account_profile_password_and_totp(app: Flask, clock: FakeClock) -> None:
    make_user(app, "bob", ["bidder"])
    client = app.test_client()
    bob = Api(client, _token(client, "bob", PASSWORD))
    resp = bob.patch("/api/v1/me", {"display_name": "Bob Wang", "phone": "0310-1234567"})
    assert resp.status_code == 200 and resp.json["display_name"] == "Bob Wang"
    _problem(bob.patch("/api/v1/me", {"display_name": ""}), 422)
    _problem(bob.patch("/api/v1/me", {"email": "not an address"}), 422)

    body = _problem(bob.post("/api/v1/me/password", {"current": "wrong", "new": "another long secret"}), 422)
    assert body["errors"] == {"current": ["incorrect"]}
    _problem(bob.post("/api/v1/me/password", {"current": PASSWORD, "new": "bob"}), 422)
    assert bob.post("/api/v1/me/password", {"current": PASSWORD, "new": "another long secret"}).status_code == 204
    _token(client, "bob", "another long secret")

    resp = bob.post("/api/v1/me/totp")
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    secret = resp.json["secret"]
    _problem(bob.post("/api/v1/me/totp/confirm", {"totp": "12345x"}), 422)
    resp = bob.post("/api/v1/me/totp/confirm", {"totp": pyotp.TOTP(secret).at(clock_mod.now_utc())})
    assert resp.status_code == 204
    assert bob.get("/api/v1/me").json["totp_enabled"] is True
    _problem(bob.post("/api/v1/me/totp"), 409)
    actions = _actions(app)
    assert {"accounts.profile_updated", "accounts.password_changed", "accounts.totp_enabled"} <= set(actions)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/organisations", {"name": "x", "kind": "castle"}, "kind"),
        ("/api/v1/organisations", {"name": "", "kind": "buyer"}, "name"),
        ("/api/v1/organisations", {"name": "x\x00y", "kind": "buyer"}, "name"),
        ("/api/v1/users", {"username": "u1", "roles": [], "organisation_id": "3"}, "organisation_id"),
        ("/api/v1/users", {"username": "u1", "roles": [], "organisation_id": 1.5}, "organisation_id"),
        ("/api/v1/users", {"username": "u1", "roles": [], "organisation_id": 2**40}, "organisation_id"),
        ("/api/v1/users", {"username": "u1"}, "roles"),
        ("/api/v1/users", {"username": "u1", "roles": "admin"}, "roles"),
    ],
)
def test_bad_input_is_a_422(admin: Api, url: str, body: dict[str, Any], field: str) -> None:
    problem = _problem(admin.post(url, body), 422)
    assert field in problem["errors"]["json"], problem


def test_service_rules_are_problems(admin: Api) -> None:
    body = _problem(admin.post("/api/v1/users", {"username": "a b", "roles": []}), 422)
    assert body["errors"] == {"username": ["invalid"]}
    body = _problem(admin.post("/api/v1/users", {"username": "weak", "roles": [], "password": "weak"}), 422)
    assert "password" in body["errors"]
    _problem(admin.post("/api/v1/users", {"username": "root", "roles": []}), 409)
    _problem(admin.post("/api/v1/users", {"username": "u2", "roles": [], "organisation_id": 99999}), 404)
    _problem(admin.get("/api/v1/users/99999"), 404)
    _problem(admin.get("/api/v1/organisations/99999999999"), 404)
    _problem(admin.get("/api/v1/organisations?per_page=1000"), 422)
    _problem(admin.get("/api/v1/organisations?kind=castle"), 422)


def test_refusals(app: Flask, admin: Api, clock: FakeClock) -> None:
    client = admin.client
    make_user(app, "bidder1", ["bidder"])
    bidder = Api(client, _token(client, "bidder1", PASSWORD))
    _problem(bidder.get("/api/v1/organisations"), 403)  # the directory is for agencies and administrators
    _problem(bidder.post("/api/v1/organisations", {"name": "x", "kind": "buyer"}), 403)
    _problem(bidder.get("/api/v1/users"), 403)
    _problem(bidder.get("/api/v1/roles"), 403)
    _problem(Api(client, None).get("/api/v1/organisations"), 401)
    # An admin token scoped to reading the directory cannot create users.
    secret = None
    with app.app_context():
        from app.accounts import services_tokens, services_users
        from app.extensions import db

        user = services_users.get_user_by_username("root")
        _row, secret = services_tokens.create_token(user=user, name="narrow", scopes=["accounts.organisations"])
        db.session.commit()
    narrow = Api(client, secret)
    assert narrow.get("/api/v1/organisations").status_code == 200
    _problem(narrow.post("/api/v1/users", {"username": "zed", "roles": []}), 403)
    refused = [a for a in audit_actions(app) if a[0] == "access.denied"]
    assert refused, "refusals are in the evidence log"


def test_expert_pool_administration(app: Flask, admin: Api) -> None:
    org = admin.post("/api/v1/organisations", {"name": "某设计院", "kind": "other"}).json["id"]
    uid = admin.post("/api/v1/users", {"username": "exp", "roles": ["expert"]}).json["id"]
    _problem(admin.post("/api/v1/evaluation/experts", {"user_id": str(uid), "specialties": ["civil"]}), 422)
    resp = admin.post("/api/v1/evaluation/experts", {"user_id": uid, "specialties": ["civil"], "employer_id": org})
    assert resp.status_code == 201, resp.json
    eid = resp.json["id"]
    _problem(admin.patch(f"/api/v1/evaluation/experts/{eid}", {"employer_id": "1"}), 422)
    assert admin.patch(f"/api/v1/evaluation/experts/{eid}", {"available": False}).json["available"] is False
    _problem(admin.post(f"/api/v1/evaluation/experts/{eid}/status", {"status": "suspended"}), 422)
    resp = admin.post(f"/api/v1/evaluation/experts/{eid}/status", {"status": "suspended", "reason": "缺席两次"})
    assert resp.json["status"] == "suspended" and resp.json["status_reason"] == "缺席两次"
    _problem(admin.post(f"/api/v1/evaluation/experts/{eid}/relationships", {"organisation_id": str(org)}), 422)
    resp = admin.post(f"/api/v1/evaluation/experts/{eid}/relationships", {"organisation_id": org, "note": "前雇主"})
    assert resp.status_code == 201
    assert [r["organisation_id"] for r in admin.get(f"/api/v1/evaluation/experts/{eid}").json["relationships"]] == [org]
    # A deactivated specialty leaves the default list; maintainers still find it to reactivate it.
    body = {"code": "bridges", "name_zh": "桥梁", "name_en": "Bridges", "active": False}
    assert admin.post("/api/v1/evaluation/specialties", body).status_code == 200
    assert "bridges" not in {s["code"] for s in admin.get("/api/v1/evaluation/specialties").json}
    every = admin.get("/api/v1/evaluation/specialties?include_inactive=true").json
    assert {"code": "bridges", "name_zh": "桥梁", "name_en": "Bridges", "active": False} in every
    actions = [a[0] for a in audit_actions(app) if a[2] == f"expert:{eid}"]
    assert actions == [
        "evaluation.expert.enrolled",
        "evaluation.expert.updated",
        "evaluation.expert.status",
        "evaluation.expert.relationship",
    ]


def test_generated_passwords_never_contain_the_user_name(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.accounts import services_passwords

    texts = iter(["abcu2defghijkl", "plainly-random-1"])  # the first contains the user name "u2"
    monkeypatch.setattr(services_passwords.secrets, "token_urlsafe", lambda _n: next(texts))
    assert services_passwords.generate_password("u2") == "plainly-random-1"
