"""Issue 14 §1: every public tender event becomes an OCDS release in the event's own transaction; packages valid
against the official schemas (kept in the repository) with the bids extension; nothing sealed leaks."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from app.publication.ocds.schemas_ocds import errors
from tests import factories

PREFIX = "ocds-xxxxxx"


def releases(world: Any, since: int = 0, limit: int | None = None) -> dict[str, Any]:
    url = f"/api/v1/ocds/releases?since={since}" + (f"&limit={limit}" if limit else "")
    resp = world.anonymous.get(url)
    assert resp.status_code == 200, resp.json
    assert errors("release-package", resp.json) == []
    return dict(resp.json)


def of_tender(world: Any, tid: int) -> list[dict[str, Any]]:
    return [r for r in releases(world)["releases"] if r["ocid"] == f"{PREFIX}-{tid}"]


def test_publication_clarification_opening_and_failure_each_make_one_valid_release(world, clock) -> None:
    at = clock.now() + timedelta(hours=1)
    tender = factories.published_tender(
        world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), min_bids=3
    )
    tid = tender["id"]
    [published] = of_tender(world, tid)
    assert published["tag"] == ["tender"] and published["id"] == f"{PREFIX}-{tid}-" + published["id"].rsplit("-", 1)[1]
    assert published["tender"]["status"] == "active" and published["initiationType"] == "tender"
    assert published["tender"]["value"] == {"amount": 1_500_000, "currency": "CNY"}  # 150 000 000 分
    assert published["planning"]["budget"]["amount"] == {"amount": 1_500_000, "currency": "CNY"}
    buyer = next(p for p in published["parties"] if "buyer" in p["roles"])
    assert published["buyer"] == {"id": buyer["id"], "name": buyer["name"]}  # the test buyer has no USCC
    agency = next(p for p in published["parties"] if "procuringEntity" in p["roles"])
    assert agency["identifier"]["scheme"] == "CN-USCI" and len(agency["identifier"]["id"]) == 18
    assert agency["id"] == "CN-USCI-" + agency["identifier"]["id"]
    [doc] = published["tender"]["documents"]
    body = world.anonymous.get(doc["url"].removeprefix("https://ggzy.example.cn")).data
    assert doc["sha256"] == hashlib.sha256(body).hexdigest() and doc["description"] == f"SHA-256: {doc['sha256']}"
    assert doc["url"].startswith("https://ggzy.example.cn/api/v1/tenders/")
    assert "bids" not in published and "numberOfTenderers" not in published["tender"]

    resp = world.agency.api.post(f"/api/v1/tenders/{tid}/clarifications", {"text": "澄清：工期说明"})
    assert resp.status_code == 201, resp.json
    first, amended = of_tender(world, tid)
    assert first == published  # immutable
    assert amended["tag"] == ["tenderAmendment"]
    [amendment] = amended["tender"]["amendments"]
    assert amendment["description"] == "澄清：工期说明" and amendment["releaseID"] == amended["id"]
    assert amendment["amendsReleaseID"] == published["id"]

    factories.submitted_bid(world, world.bidders[0], tender, price=1_234_567)
    factories.submitted_bid(world, world.bidders[1], tender, price=1_100_000)
    assert len(of_tender(world, tid)) == 2  # bids publish nothing
    clock.set(clock.now() + timedelta(days=16))  # past the deadline the clarification pushed
    factories.run_open_due(world.app)
    *_, opened = of_tender(world, tid)
    assert opened["tag"] == ["tenderUpdate"] and opened["tender"]["status"] == "unsuccessful"  # 2 < 3: 流标
    assert opened["tender"]["numberOfTenderers"] == 2
    stats = {s["measure"]: s["value"] for s in opened["bids"]["statistics"]}
    assert stats["bids"] == 2 and stats["validBids"] == 2
    values = sorted(d["value"]["amount"] for d in opened["bids"]["details"])
    assert values == [11_000, 12_345.67]
    assert {d["status"] for d in opened["bids"]["details"]} == {"valid"}
    tenderers = {p["id"] for p in opened["parties"] if "tenderer" in p["roles"]}
    assert tenderers == {t["id"] for t in opened["tender"]["tenderers"]} and len(tenderers) == 2
    assert errors("release", opened) == []


def test_cancellation_is_a_tender_cancellation_and_drafts_publish_nothing(world, clock) -> None:
    tender = factories.published_tender(world)
    resp = world.agency.api.post(f"/api/v1/tenders/{tender['id']}/cancel", {"reason": "预算调整"})
    assert resp.status_code == 200, resp.json
    draft = world.agency.api.post("/api/v1/tenders", factories.tender_body(world, title="草稿")).json
    assert world.agency.api.post(f"/api/v1/tenders/{draft['id']}/cancel", {"reason": "不做了"}).status_code == 200
    rels = releases(world)["releases"]
    assert [r["tag"] for r in rels] == [["tender"], ["tenderCancellation"]]
    assert rels[1]["tender"]["status"] == "cancelled"


def test_cursor_pages_and_bad_input(world, clock) -> None:
    for _ in range(3):
        factories.published_tender(world)
    page1 = releases(world, limit=2)
    assert len(page1["releases"]) == 2 and page1["links"]["since"] == 2
    assert page1["links"]["next"].endswith("/api/v1/ocds/releases?since=2&limit=2")
    page2 = releases(world, since=page1["links"]["since"], limit=2)
    assert len(page2["releases"]) == 1 and page2["links"] == {"since": 3}
    assert releases(world, since=3)["releases"] == [] and releases(world, since=3)["links"] == {"since": 3}
    ids = [r["id"] for r in page1["releases"] + page2["releases"]]
    assert len(set(ids)) == 3
    for bad in ("since=-1", "since=abc", "since=1.5", "limit=0", "limit=5000", f"since={2**60}"):
        resp = world.anonymous.get(f"/api/v1/ocds/releases?{bad}")
        assert resp.status_code == 422 and resp.content_type == "application/problem+json", bad
    assert world.anonymous.get("/api/v1/ocds/bulk/2026-13.json").status_code == 422
    assert world.anonymous.get("/api/v1/ocds/bulk/26-01.json").status_code == 422
    assert world.anonymous.get("/api/v1/ocds/bulk/1999-01.json").status_code == 404
    assert world.anonymous.get("/api/v1/ocds/records/no such").status_code in (404, 422)
    assert world.anonymous.get(f"/api/v1/ocds/records/{PREFIX}-999999").status_code == 404


def test_a_release_commits_with_its_event_or_not_at_all_and_never_changes(world, clock) -> None:
    import pytest
    from sqlalchemy import func, select

    from app.accounts.models import User
    from app.extensions import db
    from app.publication.ocds.models import OcdsRelease, ReleaseImmutable
    from app.tendering import services_tenders
    from app.tendering.models import Tender

    tender = factories.published_tender(world)
    with world.app.app_context():
        agent = db.session.get(User, world.agency.user_id)
        row = db.session.get(Tender, tender["id"])
        services_tenders.clarify_tender(actor=agent, tender=row, text="不会提交的澄清")
        db.session.rollback()  # the event is rolled back: so is its release
        assert db.session.scalar(select(func.count()).select_from(OcdsRelease)) == 1
        release = db.session.scalars(select(OcdsRelease)).one()
        release.data = {**release.data, "tag": ["tenderUpdate"]}
        with pytest.raises(ReleaseImmutable):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(ReleaseImmutable):
            db.session.delete(db.session.scalars(select(OcdsRelease)).one())
            db.session.flush()
        db.session.rollback()
        assert db.session.scalars(select(OcdsRelease)).one().tags == ["tender"]


def test_the_ocid_prefix_is_configurable_and_checked(tmp_path) -> None:
    import pytest

    from app import create_app
    from app.config import test_config

    with pytest.raises(ValueError, match="OCDS_OCID_PREFIX"):
        create_app(test_config(tmp_path, OCDS_OCID_PREFIX="ZB-2026"))
    app = create_app(test_config(tmp_path, OCDS_OCID_PREFIX="ocds-hd1234"))
    with app.app_context():
        from app.publication.ocds.build import ocid_for

        assert ocid_for(42) == "ocds-hd1234-42"


def test_the_ocds_routes_are_public_in_the_openapi_document(world) -> None:
    doc = world.anonymous.get("/api/v1/openapi.json").json
    paths = {p: ops for p, ops in doc["paths"].items() if p.startswith("/api/v1/ocds")}
    assert set(paths) == {
        "/api/v1/ocds/releases",
        "/api/v1/ocds/records",
        "/api/v1/ocds/records/{ocid}",
        "/api/v1/ocds/bulk",
        "/api/v1/ocds/bulk/{month}.json",
    }
    for ops in paths.values():
        assert set(ops) - {"parameters"} == {"get"}
        assert ops["get"].get("security", []) == []  # no sign-in
    params = {p["name"] for p in paths["/api/v1/ocds/releases"]["get"]["parameters"]}
    assert params == {"since", "limit"}
    assert "422" in paths["/api/v1/ocds/releases"]["get"]["responses"]
