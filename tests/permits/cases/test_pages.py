"""The pages: the apply form generated from the item's schema, the desk's queue and decision page (the computed
correction list pre-ticked), the public tracking page, the correction notice and the acceptance PDF; zh and en."""

from __future__ import annotations

import io
import subprocess
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.cases.models import Application
from tests.accounts.helpers import login
from tests.factories import user
from tests.html import parse
from tests.permits.cases.conftest import ITEM, PDF, answers, enterprise
from tests.permits.cases.helpers import DESK_ROLE

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


def _signed_in(app: Flask, roles: list[str], headers: dict[str, str] = ZH) -> Any:
    name = f"u{abs(hash((tuple(roles), id(headers)))) % 10**8}x{len(roles)}"
    user(app, name, roles=roles, totp=False)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = headers["Accept-Language"]
    resp = login(client, name)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return client


def _form(page: Any, form_id: str) -> dict[str, Any]:
    return dict(parse(page).form(form_id).fields())


def _apply(client: Any, *, files: dict[str, bytes] | None = None, **answer_over: Any) -> Any:
    page = client.get(f"/permits/items/{ITEM}/apply")
    assert page.status_code == 200
    data: dict[str, Any] = _form(page, "apply-form")
    ent = enterprise()
    data.update({"applicant_kind": "enterprise", "applicant_name": ent["name"], "applicant_code": ent["code"]})
    for key, value in answers(**answer_over).items():
        data[f"answer-{key}"] = [str(v) for v in value] if isinstance(value, list) else str(value)
    for key, content in (files or {}).items():
        data[key] = (io.BytesIO(content), f"{key}.pdf", "application/pdf")
    return client.post(f"/permits/items/{ITEM}/apply", data=data, content_type="multipart/form-data")


def test_apply_page_is_generated_from_the_schema_in_chinese(desk_app: Flask) -> None:
    client = _signed_in(desk_app, ["bidder"])
    doc = parse(client.get(f"/permits/items/{ITEM}/apply"))
    assert "申请" in doc.by_id("apply-title").text
    fields = doc.form("apply-form")
    names = {el.get("name") for el in fields.select("input")} | {el.get("name") for el in fields.select("textarea")}
    for code in answers():
        assert f"answer-{code}" in names, code
    assert len(doc.select("input", type="radio", name="answer-company_type")) == 4
    assert len(doc.select("input", type="file")) == 4
    assert "统一社会信用代码" in doc.text and "企业类型" in doc.text


def test_apply_with_files_then_follow_it(desk_app: Flask) -> None:
    client = _signed_in(desk_app, ["bidder"])
    with desk_app.app_context():
        from app.permits.catalogue.models import Item

        item = db.session.execute(select(Item).where(Item.code == ITEM)).scalar_one()
        first = item.materials[0].id
    resp = _apply(client, files={f"material-{first}": PDF})
    assert resp.status_code == 303, parse(resp).text[:500]
    tracking = resp.headers["Location"]
    assert "/permits/track/SQ" in tracking
    doc = parse(client.get(tracking))
    assert "受理窗口" in doc.by_id("holder").text
    assert doc.by_id("decision-due").text.startswith("2026-03-09")  # Mon 03-02: Tue…Fri, Mon 03-09
    assert [row[1] for row in doc.table("steps")[1:]] == ["收到申请", "收到材料：组织机构代码申请表"]
    anonymous = desk_app.test_client()
    assert anonymous.get(tracking).status_code == 200
    assert anonymous.get(tracking.rsplit("/", 1)[0] + "/not-the-token").status_code == 404


def test_a_form_failing_its_schema_shows_the_errors_and_stores_nothing(desk_app: Flask) -> None:
    client = _signed_in(desk_app, ["bidder"])
    resp = _apply(client, registered_capital="很多")
    assert resp.status_code == 422
    doc = parse(resp)
    assert doc.error_summary is not None and "申请表填写不正确" in doc.error_summary.text
    assert doc.by_id("applicant_name").get("value") == enterprise()["name"]  # what was typed stays
    bad = _apply(client, files={})
    assert bad.status_code == 303
    with desk_app.app_context():
        assert db.session.execute(select(func.count()).select_from(Application)).scalar_one() == 1


