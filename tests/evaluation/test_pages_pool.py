"""The expert pool's admin pages (Flask test client): the list with filters and pages, enrolling an expert,
editing the profile, the status with its reason, a declared relationship, the specialty list."""

from __future__ import annotations

from typing import Any

import pytest

from app.evaluation.pool import views as pool_views
from tests.accounts.helpers import csrf_from, make_user
from tests.evaluation.helpers import build_pool, enrol
from tests.evaluation.pagetools import EN, page, signed_in
from tests.tendering.helpers import World, audit_actions

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def _admin(world: World) -> Any:
    return signed_in(world, "pool-admin", ["admin"])


def _token(client: Any, url: str) -> str:
    return csrf_from(client.get(url, headers=EN).get_data(as_text=True))


def _expert(world: World, expert_id: int) -> dict[str, Any]:
    assert world.admin is not None
    resp = world.admin.api.get(f"/api/v1/evaluation/experts/{expert_id}")
    assert resp.status_code == 200
    return dict(resp.json)


def test_the_list_filters_by_specialty_and_status_and_pages(world, monkeypatch) -> None:
    pool = build_pool(world, plain=6)
    admin = _admin(world)
    everyone = page(admin.get("/admin/experts", headers=EN))
    assert len(everyone.with_attr("data-expert")) == 11
    civil = page(admin.get("/admin/experts?specialty=electrical", headers=EN))
    assert len(civil.with_attr("data-expert")) == 3
    suspended = page(admin.get("/admin/experts?status=suspended", headers=EN))
    assert [r["data-expert"] for r in suspended.with_attr("data-expert")] == [str(pool.ids["suspended"])]
    assert suspended.with_attr("data-status", "suspended")

    monkeypatch.setattr(pool_views, "PAGE_SIZE", 4)
    first = page(admin.get("/admin/experts?specialty=civil", headers=EN))
    assert len(first.with_attr("data-expert")) == 4
    following = [a["href"] for a in first.classed("govuk-pagination__link")]
    assert following and "page=2" in following[0] and "specialty=civil" in following[0]
    last = page(admin.get("/admin/experts?specialty=civil&page=3", headers=EN))
    assert len(last.with_attr("data-expert")) == 4  # past the end: the last page
    ids = set()
    for n in (1, 2):
        ids |= {
            r["data-expert"]
            for r in page(admin.get(f"/admin/experts?specialty=civil&page={n}")).with_attr("data-expert")
        }
    assert len(ids) == 8  # 3 plain civil experts and the five of build_pool that must never be drawn


