"""The chair draws up the evaluation report from the room page with a plain form post (app/evaluation/report/views.py),
with the test client: the form shows to the chair of the aggregated last room only; the report is drawn up with
the number of candidates given (or the configured one) and the member is taken to it; a bad number, a second
draw-up or a room not yet aggregated come back to the room as a message and write nothing; anybody else is
refused (and the refusal logged); the form reads in Chinese."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.helpers import compile_translations, csrf_from
from tests.evaluation.helpers import browser
from tests.evaluation.test_pages import scoring_room
from tests.evaluation.test_pages_award import EN, ZH, agency_browser, aggregated, count
from tests.evaluation.test_zh_pages import english_words, user_data, visible_text
from tests.html import parse
from tests.tendering.helpers import World

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def _draw_up(client: Any, tid: int, recommended: str | None = None) -> Any:
    token = csrf_from(client.get("/evaluation/").data)
    data = {"csrf_token": token}
    if recommended is not None:
        data["recommended"] = recommended
    return client.post(f"/evaluation/tenders/{tid}/report/draw-up", data=data, headers=EN)


def _report(world: World, tid: int) -> dict[str, Any] | None:
    from sqlalchemy import select

    from app.evaluation.models import EvaluationReport
    from app.extensions import db

    with world.app.app_context():
        row = db.session.scalar(select(EvaluationReport).where(EvaluationReport.tender_id == tid))
        out = None if row is None else dict(row.document)
        db.session.remove()
        return out


def test_the_chair_draws_up_the_report_from_the_room_page(world, clock) -> None:
    tid, members, bids = aggregated(world, clock)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    chair = browser(world, members[1].user_id)
    page = parse(chair.get(room_url, headers=EN).get_data(as_text=True))
    assert page.has("draw-up-form") and page.by_id("recommended").get("value") == "3"
    assert page.by_id("draw-up-form").get("action") == f"/evaluation/tenders/{tid}/report/draw-up"
    assert page.by_id("draw-up-form").get("data-confirm")  # asked before it is sent (app.js, no inline handler)
    assert not page.has("report-link")  # no report yet: no link to a page that would answer 404
    mine = parse(browser(world, members[2].user_id).get("/evaluation/", headers=EN).get_data(as_text=True))
    assert not mine.has(f"report-link-{tid}")

    other = parse(browser(world, members[2].user_id).get(room_url, headers=EN).get_data(as_text=True))
    assert not other.has("draw-up-form")  # only the chair sees it

    resp = _draw_up(chair, tid, "2")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/evaluation/tenders/{tid}/report")
    report_page = chair.get(f"/evaluation/tenders/{tid}/report", headers=EN).get_data(as_text=True)
    assert "The evaluation report is drawn up" in report_page
    assert parse(report_page).has("sign-form")
    doc = _report(world, tid)
    assert doc is not None and [c["bid_id"] for c in doc["recommended"]] == bids
    assert count(world.app, "evaluation.report.drawn_up") == 1

    page = parse(chair.get(room_url, headers=EN).get_data(as_text=True))
    assert not page.has("draw-up-form") and page.has("report-link")
    # every member finds the report to sign: from the room and from "My evaluations"
    member = browser(world, members[2].user_id)
    assert parse(member.get(room_url, headers=EN).get_data(as_text=True)).by_id("report-link").get("href") == (
        f"/evaluation/tenders/{tid}/report"
    )
    mine = parse(member.get("/evaluation/", headers=EN).get_data(as_text=True))
    assert mine.by_id(f"report-link-{tid}").get("href") == f"/evaluation/tenders/{tid}/report"

    # a second time: refused as a conflict, shown back in the room, nothing more written
    again = _draw_up(chair, tid, "1")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"{room_url}#chair")
    assert "already drawn up" in chair.get(room_url, headers=EN).get_data(as_text=True)
    assert count(world.app, "evaluation.report.drawn_up") == 1


def test_the_configured_number_of_candidates_when_left_empty(world, clock) -> None:
    tid, members, bids = aggregated(world, clock)
    chair = browser(world, members[1].user_id)
    assert _draw_up(chair, tid, "").status_code == 303
    doc = _report(world, tid)
    assert doc is not None and len(doc["recommended"]) == len(bids) == 2  # 3 configured, two bids ranked


def test_a_bad_number_comes_back_to_the_room_and_writes_nothing(world, clock) -> None:
    tid, members, _bids = aggregated(world, clock)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    chair = browser(world, members[1].user_id)
    for bad in ("0", "11", "two", "-1", "２"):
        resp = _draw_up(chair, tid, bad)
        assert resp.status_code == 303 and resp.headers["Location"].endswith(f"{room_url}#chair"), bad
        assert "1 to 10 candidates" in chair.get(room_url, headers=EN).get_data(as_text=True), bad
    assert _report(world, tid) is None
    assert count(world.app, "evaluation.report.drawn_up") == 0


def test_before_the_aggregation_the_room_says_so(world, clock) -> None:
    tid, members, _pool, _bids = scoring_room(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)
    room_url = f"/evaluation/tenders/{tid}/rooms/1"
    chair = browser(world, members[1].user_id)
    assert not parse(chair.get(room_url, headers=EN).get_data(as_text=True)).has("draw-up-form")
    resp = _draw_up(chair, tid)
    assert resp.status_code == 303
    assert "not aggregated yet" in chair.get(room_url, headers=EN).get_data(as_text=True)
    assert _report(world, tid) is None


def test_anybody_but_the_chair_is_refused(world, clock) -> None:
    tid, members, _bids = aggregated(world, clock)
    before = count(world.app, "access.denied")
    assert _draw_up(browser(world, members[2].user_id), tid, "2").status_code == 403  # a member, not the chair
    assert _draw_up(browser(world, members[3].user_id), tid, "two").status_code == 403  # a bad number: still refused
    assert _draw_up(agency_browser(world), tid, "2").status_code == 403  # the agency does not draw it up
    assert _report(world, tid) is None
    assert count(world.app, "access.denied") == before + 3


def test_the_form_reads_in_chinese(world, clock) -> None:
    compile_translations()
    tid, members, _bids = aggregated(world, clock)
    html = browser(world, members[1].user_id).get(f"/evaluation/tenders/{tid}/rooms/1", headers=ZH)
    text = html.get_data(as_text=True)
    start = text.index('id="draw-up-form"')
    form = text[text.rindex("<form", 0, start) : text.index("</form>", start)]
    assert "推荐中标候选人数量" in form and "编制评标报告" in form and "根据汇总结果生成评标报告" in form
    assert english_words(visible_text(form), user_data(world.app)) == set()
