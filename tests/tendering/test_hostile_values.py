"""Hostile values in tendering input: extreme instants, integers that are not integers, LIKE wildcards in search.

Every one is a 4xx problem (or a form error) and stores nothing; search matches `%`, `_` and `\\` literally.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.core import time as clock_mod
from tests.accounts.helpers import csrf_from
from tests.tendering.helpers import World, audit_actions, create_published, draft_body, iso
from tests.tendering.test_agency_pages import _agency_client, _draft_form, _error_near, _html

# Valid ISO 8601 instants whose UTC value lies outside what datetime can hold (year 10000, year 0).
EXTREMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]
# Representable but absurd for a tender: refused as well, with the same message.
ABSURD = ["1999-12-31T23:59:59+00:00", "3000-01-01T00:00:00+00:00"]
OUT_OF_RANGE = "Enter a date and time between the years 2000 and 2999."
EN = {"Accept-Language": "en-US,en;q=0.9"}


def _count(world: World, model: Any) -> int:
    from app.extensions import db

    with world.app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _tender_row(world: World, tender_id: int) -> tuple[Any, Any, int]:
    from app.extensions import db
    from app.tendering.models import Tender

    with world.app.app_context():
        t = db.session.get(Tender, tender_id)
        return t.submission_deadline_at, t.opening_at, t.version


def _assert_problem(resp: Any, field: str) -> None:
    assert resp.status_code == 422, (resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/problem+json"
    errors = resp.json["errors"]
    errors = errors.get("json", errors)
    assert field in errors, resp.json


@pytest.mark.parametrize("value", EXTREMES + ABSURD)
@pytest.mark.parametrize("field", ["submission_deadline_at", "opening_at"])
def test_extreme_instants_on_create_are_422_and_store_nothing(world, clock, field, value) -> None:
    from app.tendering.models import Tender

    resp = world.agency.api.post("/api/v1/tenders", draft_body(world, **{field: value}))
    _assert_problem(resp, field)
    errors = resp.json["errors"].get("json", resp.json["errors"])
    assert OUT_OF_RANGE in errors[field]
    assert _count(world, Tender) == 0
    assert not [a for a in audit_actions(world.app) if a[0].startswith("tendering.tender.")]


@pytest.mark.parametrize("value", EXTREMES)
def test_extreme_instants_on_patch_and_clarify_are_422_and_change_nothing(world, clock, value) -> None:
    draft = world.agency.api.post("/api/v1/tenders", draft_body(world)).json
    before = _tender_row(world, draft["id"])
    for field in ("submission_deadline_at", "opening_at"):
        _assert_problem(world.agency.api.patch(f"/api/v1/tenders/{draft['id']}", {field: value}), field)
    assert _tender_row(world, draft["id"]) == before

    tender = create_published(world)
    before = _tender_row(world, tender["id"])
    entries = len(audit_actions(world.app))
    for field in ("submission_deadline_at", "opening_at"):
        resp = world.agency.api.post(f"/api/v1/tenders/{tender['id']}/clarifications", {"text": "x", field: value})
        _assert_problem(resp, field)
    assert _tender_row(world, tender["id"]) == before
    assert len(audit_actions(world.app)) == entries


def test_a_sane_instant_in_any_offset_is_stored_in_utc(world, clock) -> None:
    later = clock_mod.now_utc() + timedelta(days=30)
    body = draft_body(world, submission_deadline_at=later.astimezone(ZoneInfo("Pacific/Kiritimati")).isoformat())
    body["opening_at"] = iso(later)
    resp = world.agency.api.post("/api/v1/tenders", body)
    assert resp.status_code == 201, resp.json
    deadline, opening, _version = _tender_row(world, resp.json["id"])
    assert deadline == opening == later and deadline.utcoffset() == timedelta(0)


@pytest.mark.parametrize("local", ["0001-01-01T00:00", "9999-12-31T23:59", "1999-12-31T23:59"])
def test_extreme_local_times_in_the_agency_pages_are_form_errors(world, clock, local) -> None:
    from app.tendering.models import Tender

    client = _agency_client(world)
    for field in ("submission_deadline_at", "opening_at"):
        resp = client.post("/agency/tenders/new", data=_draft_form(client, world, **{field: local}), headers=EN)
        assert resp.status_code == 422, _html(resp)[:500]
        assert OUT_OF_RANGE in _error_near(_html(resp), field)
    assert _count(world, Tender) == 0

    tender = create_published(world)
    before = _tender_row(world, tender["id"])
    token = csrf_from(_html(client.get(f"/agency/tenders/{tender['id']}/clarify", headers=EN)))
    for field in ("submission_deadline_at", "opening_at"):
        resp = client.post(
            f"/agency/tenders/{tender['id']}/clarify",
            data={"csrf_token": token, "text": "澄清", field: local},
            headers=EN,
        )
        assert resp.status_code == 422, _html(resp)[:500]
        assert OUT_OF_RANGE in _error_near(_html(resp), field)
    assert _tender_row(world, tender["id"]) == before


def test_the_range_message_is_translated(world, clock) -> None:
    client = _agency_client(world)
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    resp = client.post(
        "/agency/tenders/new", data=_draft_form(client, world, opening_at="9999-12-31T23:59"), headers=zh
    )
    assert resp.status_code == 422
    assert "2000" in _error_near(_html(resp), "opening_at") and "年" in _error_near(_html(resp), "opening_at")


@pytest.mark.parametrize("size", ["10", 1.5, True, 10.0, None, "1e3", [10]])
def test_upload_size_must_be_a_json_integer(world, clock, size) -> None:
    from app.tendering.models import UploadSession as Upload

    tender = create_published(world)
    resp = world.bidders[0].api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": size})
    _assert_problem(resp, "size")
    assert _count(world, Upload) == 0
    ok = world.bidders[0].api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": 10})
    assert ok.status_code == 201, ok.json


@pytest.mark.parametrize("value", ["1.5", " 2", "2 ", "+2", "1e1", "true", "２", ""])
def test_query_string_integers_are_digits_only(world, clock, value) -> None:
    resp = world.anonymous.get("/api/v1/tenders", query_string={"page": value})
    assert resp.status_code == 422, resp.json
    assert resp.mimetype == "application/problem+json"
    assert world.anonymous.get("/api/v1/tenders", query_string={"page": "2"}).status_code == 200
    # the public page uses the same schema: a bad page number is a 400 page, not a 500
    assert world.client.get("/tenders", query_string={"page": value}).status_code in (200, 400, 422)


def test_search_matches_percent_underscore_and_backslash_literally(world, clock) -> None:
    titles = {
        "percent": "进度100%完成的改造工程",
        "underscore": "教学楼a_b改造工程",
        "backslash": "路径C:\\工程改造",
        "plain": "教学楼axb改造工程 100 完成",
    }
    ids = {key: create_published(world, title=title)["id"] for key, title in titles.items()}

    def search(q: str) -> set[int]:
        resp = world.anonymous.get("/api/v1/tenders", query_string={"q": q})
        assert resp.status_code == 200, resp.json
        return {t["id"] for t in resp.json["items"]}

    assert search("%") == {ids["percent"]}
    assert search("100%") == {ids["percent"]}
    assert search("_") == {ids["underscore"]}
    assert search("a_b") == {ids["underscore"]}
    assert search("\\") == {ids["backslash"]}
    assert search("C:\\") == {ids["backslash"]}
    assert search("%%") == set()
    assert search("改造") == set(ids.values())
    # the public page searches the same way
    page = world.client.get("/tenders", query_string={"q": "_"}).get_data(as_text=True)
    assert titles["underscore"] in page and titles["plain"] not in page