def test_an_expert_is_enrolled_through_the_form(world) -> None:
    admin = _admin(world)
    uid, _secret = make_user(world.app, "zhang-expert", ["expert"])
    url = "/admin/experts/new"
    form = page(admin.get(url, headers=EN))
    assert str(uid) in [a.get("value") for _t, a in form.tags if _t == "option"]
    resp = admin.post(
        url,
        data={
            "csrf_token": _token(admin, url),
            "user_id": str(uid),
            "employer_id": "0",
            "region": "邯郸",
            "specialties": ["civil", "cost"],
            "qualifications": "一级建造师\r\n高级工程师",
            "available": "y",
        },
        headers=EN,
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    expert_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    got = _expert(world, expert_id)
    assert (got["user_id"], got["specialties"], got["region"]) == (uid, ["civil", "cost"], "邯郸")
    assert got["qualifications"] == ["一级建造师", "高级工程师"] and got["employer_id"] is None
    assert any(a == "evaluation.expert.enrolled" for a, *_ in audit_actions(world.app))


def test_enrolling_without_a_specialty_shows_the_error_and_writes_nothing(world) -> None:
    admin = _admin(world)
    uid, _secret = make_user(world.app, "li-expert", ["expert"])
    url = "/admin/experts/new"
    resp = admin.post(url, data={"csrf_token": _token(admin, url), "user_id": str(uid), "employer_id": "0"})
    assert resp.status_code == 422 and page(resp).error_summary
    assert world.admin is not None
    assert world.admin.api.get("/api/v1/evaluation/experts").json == []
    bad = admin.post(url, data={"csrf_token": _token(admin, url), "user_id": "999", "specialties": "civil"})
    assert bad.status_code == 400 and page(bad).error_summary


def test_profile_status_and_relationship_are_changed_on_the_expert_page(world) -> None:
    expert_id, _party = enrol(world, "wang-expert", ["civil"])
    admin = _admin(world)
    url = f"/admin/experts/{expert_id}"
    shown = page(admin.get(url, headers=EN))
    assert shown.with_attr("id", "expert-status")[0]["data-status"] == "active"

    resp = admin.post(
        url,
        data={"csrf_token": _token(admin, url), "edit-employer_id": "0", "edit-region": "石家庄",
              "edit-specialties": ["electrical"], "edit-qualifications": "", "edit-available": "y"},
    )  # fmt: skip
    assert resp.status_code == 303, resp.get_data(as_text=True)
    assert _expert(world, expert_id)["specialties"] == ["electrical"]
    assert _expert(world, expert_id)["region"] == "石家庄"
    none = admin.post(url, data={"csrf_token": _token(admin, url), "edit-employer_id": "0", "edit-region": "x"})
    assert none.status_code == 422 and page(none).error_summary
    assert _expert(world, expert_id)["specialties"] == ["electrical"]

    status = f"{url}/status"
    no_reason = admin.post(status, data={"csrf_token": _token(admin, url), "status-status": "suspended"})
    assert no_reason.status_code == 422 and page(no_reason).error_summary
    assert _expert(world, expert_id)["status"] == "active"
    resp = admin.post(
        status,
        data={"csrf_token": _token(admin, url), "status-status": "suspended", "status-reason": "年度考核不合格"},
    )
    assert resp.status_code == 303
    got = _expert(world, expert_id)
    assert (got["status"], got["status_reason"]) == ("suspended", "年度考核不合格")

    rel = f"{url}/relationships"
    org = world.bidders[0].org_id
    resp = admin.post(
        rel, data={"csrf_token": _token(admin, url), "rel-organisation_id": str(org), "rel-note": "原单位"}
    )
    assert resp.status_code == 303
    assert [r["organisation_id"] for r in _expert(world, expert_id)["relationships"]] == [org]
    assert "原单位" in page(admin.get(url, headers=EN)).text("relationships")


def test_specialties_are_added_and_edited(world) -> None:
    admin = _admin(world)
    url = "/admin/specialties"
    listed = page(admin.get(url, headers=EN))
    assert listed.with_attr("data-code", "civil")
    data = {"csrf_token": _token(admin, url), "code": "water", "name_zh": "水利工程", "name_en": "Water works",
            "active": "y"}  # fmt: skip
    assert admin.post(url, data=data).status_code == 303
    edit = page(admin.get(f"{url}?edit=water", headers=EN))
    assert edit.with_attr("name", "code")[0]["value"] == "water"
    assert admin.post(url, data={**data, "name_zh": "水利水电工程", "active": ""}).status_code == 303
    row = page(admin.get(url, headers=EN)).with_attr("data-code", "water")[0]
    assert row["data-active"] == "false"
    bad = admin.post(url, data={**data, "code": "Bad Code"}, headers=EN)
    assert bad.status_code == 422 and page(bad).error_summary
    assert not page(admin.get(url)).with_attr("data-code", "Bad Code")


@pytest.mark.parametrize("role", ["agency", "bidder", "expert"])
def test_pool_pages_are_for_its_maintainers(world, role: str) -> None:
    expert_id, _party = enrol(world, "chen-expert", ["civil"])
    org = world.agency.org_id if role == "agency" else (world.bidders[0].org_id if role == "bidder" else None)
    client = signed_in(world, f"no-{role}", [role], org)
    for url in ("/admin/experts", "/admin/experts/new", f"/admin/experts/{expert_id}", "/admin/specialties"):
        assert client.get(url, headers=EN).status_code == 403, url
    token = _token(client, "/")
    resp = client.post(f"/admin/experts/{expert_id}/status", data={"csrf_token": token, "status-status": "blacklisted"})
    assert resp.status_code == 403
    assert _expert(world, expert_id)["status"] == "active"
