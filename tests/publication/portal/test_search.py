"""The portal's public search: each filter, sorting, paging, a secret budget kept out of range searches, and bad
parameters answered with a readable 400 page. Tenders are inserted as rows; both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from app.tendering.models import TenderStatus
from tests.publication.portal.helpers import buyer, ids, insert_tender, main, set_region, text


@pytest.fixture
def tenders(world: Any, clock: Any) -> dict[str, int]:
    day0 = clock.now()  # 2026-01-05 09:00 in Asia/Shanghai
    app = world.app
    transport = buyer(app, "邯郸市交通运输局", 41)
    set_region(app, world.buyer_id, "河北省邯郸市丛台区")
    set_region(app, transport, "河北省邯郸市复兴区")
    made = {
        "school": insert_tender(world, published_at=day0, title="教学楼改造工程", reference="HD-2026-001",
                                budget_amount=150_000_000),
        "office": insert_tender(world, published_at=day0 + timedelta(days=3), title="办公设备采购",
                                reference="HD-2026-002", category="goods", budget_amount=30_000_050,
                                buyer_id=transport, submission_deadline_at=day0 + timedelta(days=10)),
        "estate": insert_tender(world, published_at=day0 + timedelta(days=5), title="物业服务项目",
                                reference="HD-2026-003", category="services", budget_amount=80_000_000,
                                budget_secret=True, buyer_id=transport),
        "road": insert_tender(world, published_at=day0 - timedelta(days=30), title="道路维修工程",
                              reference="HD-2025-104", category="works", budget_amount=500_000_000,
                              status=TenderStatus.OPENED, submission_deadline_at=day0 - timedelta(days=10)),
        "green": insert_tender(world, published_at=day0 - timedelta(days=40), title="校园绿化工程",
                               reference="HD-2025-090", budget_amount=200_000_000, budget_secret=True,
                               status=TenderStatus.AWARDED, buyer_id=transport,
                               submission_deadline_at=day0 - timedelta(days=20)),
    }  # fmt: skip
    insert_tender(world, published_at=day0, title="草稿工程", status=TenderStatus.DRAFT)
    insert_tender(world, published_at=None, title="未发布即撤销的草稿", status=TenderStatus.CANCELLED)
    return made


def found(world: Any, **query: Any) -> list[int]:
    resp = world.client.get("/portal/", query_string=query, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 200, (query, resp.status_code)
    return ids(resp.text)


def test_each_filter_finds_what_it_names(world: Any, tenders: dict[str, int]) -> None:
    t = tenders
    everything = found(world)
    assert set(everything) >= set(t.values())
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"q": "工程"}, {"school", "road", "green"}),
        ({"q": "hd-2026"}, {"school", "office", "estate"}),  # the reference, whatever the case
        ({"q": "交通运输局"}, {"office", "estate", "green"}),  # the buyer's name
        ({"q": "校园 工程"}, {"green"}),  # every word must match
        ({"q": "100%"}, set()),  # a wildcard typed is a character searched for
        ({"buyer": "第一中学"}, {"school", "road"}),
        ({"region": "河北省邯郸市复兴区"}, {"office", "estate", "green"}),
        ({"region": "河北省邯郸市"}, set(t)),  # a region finds the regions within it
        ({"category": "works"}, {"school", "road", "green"}),  # "construction" is works
        ({"category": "goods"}, {"office"}),
        ({"category": "services"}, {"estate"}),
        ({"status": "opened"}, {"road"}),
        ({"status": "awarded"}, {"green"}),
        ({"status": "open"}, {"school", "office", "estate"}),  # published, deadline not reached
        ({"published_from": "2026-01-06"}, {"office", "estate"}),
        ({"published_from": "2026-01-05", "published_to": "2026-01-08"}, {"school", "office"}),
        ({"deadline_to": "2026-01-15"}, {"office", "road", "green"}),
        ({"deadline_from": "2026-01-15", "deadline_to": "2026-01-25"}, {"school", "office"}),  # days inclusive
        ({"budget_min": "1500000"}, {"school", "road", "green"}),  # yuan; green's secret budget is public once awarded
        ({"budget_min": "300000.50", "budget_max": "300000.50"}, {"office"}),
        ({"budget_max": "1,000,000"}, {"office"}),  # estate's 800 000 is secret before its opening
        ({"budget_min": "0", "budget_max": "1000000000"}, {"school", "office", "road", "green"}),
        ({"q": "工程", "region": "河北省邯郸市丛台区", "status": "opened"}, {"road"}),
    ]
    for query, expected in cases:
        assert set(found(world, **query)) == {t[name] for name in expected}, query


def test_drafts_and_unpublished_tenders_are_never_listed(world: Any, tenders: dict[str, int]) -> None:
    resp = world.client.get("/portal/", headers={"Accept-Language": "zh-CN"})
    assert "草稿工程" not in resp.text and "未发布即撤销的草稿" not in resp.text
    assert len(ids(resp.text)) == len(tenders)


def test_sort_orders(world: Any, tenders: dict[str, int]) -> None:
    t = tenders
    assert found(world) == [t["estate"], t["office"], t["school"], t["road"], t["green"]]  # newest first
    assert found(world, sort="published_asc") == [t["green"], t["road"], t["school"], t["office"], t["estate"]]
    assert found(world, sort="deadline_asc")[:3] == [t["green"], t["road"], t["office"]]
    assert found(world, sort="deadline_desc")[-1] == t["green"]
    # the secret budget (estate) sorts last both ways: its place would tell its size
    assert found(world, sort="budget_desc") == [t["road"], t["green"], t["school"], t["office"], t["estate"]]
    assert found(world, sort="budget_asc") == [t["office"], t["school"], t["green"], t["road"], t["estate"]]


def test_money_in_yuan_and_the_secret_budget_not_shown(world: Any, tenders: dict[str, int]) -> None:
    zh = text(main(world.client.get("/portal/", headers={"Accept-Language": "zh-CN"}).text))
    assert "1,500,000.00 元" in zh and "300,000.50 元" in zh and "2,000,000.00 元" in zh
    assert "800,000" not in zh and "开标前不公开" in zh
    en = text(main(world.client.get("/portal/", headers={"Accept-Language": "en"}).text))
    assert "CNY 1,500,000.00" in en and "Tender portal" in en


def test_paging(world: Any, clock: Any) -> None:
    made = [insert_tender(world, published_at=clock.now() + timedelta(minutes=i), title=f"分页工程{i:02d}")
            for i in range(23)]  # fmt: skip
    newest_first = list(reversed(made))
    page1 = world.client.get("/portal/?per_page=10", headers={"Accept-Language": "zh-CN"})
    assert ids(page1.text) == newest_first[:10]
    assert "共 3 页" in text(page1.text) or "第 1 页" in text(page1.text)
    assert 'href="/portal/?per_page=10&amp;page=2"' in page1.text  # the next link keeps the search
    assert found(world, per_page=10, page=2) == newest_first[10:20]
    assert found(world, per_page=10, page=3) == newest_first[20:]
    assert found(world, per_page=10, page=4) == []  # past the end: an empty page, not an error
    assert found(world, q="分页", per_page=20, page=2) == newest_first[20:]


@pytest.mark.parametrize(
    ("query", "zh_words"),
    [
        ({"budget_min": "一百万"}, "预算"),
        ({"budget_min": "1.234"}, "预算"),
        ({"budget_max": "-5"}, "预算"),
        ({"budget_max": "１００"}, "预算"),
        ({"budget_min": "9" * 30}, "预算"),
        ({"budget_min": "200", "budget_max": "100"}, "预算"),
        ({"published_from": "2026-13-01"}, "发布"),
        ({"deadline_to": "yesterday"}, "截止"),
        ({"published_to": "9999-12-31"}, "发布"),
        ({"published_from": "0001-01-01"}, "发布"),
        ({"deadline_from": "２０２６-01-01"}, "截止"),  # full-width digits
        ({"published_from": "2026-02-01", "published_to": "2026-01-01"}, "发布"),
        ({"status": "draft"}, "状态"),
        ({"category": "weapons"}, "类别"),
        ({"sort": "title; drop table tenders"}, "排序"),
        ({"page": "0"}, "页"),
        ({"page": "abc"}, "页"),
        ({"page": "²"}, "页"),
        ({"page": "99999999999999999999"}, "页"),
        ({"per_page": "1000"}, "每页"),
        ({"q": "x" * 201}, "关键词"),
        ({"q": "a\x00b"}, "关键词"),
        ({"q": "一 二 三 四 五 六 七 八 九"}, "词"),
    ],
)
@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_bad_parameters_are_a_readable_400_page(client: Any, query: dict[str, Any], zh_words: str) -> None:
    resp = client.get("/portal/", query_string=query, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    body = text(main(resp.text))
    assert zh_words in body, body
    resp = client.get("/portal/", query_string=query, headers={"Accept": "application/json"})
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_no_query_string_makes_a_server_error(client: Any) -> None:
    """Odd values in every parameter: each answer is a page (200) or a readable refusal (400), never a 500."""
    import random

    rng = random.Random(14)
    odd = ["", " ", "%", "_", "\\", "'", '"', "0", "-1", "1e9", "9" * 20, "2026-02-30", "2026-1-1", "null", "[]",
           "０", "一", "ß", "🙂", "<script>", "1.005", "NaN", "Infinity", "  2026-01-01  "]  # fmt: skip
    names = ["q", "buyer", "region", "category", "status", "sort", "published_from", "published_to",
             "deadline_from", "deadline_to", "budget_min", "budget_max", "page", "per_page"]  # fmt: skip
    for _ in range(60):
        query = {name: rng.choice(odd) for name in rng.sample(names, 3)}
        resp = client.get("/portal/", query_string=query)
        assert resp.status_code in (200, 400), (query, resp.status_code)
