"""What a Chinese reader saw in the screenshots (`make screenshots`) and tripped on, fixed: envelope names and bid
form keys (internal codes) on the tender and room pages, the review verdict and score range in the room (their
English words were shared with other pages' translations), the seats table's member cell."""

from __future__ import annotations

import pytest

from tests.evaluation.helpers import browser, seated
from tests.evaluation.test_pages import scoring_room
from tests.html import parse
from tests.tendering.helpers import create_published

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
# Wording only, on SQLite: every page is queried on PostgreSQL by the zh walk (tests/evaluation/test_zh_pages.py).
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def test_the_tender_page_names_envelopes_in_words_and_hides_the_form_keys(world) -> None:
    tid = create_published(world)["id"]
    page = parse(world.app.test_client().get(f"/tenders/{tid}", headers=ZH))
    envelope = page.one("span", data_envelope="bid")
    assert envelope.text == "投标文件（第 1 阶段，含投标函）"
    price = page.one("tr", data_field="price")
    assert "price" not in price.text and "投标报价" in price.text


def test_the_room_shows_the_verdict_the_score_range_and_the_envelope_in_chinese(world, clock) -> None:
    tid, members, _pool, _bids = scoring_room(world, clock)
    page = parse(browser(world, members[1].user_id).get(f"/evaluation/tenders/{tid}/rooms/1", headers=ZH))
    text = page.text
    assert "分值范围" in text and "时间范围" not in text
    assert "通过" in text and "已截止" not in text
    assert "投标文件（压缩包）" in text and "信封 bid" not in text
    assert "（主任）" in text


def test_the_seats_table_puts_the_name_under_the_kind_without_a_colon(world, clock) -> None:
    from tests.evaluation.test_pages_award import agency_browser

    tid, _members, _pool, _bids = scoring_room(world, clock)
    assert seated(world, tid)
    page = parse(agency_browser(world).get(f"/agency/tenders/{tid}/evaluation/seats", headers=ZH))
    for row in page.by_id("seats").select("tr", data_seat=True):
        member = row.select("td")[1]
        assert member.one("span", cls="app-member-kind").text in ("评标专家", "采购人代表")
        assert ":" not in member.text
