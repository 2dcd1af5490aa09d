"""The evaluation room in headless Chromium: an expert signs in, opens the room, scores two bids, is refused an
outlier without a written reason (the refusal shown next to the criterion), and submits with one.

The world is built through the API on the live server's app (a tender opened with two bids, a committee of five
drawn and declared, the room opened, the review closed); the other four members have submitted their sheets, so
the expert's 20 points for the technical criterion of the first bid lie far from their mean (37.25).
Along the way: the sums are computed in the page, a draft typed while the line is down is kept and saved when it
comes back, a refresh loses nothing, and the room's status follows the submissions live (server-sent events).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    ARGS,
    CHROMIUM,
    LiveServer,
    csp_violations,
    require_chromium,
    serve,
    submit_login,
    watch_csp,
)
from tests.evaluation.helpers import put_json, seat_everyone, seated, user_field
from tests.evaluation.test_pages import (
    COMM,
    CONF,
    DUR,
    GAP,
    QUAL,
    TECH,
    adjusted_room,
    drawn_committee,
    scoring_room,
)
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world

pytestmark = pytest.mark.browser

OTHERS = [  # (technical, commercial) for bid A and bid B, by the four other members
    (("40", "12"), ("30", "10")),
    (("38", "12"), ("31", "10")),
    (("36", "12"), ("32", "10")),
    (("35", "12"), ("33", "10")),
]


@pytest.fixture
def room_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    with serve(tmp_path, **TENDERING_CONFIG, EVALUATION_SSE_MAX_SECONDS=5) as server:
        yield server


def sheet_status(app: Any, tid: int, seat: int) -> dict[str, str]:
    """The seat's score sheets by the public id of their bid, with their status."""
    from sqlalchemy import select

    from app.evaluation.models import Committee, CommitteeMember, ScoreSheet
    from app.extensions import db
    from app.tendering.models import Bid

    with app.app_context():
        member = db.session.scalar(
            select(CommitteeMember)
            .join(Committee, Committee.id == CommitteeMember.committee_id)
            .where(Committee.tender_id == tid, CommitteeMember.seat == seat)
        )
        rows = db.session.scalars(select(ScoreSheet).where(ScoreSheet.member_id == member.id))
        out = {db.session.get(Bid, s.bid_id).public_id: s.status.value for s in rows}
        db.session.remove()
        return out


