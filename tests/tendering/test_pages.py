"""The tendering pages (Flask test client): public list/detail in both languages, search, bidder pages, the record."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.accounts.helpers import csrf_from, login, make_user
from tests.html import parse
from tests.tendering.helpers import (
    World,
    create_published,
    draft_body,
    envelope_plaintext,
    form,
    iso,
    run_batch,
    seal,
    submit,
    upload,
)
from tests.tendering.test_opening import run_sweep

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def _html(resp) -> str:
    return resp.get_data(as_text=True)


def _texts(html: str) -> list[str]:
    """The text nodes of a page (scripts and styles left out), parsed."""
    return list(parse(html).strings())


def _text(html: str) -> str:
    return "".join(_texts(html))


def _signed_in(world: World, username: str):
    client = world.app.test_client()
    resp = login(client, username)
    assert resp.status_code == 303, _html(resp)
    return client


def test_public_list_and_detail_render_in_chinese_and_english(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    bidder = world.bidders[0].api
    qid = bidder.post(f"/api/v1/tenders/{tid}/questions", {"text": "屋面防水等级是多少？"}).json["id"]
    answered = world.agency.api.post(
        f"/api/v1/tenders/{tid}/questions/{qid}/answer", {"answer": "一级防水，见第三章。"}
    )
    assert answered.status_code == 200, answered.json
    anon = world.app.test_client()

    zh = anon.get("/tenders", headers=ZH)
    assert zh.status_code == 200
    page = _html(zh)
    assert 'lang="zh-CN"' in page and "首页" in page
    assert tender["title"] in page and f'href="/tenders/{tid}"' in page

    en = anon.get("/tenders", headers=EN)
    assert en.status_code == 200 and 'lang="en"' in _html(en) and "Tenders" in _html(en)

    for headers, lang in ((ZH, 'lang="zh-CN"'), (EN, 'lang="en"')):
        resp = anon.get(f"/tenders/{tid}", headers=headers)
        assert resp.status_code == 200
        page = _html(resp)
        assert lang in page
        assert tender["title"] in page and tender["recipient"] in page
        assert "屋面防水等级是多少？" in page and "一级防水，见第三章。" in page
        # the document download link goes to the public API
        doc = tender["documents"][0]
        assert f"/api/v1/tenders/{tid}/documents/{doc['id']}" in page and "招标文件.pdf" in page
        # deadline and opening in the center's zone, named; the countdown starts from the server's clock
        assert tender["submission_deadline_local"] in page and "Asia/Shanghai" in page
        now_ms = int(clock.now().timestamp() * 1000)
        assert f'data-server-now-ms="{now_ms}"' in page
        deadline_ms = now_ms + 3600 * 1000
        assert f'data-target-ms="{deadline_ms}"' in page
        assert "bid-config" not in page  # no bid form for anonymous visitors
        assert f"/login?next=/tenders/{tid}/bid" in page

    doc_resp = anon.get(f"/api/v1/tenders/{tid}/documents/{tender['documents'][0]['id']}")
    assert doc_resp.status_code == 200 and doc_resp.data == b"%PDF-1.4 tender documents"


def test_versions_and_clarifications_are_listed(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/clarifications", {"text": "澄清：工期调整说明"})
    assert resp.status_code == 201, resp.json
    page = _html(world.app.test_client().get(f"/tenders/{tid}", headers=EN))
    assert "Publication" in page and "Clarification" in page and "澄清：工期调整说明" in page


def test_search_filters_by_text_and_status_and_hides_drafts(world, clock) -> None:
    first = create_published(world, title="邯郸市第一中学教学楼改造工程")
    second = create_published(world, title="城区道路照明设备采购")
    draft = world.agency.api.post("/api/v1/tenders", draft_body(world, title="尚未发布的草稿项目"))
    assert draft.status_code == 201
    anon = world.app.test_client()

    everything = _html(anon.get("/tenders"))
    assert first["title"] in everything and second["title"] in everything
    assert "尚未发布的草稿项目" not in everything

    found = _html(anon.get("/tenders", query_string={"q": "照明"}))
    assert second["title"] in found and first["title"] not in found

    by_reference = _html(anon.get("/tenders", query_string={"q": first["reference"]}))
    assert first["title"] in by_reference and second["title"] not in by_reference

    none = _html(anon.get("/tenders", query_string={"status": "opened"}))
    assert first["title"] not in none and second["title"] not in none

    assert anon.get(f"/tenders/{draft.json['id']}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/tenders?page=abc",
        "/tenders?page=0",
        "/tenders?page=99999999999999999999",
        "/tenders?status=bogus",
        "/tenders?status=draft",
        "/tenders?q=" + "x" * 500,
        "/tenders?q=%00%01",
        "/tenders/99999999999999999999",
        "/tenders/0",
        "/tenders/-1",
        "/tenders/1%27%20OR%201=1",
        "/tenders/99999999999999999999/bid",
        "/tenders/1/bid/receipts/99999999999999999999.json",
        "/tenders/99999999999999999999/opening",
    ],
)
def test_hostile_parameters_answer_4xx(world, clock, url: str) -> None:
    create_published(world)
    for client in (world.app.test_client(), _signed_in(world, "bidder1")):
        resp = client.get(url)
        if resp.status_code == 302:  # an anonymous visitor of a bidder page is sent to sign in
            assert resp.headers["Location"].startswith("/login?next="), url
            continue
        assert 400 <= resp.status_code < 500, (url, resp.status_code)


def test_bidder_pages_require_sign_in_and_the_bid_permission(world, clock) -> None:
    tid = create_published(world)["id"]
    anon = world.app.test_client()
    for url in ("/bids", f"/tenders/{tid}/bid", f"/tenders/{tid}/bid/receipts/1.json", f"/tenders/{tid}/opening"):
        resp = anon.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next="), url
    assert anon.post(f"/tenders/{tid}/bid/withdraw").status_code == 302

    # an auditor's role has no tendering.bid, so the bidder pages refuse it
    auditor = world.app.test_client()
    make_user(world.app, "reader", ["auditor"])
    assert login(auditor, "reader").status_code == 303
    assert auditor.get("/bids").status_code == 403
    assert auditor.get(f"/tenders/{tid}/bid").status_code == 403

    bidder = _signed_in(world, "bidder1")
    page = _html(bidder.get(f"/tenders/{tid}/bid", headers=EN))
    assert 'href="/bids"' in page  # nav link "My bids"
    assert 'href="/tenders"' in page  # nav link "Tenders"
    nav_anon = _html(anon.get("/", headers=EN))
    assert 'href="/tenders"' in nav_anon and 'href="/bids"' not in nav_anon


def test_bid_page_generates_the_form_from_the_schema(world, clock) -> None:
    tender = create_published(world)
    tid = tender["id"]
    bidder = _signed_in(world, "bidder1")
    resp = bidder.get(f"/tenders/{tid}/bid", headers=ZH)
    assert resp.status_code == 200
    page = _html(resp)
    doc = parse(page)
    price = doc.one(data_field="price")
    assert price.get("data-widget") == "money" and price.get("data-minimum") == "0"  # typed in 元
    currency = doc.one(data_field="currency")
    assert currency.tag == "select" and currency.get("data-widget") == "enum"
    assert [o.get("value") for o in currency.select("option")] == ["", '"CNY"']  # each choice as JSON
    duration = doc.one(data_field="duration_days")
    assert duration.get("data-widget") == "integer" and duration.get("data-maximum") == "3650"
    assert doc.select(data_envelope="bid")
    scripts = [el.get("src") or "" for el in doc.select("script", src=True)]
    assert any(src.endswith("dist/seal.js") for src in scripts) and any(src.endswith("js/money.js") for src in scripts)
    cfg = json.loads(doc.by_id("bid-config").text)
    assert cfg["recipient"] == tender["recipient"]
    assert cfg["upload_url"] == f"/api/v1/tenders/{tid}/uploads"
    assert cfg["submit_url"] == f"/api/v1/tenders/{tid}/bid"
    assert cfg["envelopes"] == [{"name": "bid", "stage": 1, "form": True}]
    assert cfg["messages"]["deadline"]
    assert "投标报价" in doc.text and "投标报价（分）" not in page  # field titles from the schema, the 分 unit dropped


def test_withdraw_receipts_and_my_bids(world, clock) -> None:
    tender = create_published(world)
    tid, recipient = tender["id"], tender["recipient"]
    api = world.bidders[0].api
    sealed = seal(envelope_plaintext(form(1_000_000)), recipient)
    resp = submit(api, tid, {"bid": upload(api, tid, "bid", sealed)})
    assert resp.status_code == 201, resp.json
    receipt = resp.json["receipt"]

    bidder = _signed_in(world, "bidder1")
    mine = _html(bidder.get("/bids", headers=EN))
    assert tender["title"] in mine and f"/tenders/{tid}/bid" in mine and "Replace or withdraw" in mine
    listed = api.get("/api/v1/my/bids").json  # the same list through the API
    assert [b["tender_id"] for b in listed] == [tid] and listed[0]["versions"][0]["receipt"] == receipt
    assert world.bidders[1].api.get("/api/v1/my/bids").json == []

    got = bidder.get(f"/tenders/{tid}/bid/receipts/1.json")
    assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]
    assert json.loads(got.data) == receipt
    assert bidder.get(f"/tenders/{tid}/bid/receipts/2.json").status_code == 404
    # the receipt with its inclusion proof: announced, then ready after one batch, and it verifies offline
    assert "next evidence-log batch" in _html(bidder.get(f"/tenders/{tid}/bid", headers=EN))
    assert bidder.get(f"/tenders/{tid}/bid/receipts/1.json?with=proof").status_code == 404
    run_batch(world.app, clock)
    assert "receipts/1.json?with=proof" in _html(bidder.get(f"/tenders/{tid}/bid", headers=EN))
    bundle = json.loads(bidder.get(f"/tenders/{tid}/bid/receipts/1.json?with=proof").data)
    assert bundle["receipt"] == receipt
    with world.app.app_context():
        from app.core.keys import platform_public_keys
        from crypto.receipt import verify_receipt
        from crypto.signing import load_public_key

        key = load_public_key(platform_public_keys()[0]["public_key"])
    assert verify_receipt(bundle["receipt"], key, proof=bundle["proof"]).inclusion is not None
    # another bidder cannot fetch it: it has no bid here
    assert _signed_in(world, "bidder2").get(f"/tenders/{tid}/bid/receipts/1.json").status_code == 404

    page = bidder.get(f"/tenders/{tid}/bid", headers=EN)
    token = csrf_from(page.data)
    assert 'id="withdraw"' in _html(page)
    assert bidder.post(f"/tenders/{tid}/bid/withdraw").status_code == 400  # no CSRF token
    done = bidder.post(f"/tenders/{tid}/bid/withdraw", data={"csrf_token": token})
    assert done.status_code == 303
    state = api.get(f"/api/v1/tenders/{tid}/bid").json
    assert state["withdrawn"] is True and [v["kind"] for v in state["versions"]] == ["submission", "withdrawal"]
    page = _html(bidder.get(f"/tenders/{tid}/bid", headers=EN))
    assert "Withdrawal" in page and 'id="withdraw"' not in page and "receipts/2.json" in page

    # after the deadline the withdrawal is refused with a message, not an error page
    clock.advance(timedelta(hours=2))
    again = bidder.post(f"/tenders/{tid}/bid/withdraw", data={"csrf_token": token}, headers=EN, follow_redirects=True)
    assert again.status_code == 200 and "Not withdrawn" in _html(again)
    assert "bid-config" not in _html(again)  # no submission form once closed


def test_opening_record_page_for_participants_only(world, clock) -> None:
    at = clock.now() + timedelta(seconds=5)
    tender = create_published(world, submission_deadline_at=iso(at), opening_at=iso(at), min_bids=1)
    tid, recipient = tender["id"], tender["recipient"]
    api = world.bidders[0].api
    sealed = seal(envelope_plaintext(form(1_234_500, 77), {"方案.txt": b"plan"}), recipient)
    assert submit(api, tid, {"bid": upload(api, tid, "bid", sealed)}).status_code == 201

    bidder = _signed_in(world, "bidder1")
    before = bidder.get(f"/tenders/{tid}/opening", headers=EN)
    assert before.status_code == 200 and "Not yet published" in _html(before)

    clock.advance(timedelta(seconds=10))
    run_sweep(world.app)
    page = bidder.get(f"/tenders/{tid}/opening", headers=ZH)
    assert page.status_code == 200
    html = _html(page)
    # bid-form fields by their titles in the tender's schema, the price in 元 with its capital form
    doc = parse(html)
    terms = doc.texts("dt")
    assert "投标报价" in terms and "工期（日历天）" in terms and "币种" in terms
    assert "price" not in terms and "duration_days" not in terms
    assert "12,345.00 元" in html and "壹万贰仟叁佰肆拾伍元整" in html
    assert doc.one("dd", data_form_field="duration_days").text == "77"
    assert "壹佰伍拾万元整" in html  # the budget (150,000,000 分) in capitals
    assert "方案.txt" in html and "Asia/Shanghai" in html
    assert f"/api/v1/tenders/{tid}/opening-records/1.pdf" in html
    # the envelopes by their labels and the currency by name: no code (bid, CNY) reaches the page
    text = _text(html)
    assert "CNY" not in text and "人民币（元）" in text
    assert "(投标文件)" in text and "投标文件:" in text  # the stage heading and the bid row
    assert not any(t in ("bid", "bid:") for t in (s.strip() for s in _texts(html)))
    assert f"/tenders/{tid}/opening" in parse(bidder.get(f"/tenders/{tid}")).links()

    outsider = _signed_in(world, "bidder2")
    assert outsider.get(f"/tenders/{tid}/opening").status_code == 403


def test_bid_form_fields_are_described_in_words(world, clock) -> None:
    tender = create_published(world)
    anon = world.app.test_client()
    texts = [t.strip() for t in _texts(_html(anon.get(f"/tenders/{tender['id']}", headers=ZH)))]
    # the kind of each field, not the schema's type codes (integer, string), the currency by name
    assert "金额（元）" in texts and "整数" in texts and "选项: 人民币（元）" in texts
    assert "integer" not in texts and "enum: CNY" not in texts and "选项: CNY" not in texts
    assert "工程" in texts and "construction" not in texts  # the category typed as a code, in words


WORDY_SCHEMA = {
    "type": "object",
    "properties": {
        "price": {"type": "integer", "minimum": 0, "title": "投标报价（分）"},
        "currency": {"type": "string", "enum": ["CNY"], "title": "币种"},
        "bond": {"type": "integer", "format": "money", "title": "保证金"},
        "note": {"type": "string", "maxLength": 200, "title": "备注"},
        "local": {"type": "boolean", "title": "本地企业"},
        "team": {"type": "array", "items": {"type": "string"}, "title": "项目班子"},
        "address": {"type": "object", "title": "地址"},
        "level": {"type": "integer", "enum": [1, 2, 3], "title": "资质等级"},
    },
    "required": ["price", "currency"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("headers", "kinds"),
    [
        (
            ZH,
            {
                "投标报价": "金额（元）",
                "币种": "选项: 人民币（元）",
                "保证金": "金额（元）",
                "备注": "文本",
                "本地企业": "是 / 否",
                "项目班子": "值列表（JSON）",
                "地址": "一组值（JSON）",
                "资质等级": "选项: 1, 2, 3",
            },
        ),
        (
            EN,
            {
                "投标报价": "Amount of money (yuan)",
                "币种": "Choice: Renminbi (yuan)",
                "备注": "Text",
                "本地企业": "Yes / no",
                "项目班子": "List of values (JSON)",
                "地址": "Group of values (JSON)",
            },
        ),
    ],
)
def test_every_field_kind_format_and_choice_in_words(world, clock, headers, kinds) -> None:
    """The public page's bid-form table names each field's kind, format and choices in words; the bid page's
    choices too: no schema code (integer, string, boolean, array, object, money, CNY, true)."""
    from html.parser import HTMLParser

    tender = create_published(world, bid_form_schema=WORDY_SCHEMA, category="goods")
    tid = tender["id"]

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None
            self.options: list[str] = []
            self.in_option = False
            self.dd: list[str] = []
            self.in_dd = False

        def handle_starttag(self, tag, attrs) -> None:
            if tag == "tr":
                self.rows.append([])
            elif tag in ("td", "th"):
                self.cell = []
            elif tag == "option":
                self.in_option, self.option = True, []
            elif tag == "dd":
                self.in_dd, self.dd_text = True, []

        def handle_endtag(self, tag) -> None:
            if tag in ("td", "th") and self.cell is not None and self.rows:
                self.rows[-1].append(" ".join("".join(self.cell).split()))
                self.cell = None
            elif tag == "option":
                self.in_option = False
                self.options.append("".join(self.option).strip())
            elif tag == "dd":
                self.in_dd = False
                self.dd.append("".join(self.dd_text).strip())

        def handle_data(self, data) -> None:
            if self.cell is not None:
                self.cell.append(data)
            if self.in_option:
                self.option.append(data)
            if self.in_dd:
                self.dd_text.append(data)

    parsed = Rows()
    parsed.feed(_html(world.app.test_client().get(f"/tenders/{tid}", headers=headers)))
    by_label = {row[0].split(" ")[0]: row[1] for row in parsed.rows if len(row) == 3}
    for label, words in kinds.items():
        assert by_label[label] == words, (label, by_label)
    codes = {"integer", "string", "boolean", "array", "object", "money", "CNY", "true", "false", "json", "enum"}
    words = [w.strip() for value in by_label.values() for part in value.split(":") for w in part.split(",")]
    assert not codes & {w.lower() for w in words} and "CNY" not in words, by_label
    assert ("货物" if headers is ZH else "Goods") in parsed.dd and "goods" not in parsed.dd

    bidder = _signed_in(world, "bidder1")
    bid_page = Rows()
    bid_page.feed(_html(bidder.get(f"/tenders/{tid}/bid", headers=headers)))
    assert ("人民币（元）" if headers is ZH else "Renminbi (yuan)") in bid_page.options
    assert bid_page.options == ["—", "人民币（元）" if headers is ZH else "Renminbi (yuan)", "—", "1", "2", "3"]
