"""A tender's public page: the notice, documents with their hashes (downloadable without an account), clarifications,
the link to its OCDS record, in zh and en; drafts are not found; the demo's awarded tender shows its candidates'
publicity and its award, and the results feed lists them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from tests import factories
from tests.publication.portal.helpers import main, text


def test_a_tender_page_in_zh_and_en_with_documents_clarifications_and_ocds(world: Any) -> None:
    document = b"%PDF-1.4 portal tender documents"
    tender = factories.published_tender(world, document=document)
    tid = tender["id"]
    assert world.agency.api.post(f"/api/v1/tenders/{tid}/clarifications", {"text": "澄清：工期调整"}).status_code == 201
    client = world.app.test_client()  # nobody signed in
    resp = client.get(f"/portal/tenders/{tid}", headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 200
    zh = text(main(resp.text))
    for words in ("招标公告", "邯郸市第一中学", "1,500,000.00 元", "招标文件.pdf", hashlib.sha256(document).hexdigest(),
                  "澄清与修改", "澄清：工期调整", "开标记录", "Asia/Shanghai"):  # fmt: skip
        assert words in zh, words
    assert 'id="bid-link"' in resp.text  # open for bids: the way to the bid page
    link = re.search(r'href="(/api/v1/tenders/\d+/documents/\d+)"', resp.text)
    assert link is not None
    download = client.get(link.group(1))
    assert (
        download.status_code == 200
        and hashlib.sha256(download.data).hexdigest() == hashlib.sha256(document).hexdigest()
    )
    ocds = re.search(r'id="ocds-record" href="([^"]+)"', resp.text)
    assert ocds is not None and ocds.group(1).endswith(f"-{tid}")
    record = client.get(ocds.group(1))
    assert record.status_code == 200 and record.json["records"][0]["ocid"].endswith(f"-{tid}")
    en = text(main(client.get(f"/portal/tenders/{tid}", headers={"Accept-Language": "en"}).text))
    assert "Tender notice" in en and "CNY 1,500,000.00" in en and "Clarifications and amendments" in en


def test_drafts_and_unknown_tenders_are_not_found(world: Any) -> None:
    resp = world.agency.api.post("/api/v1/tenders", factories.tender_body(world))
    draft = resp.json["id"]
    client = world.app.test_client()
    for path in (f"/portal/tenders/{draft}", "/portal/tenders/999999", "/portal/tenders/99999999999999999999"):
        resp = client.get(path, headers={"Accept-Language": "zh-CN"})
        assert resp.status_code == 404 and resp.mimetype == "text/html", path


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_demo_awarded_tender_shows_publicity_and_award_and_feeds_list_them(app: Any) -> None:
    from app.core.reference import seed_demo_data
    from app.demo import TITLE_AWARDED
    from app.extensions import db
    from app.tendering.models import Tender

    with app.app_context():
        seed_demo_data()
        db.session.commit()
        tid = db.session.scalar(db.select(Tender.id).where(Tender.title == TITLE_AWARDED))
    client = app.test_client()
    page = text(main(client.get(f"/portal/tenders/{tid}", headers={"Accept-Language": "zh-CN"}).text))
    assert "公示期" in page and "中标人：" in page and "有效投标" in page
    assert "河北省邯郸市丛台区" in page  # the demo buyer's region (seed_demo_regions)
    found = client.get("/portal/", query_string={"status": "awarded"}, headers={"Accept-Language": "zh-CN"})
    assert TITLE_AWARDED in found.text
    results = client.get("/portal/feeds/results.atom").text
    assert f"tender/{tid}/award</id>" in results and f"tender/{tid}/publicity</id>" in results


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_the_region_command_sets_a_buyers_region_in_the_evidence_log(world: Any) -> None:
    from app.audit.models import AuditEntry
    from app.extensions import db

    tender = factories.published_tender(world)
    runner = world.app.test_cli_runner()
    result = runner.invoke(args=["portal", "region", "邯郸市第一中学", "河北省邯郸市峰峰矿区"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["portal", "region", "没有这个单位", "某地"]).exit_code != 0
    found = world.app.test_client().get("/portal/", query_string={"region": "河北省邯郸市峰峰矿区"})
    assert f'data-tender="{tender["id"]}"' in found.text
    with world.app.app_context():
        entry = db.session.scalar(
            db.select(AuditEntry).where(AuditEntry.action == "publication.portal.buyer_region_set")
        )
        assert entry is not None and entry.data["region"] == "河北省邯郸市峰峰矿区"
