"""好差评 through the API and the pages: rate from the my-ticket and tracking pages, the rectification task with its
call-back and closing, the appeal and its decision, results and the CSV; bad input gets a 4xx and stores nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.accounts.helpers import login
from tests.convenience.rating.helpers import (
    actions,
    clerk,
    count,
    decided_application,
    people,
    served_ticket,
    waiting_ticket,
)
from tests.factories import user as make_user
from tests.html import parse

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
API = "/api/v1/convenience/ratings"


def _admin(app: Flask) -> Any:
    from tests.accounts.helpers import next_totp  # noqa: F401  (login uses it)

    admin_id, secret = make_user(app, "centerlead", roles=["admin"], display_name="中心主任")
    client = app.test_client()
    resp = login(client, "centerlead", totp_secret=secret)
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    return client, admin_id


def _csrf(client: Any) -> dict[str, str]:
    return {"X-CSRFToken": parse(client.get("/").data).csrf_token()}


def test_the_api_rates_once_and_refuses_bad_input_storing_nothing(rated_floor: Flask) -> None:
    from app.convenience.rating.models import Rating

    clerk_id = clerk(rated_floor)
    tracking = served_ticket(rated_floor, clerk_id)
    waiting = waiting_ticket(rated_floor)
    client = rated_floor.test_client()
    for body, status in (
        ({"kind": "ticket", "reference": tracking, "level": "meh"}, 422),
        ({"kind": "hotline", "reference": tracking, "level": "satisfied"}, 422),
        ({"kind": "ticket", "reference": tracking}, 422),
        ({"kind": "ticket", "reference": tracking, "level": "satisfied", "comment": "长" * 501}, 422),
        ({"kind": "ticket", "reference": tracking, "level": "satisfied", "comment": 5}, 422),
        ({"kind": "ticket", "reference": "nope-nope-nope-nope", "level": "satisfied"}, 404),
        ({"kind": "ticket", "reference": waiting, "level": "satisfied"}, 409),
        ({"kind": "application", "reference": "SQ-NOPE", "token": "x", "level": "satisfied"}, 404),
    ):
        resp = client.post(API, json=body)
        assert resp.status_code == status and resp.content_type == "application/problem+json", (body, resp.data)
    assert client.post(API, data="not json", content_type="application/json").status_code in (400, 422)
    assert count(rated_floor, Rating) == 0 and actions(rated_floor) == []
    resp = client.post(API, json={"kind": "ticket", "reference": tracking, "level": "basic", "comment": "还行"})
    assert resp.status_code == 201, resp.data
    body = resp.get_json()
    assert body["level"] == "basic" and body["window"] == "01" and body["rectification"] is None
    again = client.post(API, json={"kind": "ticket", "reference": tracking, "level": "very_satisfied"})
    assert again.status_code == 409 and again.content_type == "application/problem+json"
    assert count(rated_floor, Rating) == 1


def test_the_my_ticket_page_links_to_rating_after_service(rated_floor: Flask) -> None:
    from app.convenience.rating.models import Rating

    clerk_id = clerk(rated_floor)
    waiting = waiting_ticket(rated_floor)
    client = rated_floor.test_client()
    assert not parse(client.get(f"/convenience/tickets/{waiting}", headers=ZH).data).has("rate-prompt")
    tracking = served_ticket(rated_floor, clerk_id)  # serves the waiting ticket first
    tracking = waiting
    page = parse(client.get(f"/convenience/tickets/{tracking}", headers=ZH).data)
    href = page.by_id("rate-link").get("href")
    assert href == f"/convenience/ratings/ticket/{tracking}" and "评价本次服务" in page.by_id("rate-link").text
    form_page = parse(client.get(href, headers=ZH).data)
    assert (
        "您对本次服务满意吗" in form_page.by_id("rate-form").text and "非常不满意" in form_page.by_id("rate-form").text
    )
    fields = form_page.form("rate-form").fields()
    bad = client.post(href, data={**fields, "level": "great"}, headers=ZH)
    assert bad.status_code == 422 and count(rated_floor, Rating) == 0
    too_long = client.post(href, data={**fields, "level": "satisfied", "comment": "长" * 501}, headers=ZH)
    assert too_long.status_code == 422 and count(rated_floor, Rating) == 0
    done = client.post(href, data={**fields, "level": "very_dissatisfied", "comment": "态度差"}, headers=ZH)
    assert done.status_code == 303 and count(rated_floor, Rating) == 1
    after = parse(client.get(href, headers=ZH).data)
    assert "非常不满意" in after.by_id("rated").text and not after.has("rate-form")
    assert client.post(href, data={**fields, "level": "satisfied"}, headers=ZH).status_code == 409
    mine = parse(client.get(f"/convenience/tickets/{tracking}", headers=ZH).data)
    assert "您已评价本次服务：非常不满意" in mine.by_id("rate-prompt").text
    english = parse(client.get(href, headers=EN).data)
    assert "Very dissatisfied" in english.by_id("rated").text


def test_the_tracking_page_links_the_applicant_to_rating(rated_floor: Flask) -> None:
    from app.convenience.rating.models import Rating

    who = people(rated_floor)
    number, token, _ = decided_application(rated_floor, who["desk"], who["applicant"], accept=False)
    client = rated_floor.test_client()
    page = parse(client.get(f"/permits/track/{number}/{token}", headers=ZH).data)
    href = page.by_id("rate-link").get("href")
    assert href == f"/convenience/ratings/application/{number}/{token}"
    assert client.get(f"/convenience/ratings/application/{number}/wrongtoken", headers=ZH).status_code == 404
    fields = parse(client.get(href, headers=ZH).data).form("rate-form").fields()
    assert client.post(href, data={**fields, "level": "satisfied"}, headers=ZH).status_code == 303
    assert count(rated_floor, Rating) == 1
    api = client.post(API, json={"kind": "application", "reference": number, "token": token, "level": "basic"})
    assert api.status_code == 409


def test_rectification_appeal_and_results_through_pages_and_api(rated_floor: Flask) -> None:
    from app.convenience.rating.models import RectificationTask

    clerk_id = clerk(rated_floor)
    tracking = served_ticket(rated_floor, clerk_id)
    anon = rated_floor.test_client()
    rated = anon.post(API, json={"kind": "ticket", "reference": tracking, "level": "dissatisfied", "comment": "等太久"})
    task_id = rated.get_json()["rectification"]
    rating_id = rated.get_json()["id"]
    assert task_id is not None

    staff = rated_floor.test_client()
    login(staff, "clerk01")
    home = parse(staff.get("/", headers=ZH).data)
    assert f"/convenience/ratings/tasks/{task_id}" in home.links()
    listed = parse(staff.get("/convenience/ratings/tasks", headers=ZH).data)
    assert "不满意" in listed.by_id("tasks").text and "2026-12-14" in listed.by_id("tasks").text
    assert f"/convenience/ratings/tasks/{task_id}" in listed.by_id("tasks").links()
    page = parse(staff.get(f"/convenience/ratings/tasks/{task_id}", headers=ZH).data)
    assert "等太久" in page.by_id("task-facts").text and "Asia/Shanghai" in page.by_id("callback-form").text
    fields = page.form("callback-form").fields()
    bad = staff.post(f"/convenience/ratings/tasks/{task_id}/callbacks", data={**fields, "called_at": "yesterday-ish"})
    assert bad.status_code == 422
    future = staff.post(
        f"/convenience/ratings/tasks/{task_id}/callbacks",
        data={**fields, "called_at": "2026-12-08T10:00", "outcome": "reached"},
    )
    assert future.status_code == 422
    close_fields = page.form("close-form").fields()
    early = staff.post(
        f"/convenience/ratings/tasks/{task_id}/close", data={**close_fields, "action_taken": "已经整改到位"}
    )
    assert early.status_code == 409  # no call-back yet
    ok = staff.post(
        f"/convenience/ratings/tasks/{task_id}/callbacks",
        data={**fields, "called_at": "2026-12-07T09:00", "outcome": "reached", "note": "已致歉"},
    )
    assert ok.status_code == 303
    api_task = staff.get(f"{API}/tasks/{task_id}").get_json()
    assert api_task["callbacks"][0]["outcome"] == "reached" and api_task["due_on"] == "2026-12-14"
    bad_api = staff.post(
        f"{API}/tasks/{task_id}/callbacks", json={"called_at": "now", "outcome": "reached"}, headers=_csrf(staff)
    )
    assert bad_api.status_code == 422
    closed = staff.post(
        f"/convenience/ratings/tasks/{task_id}/close", data={**close_fields, "action_taken": "高峰期增开窗口"}
    )
    assert closed.status_code == 303
    assert count(rated_floor, RectificationTask, RectificationTask.status == "closed") == 1
    done = parse(staff.get(f"/convenience/ratings/tasks/{task_id}", headers=ZH).data)
    assert "高峰期增开窗口" in done.by_id("closed").text and "已联系上" in done.by_id("callbacks").text

    appeal_page = parse(staff.get(f"/convenience/ratings/{rating_id}/appeal", headers=ZH).data)
    appeal_fields = appeal_page.form("appeal-form").fields()
    assert (
        staff.post(f"/convenience/ratings/{rating_id}/appeal", data={**appeal_fields, "reasons": "短"}).status_code
        == 422
    )
    filed = staff.post(
        f"/convenience/ratings/{rating_id}/appeal", data={**appeal_fields, "reasons": "该群众当天未在本窗口办理业务"}
    )
    assert filed.status_code == 303
    assert (
        staff.post(
            f"{API}/{rating_id}/appeals", json={"reasons": "再次申诉：理由同上，请予复核"}, headers=_csrf(staff)
        ).status_code
        == 409
    )
    assert staff.get("/convenience/ratings/appeals").status_code == 403

    lead, _lead_id = _admin(rated_floor)
    appeals = lead.get(f"{API}/appeals").get_json()
    appeal_id = appeals[0]["id"]
    assert f"/convenience/ratings/appeals/{appeal_id}" in parse(lead.get("/convenience/ratings/appeals").data).links()
    assert f"/convenience/ratings/appeals/{appeal_id}" in parse(lead.get("/", headers=ZH).data).links()
    decide = parse(lead.get(f"/convenience/ratings/appeals/{appeal_id}", headers=ZH).data)
    decide_fields = decide.form("decision-form").fields()
    assert (
        lead.post(
            f"/convenience/ratings/appeals/{appeal_id}", data={**decide_fields, "decision": "maybe", "note": "x"}
        ).status_code
        == 422
    )
    upheld = lead.post(
        f"/convenience/ratings/appeals/{appeal_id}",
        data={**decide_fields, "decision": "uphold", "note": "经核查属误评"},
    )
    assert upheld.status_code == 303
    assert (
        lead.post(
            f"{API}/appeals/{appeal_id}/decision", json={"decision": "reject", "note": "改判"}, headers=_csrf(lead)
        ).status_code
        == 409
    )

    results = lead.get(f"{API}/results?start=2026-12-07&end=2026-12-07").get_json()
    assert results["overall"]["total"] == 0 and results["excluded"] == 1
    assert lead.get(f"{API}/results?start=2026-12-08&end=2026-12-07").status_code == 422
    assert lead.get(f"{API}/results?start=yesterday&end=2026-12-07").status_code == 422
    page = parse(lead.get("/convenience/ratings/results?start=2026-12-07&end=2026-12-07", headers=ZH).data)
    assert "1 条因申诉成立被剔除" in page.by_id("overall").text
    assert lead.get("/convenience/ratings/results?start=2026-13-01&end=2026-12-07", headers=ZH).status_code == 422
    csv = lead.get("/convenience/ratings/results.csv?start=2026-12-07&end=2026-12-07")
    assert (
        csv.status_code == 200
        and csv.content_type.startswith("text/csv")
        and "scope,key,name" in csv.get_data(as_text=True)
    )
    assert lead.get("/convenience/outbox?kind=rating_invitation", headers=ZH).status_code == 200  # the one outbox
    assert actions(rated_floor) == [
        "convenience.rating.submitted",
        "convenience.rating.rectification_opened",
        "convenience.rating.called_back",
        "convenience.rating.rectification_closed",
        "convenience.rating.appeal_filed",
        "convenience.rating.appeal_upheld",
    ]


def test_the_operations_are_in_the_openapi_document(rated_floor: Flask) -> None:
    doc = rated_floor.test_client().get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    for path in (
        API,
        f"{API}/tasks",
        f"{API}/tasks/{{task_id}}/callbacks",
        f"{API}/appeals/{{appeal_id}}/decision",
        f"{API}/results",
    ):
        assert path in paths, path
    assert "409" in paths[API]["post"]["responses"]
