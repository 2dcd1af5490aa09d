"""Open311 GeoReport v2, checked from the outside by a client written from the specification
(georeport_client.py), in JSON and in XML, against a live server: discovery, services, a service definition,
POST with an api_key, GET with its filters and limits, one request, tokens; errors in the spec's format and
nothing stored on bad input."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import compile_translations, make_user
from tests.browser.conftest import LiveServer, serve
from tests.convenience.interaction.georeport_client import GeoReport, GeoReportError

JURISDICTION = "handan.gov.cn"


@pytest.fixture
def server(tmp_path: Path, clock: Any) -> Iterator[tuple[LiveServer, str, str]]:
    """A live server with the calendar, one department and its routing rule; an intake token and a handler's."""
    compile_translations()
    with serve(tmp_path) as live:
        app = live.app
        operator, _ = make_user(app, "relay-app", ["hotline_operator"])
        handler, _ = make_user(app, "handler", ["department_handler"])
        with app.app_context():
            from app.accounts import services_tokens
            from app.accounts.models import User
            from app.convenience.interaction.models import InteractionCategory, InteractionRoutingRule
            from app.extensions import db
            from app.permits.calendar import services as calendar
            from app.permits.catalogue.models import Department

            calendar.seed(2026, 2026)
            env = Department(code="ENV", name="市生态环境局", name_en="Ecology and Environment Bureau")
            db.session.add(env)
            db.session.flush()
            category = db.session.query(InteractionCategory).filter_by(code="environment").one()
            db.session.add(InteractionRoutingRule(priority=1, category_id=category.id, department_id=env.id))
            scope = ["convenience.interaction.intake"]
            good = services_tokens.create_token(user=db.session.get(User, operator), name="app", scopes=scope)[1]
            bad = services_tokens.create_token(
                user=db.session.get(User, handler), name="x", scopes=["convenience.interaction.handle"]
            )[1]
            db.session.commit()
        yield live, good, bad


def _count() -> int:
    from sqlalchemy import func, select

    from app.convenience.interaction.models import InteractionRequest
    from app.extensions import db

    return int(db.session.scalar(select(func.count()).select_from(InteractionRequest)) or 0)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_v2_round_trip(server: tuple[LiveServer, str, str], fmt: str) -> None:
    live, key, _bad = server
    base = f"{live.url}/open311/v2"
    with urllib.request.urlopen(f"{base}/discovery.{fmt}") as resp:
        raw = resp.read()
    if fmt == "json":
        found = json.loads(raw)["endpoints"][0]
        assert found["url"] == base and "application/json" in found["formats"]
    else:
        assert b"<specification>http://wiki.open311.org/GeoReport_v2</specification>" in raw
    client = GeoReport(base, api_key=key, jurisdiction_id=JURISDICTION, fmt=fmt)
    codes = [s["service_code"] for s in client.services()]
    assert "environment" in codes and len(codes) == 10
    assert client.service_definition("environment")["service_code"] == "environment"

    made = client.post_request(
        service_code="environment",
        lat="36.61",
        long="114.49",
        description="河边有人倾倒垃圾",
        first_name="三",
        last_name="张",
        phone="13800138000",
    )
    ref, token = made[0]["service_request_id"], made[0]["token"]
    assert ref.startswith("HD") and made[0]["service_notice"].startswith("预计答复时间")
    one = client.request(ref)[0]
    assert one["status"] == "open" and one["service_code"] == "environment"
    assert one["agency_responsible"] == "市生态环境局" and one["status_notes"] == "已调度至承办部门"
    assert float(one["lat"]) == 36.61 and "description" not in one  # the citizen's words stay private
    assert client.token(token) == [{"service_request_id": ref, "token": token}]
    listed = client.requests(service_code="environment", status="open")
    assert [r["service_request_id"] for r in listed] == [ref]
    assert client.requests(status="closed") == []
    assert [r["service_request_id"] for r in client.requests(service_request_id=f"{ref},HD20260101-AAAAAA")] == [ref]
    done = client.post_request(service_code="other", address_string="丛台路1号", description="路灯不亮")
    assert len(client.requests()) == 2 and done[0]["service_request_id"] != ref


