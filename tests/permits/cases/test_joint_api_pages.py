"""Joint review and joint site inspection through the API (problem JSON on bad input, nothing half-written) and
the pages (zh-CN, permissions): scheduling forms, the meeting page, the inspector's report form with photos, the
case and tracking pages showing both."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.permits.cases.joint_models import (
    Inspection,
    InspectionPhoto,
    Inspector,
    JointMeeting,
    MeetingParticipant,
    MeetingStatus,
)
from app.permits.cases.models import Application
from app.permits.cases.processing_models import DepartmentTask, TaskStatus
from tests.accounts.helpers import login, post_form
from tests.factories import Api
from tests.html import parse
from tests.permits.cases.joint_helpers import image, meeting_case, png_bomb
from tests.permits.cases.processing_helpers import at, reviewer

PROBLEM = "application/problem+json"
ZH = "zh-CN,zh;q=0.9"


def _api(app: Flask, client: Any, user_id: int) -> Api:
    from app.accounts import services_tokens

    with app.app_context():
        _t, text = services_tokens.create_token(
            user=db.session.get(User, user_id), name="tests", scopes=["*"], expires_in_days=30
        )
        db.session.commit()
    return Api(client, text)


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def _page_client(app: Flask, user_id: int) -> Any:
    with app.app_context():
        name = db.session.get(User, user_id).username
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH
    assert login(client, name).status_code == 303
    return client


def _username(app: Flask, user_id: int) -> str:
    with app.app_context():
        return str(db.session.get(User, user_id).username)


def test_the_meeting_through_the_api(desk_app: Flask, client: Any, clock: Any) -> None:
    lead_id, gs_id, ds_id = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ"), reviewer(desk_app, "HDDSJ")
    outsider_id = reviewer(desk_app, "HDJS")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, deemed_approval=False)
    lead, gs, ds = (_api(desk_app, client, u) for u in (lead_id, gs_id, ds_id))
    outsider = _api(desk_app, client, outsider_id)
    url = f"/api/v1/permits/cases/{app_id}/meetings"
    for body, status in (
        ({"place": "三楼联审室"}, 422),  # no time
        ({"starts_at": "2026-03-03T10:00:00", "place": "三楼联审室"}, 422),  # no offset
        ({"starts_at": "2026-03-01T10:00:00+08:00", "place": "三楼联审室"}, 422),  # in the past
        ({"starts_at": "2026-03-03T10:00:00+08:00", "place": " "}, 422),
        ({"starts_at": "2026-03-03T10:00:00+08:00", "place": "x", "departments": ["NOPE"]}, 422),
        ({"starts_at": "2026-03-03T10:00:00+08:00", "place": "x", "departments": ["HDZJ"]}, 422),  # the lead
    ):
        resp = lead.post(url, body)
        assert resp.status_code == status and resp.content_type == PROBLEM, (body, resp.get_json())
    assert outsider.post(url, {"starts_at": "2026-03-03T10:00:00+08:00", "place": "x"}).status_code == 404
    assert gs.post(url, {"starts_at": "2026-03-03T10:00:00+08:00", "place": "x"}).status_code == 403
    assert _count(desk_app, JointMeeting) == 0 and _count(desk_app, MeetingParticipant) == 0
    resp = lead.post(url, {"starts_at": "2026-03-03T10:00:00+08:00", "place": "三楼联审室"})
    assert resp.status_code == 201, resp.get_json()
    meeting = resp.get_json()
    assert [p["department"] for p in meeting["participants"]] == ["HDZJ", "HDGSJ", "HDDSJ"]
    mid = meeting["id"]
    at(clock, 2026, 3, 3, 10)
    for api, code in ((lead, "HDZJ"), (gs, "HDGSJ")):
        resp = api.post(f"/api/v1/permits/meetings/{mid}/attendance", {"department": code, "present": True})
        assert resp.status_code == 200, resp.get_json()
    resp = ds.post(f"/api/v1/permits/meetings/{mid}/attendance", {"department": "HDGSJ", "present": True})
    assert resp.status_code == 403 and resp.content_type == PROBLEM  # not 国税's staff
    bad = gs.post(f"/api/v1/permits/meetings/{mid}/opinions", {"department": "HDGSJ", "opinion": "disagree"})
    assert bad.status_code == 422 and bad.content_type == PROBLEM  # reasons required
    assert (
        gs.post(f"/api/v1/permits/meetings/{mid}/opinions", {"department": "HDGSJ", "opinion": "maybe"}).status_code
        == 422
    )
    resp = gs.post(
        f"/api/v1/permits/meetings/{mid}/opinions",
        {"department": "HDGSJ", "opinion": "disagree", "reasons": "纳税信用记录待核实"},
    )
    assert resp.status_code == 200
    early = lead.post(f"/api/v1/permits/meetings/{mid}/conclusion", {"minutes": "结论"})
    assert early.status_code == 409 and early.content_type == PROBLEM  # 地税 neither present nor absent
    assert lead.post(f"/api/v1/permits/meetings/{mid}/conclusion", {"minutes": ""}).status_code == 422
    resp = lead.post(f"/api/v1/permits/meetings/{mid}/attendance", {"department": "HDDSJ", "present": False})
    assert resp.status_code == 200
    resp = lead.post(f"/api/v1/permits/meetings/{mid}/conclusion", {"minutes": "国税不同意；地税缺席，另行办理。"})
    assert resp.status_code == 200, resp.get_json()
    done = resp.get_json()
    assert done["status"] == "concluded" and done["minutes_sha256"] and done["authorisation_id"]
    effects = {p["department"]: p["effect"] for p in done["participants"]}
    assert effects == {"HDZJ": None, "HDGSJ": "answered", "HDDSJ": "undecided"}
    pdf = lead.get(f"/api/v1/permits/meetings/{mid}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf" and pdf.data.startswith(b"%PDF-")
    again = lead.post(f"/api/v1/permits/meetings/{mid}/conclusion", {"minutes": "再次"})
    assert again.status_code == 409
    with desk_app.app_context():
        tasks = {t.department.code: t for t in db.session.execute(select(DepartmentTask)).scalars()}
        assert tasks["HDGSJ"].status is TaskStatus.ANSWERED and tasks["HDDSJ"].status is TaskStatus.OPEN
    case = lead.get(f"/api/v1/permits/cases/{app_id}").get_json()
    assert case["current_step"] == "review"  # 地税's task is still open: the meeting could not decide for it


def test_the_inspection_through_the_api(desk_app: Flask, client: Any, clock: Any) -> None:
    lead_id, gs_id = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, co=("HDGSJ",), mode="notify")
    lead, gs = _api(desk_app, client, lead_id), _api(desk_app, client, gs_id)
    names = [
        {"department": "HDZJ", "username": _username(desk_app, lead_id)},
        {"department": "HDGSJ", "username": _username(desk_app, gs_id)},
    ]
    url = f"/api/v1/permits/cases/{app_id}/inspections"
    when = "2026-03-03T14:00:00+08:00"
    for body in (
        {"starts_at": when, "address": "示范路1号", "inspectors": names[:1]},
        {"starts_at": when, "address": "示范路1号", "inspectors": [names[0], names[0]]},
        {
            "starts_at": when,
            "address": "示范路1号",
            "inspectors": [names[0], {"department": "HDGSJ", "username": "nobody"}],
        },
        {"starts_at": when, "address": "", "inspectors": names},
    ):
        resp = lead.post(url, body)
        assert resp.status_code == 422 and resp.content_type == PROBLEM, resp.get_json()
    assert _count(desk_app, Inspection) == 0 and _count(desk_app, Inspector) == 0
    resp = lead.post(url, {"starts_at": when, "address": "邯郸市丛台区示范路1号", "inspectors": names})
    assert resp.status_code == 201, resp.get_json()
    iid = resp.get_json()["id"]
    at(clock, 2026, 3, 3, 15)
    report = f"/api/v1/permits/inspections/{iid}/report"
    hostile = gs.post(
        report,
        data={
            "finding": "pass",
            "photos": [(io.BytesIO(image()), "ok.png", "image/png"), (io.BytesIO(png_bomb()), "b.png", "image/png")],
        },
        content_type="multipart/form-data",
    )
    assert hostile.status_code == 422 and hostile.content_type == PROBLEM
    assert "photos.1" in hostile.get_json()["errors"]
    assert gs.post(report, data={"finding": "maybe"}, content_type="multipart/form-data").status_code == 422
    assert _count(desk_app, InspectionPhoto) == 0
    view = lead.get(f"/api/v1/permits/inspections/{iid}").get_json()
    assert all(i["reported_at"] is None for i in view["inspectors"])
    resp = gs.post(
        report,
        data={
            "finding": "rectify",
            "items": "税控设备未安装",
            "photos": [(io.BytesIO(image()), "现场.png", "image/png")],
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_json()
    resp = lead.post(report, data={"finding": "pass"}, content_type="multipart/form-data")
    assert resp.status_code == 200
    done = resp.get_json()
    assert done["status"] == "completed" and done["outcome"] == "rectify" and done["applicant_notified_at"]
    assert done["inspectors"][1]["photos"][0]["sha256"]
    with desk_app.app_context():
        row = db.session.get(Application, app_id)
        number, token = row.number, row.tracking_token
    tracking = client.get(f"/permits/track/{number}/{token}", headers={"Accept-Language": ZH})
    doc = parse(tracking)
    assert "税控设备未安装" in doc.by_id("rectification").text
    assert "需整改" in doc.by_id("case-inspections").text


def test_the_meeting_pages_in_chinese(desk_app: Flask, clock: Any) -> None:
    lead_id, gs_id = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ")
    outsider_id = reviewer(desk_app, "HDJS")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, co=("HDGSJ",))
    lead, gs = _page_client(desk_app, lead_id), _page_client(desk_app, gs_id)
    case = lead.get(f"/permits/department/cases/{app_id}")
    assert case.status_code == 200 and "安排联审会议" in case.get_data(as_text=True)
    form = lead.get(f"/permits/department/cases/{app_id}/meetings/new")
    assert form.status_code == 200 and "安排联审会议" in form.get_data(as_text=True)
    assert gs.get(f"/permits/department/cases/{app_id}/meetings/new").status_code == 403  # not the lead's staff
    bad = post_form(lead, f"/permits/department/cases/{app_id}/meetings/new", {"starts_at": "明天", "place": ""})
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    assert _count(desk_app, JointMeeting) == 0
    ok = post_form(
        lead,
        f"/permits/department/cases/{app_id}/meetings/new",
        {"starts_at": "2026-03-03T10:00", "place": "三楼联审室", "departments": "HDGSJ"},
    )
    assert ok.status_code == 303
    with desk_app.app_context():
        meeting = db.session.execute(select(JointMeeting)).scalar_one()
        mid = meeting.id
        assert meeting.starts_at.hour == 2  # 10:00 in Beijing
    page = gs.get(f"/permits/department/meetings/{mid}")
    assert page.status_code == 200 and "联审会议" in page.get_data(as_text=True)
    assert _page_client(desk_app, outsider_id).get(f"/permits/department/meetings/{mid}").status_code == 404
    early = post_form(gs, f"/permits/department/meetings/{mid}/attend", {"department": "HDGSJ"})
    assert early.status_code == 409 and "会前半小时" in early.get_data(as_text=True)
    at(clock, 2026, 3, 3, 10)
    lead, gs = _page_client(desk_app, lead_id), _page_client(desk_app, gs_id)  # signed in again after a day
    assert post_form(lead, f"/permits/department/meetings/{mid}/attend", {"department": "HDZJ"}).status_code == 303
    assert post_form(gs, f"/permits/department/meetings/{mid}/attend", {"department": "HDGSJ"}).status_code == 303
    page = gs.get(f"/permits/department/meetings/{mid}")
    assert parse(page).by_id("opinion-form") is not None
    bad = post_form(gs, f"/permits/department/meetings/{mid}/opinion", {"department": "HDGSJ", "opinion": "disagree"})
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    ok = post_form(gs, f"/permits/department/meetings/{mid}/opinion", {"department": "HDGSJ", "opinion": "agree"})
    assert ok.status_code == 303
    done = post_form(lead, f"/permits/department/meetings/{mid}/conclude", {"minutes": "一致同意。"})
    assert done.status_code == 303
    page = lead.get(f"/permits/department/meetings/{mid}")
    doc = parse(page)
    assert "已当场决定" in doc.by_id("meeting-status").text and doc.by_id("minutes-pdf") is not None
    pdf = lead.get(f"/permits/department/meetings/{mid}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    with desk_app.app_context():
        assert db.session.get(JointMeeting, mid).status is MeetingStatus.CONCLUDED
        row = db.session.get(Application, app_id)
        number, token = row.number, row.tracking_token
    tracking = desk_app.test_client().get(f"/permits/track/{number}/{token}", headers={"Accept-Language": ZH})
    doc = parse(tracking)
    assert "联审制" in doc.by_id("joint-mode").text and "已当场决定" in doc.by_id("case-meetings").text


def test_the_inspection_pages_in_chinese(desk_app: Flask, clock: Any) -> None:
    lead_id, gs_id = reviewer(desk_app, "HDZJ"), reviewer(desk_app, "HDGSJ")
    at(clock, 2026, 3, 2, 9)
    app_id, _p = meeting_case(desk_app, co=("HDGSJ",), mode="notify")
    lead, gs = _page_client(desk_app, lead_id), _page_client(desk_app, gs_id)
    form = lead.get(f"/permits/department/cases/{app_id}/inspections/new")
    assert form.status_code == 200 and "踏勘人员" in form.get_data(as_text=True)
    values = {
        "starts_at": "2026-03-03T14:00",
        "address": "邯郸市丛台区示范路1号",
        "inspector-HDZJ": _username(desk_app, lead_id),
        "inspector-HDGSJ": "",
    }
    bad = post_form(lead, f"/permits/department/cases/{app_id}/inspections/new", values)
    assert bad.status_code == 422 and "每个相关部门须指定一名踏勘人员" in bad.get_data(as_text=True)
    assert _count(desk_app, Inspection) == 0
    values["inspector-HDGSJ"] = _username(desk_app, gs_id)
    assert post_form(lead, f"/permits/department/cases/{app_id}/inspections/new", values).status_code == 303
    with desk_app.app_context():
        iid = db.session.execute(select(Inspection.id)).scalar_one()
    at(clock, 2026, 3, 3, 15)
    lead, gs = _page_client(desk_app, lead_id), _page_client(desk_app, gs_id)  # signed in again after a day
    page = gs.get(f"/permits/department/inspections/{iid}")
    assert page.status_code == 200 and parse(page).by_id("report-form") is not None
    hostile = post_form(
        gs,
        f"/permits/department/inspections/{iid}/report",
        {"finding": "pass", "photos": (io.BytesIO(b"not an image at all"), "x.png", "image/png")},
    )
    assert hostile.status_code == 422 and "error-summary" in hostile.get_data(as_text=True)
    assert _count(desk_app, InspectionPhoto) == 0
    ok = post_form(
        gs,
        f"/permits/department/inspections/{iid}/report",
        {"finding": "pass", "notes": "符合要求", "photos": (io.BytesIO(image()), "现场.png", "image/png")},
    )
    assert ok.status_code == 303
    with desk_app.app_context():
        photo_id = db.session.execute(select(InspectionPhoto.id)).scalar_one()
    got = lead.get(f"/permits/department/inspections/{iid}/photos/{photo_id}")
    assert got.status_code == 200 and got.data == image() and got.headers["X-Content-Type-Options"] == "nosniff"
    assert "通过" in parse(lead.get(f"/permits/department/inspections/{iid}")).by_id("inspector-HDGSJ").text
    case = lead.get(f"/permits/department/cases/{app_id}")
    assert "联合踏勘" in parse(case).by_id("case-inspections").text
