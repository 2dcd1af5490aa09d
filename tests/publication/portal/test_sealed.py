"""Nothing sealed leaks through the portal: before the opening, two tenders that differ only in how many bids they
hold have the same tender page, search rows and feed entries (no bid, no bidder, no count); after the opening the
record names the bidders and their prices."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests import factories
from tests.publication.portal.helpers import main, text

BIDDERS = {"投标人1建设有限公司", "投标人2建设有限公司", "投标人3建设有限公司"}


def normalised(html: str, tender: dict[str, Any]) -> str:
    """The page with what names the tender itself (id, reference, opening key, document ids) taken out."""
    out = html.replace(tender["recipient"], "RECIPIENT").replace(tender["reference"], "REFERENCE")
    out = re.sub(rf"/tenders/{tender['id']}\b", "/tenders/ID", out).replace(f'data-tender="{tender["id"]}"', "")
    out = re.sub(r"ocds-[a-z0-9]{6}-\d+", "OCID", out)
    return re.sub(r"/documents/\d+", "/documents/N", out)


def pages(world: Any, tender: dict[str, Any]) -> dict[str, str]:
    client = world.app.test_client()
    got = {}
    for lang in ("zh-CN", "en"):
        resp = client.get(f"/portal/tenders/{tender['id']}", headers={"Accept-Language": lang})
        assert resp.status_code == 200
        got[lang] = normalised(main(resp.text), tender)
    return got


def row(world: Any, tender: dict[str, Any]) -> str:
    html = world.app.test_client().get("/portal/", headers={"Accept-Language": "zh-CN"}).text
    found = re.search(rf'<tr class="govuk-table__row" data-tender="{tender["id"]}">.*?</tr>', html, re.S)
    assert found is not None
    return normalised(found.group(0), tender)


def entry(world: Any, tender: dict[str, Any]) -> str:
    xml = world.app.test_client().get("/portal/feeds/tenders.atom").text
    found = re.search(rf"<entry><id>[^<]*tender/{tender['id']}</id>.*?</entry>", xml, re.S)
    assert found is not None
    return re.sub(rf"tender/{tender['id']}\b", "tender/ID", normalised(found.group(0), tender))


def test_before_the_opening_the_portal_shows_the_same_whatever_the_number_of_bids(world: Any, clock: Any) -> None:
    at = clock.now() + timedelta(hours=1)
    one = factories.published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat())
    many = factories.published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat())
    factories.submitted_bid(world, world.bidders[0], one, price=1_000_000)
    for bidder, price in zip(world.bidders[:3], (1_000_000, 1_100_000, 1_200_000), strict=True):
        factories.submitted_bid(world, bidder, many, price=price)
    for t in (one, many):
        assert (
            world.agency.api.post(f"/api/v1/tenders/{t['id']}/clarifications", {"text": "澄清：图纸更正"}).status_code
            == 201
        )

    assert pages(world, one) == pages(world, many)
    assert row(world, one) == row(world, many)
    assert entry(world, one) == entry(world, many)
    for html in (*pages(world, many).values(), row(world, many), entry(world, many)):
        assert not any(name in html for name in BIDDERS)
        assert "10,000.00" not in html and "11,000.00" not in html  # no price
    zh = text(pages(world, many)["zh-CN"])
    assert "开标前投标文件保持密封" in zh and "澄清：图纸更正" in zh

    clock.set(clock.now() + timedelta(days=16))
    factories.run_open_due(world.app)
    after_one, after_many = pages(world, one)["zh-CN"], pages(world, many)["zh-CN"]
    assert after_one != after_many
    assert 'id="bid-link"' not in after_many  # closed for bids
    many_text = text(after_many)
    assert all(name in many_text for name in BIDDERS)
    assert "10,000.00 元" in many_text and "12,000.00 元" in many_text and "有效投标 3 份" in many_text
    one_text = text(after_one)
    assert "投标人1建设有限公司" in one_text and "有效投标不足" in one_text  # one bid of three required: failed
    results = world.app.test_client().get("/portal/feeds/results.atom").text
    assert f"tender/{one['id']}/failed</id>" in results and f"tender/{many['id']}/" not in results