def test_georeport_v2_errors_store_nothing(server: tuple[LiveServer, str, str]) -> None:
    live, key, bad = server
    base = f"{live.url}/open311/v2"
    client = GeoReport(base, api_key=key)
    cases: list[tuple[GeoReport, dict[str, Any], int]] = [
        (GeoReport(base), {"service_code": "other", "address_string": "x", "description": "y"}, 400),  # no key
        (GeoReport(base, api_key="junk"), {"service_code": "other", "address_string": "x", "description": "y"}, 403),
        (GeoReport(base, api_key=bad), {"service_code": "other", "address_string": "x", "description": "y"}, 403),
        (client, {"service_code": "nope", "address_string": "x", "description": "y"}, 404),
        (client, {"service_code": "other", "description": "no location"}, 400),
        (client, {"service_code": "other", "lat": "north", "long": "1", "description": "y"}, 400),
        (client, {"service_code": "other", "lat": "95", "long": "1", "description": "y"}, 400),
        (client, {"service_code": "other", "address_string": "x", "description": ""}, 400),
        (client, {"service_code": "other", "address_string": "x", "description": "坏\x00"}, 400),
        (
            GeoReport(base, api_key=key, jurisdiction_id="elsewhere"),
            {"service_code": "other", "address_string": "x", "description": "y"},
            404,
        ),
    ]
    for who, fields, status in cases:
        with pytest.raises(GeoReportError) as caught:
            who.post_request(**fields)
        assert caught.value.status == status, (fields, caught.value.errors)
        assert caught.value.errors[0]["code"] in (status, str(status)) and caught.value.errors[0]["description"]
    xml = GeoReport(base, api_key="junk", fmt="xml")
    with pytest.raises(GeoReportError) as caught:
        xml.post_request(service_code="other", address_string="x", description="y")
    assert caught.value.status == 403 and caught.value.errors[0]["code"] == "403"
    for filters, status in (
        ({"start_date": "2026-01-01T00:00:00+08:00", "end_date": "2026-06-01T00:00:00+08:00"}, 400),  # > 90 days
        ({"start_date": "yesterday"}, 400),
        ({"status": "pending"}, 400),
    ):
        with pytest.raises(GeoReportError) as caught:
            client.requests(**filters)
        assert caught.value.status == status
    for call in (
        lambda: client.request("HD20260101-AAAAAA"),
        lambda: client.token("nope"),
        lambda: client.service_definition("nope"),
    ):
        with pytest.raises(GeoReportError) as caught:
            call()
        assert caught.value.status == 404
    with live.app.app_context():
        assert _count() == 0


def test_georeport_v2_window_and_row_limits(server: tuple[LiveServer, str, str], clock: Any) -> None:
    live, key, _bad = server
    base = f"{live.url}/open311/v2"
    client = GeoReport(base, api_key=key)
    clock.set(datetime(2026, 6, 1, 2, 0, tzinfo=UTC))
    old = client.post_request(service_code="other", address_string="x", description="半年前")[0]["service_request_id"]
    clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))
    new = client.post_request(service_code="other", address_string="x", description="今天")[0]["service_request_id"]
    assert [r["service_request_id"] for r in client.requests()] == [new]  # the default: the last 90 days
    june = client.requests(start_date="2026-05-20T00:00:00+08:00", end_date="2026-06-10T00:00:00+08:00")
    assert [r["service_request_id"] for r in june] == [old]
    import app.convenience.interaction.open311 as open311

    limit = open311.MAX_ROWS
    open311.MAX_ROWS = 1
    try:
        clock.advance(timedelta(minutes=1))
        newest = client.post_request(service_code="other", address_string="x", description="最新")[0]
        assert [r["service_request_id"] for r in client.requests()] == [newest["service_request_id"]]
    finally:
        open311.MAX_ROWS = limit
