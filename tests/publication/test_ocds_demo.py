"""The demo tenders of `make run` publish their releases by themselves (the seeding runs the tendering services);
every package the API serves — releases, records (ocdsmerge), one record, each month's bulk file — validates against
the official schemas kept in the repository and passes libcoveocds' data review with no error."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.publication.ocds.schemas_ocds import errors
from tests.publication import cove

# What libcoveocds reports besides errors (none): fields OCDS does not define, listed in the README.
ADDITIONAL_FIELDS = {"links", "since", "next", "sha256"}


def seed(app: Flask) -> None:
    from app.core.reference import seed_demo_data
    from app.extensions import db

    with app.app_context():
        seed_demo_data()
        db.session.commit()


def check(package: dict[str, Any], kind: str, tmp_path: Any, monkeypatch: Any) -> None:
    assert errors(kind, package) == []
    context = cove.review(package, tmp_path, monkeypatch)
    assert context["validation_errors"] == []
    assert context["extensions"]["invalid_extension"] == {}
    assert context["additional_closed_codelist_values"] == {}
    assert context["additional_checks"] == {}
    extra = {f["field_name"] for f in context["all_additional_fields"]}
    assert extra <= ADDITIONAL_FIELDS, extra


def test_demo_tenders_publish_valid_releases_records_and_bulk_files(app: Flask, tmp_path, monkeypatch) -> None:
    from app.demo import TITLE_AWARDED, TITLE_BIDDING, TITLE_OPENED

    seed(app)
    client = app.test_client()
    package = client.get("/api/v1/ocds/releases?limit=1000").get_json()
    check(package, "release-package", tmp_path, monkeypatch)
    by_title: dict[str, list[dict[str, Any]]] = {}
    for release in package["releases"]:
        by_title.setdefault(release["tender"]["title"], []).append(release)

    bidding = by_title[TITLE_BIDDING]
    assert [r["tag"] for r in bidding] == [["tender"]] and "bids" not in bidding[0]
    opened = by_title[TITLE_OPENED]
    assert [r["tag"] for r in opened] == [["tender"], ["tenderUpdate"]]
    assert len(opened[-1]["bids"]["details"]) == 3 and opened[-1]["tender"]["numberOfTenderers"] == 3
    awarded = by_title[TITLE_AWARDED]
    assert [r["tag"] for r in awarded] == [["tender"], ["tenderUpdate"], ["award"], ["award"]]
    assert [a["status"] for a in awarded[2]["awards"]] == ["pending"]
    assert [a["status"] for a in awarded[3]["awards"]] == ["active"]
    assert awarded[3]["tender"]["status"] == "complete"
    winner = awarded[3]["awards"][0]
    [bid] = [b for b in awarded[3]["bids"]["details"] if b["id"] == winner["relatedBid"]]
    assert bid["tenderers"] == winner["suppliers"] and bid["value"] == winner["value"]

    records = client.get("/api/v1/ocds/records?limit=1000").get_json()
    check(records, "record-package", tmp_path, monkeypatch)
    assert len(records["records"]) == 3
    record = next(r for r in records["records"] if r["ocid"] == awarded[0]["ocid"])
    compiled = record["compiledRelease"]
    assert compiled["tag"] == ["compiled"] and compiled["awards"][0]["status"] == "active"
    assert compiled["tender"]["status"] == "complete" and compiled["id"].startswith(awarded[0]["ocid"])
    one = client.get(f"/api/v1/ocds/records/{awarded[0]['ocid']}").get_json()
    assert errors("record-package", one) == [] and one["records"] == [record]

    months = client.get("/api/v1/ocds/bulk").get_json()
    assert sum(m["releases"] for m in months) == len(package["releases"])
    seen = []
    for month in months:
        resp = client.get(f"/api/v1/ocds/bulk/{month['month']}.json")
        assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
        bulk = resp.get_json()
        assert errors("release-package", bulk) == []
        assert all(r["date"].startswith(month["month"]) for r in bulk["releases"])
        seen += bulk["releases"]
    assert sorted(r["id"] for r in seen) == sorted(r["id"] for r in package["releases"])
    check(bulk, "release-package", tmp_path, monkeypatch)


def test_a_winner_who_declines_is_an_award_cancellation(app: Flask, tmp_path, monkeypatch) -> None:
    from sqlalchemy import select

    from app.accounts.models import User
    from app.demo import TITLE_AWARDED
    from app.evaluation.report import services as services_report
    from app.extensions import db
    from app.tendering.models import Tender

    seed(app)
    with app.app_context():
        tender = db.session.scalars(select(Tender).where(Tender.title == TITLE_AWARDED)).one()
        agency = db.session.scalars(select(User).where(User.username == "agency")).one()
        services_report.reassign_award(actor=agency, tender=tender, reason="第一中标候选人放弃中标")
        db.session.commit()
        ocid = f"ocds-xxxxxx-{tender.id}"
    package = app.test_client().get(f"/api/v1/ocds/records/{ocid}").get_json()
    check(package, "record-package", tmp_path, monkeypatch)
    [record] = package["records"]
    last = record["releases"][-1]
    assert last["tag"] == ["award", "awardCancellation"]
    assert [a["status"] for a in last["awards"]] == ["cancelled", "active"]
    first, second = last["awards"]
    assert first["relatedBid"] != second["relatedBid"]
    assert {a["id"]: a["status"] for a in record["compiledRelease"]["awards"]} == {
        first["id"]: "cancelled",
        second["id"]: "active",
    }