def enter_room(page: Any, url: str, world: Any, user_id: int, tid: int) -> list[str]:
    """Sign the member in through the form and land in the stage-1 room; returns the page's script errors (live)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    submit_login(page, url, user_field(world, user_id, "username"), f"/evaluation/tenders/{tid}/rooms/1")
    page.wait_for_url(f"{url}/evaluation/tenders/{tid}/rooms/1")
    return errors


def test_an_expert_scores_two_bids_and_justifies_an_outlier(room_server: LiveServer, clock: Any) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    app = room_server.app
    world = build_world(app, bidders=2)
    tid, members, _pool, bids = scoring_room(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)
    bid_a, bid_b = bids
    base = f"/api/v1/tenders/{tid}/rooms/1"
    seats = seated(world, tid)
    me_seat = next(s["seat"] for s in seats if s["kind"] == "expert")  # the buyer representative signs in with TOTP
    others = [s["seat"] for s in seats if s["seat"] != me_seat]
    for seat, scores in zip(others, OTHERS, strict=True):
        for bid, (tech, comm) in zip(bids, scores, strict=True):
            resp = put_json(members[seat], f"{base}/sheets/{bid}", {"items": {TECH: tech, COMM: comm}})
            assert resp.status_code == 200, resp.json
            assert members[seat].api.post(f"{base}/sheets/{bid}/submit").status_code == 200
    me = members[me_seat]
    url = room_server.url

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="en-US")
            csp = watch_csp(context)  # the room (live updates, document viewer) runs under the CSP
            page = context.new_page()
            errors = enter_room(page, url, world, me.user_id, tid)
            expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=15_000)
            expect(page.locator(f'#progress tr[data-seat="{others[0]}"] [data-col="sheets"]')).to_have_text("2 / 2")

            # a document of the first bid opens in the page (and the access is logged)
            expect(page.locator("#doc-viewer-box")).to_be_hidden()
            page.locator(f'tr[data-bid="{bid_a}"] a[data-view]').first.click()
            expect(page.locator("#doc-viewer-box")).to_be_visible()
            expect(page.frame_locator("#doc-viewer").locator("body")).to_contain_text("方案 1000000")

            sheet_a = page.locator(f'[data-sheet][data-bid="{bid_a}"]')
            sheet_b = page.locator(f'[data-sheet][data-bid="{bid_b}"]')
            # out of range: caught in the page, next to the criterion
            sheet_a.locator(f'input[data-criterion="{TECH}"]').fill("46")
            expect(sheet_a.locator(f'[data-error-for="{TECH}"]')).to_contain_text("0 to 45")
            # the outlier: 20 technical points, 12 commercial; the total is computed (20 + 12 + 40 price)
            sheet_a.locator(f'input[data-criterion="{TECH}"]').fill("20")
            sheet_a.locator(f'input[data-criterion="{COMM}"]').fill("12")
            expect(sheet_a.locator("output[data-total]")).to_have_text("72.00")
            expect(sheet_a.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=15_000)

            sheet_a.locator("[data-submit-sheet]").click()
            refusal = sheet_a.locator(f'[data-error-for="{TECH}"]')
            expect(refusal).to_contain_text("give a written reason", timeout=15_000)
            expect(sheet_a.locator(f'textarea[data-reason-for="{TECH}"]')).to_have_attribute("aria-invalid", "true")
            assert sheet_status(app, tid, me_seat) == {bid_a: "draft"}

            # a refresh loses nothing
            page.reload()
            expect(sheet_a.locator(f'input[data-criterion="{TECH}"]')).to_have_value("20.00")
            expect(sheet_a.locator(f'input[data-criterion="{COMM}"]')).to_have_value("12.00")
            expect(sheet_a.locator("output[data-total]")).to_have_text("72.00")

            # with the reason, the sheet is accepted and locked; the total is the server's
            sheet_a.locator(f'textarea[data-reason-for="{TECH}"]').fill("施工组织设计缺少安全专项方案")
            expect(sheet_a.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=15_000)
            sheet_a.locator("[data-submit-sheet]").click()
            expect(sheet_a).to_have_attribute("data-status", "submitted", timeout=15_000)
            expect(sheet_a.locator(f'input[data-criterion="{TECH}"]')).to_be_disabled()
            expect(sheet_a.locator("output[data-total]")).to_have_text("72.00")

            # the second bid, typed while the line is down: kept in the browser, saved when it comes back
            context.set_offline(True)
            sheet_b.locator(f'input[data-criterion="{TECH}"]').fill("32.5")
            sheet_b.locator(f'input[data-criterion="{COMM}"]').fill("10")
            expect(sheet_b.locator("[data-save-state]")).to_have_attribute("data-state", "offline", timeout=15_000)
            expect(sheet_b.locator("output[data-total]")).to_have_text("74.50")  # 32.5 + 10 + 32.00 price
            context.set_offline(False)
            expect(sheet_b.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=30_000)
            sheet_b.locator("[data-submit-sheet]").click()
            expect(sheet_b).to_have_attribute("data-status", "submitted", timeout=15_000)
            assert sheet_status(app, tid, me_seat) == {bid_a: "submitted", bid_b: "submitted"}

            # the room's status follows without a reload: this seat has submitted both sheets
            expect(page.locator(f'#progress tr[data-seat="{me_seat}"] [data-col="sheets"]')).to_have_text(
                "2 / 2", timeout=20_000
            )
            expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=20_000)
            assert errors == []
            assert csp_violations(page) == [] and csp == []
        finally:
            browser.close()

    with app.app_context():
        from sqlalchemy import select

        from app.evaluation.models import ScoreSheet
        from app.extensions import db
        from app.tendering.models import Bid

        internal = db.session.scalar(select(Bid.id).where(Bid.public_id == bid_a))
        sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.bid_id == internal, ScoreSheet.total == "72.00"))
        assert sheet is not None and sheet.reasons == {TECH: "施工组织设计缺少安全专项方案"}
        db.session.remove()


def test_the_chair_reviews_in_the_page_and_closes_the_review(room_server: LiveServer, clock: Any) -> None:
    """The review: a fail needs its reason (said in the page), drafts are saved, the chair closes, scoring opens."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    app = room_server.app
    world = build_world(app, bidders=2)
    tid, pool, rep = drawn_committee(world, clock, prices=(1_000_000, 1_250_000), min_bids=2)
    members = seat_everyone(world, tid, pool, rep)
    me_seat = next(s["seat"] for s in seated(world, tid) if s["kind"] == "expert")
    opened = world.agency.api.post(f"/api/v1/tenders/{tid}/rooms", json_body={"stage": 1, "chair_seat": me_seat})
    assert opened.status_code == 201, opened.json
    bid_a, bid_b = opened.json["bid_ids"]
    base = f"/api/v1/tenders/{tid}/rooms/1"
    for seat, party in members.items():
        if seat == me_seat:
            continue
        verdicts = [{"bid_id": b, "requirement": r, "passed": True} for b in (bid_a, bid_b) for r in (QUAL, CONF)]
        assert put_json(party, f"{base}/review", {"verdicts": verdicts}).status_code == 200
        assert party.api.post(f"{base}/review/submit").status_code == 200
    url = room_server.url

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="en-US").new_page()
            errors = enter_room(page, url, world, members[me_seat].user_id, tid)
            review = page.locator("#review")
            for row in review.locator("tr[data-verdict]").all():
                row.locator("input[value=pass]").check()
            fail_row = review.locator(f'tr[data-verdict][data-bid="{bid_b}"][data-requirement="{QUAL}"]')
            fail_row.locator("input[value=fail]").check()
            expect(review.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=15_000)
            review.locator("[data-submit-review]").click()
            expect(review.locator("[data-sheet-error]")).to_contain_text("a reason for every fail")
            fail_row.locator("input[data-reason]").fill("资质证书过期")
            expect(review.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=15_000)
            review.locator("[data-submit-review]").click()
            expect(review.locator("[data-save-state]")).to_have_attribute("data-state", "submitted", timeout=15_000)
            row = page.locator(f'#progress tr[data-seat="{me_seat}"] [data-col="review"]')
            expect(row).to_have_text("submitted", timeout=20_000)

            # the chair closes the review: the majority passes both bids, the page moves on to the score sheets
            page.locator('[data-chair-step="close-review"]').click()
            expect(page.locator("#phase")).to_have_attribute("data-phase", "scoring", timeout=15_000)
            expect(page.locator("[data-sheet]")).to_have_count(2)
            assert errors == []
        finally:
            browser.close()


