"""The 8188890 platform's pages in zh and en: the citizen's request and tracking page (rate, complain), the
provider's portal (acknowledge, decline, complete), the center's directory (add, suspend, reinstate, complaints)
and orders (dispatch history, unassigned, hand dispatch); bad input gets a readable message and stores nothing;
who sees what; no English on the zh pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.accounts.helpers import login
from tests.convenience.household.helpers import (
    CONGTAI,
    FENGFENG,
    act,
    actions,
    count,
    order,
    order_args,
    provider,
    state,
    uscc,
)
from tests.factories import user as make_user
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
BASE = "/convenience/household"


@pytest.fixture
def hh(app: Flask, clock: Any) -> Flask:
    from tests.accounts.helpers import compile_translations

    compile_translations()
    return app


def _client(app: Flask, username: str, roles: list[str] | None = None) -> Any:
    secret = make_user(app, username, roles=roles)[1] if roles else None
    client = app.test_client()
    assert login(client, username, totp_secret=secret).status_code == 303
    return client


def _post(client: Any, url: str, form_id: str, data: dict[str, Any], headers: dict[str, str] = ZH) -> Any:
    """Fill the form `form_id` of the page at `url` with `data` and send it."""
    page = parse(client.get(url, headers=headers).data)
    fields = page.form(form_id).fields()
    return client.post(page.form(form_id).get("action"), data={**fields, **data}, headers=headers)


def test_a_citizen_requests_follows_rates_and_complains(hh: Flask) -> None:
    from app.convenience.household.models import Complaint, Order

    provider(hh, "邯郸市甲水电维修有限公司", account="plumber")
    client = hh.test_client()
    page = parse(client.get(f"{BASE}/request", headers=ZH).data)
    form_text = page.by_id("request-form").text
    assert "所需服务" in form_text and "水电维修" in form_text and "丛台区" in form_text and "无需注册账号" in page.text
    english = parse(client.get(f"{BASE}/request", headers=EN).data)
    assert "Plumbing and electrical repairs" in english.by_id("request-form").text
    bad = _post(client, f"{BASE}/request", "request-form", {**order_args(), "contact_phone": "123"})
    assert bad.status_code == 422 and count(hh, Order) == 0 and actions(hh)[-1].endswith("provider_registered")
    assert "请填写 11 位手机号码" in parse(bad.data).error_message("contact_phone")
    empty = _post(client, f"{BASE}/request", "request-form", {"address": ""})
    assert empty.status_code == 422 and count(hh, Order) == 0
    done = _post(client, f"{BASE}/request", "request-form", order_args())
    assert done.status_code == 303, done.data
    track = done.headers["Location"]
    page = parse(client.get(track, headers=ZH).data)
    assert "已派单，待服务商确认" in page.by_id("order-facts").text and not page.has("rate-form")
    assert not page.has("complaint-form")  # nobody has taken it yet
    reference = track.split("/")[-2]
    assert client.get(track[:-3] + "xyz", headers=ZH).status_code == 404

    act(hh, _services().accept, actor="plumber", reference=reference)
    act(hh, _services().complete, actor="plumber", reference=reference, work_done="更换阀芯", price_fen=18050)
    page = parse(client.get(track, headers=ZH).data)
    assert "180.50" in page.by_id("order-facts").text and "邯郸市甲水电维修有限公司" in page.by_id("order-facts").text
    no_level = _post(client, track, "rate-form", {})
    assert no_level.status_code == 422 and actions(hh, "convenience.rating.") == []
    rated = _post(client, track, "rate-form", {"level": "very_satisfied", "comment": "很好"})
    assert rated.status_code == 303
    page = parse(client.get(track, headers=ZH).data)
    assert "非常满意" in page.by_id("rated").text and not page.has("rate-form")
    assert _post(client, track, "complaint-form", {"text": ""}).status_code == 422 and count(hh, Complaint) == 0
    assert _post(client, track, "complaint-form", {"text": "上门迟到一小时"}).status_code == 303
    assert count(hh, Complaint) == 1


def _services() -> Any:
    from app.convenience.household import services

    return services


def test_the_provider_portal_acknowledges_declines_and_completes(hh: Flask) -> None:
    from app.convenience.household.models import Order

    first = provider(hh, "甲", account="plumber_a")
    second = provider(hh, "乙", account="plumber_b")
    one, _ = order(hh)
    two, _ = order(hh)  # the rotation: one → 甲, two → 乙
    three, _ = order(hh)  # → 甲
    a = _client(hh, "plumber_a")
    page = parse(a.get(f"{BASE}/portal", headers=ZH).data)
    assert {row[0] for row in page.table("orders")[1:]} == {one, three}
    assert a.get(f"{BASE}/portal/{two}", headers=ZH).status_code == 404  # another provider's order
    detail = parse(a.get(f"{BASE}/portal/{one}", headers=ZH).data)
    assert "13912345678" in detail.by_id("contact").text and detail.has("accept-form")
    assert _post(a, f"{BASE}/portal/{one}", "accept-form", {}).status_code == 303
    assert state(hh, one)[0] == "accepted"
    assert _post(a, f"{BASE}/portal/{three}", "decline-form", {"reason": ""}).status_code == 422
    assert state(hh, three)[1] == first
    assert _post(a, f"{BASE}/portal/{three}", "decline-form", {"reason": "师傅请假"}).status_code == 303
    assert state(hh, three)[1] == second
    bad = _post(a, f"{BASE}/portal/{one}", "complete-form", {"work_done": "换阀芯", "price": "12.345"})
    assert bad.status_code == 422 and "两位小数" in parse(bad.data).error_message("price")
    with hh.app_context():
        assert _services().get_order(one).price_fen is None
    ok = _post(a, f"{BASE}/portal/{one}", "complete-form", {"work_done": "换阀芯", "price": "1,280.5"})
    assert ok.status_code == 303
    with hh.app_context():
        from app.extensions import db

        assert db.session.get(Order, _services().get_order(one).id).price_fen == 128050
    english = parse(a.get(f"{BASE}/portal/{one}", headers=EN).data)
    assert "Service completed" in english.by_id("order-facts").text
    lonely = _client(hh, "lonely", ["household_provider"])  # a provider account linked to no company
    assert lonely.get(f"{BASE}/portal", headers=ZH).status_code == 403


def test_the_center_keeps_the_directory_and_dispatches_unassigned_orders_by_hand(hh: Flask) -> None:
    from app.convenience.household.models import Complaint, Provider

    center = _client(hh, "center", ["household_admin"])
    new = f"{BASE}/admin/providers/new"
    page = parse(center.get(new, headers=ZH).data)
    assert "统一社会信用代码" in page.by_id("provider-form").text and "养老护理" in page.by_id("provider-form").text
    good = {
        "name": "邯郸市安心家政有限公司",
        "uscc": uscc(5001),
        "contact_name": "王敏",
        "contact_phone": "13800002222",
        "categories": ["HS01", "HS02"],
        "districts": [CONGTAI],
    }
    bad = _post(center, new, "provider-form", {**good, "uscc": "911304001234567890"})
    assert bad.status_code == 422 and "统一社会信用代码" in parse(bad.data).error_message("uscc")
    assert _post(center, new, "provider-form", {**good, "categories": []}).status_code == 422
    assert count(hh, Provider) == 0
    made = _post(center, new, "provider-form", good)
    assert made.status_code == 303
    provider_page = made.headers["Location"]
    facts = parse(center.get(provider_page, headers=ZH).data).by_id("provider-facts").text
    assert "正常接单" in facts and "家政保洁、水电维修" in facts and "暂无评价" in facts
    assert _post(center, provider_page, "complaint-form", {"text": "服务态度差"}).status_code == 303
    assert count(hh, Complaint) == 1
    assert _post(center, provider_page, "status-form", {"reason": ""}).status_code == 422
    assert _post(center, provider_page, "status-form", {"reason": "投诉核实，暂停派单"}).status_code == 303
    page = parse(center.get(provider_page, headers=ZH).data)
    assert "暂停派单" in page.by_id("provider-facts").text and "服务态度差" in page.by_id("complaints").text
    reference, _ = order(hh)  # the only provider is suspended: unassigned at once
    listing = parse(center.get(f"{BASE}/admin/orders?status=unassigned", headers=ZH).data)
    assert listing.table("orders")[1][0] == reference and "未派出：由中心处理" in listing.by_id("orders").text
    assert _post(center, provider_page, "status-form", {"reason": "整改完成"}).status_code == 303  # reinstate
    detail = f"{BASE}/admin/orders/{reference}"
    assert parse(center.get(detail, headers=ZH).data).has("no-dispatches")
    assert _post(center, detail, "assign-form", {}).status_code == 303
    page = parse(center.get(detail, headers=ZH).data)
    assert "人工派单" in page.by_id("dispatches").text and not page.has("assign-form")
    overview = parse(center.get(f"{BASE}/admin/providers", headers=EN).data)
    assert "Active: receives orders" in overview.by_id("providers").text


def test_the_hotline_operator_takes_a_request_on_the_citizens_behalf(hh: Flask) -> None:
    provider(hh, "峰峰服务社", districts=(FENGFENG,))
    operator = _client(hh, "operator", ["household_admin"])
    page = parse(operator.get(f"{BASE}/request", headers=ZH).data)
    assert page.has("hotline-mode")
    done = _post(operator, f"{BASE}/request", "request-form", order_args(district=FENGFENG))
    assert done.status_code == 303 and "/admin/orders/" in done.headers["Location"]
    detail = parse(operator.get(done.headers["Location"], headers=ZH).data)
    assert "Operator" in detail.by_id("contact").text  # taken by the operator (display name)
    assert "轮派，第 1 轮次" in detail.by_id("dispatches").text


def test_pages_per_role(hh: Flask) -> None:
    provider(hh, "甲", account="plumber_a")
    reference, token = order(hh)
    pages = {
        "request": f"{BASE}/request",
        "track": f"{BASE}/track/{reference}/{token}",
        "portal": f"{BASE}/portal",
        "admin_orders": f"{BASE}/admin/orders",
        "admin_providers": f"{BASE}/admin/providers",
    }
    expected = {
        "anonymous": {"request", "track"},
        "household_provider": {"request", "track", "portal"},
        "household_admin": {"request", "track", "admin_orders", "admin_providers"},
        "window_staff": {"request", "track"},
    }
    clients = {
        "anonymous": hh.test_client(),
        "household_provider": _client(hh, "plumber_a"),
        "household_admin": _client(hh, "center", ["household_admin"]),
        "window_staff": _client(hh, "clerk", ["window_staff"]),
    }
    for role, client in clients.items():
        reached = set()
        for name, url in pages.items():
            resp = client.get(url, headers=ZH)
            assert resp.status_code in (200, 302, 303, 401, 403), (role, url, resp.status_code)
            if resp.status_code == 200:
                reached.add(name)
        assert reached == expected[role], role
    nav = parse(clients["household_admin"].get("/", headers=ZH).data).text
    assert "家政服务" in nav
    assert "服务商门户" in parse(clients["household_provider"].get("/", headers=ZH).data).text


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_demo_pages_read_in_chinese(hh: Flask, db_backend: str) -> None:
    """The platform's pages with the demo data, for each of its roles, hold no English word (tests/evaluation)."""
    from app.accounts import services_demo
    from app.convenience.household.demo import seed_demo_household
    from app.convenience.household.models import Order, Provider
    from app.extensions import db
    from tests.evaluation.test_zh_pages import english_words, user_data, visible_text

    with hh.app_context():
        accounts = {user: password for user, _role, password in services_demo.seed_demo_accounts()}
        lines = seed_demo_household()
        db.session.commit()
        assert len(lines) >= 5
        orders = list(db.session.scalars(db.select(Order)))
        providers = [p.id for p in db.session.scalars(db.select(Provider))]
        tracks = [f"{BASE}/track/{o.reference}/{o.token}" for o in orders]
        details = [f"{BASE}/admin/orders/{o.reference}" for o in orders]
        portal = [f"{BASE}/portal/{o.reference}" for o in orders if o.provider and o.provider.account_id]
        typed = {o.address for o in orders} | {o.description for o in orders} | {o.work_done for o in orders}
        typed |= {o.reference for o in orders}  # JZ20261207-7F3K2Q: a reference, like an application's number
        typed |= set(db.session.scalars(db.select(Provider.uscc)))  # the companies' codes
    data = user_data(hh) | {t for t in typed if t}
    anonymous = hh.test_client()
    roles = {
        "anonymous": (anonymous, [f"{BASE}/request", *tracks]),
        "household_provider": (None, [f"{BASE}/portal", *portal]),
        "household_admin": (
            None,
            [
                f"{BASE}/admin/orders",
                f"{BASE}/admin/orders?status=unassigned",
                f"{BASE}/admin/providers",
                f"{BASE}/admin/providers/new",
                f"{BASE}/request",
                *details,
                *[f"{BASE}/admin/providers/{pid}" for pid in providers],
            ],
        ),
    }
    problems = {}
    for role, (given, urls) in roles.items():
        client = given or hh.test_client()
        if given is None:
            assert login(client, role, accounts[role]).status_code == 303
        for url in urls:
            resp = client.get(url, headers=ZH)
            assert resp.status_code == 200, (role, url)
            words = english_words(visible_text(resp.get_data(as_text=True)), data)
            if words:
                problems[f"{role} {url}"] = words
    assert not problems, "; ".join(f"{k}: {' '.join(sorted(v))}" for k, v in problems.items())


