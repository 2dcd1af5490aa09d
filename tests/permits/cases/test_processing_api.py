"""Case processing over HTTP, end to end: an accepted joint case → two co-departments in parallel (one answers,
one deemed by the sweep at its due instant) → review finished → the sealed decision → production, delivery; the
tracking page and API show each step. Bad input is a problem JSON and stores nothing; the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.cases.models import Application
from app.permits.cases.processing_models import Authorisation, CaseDecision, DepartmentTask
from tests.factories import Api
from tests.permits.cases.conftest import ITEM, PDF, answers, enterprise
from tests.permits.cases.helpers import DESK_ROLE
from tests.permits.cases.processing_helpers import at, reviewer, sweep

PROBLEM = "application/problem+json"


def _token(app: Flask, client: Any, user_id: int) -> Api:
    from app.accounts import services_tokens
    from app.accounts.models import User

    with app.app_context():
        _t, text = services_tokens.create_token(
            user=db.session.get(User, user_id), name="tests", scopes=["*"], expires_in_days=30
        )
        db.session.commit()
    return Api(client, text)


def _new(app: Flask, client: Any, roles: list[str]) -> Api:
    from tests.factories import user

    uid, _ = user(app, roles=roles, totp=None if "admin" in roles else False)
    return _token(app, client, uid)


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def _accepted(app: Flask, client: Any, desk: Api, applicant: Api, co: list[str]) -> dict[str, Any]:
    made = applicant.post(
        "/api/v1/permits/applications", {"item_code": ITEM, "applicant": enterprise(), "answers": answers()}
    ).get_json()
    for need in made["needed"]:
        resp = applicant.post(
            f"/api/v1/permits/applications/{made['id']}/materials?material_id={need['material_id']}"
            "&name=m.pdf&content_type=application/pdf",
            data=PDF,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert resp.status_code == 201, resp.get_json()
    resp = desk.post(
        f"/api/v1/permits/applications/{made['id']}/decision", {"decision": "accept", "co_departments": co}
    )
    assert resp.status_code == 200, resp.get_json()
    return dict(resp.get_json())


def test_joint_case_end_to_end(desk_app: Flask, client: Any, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)  # Monday; promised 1 working day: 审查 and the tasks due at the end of Tuesday
    lead = _token(desk_app, client, reviewer(desk_app, "HDZJ"))
    gs = _token(desk_app, client, reviewer(desk_app, "HDGSJ"))
    _token(desk_app, client, reviewer(desk_app, "HDDSJ"))  # on the staff, never answers
    desk = _new(desk_app, client, [DESK_ROLE])
    applicant = _new(desk_app, client, ["bidder"])

    accepted = _accepted(desk_app, client, desk, applicant, ["HDGSJ", "HDDSJ"])
    app_id = accepted["id"]
    assert [s["kind"] for s in accepted["case_steps"]] == ["acceptance", "review", "decision", "production", "delivery"]
    assert [s["status"] for s in accepted["case_steps"]] == ["done", "open", "pending", "pending", "pending"]
    assert accepted["case_steps"][1]["due_at"] == "2026-03-03T16:00:00Z" or accepted["case_steps"][1][
        "due_at"
    ].startswith("2026-03-03T16:00:00")
    assert {t["department"] for t in accepted["tasks"]} == {"邯郸市国家税务局", "邯郸市地方税务局"}

    tasks = gs.get("/api/v1/permits/department/tasks").get_json()
    assert len(tasks) == 1 and tasks[0]["status"] == "open" and tasks[0]["case_number"] == accepted["case_number"]
    task_id = tasks[0]["id"]
    # Bad input: a disagreement without reasons, an unknown answer, someone else's task → 4xx, nothing stored.
    for body in ({"answer": "disagree", "reasons": " "}, {"answer": "maybe"}, {}):
        resp = gs.post(f"/api/v1/permits/tasks/{task_id}/answer", body)
        assert resp.status_code == 422 and resp.mimetype == PROBLEM, body
    other_task = next(t["id"] for t in accepted["tasks"] if t["id"] != task_id)
    assert gs.post(f"/api/v1/permits/tasks/{other_task}/answer", {"answer": "agree"}).status_code == 404
    assert applicant.get("/api/v1/permits/department/tasks").status_code == 403
    resp = gs.post(f"/api/v1/permits/tasks/{task_id}/answer", {"answer": "agree", "reasons": "无异议"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["authorisation_id"] and resp.get_json()["status"] == "answered"

    # The review cannot finish while 地税 has not answered; at its due instant the sweep deems its consent.
    resp = lead.post(f"/api/v1/permits/cases/{app_id}/steps/review/finish", {})
    assert resp.status_code == 409 and resp.mimetype == PROBLEM
    at(clock, 2026, 3, 4, 0, 0)
    assert sweep(desk_app) == {"deemed": 1, "overdue": 0}
    case = lead.get(f"/api/v1/permits/cases/{app_id}").get_json()
    deemed = next(t for t in case["tasks"] if t["is_deemed"])
    assert deemed["department"] == "邯郸市地方税务局" and deemed["accountability_flag"] and deemed["deemed_rule"]

    at(clock, 2026, 3, 4, 9)
    assert lead.post(f"/api/v1/permits/cases/{app_id}/claim").status_code == 200
    resp = lead.post(f"/api/v1/permits/cases/{app_id}/steps/review/finish", {"note": "材料审查通过"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["current_step"] == "decision"
    # The decision: bad input and a caller without authorisation are refused, nothing stored.
    assert (
        lead.post(f"/api/v1/permits/cases/{app_id}/decision", {"outcome": "approve", "reasons": ""}).status_code == 422
    )
    assert lead.post(f"/api/v1/permits/cases/{app_id}/decision", {"outcome": "x", "reasons": "y"}).status_code == 422
    resp = gs.post(f"/api/v1/permits/cases/{app_id}/decision", {"outcome": "approve", "reasons": "y"})
    assert resp.status_code == 403 and resp.mimetype == PROBLEM
    assert lead.post(f"/api/v1/permits/cases/{app_id}/steps/decision/finish", {}).status_code == 422
    assert _count(desk_app, CaseDecision) == 0
    resp = lead.post(f"/api/v1/permits/cases/{app_id}/decision", {"outcome": "approve", "reasons": "符合法定条件"})
    assert resp.status_code == 200, resp.get_json()
    decided = resp.get_json()
    assert decided["decision"]["outcome"] == "approve" and decided["decision"]["authorisation_id"]
    assert decided["current_step"] == "production"
    pdf = lead.get(f"/api/v1/permits/cases/{app_id}/decision.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-") and b"/ByteRange" in pdf.data
    # The seal validates against the platform's root (pyHanko), and the stored hash is the file's.
    import hashlib

    from app.core.sealing import get_sealing, verify_pdf

    assert hashlib.sha256(pdf.data).hexdigest() == decided["decision"]["pdf_sha256"]
    with desk_app.app_context():
        assert verify_pdf(pdf.data, get_sealing().trust()).ok
    for step in ("production", "delivery"):
        assert lead.post(f"/api/v1/permits/cases/{app_id}/steps/{step}/finish", {}).status_code == 200

    # The tracking API and page show each step, the tasks and the decision.
    with desk_app.app_context():
        row = db.session.get(Application, app_id)
        number, token = row.number, row.tracking_token
    view = client.get(f"/api/v1/permits/tracking/{number}/{token}").get_json()
    assert [s["status"] for s in view["case_steps"]] == ["done"] * 5
    assert all(s["due_at"] and s["finished_at"] for s in view["case_steps"])
    assert {t["status"] for t in view["tasks"]} == {"answered", "deemed"}
    assert view["case_decision"]["outcome"] == "approve"
    page = client.get(f"/permits/track/{number}/{token}", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for words in ("审查", "决定", "制证", "送达", "邯郸市地方税务局", "视为同意"):
        assert words in text, words
    assert client.get(f"/permits/track/{number}/{token}/decision.pdf").data.startswith(b"%PDF-")


def test_bad_acceptance_and_authorisation_input_stores_nothing(desk_app: Flask, client: Any, clock: Any) -> None:
    at(clock, 2026, 3, 2, 9)
    desk = _new(desk_app, client, [DESK_ROLE])
    applicant = _new(desk_app, client, ["bidder"])
    admin = _new(desk_app, client, ["admin"])
    made = applicant.post(
        "/api/v1/permits/applications", {"item_code": ITEM, "applicant": enterprise(), "answers": answers()}
    ).get_json()
    for co in (["NOPE"], ["HDZJ"], "HDGSJ", [1]):
        resp = desk.post(
            f"/api/v1/permits/applications/{made['id']}/decision", {"decision": "accept", "co_departments": co}
        )
        assert resp.status_code in (409, 422) and resp.mimetype == PROBLEM, co
    assert _count(desk_app, DepartmentTask) == 0
    uid = reviewer(desk_app, "HDGSJ", authorise=False)
    from app.accounts.models import User

    with desk_app.app_context():
        username = db.session.get(User, uid).username
    good = {
        "department": "HDGSJ",
        "username": username,
        "items": [ITEM],
        "valid_from": "2026-01-01T00:00:00+08:00",
        "valid_to": "2027-01-01T00:00:00+08:00",
        "approved_by": "局长 张某",
    }
    for change in (
        {"valid_from": "2026-01-01T00:00:00"},
        {"items": ["NOPE"]},
        {"valid_to": "2025-01-01T00:00:00Z"},
        {"department": "X"},
    ):
        resp = admin.post("/api/v1/permits/authorisations", {**good, **change})
        assert resp.status_code == 422 and resp.mimetype == PROBLEM, change
    assert desk.post("/api/v1/permits/authorisations", good).status_code == 403
    assert _count(desk_app, Authorisation) == 0
    resp = admin.post("/api/v1/permits/authorisations", good)
    assert resp.status_code == 201, resp.get_json()
    auth_id = resp.get_json()["id"]
    assert admin.post(f"/api/v1/permits/authorisations/{auth_id}/revoke", {"reason": ""}).status_code == 422
    resp = admin.post(f"/api/v1/permits/authorisations/{auth_id}/revoke", {"reason": "调离"})
    assert resp.status_code == 200 and resp.get_json()["revoked_at"]
    assert admin.post(f"/api/v1/permits/authorisations/{auth_id}/revoke", {"reason": "again"}).status_code == 409


def test_openapi_documents_processing(desk_app: Flask, client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/permits/department/tasks",
        "/api/v1/permits/tasks/{task_id}/answer",
        "/api/v1/permits/cases/{application_id}/decision",
        "/api/v1/permits/cases/{application_id}/steps/{step}/finish",
        "/api/v1/permits/authorisations",
    ):
        assert path in spec["paths"], path
