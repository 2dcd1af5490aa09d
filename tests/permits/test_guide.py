"""The public guide (办事指南) and the read-only API: every fact a citizen needs, in zh-CN and English."""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


class Page(HTMLParser):
    """The visible text by element id (and of the whole <main>), the links, the table rows."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.by_id: dict[str, list[str]] = {}
        self.main: list[str] = []
        self.links: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self._in_main = 0
        self._table: list[str | None] = []
        self._row: list[str] | None = None
        self._skip = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "main":
            self._in_main += 1
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "table":
            self._table.append(a.get("id"))
        if tag == "tr" and self._table and self._table[-1]:
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._row.append("")
        if tag == "br" and self._row:
            self._row[-1] += " "
        if tag not in ("br", "input", "img", "meta", "link"):
            self.stack.append(a.get("id"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if tag == "main":
            self._in_main -= 1
        if tag == "tr" and self._row is not None and self._table and self._table[-1]:
            self.rows.setdefault(str(self._table[-1]), []).append([c.strip() for c in self._row])
            self._row = None
        if tag == "table" and self._table:
            self._table.pop()
        if tag not in ("br", "input", "img", "meta", "link") and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        for element_id in self.stack:
            if element_id:
                self.by_id.setdefault(element_id, []).append(data)
        if self._in_main:
            self.main.append(data)
        if self._row is not None and self._row:
            self._row[-1] += data

    def text(self, element_id: str) -> str:
        return " ".join(" ".join(self.by_id.get(element_id, [])).split())

    def main_text(self) -> str:
        return " ".join(" ".join(self.main).split())


def page(client: Any, url: str, headers: dict[str, str] = ZH) -> Page:
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/html"
    return Page(resp.get_data(as_text=True))


def test_the_guide_lists_and_searches_items(catalogue: Flask) -> None:
    client = catalogue.test_client()
    everything = page(client, "/permits/")
    assert "办事指南" in everything.main_text() and "共找到 36 个事项。" in everything.text("item-count")
    assert len(everything.rows["items"]) == 1 + 20  # header + the first page
    assert "/permits/?page=2" in everything.links
    by_name = page(client, "/permits/?q=税务登记")
    names = [row[0] for row in by_name.rows["items"][1:]]
    assert len(names) == 2 and all("税务登记" in n for n in names)
    assert page(client, "/permits/?q=hdzj-xk").text("item-count") == "共找到 2 个事项。"  # codes, any case
    by_department = page(client, "/permits/?q=环境保护局")
    assert by_department.text("item-count") == "共找到 2 个事项。"
    filtered = page(client, "/permits/?kind=public_service&department=HDGA")
    assert [r[0].split()[0] for r in filtered.rows["items"][1:]] == ["户籍证明开具"]
    assert (
        page(client, "/permits/?q=100%").text("item-count") == "共找到 0 个事项。"
    )  # % is a character, not a wildcard
    assert client.get("/permits/?kind=tax", headers=ZH).status_code == 422


def test_an_item_page_in_chinese_has_every_fact(catalogue: Flask) -> None:
    doc = page(catalogue.test_client(), "/permits/items/HDSYJ-XK-001")
    assert doc.text("item-name") == "食品经营许可"
    assert doc.text("statutory-limit") == "20 个工作日"
    assert doc.text("promised-limit") == "10 个工作日"
    assert doc.text("deemed-approval").startswith("是：")
    assert doc.text("output") == "食品经营许可证（有效期：5 年）"
    assert "《中华人民共和国食品安全法》第三十五条" in doc.text("legal-basis")
    assert "不收费" in doc.text("fees")
    materials = {row[0].split()[0]: row for row in doc.rows["materials"][1:]}
    assert materials["食品经营许可申请书"][1] == "必须提交" and "原件 1 份" in materials["食品经营许可申请书"][2]
    assert materials["冷食类食品加工专间证明"][1] == "仅当“经营项目”包括“冷食类食品制售”时提交"
    sample = next(link for link in doc.links if link.startswith("/permits/files/"))
    attributes = [row[0] for row in doc.rows["form-attributes"][1:]]
    assert attributes[:2] == ["申请人类型", "申请人名称或姓名"]
    text = doc.main_text()
    for english in ("working days", "Always", "Materials", "Fees", "Deemed", "Legal basis", "yes", "no "):
        assert english not in text, english
    body = catalogue.test_client().get(sample)
    assert body.status_code == 200 and body.headers["Content-Disposition"].startswith("attachment")
    assert hashlib.sha256(body.data).hexdigest() == sample.rsplit("/", 1)[1]


def test_money_in_yuan_and_calendar_days(catalogue: Flask) -> None:
    client = catalogue.test_client()
    fees = page(client, "/permits/items/HDZJ-XK-003").rows["fees"]
    assert fees[1][0] == "计量标准考核费" and fees[1][1] == "300.00 元 / 每项"
    tax = page(client, "/permits/items/HDGSJ-FW-001")
    assert tax.text("statutory-limit") == "30 个自然日"
    assert "受理当日计入" in tax.main_text()
    assert "不适用超时默许" in page(client, "/permits/items/HDJS-XK-001").text("deemed-approval")


def test_an_item_page_in_english(catalogue: Flask) -> None:
    doc = page(catalogue.test_client(), "/permits/items/HDSYJ-XK-001", EN)
    assert doc.text("item-name") == "Food business permit"
    assert doc.text("promised-limit") == "10 working days"
    assert doc.text("deemed-approval").startswith("Yes:")
    assert doc.text("output") == "食品经营许可证 (valid: 5 years)"
    cold = next(r for r in doc.rows["materials"][1:] if r[0].startswith("冷食类"))
    assert cold[1] == "Only when “经营项目” includes “冷食类食品制售”"
    listing = page(catalogue.test_client(), "/permits/?q=food", EN)
    assert listing.rows["items"][1][0].startswith("Food business permit")


def test_an_unknown_item_or_file_is_404(catalogue: Flask) -> None:
    client = catalogue.test_client()
    assert client.get("/permits/items/NOPE", headers=ZH).status_code == 404
    assert client.get("/permits/items/" + "x" * 500, headers=ZH).status_code == 404
    assert client.get("/permits/files/" + "0" * 64).status_code == 404
    assert client.get("/permits/files/../../etc/passwd").status_code == 404


def test_the_api_lists_departments_and_items(catalogue: Flask) -> None:
    client = catalogue.test_client()
    departments = client.get("/api/v1/permits/departments").get_json()
    assert len(departments) == 14 and departments[0]["code"] == "HDGS" and departments[0]["item_count"] == 5
    listing = client.get("/api/v1/permits/items?per_page=100").get_json()
    assert listing["total"] == 36 and len(listing["items"]) == 36
    first = listing["items"][0]
    assert first["service_code"] == "HDGS-XK-001" and first["metadata"] is True and first["group"].startswith("邯郸市")
    assert first["promised_limit"] == {"days": 5, "day_count": "working"}
    deemed = client.get("/api/v1/permits/items?q=税务登记").get_json()["items"]
    assert [i["deemed_approval"] for i in deemed] == [True, True]
    only = client.get("/api/v1/permits/items?kind=non_licence&department=HDRS").get_json()
    assert [i["service_code"] for i in only["items"]] == ["HDRS-XK-002"]


def test_the_api_gives_an_items_definition(catalogue: Flask) -> None:
    item = catalogue.test_client().get("/api/v1/permits/items/HDGS-XK-001").get_json()
    assert item["service_name"] == "企业设立登记（营业执照核发）" and item["kind"] == "licence"
    assert item["statutory_limit"]["days"] == 15 and item["promised_limit"]["days"] == 5
    assert item["deemed_approval"] is False and item["output"] == {"name": "营业执照", "validity_months": None}
    orders = [a["order"] for a in item["attributes"]]
    assert orders == sorted(orders) and item["attributes"][0]["datatype"] == "singlevaluelist"
    assert item["form_schema"]["additionalProperties"] is False
    conditional = [m for m in item["materials"] if m["requirement"] == "conditional"]
    assert conditional[0]["condition"] == 'has_foreign_investor = "yes"'
    assert conditional[0]["condition_tree"] == {"field": "has_foreign_investor", "op": "=", "value": "yes"}
    template = item["materials"][0]["template"]
    assert template["url"] == f"/permits/files/{template['sha256']}" and template["size"] > 0
    assert item["department"]["code"] == "HDGS"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/v1/permits/items/NOPE", 404),
        ("/api/v1/permits/items?kind=tax", 422),
        ("/api/v1/permits/items?per_page=1000", 422),
        ("/api/v1/permits/items?page=0", 422),
        ("/api/v1/permits/items?q=" + "x" * 101, 422),
        ("/api/v1/permits/items?q=%00", 422),
    ],
)
def test_the_api_answers_bad_requests_with_problem_json(catalogue: Flask, url: str, status: int) -> None:
    resp = catalogue.test_client().get(url)
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    assert resp.get_json()["status"] == status


def test_the_openapi_document_describes_the_catalogue(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/permits/departments", "/api/v1/permits/items", "/api/v1/permits/items/{code}"):
        assert "get" in spec["paths"][path], path
    assert "PermitItemOut" in spec["components"]["schemas"]