def test_the_home_page_shows_what_waits_for_each_role(hh: Flask) -> None:
    provider(hh, "甲", account="plumber_a")
    waiting, _ = order(hh)
    stuck, _ = order(hh, district=FENGFENG)  # nobody serves it: unassigned
    page = parse(_client(hh, "plumber_a").get("/", headers=ZH).data)
    assert waiting in page.by_id("home-household-to-acknowledge").text and "确认截止" in page.text
    assert stuck not in page.text
    center = parse(_client(hh, "center", ["household_admin"]).get("/", headers=ZH).data)
    assert stuck in center.by_id("home-household-unassigned").text


def test_the_center_marks_a_provider_as_having_left(hh: Flask) -> None:
    pid = provider(hh, "甲")
    center = _client(hh, "center", ["household_admin"])
    url = f"{BASE}/admin/providers/{pid}"
    page = parse(center.get(url, headers=ZH).data)
    assert page.has("status-form") and page.has("withdraw-form")
    empty = _post(center, url, "withdraw-form", {"withdraw-reason": ""})
    assert empty.status_code == 422 and parse(empty.data).error_message("withdraw-reason")
    assert _post(center, url, "withdraw-form", {"withdraw-reason": "企业已注销"}).status_code == 303
    page = parse(center.get(url, headers=ZH).data)
    assert "已退出平台" in page.by_id("provider-facts").text and not page.has("withdraw-form")
    assert actions(hh)[-1] == "convenience.household.provider_withdrawn"