def test_desk_sends_the_notice_with_the_computed_list_then_accepts(desk_app: Flask) -> None:
    applicant = _signed_in(desk_app, ["bidder"])
    tracking = _apply(applicant).headers["Location"]
    desk = _signed_in(desk_app, [DESK_ROLE])
    queue = parse(desk.get("/permits/desk"))
    rows = queue.table("queue")
    assert len(rows) == 2 and rows[1][0].startswith("SQ20260302-") and rows[1][5] == "2026-03-09"
    page_url = next(h for h in queue.links() if h.startswith("/permits/desk/applications/"))
    page = desk.get(page_url)
    doc = parse(page)
    ticked = doc.select("input", type="checkbox", checked=True)
    assert len(ticked) == 4 and all(el.has_attr("disabled") for el in ticked)  # every material is missing
    assert not doc.has("accept")
    resp = desk.post(page_url + "/correct", data={**_form(page, "correction-form"), "note": "请一次补齐"})
    assert resp.status_code == 303
    doc = parse(desk.get(page_url))
    assert "U" in doc.by_id("first-handler").text  # the clerk's display name: responsible from the first act
    # The applicant reads every material at once, and the notice as a page.
    track = parse(applicant.get(tracking))
    assert len(track.by_id("expected").select("li")) == 4
    notice_url = next(h for h in track.links() if "/notices/1" in h and not h.endswith(".pdf"))
    notice = parse(applicant.get(notice_url))
    assert len(notice.table("notice-entries")) == 5
    pdf = applicant.get(notice_url + ".pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert "组织机构代码申请表" in _pdf_text(pdf.data)

    # The applicant corrects on the correction page and resubmits.
    correct_url = page_url.replace("/desk/applications/", "/applications/") + "/correct"
    form = _form(applicant.get(correct_url), "correct-form")
    file_inputs = [el.get("name") for el in parse(applicant.get(correct_url)).select("input", type="file")]
    files = {name: (io.BytesIO(PDF), "m.pdf", "application/pdf") for name in file_inputs}
    resp = applicant.post(correct_url, data={**form, **files}, content_type="multipart/form-data")
    assert resp.status_code == 303, parse(resp).text[:400]

    # A second notice: refused for the clerk (the single-notice rule), in words on the page.
    page = desk.get(page_url)
    resp = desk.post(page_url + "/correct", data={**_form(page, "correction-form")})
    assert resp.status_code in (409, 422)
    resp = desk.post(page_url + "/accept", data={"csrf_token": parse(page).csrf_token()})
    assert resp.status_code == 303
    track = parse(applicant.get(tracking))
    assert track.by_id("case-number").text == "2026-0001"
    assert track.by_id("statutory-due").text == "2026-03-06"
    acceptance = applicant.get(next(h for h in track.links() if h.endswith("acceptance.pdf")))
    assert acceptance.status_code == 200 and acceptance.data.startswith(b"%PDF-")
    text = _pdf_text(acceptance.data)
    assert "受理通知书" in text and "2026-0001" in text and "2026-03-06" in text


def _pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return out.stdout.decode("utf-8")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_tracking_page_in_both_languages(desk_app: Flask, lang: str) -> None:
    client = _signed_in(desk_app, ["bidder"], ZH if lang == "zh" else EN)
    tracking = _apply(client).headers["Location"]
    doc = parse(client.get(tracking))
    if lang == "zh":
        assert "跟踪" in doc.text or "办理进度" in doc.text or "查询" in doc.text
        assert "Received" not in doc.by_id("application-facts").text
    else:
        assert "Follow your application" in doc.text and "Who holds it now" in doc.text


def test_materials_are_for_the_applicant_and_the_desk_only_and_refusal_in_words(desk_app: Flask) -> None:
    with desk_app.app_context():
        from app.permits.catalogue.models import Item

        first = db.session.execute(select(Item).where(Item.code == ITEM)).scalar_one().materials[0].id
    applicant = _signed_in(desk_app, ["bidder"], EN)
    tracking = _apply(applicant, files={f"material-{first}": PDF}).headers["Location"]
    with desk_app.app_context():
        row = db.session.execute(select(Application)).scalar_one()
        url = f"/permits/applications/{row.id}/materials/{row.materials[0].id}"
        page_url = f"/permits/desk/applications/{row.id}"
    got = applicant.get(url)
    assert got.status_code == 200 and got.data == PDF and got.headers["X-Content-Type-Options"] == "nosniff"
    stranger = _signed_in(desk_app, ["expert"])
    assert stranger.get(url).status_code == 404
    assert stranger.get(page_url).status_code == 403
    desk = _signed_in(desk_app, [DESK_ROLE], EN)
    assert desk.get(url).status_code == 200
    page = desk.get(page_url)
    empty = desk.post(page_url + "/refuse", data={**_form(page, "refuse-form")})
    assert empty.status_code == 422 and parse(empty).error_summary is not None
    resp = desk.post(
        page_url + "/refuse",
        data={**_form(page, "refuse-form"), "reason": "Not handled here", "remedies": "Apply to the market regulator"},
    )
    assert resp.status_code == 303
    doc = parse(applicant.get(tracking))
    assert doc.by_id("refusal-reason").text == "Not handled here"
    assert doc.by_id("refusal-remedies").text == "Apply to the market regulator"
    assert "Nobody" in doc.by_id("holder").text
