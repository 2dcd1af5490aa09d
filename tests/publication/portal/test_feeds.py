"""The Atom feeds: RFC 4287's essentials (feed id/title/updated/author/self link, entry id/title/updated/link),
stable tag: URIs, times with the center's offset, and conditional GET (ETag and Last-Modified → 304)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from tests import factories
from tests.publication.portal.helpers import insert_tender

A = "{http://www.w3.org/2005/Atom}"
TAG = re.compile(r"tag:[a-z0-9.-]+,\d{4}-\d{2}-\d{2}:[\w/.-]+")


def rfc3339(value: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", value), value
    return datetime.fromisoformat(value)


def check_feed(body: bytes) -> ET.Element:
    """RFC 4287 §4.1.1 and §4.1.2: what a feed and each entry must hold."""
    feed = ET.fromstring(body)
    assert feed.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{A}{name}")) == 1, name
    assert TAG.fullmatch(feed.findtext(f"{A}id") or "")
    assert feed.findtext(f"{A}title")
    rfc3339(feed.findtext(f"{A}updated") or "")
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{A}link")}
    assert links["self"] and links["alternate"]
    assert feed.find(f"{A}author/{A}name") is not None  # entries carry no author: the feed's is required
    ids = []
    for entry in feed.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, name
        assert TAG.fullmatch(entry.findtext(f"{A}id") or ""), entry.findtext(f"{A}id")
        assert entry.findtext(f"{A}title")
        assert rfc3339(entry.findtext(f"{A}updated") or "").utcoffset() == timedelta(hours=8)  # Asia/Shanghai
        alternate = [link for link in entry.findall(f"{A}link") if link.get("rel") in (None, "alternate")]
        assert len(alternate) == 1 and (alternate[0].get("href") or "").startswith("http")
        ids.append(entry.findtext(f"{A}id"))
    assert len(ids) == len(set(ids))
    updated = [rfc3339(e.findtext(f"{A}updated") or "") for e in feed.findall(f"{A}entry")]
    if updated:
        assert rfc3339(feed.findtext(f"{A}updated") or "") == max(updated)
    return feed


def test_the_new_tenders_feed_is_valid_atom_with_stable_ids(world: Any, clock: Any) -> None:
    client = world.app.test_client()
    empty = client.get("/portal/feeds/tenders.atom")
    assert empty.status_code == 200 and empty.mimetype == "application/atom+xml"
    assert check_feed(empty.data).findall(f"{A}entry") == []
    first = factories.published_tender(world)
    clock.advance(timedelta(minutes=5))
    second = factories.published_tender(world, title="第二个项目")
    resp = client.get("/portal/feeds/tenders.atom", headers={"Accept-Language": "zh-CN"})
    feed = check_feed(resp.data)
    entries = feed.findall(f"{A}entry")
    assert [e.findtext(f"{A}title") for e in entries] == ["第二个项目", first["title"]]
    ids = [e.findtext(f"{A}id") for e in entries]
    assert ids[1].endswith(f":tender/{first['id']}") and ids[0].endswith(f":tender/{second['id']}")
    assert entries[1].find(f"{A}link").get("href").endswith(f"/portal/tenders/{first['id']}")  # type: ignore[union-attr]
    assert "1,500,000.00 元" in (entries[1].findtext(f"{A}summary") or "")
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    en = check_feed(client.get("/portal/feeds/tenders.atom", headers={"Accept-Language": "en"}).data)
    assert [e.findtext(f"{A}id") for e in en.findall(f"{A}entry")] == ids  # the same ids in every language
    assert "CNY 1,500,000.00" in (en.findall(f"{A}entry")[1].findtext(f"{A}summary") or "")

    # a clarification updates the entry, its id stays
    clock.advance(timedelta(minutes=5))
    assert world.agency.api.post(f"/api/v1/tenders/{first['id']}/clarifications", {"text": "澄清"}).status_code == 201
    again = check_feed(client.get("/portal/feeds/tenders.atom").data)
    entry = next(e for e in again.findall(f"{A}entry") if e.findtext(f"{A}id") == ids[1])
    assert rfc3339(entry.findtext(f"{A}updated") or "") > rfc3339(entry.findtext(f"{A}published") or "")


def test_conditional_get_answers_304_until_the_feed_changes(world: Any, clock: Any) -> None:
    client = world.app.test_client()
    insert_tender(world, published_at=clock.now(), title="条件请求工程")
    first = client.get("/portal/feeds/tenders.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.status_code == 200 and etag and modified
    assert client.get("/portal/feeds/tenders.atom", headers={"If-None-Match": etag}).status_code == 304
    not_modified = client.get("/portal/feeds/tenders.atom", headers={"If-Modified-Since": modified})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert client.get("/portal/feeds/tenders.atom", headers={"If-None-Match": '"other"'}).status_code == 200

    clock.advance(timedelta(minutes=1))
    insert_tender(world, published_at=clock.now(), title="新的工程")
    changed = client.get("/portal/feeds/tenders.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag and "新的工程" in changed.text
    assert client.get("/portal/feeds/tenders.atom", headers={"If-Modified-Since": modified}).status_code == 200

    results = client.get("/portal/feeds/results.atom")
    assert results.status_code == 200
    check_feed(results.data)
    assert (
        client.get("/portal/feeds/results.atom", headers={"If-None-Match": results.headers["ETag"]}).status_code == 304
    )
