"""The unified acceptance API: an application online from submission through a correction notice to
acceptance, the single-notice rule over HTTP, bad input as problem JSON storing nothing, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.permits.cases.models import Application, ReceivedMaterial
from tests.factories import Api
from tests.permits.cases.conftest import ITEM, PDF, answers, enterprise
from tests.permits.cases.helpers import DESK_ROLE

PROBLEM = "application/problem+json"


def _token_user(app: Flask, client: Any, roles: list[str]) -> Api:
    from app.accounts import services_tokens
    from app.accounts.models import User
    from tests.factories import user

    user_id, _secret = user(app, roles=roles, totp=False)
    with app.app_context():
        _token, text = services_tokens.create_token(
            user=db.session.get(User, user_id), name="tests", scopes=["*"], expires_in_days=30
        )
        db.session.commit()
    return Api(client, text)


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def _body(**over: Any) -> dict[str, Any]:
    return {"item_code": ITEM, "applicant": enterprise(), "answers": answers(), **over}


def _upload(api: Api, app_id: int, material_id: int, data: bytes = PDF, kind: str = "application/pdf") -> Any:
    return api.post(
        f"/api/v1/permits/applications/{app_id}/materials?material_id={material_id}&name=m.pdf&content_type={kind}",
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def test_online_application_correction_and_acceptance(desk_app: Flask, client: Any) -> None:
    applicant = _token_user(desk_app, client, ["bidder"])
    desk = _token_user(desk_app, client, [DESK_ROLE])
    stranger = _token_user(desk_app, client, ["bidder"])

    resp = applicant.post("/api/v1/permits/applications", _body())
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    app_id = made["id"]
    assert made["status"] == "received" and made["holder"] == "desk" and made["first_handler"] is None
    needed = made["needed"]
    assert [n["received"] for n in needed] == [False] * len(needed)
    first = needed[0]["material_id"]
    up = _upload(applicant, app_id, first)
    assert up.status_code == 201, up.get_json()
    assert stranger.get(f"/api/v1/permits/applications/{app_id}").status_code == 404

    # The desk's one-time notice lists every material still missing.
    resp = desk.post(f"/api/v1/permits/applications/{app_id}/decision", {"decision": "correct", "note": "请一次补齐"})
    assert resp.status_code == 200, resp.get_json()
    noticed = resp.get_json()
    assert noticed["status"] == "correction_requested" and noticed["holder"] == "applicant"
    assert [e["material_id"] for e in noticed["notices"][0]["entries"]] == [n["material_id"] for n in needed[1:]]
    assert noticed["first_handler"]  # the clerk who sent it is responsible now

    # Tracking (public, by number and token): what is expected, every step.
    token_path = noticed["tracking_url"].split("/permits/track/", 1)[1]
    public = client.get(f"/api/v1/permits/tracking/{token_path}")
    assert public.status_code == 200
    tracked = public.get_json()
    assert [e["name"] for e in tracked["expected"]] == [n["name"] for n in needed[1:]]
    assert [s["kind"] for s in tracked["steps"]] == ["received", "material", "first_handled", "correction"]
    assert "applicant" not in tracked
    number = token_path.split("/")[0]
    assert client.get(f"/api/v1/permits/tracking/{number}/wrong-token").status_code == 404

    for n in needed[1:]:
        assert _upload(applicant, app_id, n["material_id"]).status_code == 201
    resp = applicant.post(f"/api/v1/permits/applications/{app_id}/resubmit")
    assert resp.status_code == 200 and resp.get_json()["status"] == "resubmitted"

    # A second notice is refused without a supervisor's override.
    resp = desk.post(
        f"/api/v1/permits/applications/{app_id}/decision",
        {"decision": "correct", "defective": [{"material_id": first, "reason": "不清晰"}]},
    )
    assert resp.status_code == 409 and resp.headers["Content-Type"].startswith(PROBLEM)
    resp = desk.post(
        f"/api/v1/permits/applications/{app_id}/decision",
        {"decision": "correct", "defective": [{"material_id": first, "reason": "不清晰"}], "override_reason": "x"},
    )
    assert resp.status_code == 403

    resp = desk.post(f"/api/v1/permits/applications/{app_id}/decision", {"decision": "accept"})
    assert resp.status_code == 200, resp.get_json()
    done = resp.get_json()
    assert done["status"] == "accepted" and done["case_number"] == "2026-0001" and done["holder"] == "department"
    assert done["accepted_on"] == "2026-03-02" and done["statutory_due"] == "2026-03-06"
    assert applicant.post(f"/api/v1/permits/applications/{app_id}/decision", {"decision": "accept"}).status_code == 403


def test_bad_input_is_a_problem_and_stores_nothing(desk_app: Flask, client: Any) -> None:
    applicant = _token_user(desk_app, client, ["bidder"])
    bad_uscc = enterprise()
    bad_uscc["code"] = bad_uscc["code"][:17] + ("0" if bad_uscc["code"][17] != "0" else "1")
    cases = [
        _body(answers=answers(registered_capital="lots")),
        _body(answers={**answers(), "extra": 1}),
        _body(applicant=bad_uscc),
        _body(applicant={**enterprise(), "kind": "robot"}),
        _body(item_code="NO-SUCH"),
        {**_body(), "unexpected": True},
        {"item_code": ITEM},
    ]
    for body in cases:
        resp = applicant.post("/api/v1/permits/applications", body)
        assert 400 <= resp.status_code < 500, (body, resp.status_code)
        assert resp.headers["Content-Type"].startswith(PROBLEM)
    assert _count(desk_app, Application) == 0

    made = applicant.post("/api/v1/permits/applications", _body()).get_json()
    material = made["needed"][0]["material_id"]
    desk_app.config["PERMITS_MAX_MATERIAL_SIZE"] = 1024
    for data, kind in [
        (PDF + b"x" * 2048, "application/pdf"),
        (b"GIF89a" + b"\x00" * 20, "image/gif"),
        (b"GIF89a" + b"\x00" * 20, "image/png"),
        (b"", "application/pdf"),
    ]:
        resp = _upload(applicant, made["id"], material, data, kind)
        assert 400 <= resp.status_code < 500 and resp.headers["Content-Type"].startswith(PROBLEM), resp.status_code
    assert _upload(applicant, made["id"], 999999).status_code == 422
    assert _count(desk_app, ReceivedMaterial) == 0


def test_the_operations_are_in_the_openapi_document(desk_app: Flask, client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/permits/applications",
        "/api/v1/permits/applications/{application_id}",
        "/api/v1/permits/applications/{application_id}/materials",
        "/api/v1/permits/applications/{application_id}/decision",
        "/api/v1/permits/applications/{application_id}/resubmit",
        "/api/v1/permits/tracking/{number}/{token}",
    ):
        assert path in doc["paths"], path