def test_price_adjustments_compute_the_evaluated_price_in_the_page(room_server: LiveServer, clock: Any) -> None:
    """Lowest evaluated price: the member records adjustments; the page shows price + adjustments, as the server."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    app = room_server.app
    world = build_world(app, bidders=2)
    tid, members, _pool, bids = adjusted_room(world, clock)
    me_seat = next(s["seat"] for s in seated(world, tid) if s["kind"] == "expert")
    url = room_server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(locale="en-US").new_page()
            errors = enter_room(page, url, world, members[me_seat].user_id, tid)
            sheet = page.locator(f'[data-sheet][data-bid="{bids[1]}"]')  # price 1 100 000 fen
            sheet.locator(f'input[data-criterion="{DUR}"]').fill("-5.5")
            expect(sheet.locator(f'[data-error-for="{DUR}"]')).to_contain_text("-5 to 10")
            sheet.locator(f'input[data-criterion="{DUR}"]').fill("9.55")  # + 105 050 fen
            # an amount is typed in 元 (two decimals, thousands commas allowed) and sent to the API in 分
            sheet.locator(f'input[data-criterion="{GAP}"]').fill("30.035")
            expect(sheet.locator(f'[data-error-for="{GAP}"]')).to_contain_text("2 decimal")
            sheet.locator(f'input[data-criterion="{GAP}"]').fill("2,000.01")
            expect(sheet.locator(f'[data-error-for="{GAP}"]')).to_contain_text("0.00 to 2,000.00")
            sheet.locator(f'input[data-criterion="{GAP}"]').fill("30.03")
            expect(sheet.locator(f'[data-error-for="{GAP}"]')).to_have_text("")
            expect(sheet.locator("output[data-total]")).to_have_text("CNY 12,080.53")  # 1 100 000 + 105 050 + 3 003
            expect(sheet.locator("[data-save-state]")).to_have_attribute("data-state", "saved", timeout=15_000)
            sheet.locator("[data-submit-sheet]").click()
            expect(sheet).to_have_attribute("data-status", "submitted", timeout=15_000)
            expect(sheet.locator("output[data-total]")).to_have_text("CNY 12,080.53")  # the server's total
            assert errors == []
            page.reload()  # the recorded amount (3003 分) is shown in 元 again
            expect(sheet.locator(f'input[data-criterion="{GAP}"]')).to_have_value("30.03")
        finally:
            browser.close()