def test_the_center_changes_a_providers_categories_and_districts_in_a_page(hh: Flask) -> None:
    pid = provider(hh, "甲", account="plumber_a")
    center = _client(hh, "center", ["household_admin"])
    page = parse(center.get(f"{BASE}/admin/providers/{pid}", headers=ZH).data)
    edit = page.by_id("edit-provider").get("href")
    form = parse(center.get(edit, headers=ZH).data).form("provider-form").fields()
    assert form["name"] == "甲" and form["categories"] == "HS02" and form["districts"] == CONGTAI
    empty = _post(center, edit, "provider-form", {"categories": []})
    assert empty.status_code == 422 and parse(empty.data).error_message("categories")
    changed = {"categories": ["HS01", "HS02"], "contact_phone": "13800004444"}
    assert _post(center, edit, "provider-form", changed).status_code == 303
    facts = parse(center.get(f"{BASE}/admin/providers/{pid}", headers=ZH).data).by_id("provider-facts").text
    assert "家政保洁、水电维修" in facts and "13800004444" in facts
    assert actions(hh)[-1] == "convenience.household.provider_amended"
    from app.convenience.household import services

    act(hh, services.withdraw_provider, actor="system:test", provider_id=pid, reason="注销")
    left = parse(center.get(edit, headers=ZH).data)
    assert left.has("provider-left") and not left.has("provider-form")
    assert _client(hh, "plumber_a").get(edit).status_code == 403
