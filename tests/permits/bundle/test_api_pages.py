"""The bundle over HTTP: the definition (union form, materials), one submission, each material once, acceptance
into four cases, bad input as problem JSON storing nothing; the pages: one form, the desk, the four-part tracking."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.bundle import demo
from app.permits.bundle.models import BundleCase, BundleDefinition
from app.permits.cases.models import Application, ReceivedMaterial
from tests.factories import Api
from tests.html import parse
from tests.permits.bundle.helpers import define
from tests.permits.cases.conftest import PDF
from tests.permits.cases.helpers import DESK_ROLE
from tests.permits.cases.test_api import _token_user
from tests.permits.cases.test_pages import EN, ZH, _signed_in
from tests.permits.cases.test_processing_api import _new

PROBLEM = "application/problem+json"


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def _body(**answers: Any) -> dict[str, Any]:
    return {
        "applicant": {"kind": "enterprise", "name": demo.ANSWERS["applicant_name"], "code": demo.USCC},
        "answers": {**demo.ANSWERS, **answers},
    }


def test_define_submit_attach_accept_over_the_api(desk_app: Flask, client: Any) -> None:
    admin: Api = _new(desk_app, client, ["admin"])
    applicant: Api = _token_user(desk_app, client, ["bidder"])
    desk: Api = _token_user(desk_app, client, [DESK_ROLE])
    definition = {"code": demo.CODE, "name": demo.NAME, "items": demo.ITEMS, "licence_item": demo.LICENCE_ITEM}
    assert applicant.post("/api/v1/permits/bundles", definition).status_code == 403
    for bad in (
        {**definition, "items": demo.ITEMS[:1]},
        {**definition, "items": [*demo.ITEMS, "NOPE"]},
        {**definition, "licence_item": "HDRS-XK-001"},
    ):
        resp = admin.post("/api/v1/permits/bundles", bad)
        assert resp.status_code in (404, 422) and resp.mimetype == PROBLEM, bad
    assert _count(desk_app, BundleDefinition) == 0
    resp = admin.post("/api/v1/permits/bundles", definition)
    assert resp.status_code == 200, resp.get_json()
    shown = client.get(f"/api/v1/permits/bundles/{demo.CODE}").get_json()
    codes = [a["code"] for a in shown["attributes"]]
    assert len(codes) == len(set(codes)) and [i["code"] for i in shown["items"]] == demo.ITEMS

    resp = applicant.post(f"/api/v1/permits/bundles/{demo.CODE}/applications", _body(employees="many"))
    assert resp.status_code == 422 and resp.mimetype == PROBLEM
    assert _count(desk_app, BundleCase) == 0 and _count(desk_app, Application) == 0
    resp = applicant.post(f"/api/v1/permits/bundles/{demo.CODE}/applications", _body())
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert len(made["parts"]) == 4 and made["received"] == []
    base = f"/api/v1/permits/bundle-cases/{made['id']}"
    headers = {"Content-Type": "application/octet-stream"}
    bad = applicant.post(
        f"{base}/materials?key=nope&name=a.pdf&content_type=application/pdf", data=PDF, headers=headers
    )
    assert bad.status_code == 422
    first = made["materials"][0]["key"]
    wrong = applicant.post(f"{base}/materials?key={first}&name=a.pdf&content_type=image/png", data=PDF, headers=headers)
    assert wrong.status_code == 422
    assert _count(desk_app, ReceivedMaterial) == 0
    assert desk.post(f"{base}/accept").status_code == 409  # materials missing: nothing accepted
    for material in made["materials"]:
        resp = applicant.post(
            f"{base}/materials?key={material['key']}&name=m.pdf&content_type=application/pdf", data=PDF, headers=headers
        )
        assert resp.status_code == 201, resp.get_json()
    assert sorted(resp.get_json()["received"]) == sorted(m["key"] for m in made["materials"])
    assert applicant.post(f"{base}/accept").status_code == 403
    accepted = desk.post(f"{base}/accept")
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert all(p["case_number"] and p["current_step"] == "review" for p in accepted.get_json()["parts"])
    assert desk.post(f"{base}/output", {"uscc": demo.USCC}).status_code == 403  # a clerk does not issue licences
    assert admin.post(f"{base}/output", {"uscc": "123"}).status_code == 422
    assert admin.post(f"{base}/output", {"uscc": demo.USCC}).status_code == 409  # no department decided yet
    tracking = made["tracking_url"].replace("/permits/bundles/track/", "/api/v1/permits/bundle-tracking/")
    assert len(client.get(tracking).get_json()["parts"]) == 4
    assert client.get(tracking + "x").status_code == 404


def test_one_form_the_desk_and_the_four_part_tracking_page(desk_app: Flask) -> None:
    define(desk_app)
    applicant = _signed_in(desk_app, ["bidder"])
    page = applicant.get(f"/permits/bundles/{demo.CODE}/apply")
    assert page.status_code == 200
    doc = parse(page)
    assert "一表申请" in parse(applicant.get("/permits/bundles/")).text
    names = [
        el.get("name") for el in doc.form("apply-form").select("input") if (el.get("name") or "").startswith("answer-")
    ]
    assert "answer-company_name" in names and names.count("answer-company_name") == 1
    files = [el.get("name") for el in doc.select("input", type="file")]
    assert len(files) == len(set(files)) and "法定代表人身份证" in doc.text
    assert "统一社会信用代码" in doc.text
    data: dict[str, Any] = dict(doc.form("apply-form").fields())
    data.update(
        {"applicant_kind": "enterprise", "applicant_name": demo.ANSWERS["applicant_name"], "applicant_code": demo.USCC}
    )
    for key, value in demo.ANSWERS.items():
        data[f"answer-{key}"] = str(value)
    bad = applicant.post(f"/permits/bundles/{demo.CODE}/apply", data={**data, "answer-employees": "很多"})
    assert bad.status_code == 422 and parse(bad).error_summary is not None
    assert _count(desk_app, BundleCase) == 0
    for name in files:
        data[name] = (io.BytesIO(PDF), "m.pdf", "application/pdf")
    resp = applicant.post(f"/permits/bundles/{demo.CODE}/apply", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303, parse(resp).text[:400]
    tracking = resp.headers["Location"]
    track = parse(applicant.get(tracking, headers=ZH))
    assert len(track.select("tr", cls="bundle-part")) == 4
    assert track.by_id("bundle-status").get("data-state") == "received"

    desk = _signed_in(desk_app, [DESK_ROLE])
    listing = parse(desk.get("/permits/bundles/desk"))
    desk_url = next(h for h in listing.links() if h.startswith("/permits/bundles/desk/"))
    doc = parse(desk.get(desk_url))
    assert "缺" not in doc.by_id("bundle-materials").text
    resp = desk.post(desk_url + "/accept", data={"csrf_token": doc.csrf_token()})
    assert resp.status_code == 303
    track = parse(desk_app.test_client().get(tracking, headers=ZH))
    assert track.by_id("bundle-status").get("data-state") == "accepted"
    rows = track.table("bundle-parts")
    assert len(rows) == 5 and all(r[3] == "审查" for r in rows[1:])
    en = parse(desk_app.test_client().get(tracking, headers=EN))
    assert "Follow your joint application" in en.text


def test_the_applicant_sends_a_missing_material_later(desk_app: Flask) -> None:
    define(desk_app)
    applicant = _signed_in(desk_app, ["bidder"])
    doc = parse(applicant.get(f"/permits/bundles/{demo.CODE}/apply"))
    data: dict[str, Any] = dict(doc.form("apply-form").fields())
    data.update(
        {"applicant_kind": "enterprise", "applicant_name": demo.ANSWERS["applicant_name"], "applicant_code": demo.USCC}
    )
    for key, value in demo.ANSWERS.items():
        data[f"answer-{key}"] = str(value)
    files = [el.get("name") for el in doc.select("input", type="file")]
    for name in files[1:]:  # the first material is left out
        data[name] = (io.BytesIO(PDF), "m.pdf", "application/pdf")
    resp = applicant.post(f"/permits/bundles/{demo.CODE}/apply", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    tracking = resp.headers["Location"]
    track = parse(applicant.get(tracking))
    assert len(track.by_id("missing").select("li")) == 1
    with desk_app.app_context():
        row_id = db.session.scalar(select(BundleCase.id))
    url = f"/permits/bundles/applications/{row_id}/materials"
    assert _signed_in(desk_app, ["bidder"], EN).get(url).status_code == 404  # another applicant sees nothing
    page = parse(applicant.get(url))
    (wanted,) = [el.get("name") for el in page.select("input", type="file")]
    assert wanted == files[0]
    bad = applicant.post(
        url,
        data={"csrf_token": page.csrf_token(), wanted: (io.BytesIO(b"not a pdf"), "m.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    resp = applicant.post(
        url,
        data={"csrf_token": page.csrf_token(), wanted: (io.BytesIO(PDF), "m.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    assert not parse(applicant.get(tracking)).has("missing")
    assert parse(applicant.get(url)).has("nothing-missing")
