"""The 8188890 platform through its API: the end-to-end loop (household request → provider → completed → rated,
the provider's rating updated), the center's directory and hand dispatch, and bad input: a 4xx problem JSON and
nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.accounts.helpers import login
from tests.convenience.household.helpers import (
    CONGTAI,
    FENGFENG,
    actions,
    count,
    order_args,
    provider,
    uscc,
)
from tests.factories import user as make_user
from tests.html import parse

API = "/api/v1/convenience/household"
PROBLEM = "application/problem+json"


pytestmark = pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def hh(app: Flask, clock: Any) -> Flask:
    from tests.accounts.helpers import compile_translations

    compile_translations()
    return app


def _signed_in(app: Flask, username: str, roles: list[str] | None = None) -> Any:
    """A client signed in as `username` (made first with `roles`, or an account that exists)."""
    secret = make_user(app, username, roles=roles)[1] if roles else None
    client = app.test_client()
    assert login(client, username, totp_secret=secret).status_code == 303
    client.environ_base["HTTP_X_CSRFTOKEN"] = parse(client.get("/").data).csrf_token()
    return client


def test_request_to_provider_to_completed_to_rated(hh: Flask) -> None:
    first = provider(hh, "邯郸市甲水电维修有限公司", account="plumber_a")
    second = provider(hh, "邯郸市乙水电维修有限公司", account="plumber_b")
    citizen = hh.test_client()
    resp = citizen.post(f"{API}/orders", json=order_args())
    assert resp.status_code == 201, resp.data
    body = resp.get_json()
    reference, token = body["reference"], body["token"]
    assert body["status"] == "dispatched" and body["provider"] == first and body["channel"] == "web"
    assert body["tracking_url"] == f"/convenience/household/track/{reference}/{token}"
    assert citizen.get(f"{API}/orders/{reference}", query_string={"token": "x" * 30}).status_code == 404

    a = _signed_in(hh, "plumber_a")
    b = _signed_in(hh, "plumber_b")
    assert [o["reference"] for o in a.get(f"{API}/portal/orders").get_json()] == [reference]
    assert b.get(f"{API}/portal/orders").get_json() == []
    declined = a.post(f"{API}/portal/orders/{reference}/decline", json={"reason": "今日已排满"})
    assert declined.status_code == 200 and declined.get_json()["provider"] == second
    assert a.post(f"{API}/portal/orders/{reference}/accept").status_code == 404  # no longer theirs
    accepted = b.post(f"{API}/portal/orders/{reference}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert accepted.get_json()["contact_phone"] == "13912345678"
    for bad in ({"work_done": "换阀芯", "price": "-5"}, {"work_done": "换阀芯", "price": "1.234"}, {"price": "80"}):
        refused = b.post(f"{API}/portal/orders/{reference}/complete", json=bad)
        assert refused.status_code == 422 and refused.content_type == PROBLEM, refused.data
    done = b.post(f"{API}/portal/orders/{reference}/complete", json={"work_done": "更换阀芯", "price": "180.50"})
    assert done.status_code == 200 and done.get_json()["price_fen"] == 18050
    tracked = citizen.get(f"{API}/orders/{reference}", query_string={"token": token}).get_json()
    assert tracked["status"] == "completed" and tracked["provider_name"] == "邯郸市乙水电维修有限公司"
    assert "contact_phone" not in tracked and tracked["rating"] is None

    bad_token = citizen.post(f"{API}/orders/{reference}/rating", json={"token": "y" * 32, "level": "satisfied"})
    assert bad_token.status_code == 404
    rated = citizen.post(f"{API}/orders/{reference}/rating", json={"token": token, "level": "satisfied"})
    assert rated.status_code == 201 and rated.get_json()["kind"] == "household", rated.data
    other_way = {"kind": "household", "reference": reference, "token": token, "level": "basic"}
    again = citizen.post("/api/v1/convenience/ratings", json=other_way)
    assert again.status_code == 409 and again.content_type == PROBLEM  # one rating per order, whichever way
    assert citizen.get(f"{API}/orders/{reference}", query_string={"token": token}).get_json()["rating"] == "satisfied"

    center = _signed_in(hh, "center_hh", ["household_admin"])
    listed = {p["id"]: p for p in center.get(f"{API}/admin/providers").get_json()}
    assert (listed[second]["rating"], listed[second]["rating_count"]) == (4.0, 1)
    assert (listed[first]["rating"], listed[first]["rating_count"]) == (None, 0)
    history = center.get(f"{API}/admin/orders/{reference}").get_json()
    assert [(d["provider"], d["outcome"], d["slot"]) for d in history["dispatches"]] == [
        (first, "declined", 1),
        (second, "accepted", 2),
    ]
    assert history["dispatches"][0]["reason"] == "今日已排满"
    assert actions(hh) == [
        "convenience.household.provider_registered",
        "convenience.household.provider_registered",
        "convenience.household.order_requested",
        "convenience.household.order_dispatched",
        "convenience.household.order_declined",
        "convenience.household.order_dispatched",
        "convenience.household.order_accepted",
        "convenience.household.order_completed",
    ]
    assert actions(hh, "convenience.rating.") == ["convenience.rating.submitted"]


def test_bad_requests_get_problem_json_and_store_nothing(hh: Flask) -> None:
    from app.convenience.household.models import Order

    provider(hh, "甲")
    client = hh.test_client()
    before = actions(hh)
    for bad in (
        {**order_args(), "category": "HS99"},
        {**order_args(), "district": "110101"},
        {**order_args(), "contact_phone": "12345"},
        {**order_args(), "address": "   "},
        {**order_args(), "description": "\x00坏"},
        {k: v for k, v in order_args().items() if k != "contact_phone"},
        {**order_args(), "address": "长" * 201},
        {**order_args(), "category": 2},
        {**order_args(), "extra": "field"},
    ):
        resp = client.post(f"{API}/orders", json=bad)
        assert resp.status_code == 422 and resp.content_type == PROBLEM, (bad, resp.data)
    assert client.post(f"{API}/orders", data="not json", content_type="application/json").status_code in (400, 422)
    assert count(hh, Order) == 0 and actions(hh) == before
    reply = client.post(f"{API}/orders", json={**order_args(), "contact_phone": "1", "category": "nope"}).get_json()
    assert {"contact_phone", "category"} <= set(reply.get("errors", {})), reply


def test_the_hotline_operator_requests_on_the_citizens_behalf_and_the_center_dispatches_by_hand(hh: Flask) -> None:
    fengfeng = provider(hh, "峰峰服务社", districts=(FENGFENG,))
    center = _signed_in(hh, "operator", ["household_admin"])
    resp = center.post(f"{API}/orders", json=order_args(district=CONGTAI))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["channel"] == "hotline" and body["status"] == "unassigned"  # nobody serves 丛台区 plumbing
    unassigned = center.get(f"{API}/admin/orders", query_string={"status": "unassigned"}).get_json()
    assert [o["reference"] for o in unassigned] == [body["reference"]]
    assert center.get(f"{API}/admin/orders", query_string={"status": "nonsense"}).status_code == 422
    missing = center.post(f"{API}/admin/orders/{body['reference']}/assign", json={"provider": 999999})
    assert missing.status_code == 422 and missing.content_type == PROBLEM
    assigned = center.post(f"{API}/admin/orders/{body['reference']}/assign", json={"provider": fengfeng})
    assert assigned.status_code == 200 and assigned.get_json()["dispatches"][-1]["mode"] == "manual"
    again = center.post(f"{API}/admin/orders/{body['reference']}/assign", json={"provider": fengfeng})
    assert again.status_code == 409


def test_the_center_keeps_the_directory(hh: Flask) -> None:
    from app.convenience.household.models import Complaint, Provider

    center = _signed_in(hh, "center_hh", ["household_admin"])
    good = {
        "name": "邯郸市新安家政有限公司",
        "uscc": uscc(7001),
        "contact_name": "王",
        "contact_phone": "13800001111",
        "categories": ["HS01", "HS11"],
        "districts": ["130403", "130402"],
    }
    bad_code = center.post(f"{API}/admin/providers", json={**good, "uscc": "91130400MA0HS00XXX"})
    assert bad_code.status_code == 422 and "uscc" in bad_code.get_json()["errors"]
    assert count(hh, Provider) == 0
    made = center.post(f"{API}/admin/providers", json=good)
    assert made.status_code == 201, made.data
    pid = made.get_json()["id"]
    assert center.post(f"{API}/admin/providers", json=good).status_code == 409
    assert center.post(f"{API}/admin/providers/{pid}/suspend", json={"reason": ""}).status_code == 422
    complaint = {"provider": pid, "text": "服务人员迟到两小时"}
    assert center.post(f"{API}/admin/complaints", json=complaint).status_code == 201
    suspended = center.post(f"{API}/admin/providers/{pid}/suspend", json={"reason": "投诉核实，暂停整改"})
    assert suspended.get_json()["status"] == "suspended"
    assert center.post(f"{API}/admin/providers/{pid}/suspend", json={"reason": "再次"}).status_code == 409
    assert center.post(f"{API}/admin/providers/{pid}/reinstate", json={"reason": "整改完成"}).status_code == 200
    assert center.post(f"{API}/admin/providers/{pid}/withdraw", json={"reason": "注销"}).get_json()["status"] == (
        "withdrawn"
    )
    assert count(hh, Complaint) == 1
    assert center.get(f"{API}/admin/providers/999999").status_code == 404


def test_the_center_changes_what_a_provider_serves(hh: Flask) -> None:
    center = _signed_in(hh, "center_hh", ["household_admin"])
    pid = provider(hh, "邯郸市甲水电维修有限公司")
    url = f"{API}/admin/providers/{pid}"
    change = {
        "name": "邯郸市甲水电维修有限公司",
        "contact_name": "李",
        "contact_phone": "13800003333",
        "categories": ["HS01", "HS02"],
        "districts": ["130403", "130402"],
    }
    bad = center.put(url, json={**change, "categories": ["NOPE"]})
    assert bad.status_code == 422 and bad.content_type == PROBLEM and "categories" in bad.get_json()["errors"]
    assert center.put(url, json={**change, "uscc": uscc(1)}).status_code == 422  # the code is not changed
    assert center.put(f"{API}/admin/providers/999999", json=change).status_code == 404
    assert center.get(url).get_json()["contact_name"] == "联系人"  # nothing stored by the refusals
    done = center.put(url, json=change)
    assert done.status_code == 200, done.data
    assert sorted(done.get_json()["categories"]) == ["HS01", "HS02"] and done.get_json()["contact_name"] == "李"
    assert actions(hh)[-1] == "convenience.household.provider_amended"
    other = _signed_in(hh, "a_provider", ["household_provider"])
    assert other.put(url, json=change).status_code == 403


def test_the_api_is_in_the_openapi_document(hh: Flask) -> None:
    doc = hh.test_client().get("/api/v1/openapi.json").get_json()
    paths = set(doc["paths"])
    assert {
        f"{API}/orders",
        f"{API}/orders/{{reference}}",
        f"{API}/portal/orders/{{reference}}/complete",
        f"{API}/admin/providers/{{provider_id}}/suspend",
    } <= paths
    assert "put" in doc["paths"][f"{API}/admin/providers/{{provider_id}}"]
