"""The pages of case processing: the department desk and its answer form, the case page with the decision form,
the administrators' authorisations page, the tracking page's steps; bad input shows a message and stores nothing;
the department desk's queries do not grow with the number of tasks (no N+1)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event, func, select

from app.accounts.models import User
from app.extensions import db
from app.permits.cases.processing_models import Authorisation, CaseDecision, DepartmentTask, TaskStatus
from tests.accounts.helpers import login, make_user, post_form
from tests.html import parse
from tests.permits.cases.processing_helpers import accepted_case, at, reviewer

ZH = "zh-CN,zh;q=0.9"


def _client(app: Flask, user_id: int, lang: str = ZH) -> Any:
    with app.app_context():
        name = db.session.get(User, user_id).username
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    assert login(client, name).status_code == 303
    return client


def _task_id(app: Flask, code: str) -> int:
    with app.app_context():
        return next(t.id for t in db.session.execute(select(DepartmentTask)).scalars() if t.department.code == code)


def test_department_desk_and_the_answer_form(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    gs = reviewer(desk_app, "HDGSJ")
    accepted_case(desk_app)
    client = _client(desk_app, gs)
    page = client.get("/permits/department")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "部门审批台" in text and "等待部门答复" in text and "HDGSJ" not in parse(page).by_id("tasks").text
    task_id = _task_id(desk_app, "HDGSJ")
    form = client.get(f"/permits/department/tasks/{task_id}")
    assert form.status_code == 200 and "本部门的答复" in form.get_data(as_text=True)
    bad = post_form(client, f"/permits/department/tasks/{task_id}", {"answer": "disagree", "reasons": " "})
    assert bad.status_code == 422 and "error-summary" in bad.get_data(as_text=True)
    with desk_app.app_context():
        assert db.session.get(DepartmentTask, task_id).status is TaskStatus.OPEN
    ok = post_form(client, f"/permits/department/tasks/{task_id}", {"answer": "disagree", "reasons": "登记信息不一致"})
    assert ok.status_code == 303
    with desk_app.app_context():
        row = db.session.get(DepartmentTask, task_id)
        assert row.status is TaskStatus.ANSWERED and row.authorisation_id is not None
    other = _task_id(desk_app, "HDDSJ")
    assert client.get(f"/permits/department/tasks/{other}").status_code == 404


def test_case_page_review_and_decision(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    lead = reviewer(desk_app, "HDZJ")
    app_id, _p = accepted_case(desk_app, co=())
    client = _client(desk_app, lead)
    page = client.get(f"/permits/department/cases/{app_id}")
    assert page.status_code == 200
    doc = parse(page)
    assert "审查" in doc.by_id("case-steps").text and "办理中" in doc.by_id("case-steps").text
    assert post_form(client, f"/permits/department/cases/{app_id}/claim").status_code == 303
    assert post_form(client, f"/permits/department/cases/{app_id}/finish/review", {"note": "通过"}).status_code == 303
    bad = post_form(client, f"/permits/department/cases/{app_id}/decide", {"outcome": "approve", "reasons": ""})
    assert bad.status_code == 422
    assert (
        post_form(
            client, f"/permits/department/cases/{app_id}/decide", {"outcome": "refuse", "reasons": "不符合条件"}
        ).status_code
        == 303
    )
    with desk_app.app_context():
        assert db.session.scalar(select(func.count(CaseDecision.id))) == 1
    page = client.get(f"/permits/department/cases/{app_id}")
    assert "不予行政许可" in page.get_data(as_text=True) and "行政复议" in page.get_data(as_text=True)


def test_department_desk_has_no_n_plus_one(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    gs = reviewer(desk_app, "HDGSJ")
    lead_and_co = reviewer(desk_app, "HDZJ")
    accepted_case(desk_app)
    client = _client(desk_app, gs)
    client_lead = _client(desk_app, lead_and_co)

    def count(c: Any, url: str) -> int:
        seen: list[str] = []

        def hook(*args: Any) -> None:
            seen.append(str(args[2]))

        with desk_app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", hook)
        try:
            assert c.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", hook)
        return len(seen)

    one = count(client, "/permits/department"), count(client_lead, "/permits/department")
    for _ in range(4):
        accepted_case(desk_app)
    five = count(client, "/permits/department"), count(client_lead, "/permits/department")
    assert five == one, (one, five)


def test_admin_authorisations_page(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    gs = reviewer(desk_app, "HDGSJ", authorise=False)
    _uid, secret = make_user(desk_app, "root", ["admin"], totp=True)
    client = desk_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = ZH
    assert login(client, "root", totp_secret=secret).status_code == 303
    assert client.get("/permits/admin/authorisations").status_code == 200
    with desk_app.app_context():
        name = db.session.get(User, gs).username
    form = {
        "department": "HDGSJ",
        "username": name,
        "items": "HDZJ-FW-001",
        "valid_from": "2026-01-01T00:00",
        "valid_to": "2025-01-01T00:00",
        "approved_by": "局长 张某",
    }
    bad = post_form(client, "/permits/admin/authorisations", form)
    assert bad.status_code == 422 and "授权的截止时间必须晚于起始时间" in bad.get_data(as_text=True)
    assert (
        post_form(client, "/permits/admin/authorisations", {**form, "valid_to": "2027-01-01T00:00"}).status_code == 303
    )
    with desk_app.app_context():
        auth = db.session.execute(select(Authorisation)).scalar_one()
        assert auth.valid_from.isoformat() == "2025-12-31T16:00:00+00:00"  # center time
        auth_id = auth.id
    page = client.get("/permits/admin/authorisations").get_data(as_text=True)
    assert "HDZJ-FW-001" in page and "局长 张某" in page
    assert post_form(client, f"/permits/admin/authorisations/{auth_id}/revoke", {"reason": "调离"}).status_code == 303
    with desk_app.app_context():
        assert db.session.get(Authorisation, auth_id).revoked_at is not None
    reviewer_client = _client(desk_app, gs)
    assert reviewer_client.get("/permits/admin/authorisations").status_code == 403


def test_english_pages(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    gs = reviewer(desk_app, "HDGSJ")
    accepted_case(desk_app)
    client = _client(desk_app, gs, "en")
    text = client.get("/permits/department").get_data(as_text=True)
    assert "Department desk" in text and "Waiting for the department" in text


def test_home_page_lists_the_departments_open_tasks(desk_app: Flask, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    gs = reviewer(desk_app, "HDGSJ")
    accepted_case(desk_app)
    client = _client(desk_app, gs)
    text = client.get("/").get_data(as_text=True)
    assert "待本部门答复的并联审批案件（1）" in text
    assert (
        post_form(client, f"/permits/department/tasks/{_task_id(desk_app, 'HDGSJ')}", {"answer": "agree"}).status_code
        == 303
    )
    assert "待本部门答复的并联审批案件" not in client.get("/").get_data(as_text=True)


def test_the_desk_names_co_departments_on_the_acceptance_form(desk_app: Flask, clock: Any) -> None:
    from tests.permits.cases.helpers import attach_all, people, submit, who

    at(clock, 2026, 3, 2, 9)
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), row)
        db.session.commit()
        app_id = row.id
    client = _client(desk_app, p["desk"])
    page = client.get(f"/permits/desk/applications/{app_id}")
    assert "co-HDGSJ" in page.get_data(as_text=True) and "co-HDZJ" not in page.get_data(as_text=True)
    bad = post_form(client, f"/permits/desk/applications/{app_id}/accept", {"co_departments": ["NOPE"]})
    assert bad.status_code == 422
    ok = post_form(client, f"/permits/desk/applications/{app_id}/accept", {"co_departments": ["HDGSJ", "HDDSJ"]})
    assert ok.status_code == 303
    with desk_app.app_context():
        codes = sorted(t.department.code for t in db.session.execute(select(DepartmentTask)).scalars())
        assert codes == ["HDDSJ", "HDGSJ"]
