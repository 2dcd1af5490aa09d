"""The remote opening (不见面开标) in pages: headless Chromium, one browser context per person, under the CSP.

Two bidders watch the opening page before the opening time; the sweep then opens the tender (fake clock) and both
pages show each envelope opened and the record without a reload (Server-Sent Events); the first bidder raises an
objection, which appears on the second bidder's page; the host (the agency, signed in with TOTP) answers it in its
page, and the answer appears on both bidders' pages; each bidder confirms the record, re-entering its password; the
record page then names both as having confirmed. The Chinese page passes axe and fits a 375 px phone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import PASSWORD, make_user
from tests.browser.conftest import LiveServer, require_chromium, serve, submit_login
from tests.browser.test_axe_all_pages import NARROW, axe, overflow
from tests.browser.test_tendering_flow import Person
from tests.factories import published_tender, run_open_due, submitted_bid
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world

pytestmark = pytest.mark.browser

BUDGET_SECONDS = 90


@pytest.fixture
def remote_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    config = {**TENDERING_CONFIG, "TENDER_LIVE_STREAM_SECONDS": 20, "TENDER_LIVE_STREAM_POLL_SECONDS": 0.2}
    with serve(tmp_path, **config) as server:
        yield server


def test_two_bidders_watch_one_objects_the_host_answers_both_confirm(remote_server: LiveServer, clock: Any) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.conftest import ARGS, CHROMIUM

    started = time.monotonic()
    app = remote_server.app
    world = build_world(app, bidders=2)
    at = clock.now() + timedelta(seconds=5)
    tender = published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), min_bids=2)
    tid = tender["id"]
    for bidder, price in zip(world.bidders, (1_000_000, 1_250_000), strict=True):
        submitted_bid(world, bidder, tender, price=price)
    _uid, host_secret = make_user(app, "hostremote", ["agency"], totp=True, organisation_id=world.agency.org_id)
    assert host_secret is not None
    base = remote_server.url
    live = f"/tenders/{tid}/opening/live"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            b1, b2 = Person(browser, base, "bidder1"), Person(browser, base, "bidder2")
            for person in (b1, b2):
                person.sign_in(person.name, live)
                expect(person.page.locator("#not-started")).to_be_visible()
                expect(person.page.locator("#live-note")).to_have_attribute("data-state", "live")

            # --- the opening time comes; the sweep decrypts; both pages follow without a reload -----------------
            clock.advance(timedelta(seconds=10))
            run_open_due(app)
            for person in (b1, b2):
                p = person.page
                expect(p.locator('#progress-table [data-envelope][data-outcome="opened"]')).to_have_count(2)
                expect(p.locator("#record-1")).to_be_visible()
                expect(p.locator("#answers-1 li[data-verdict=none]")).to_have_count(2)
                assert p.url == f"{base}{live}"  # the same page, never reloaded

            # --- bidder1 objects; bidder2 sees it appear ----------------------------------------------------
            objection = "第二家投标人的报价未当场宣读，请核对。"
            b1.page.check("#kind-objection")
            b1.page.fill("#message-text", objection)
            b1.page.click("#raise-submit")
            expect(b1.page.locator("#live-messages [data-kind=objection]")).to_contain_text(objection)
            expect(b2.page.locator("#live-messages [data-kind=objection]")).to_contain_text(objection)
            expect(b2.page.locator("#live-messages [data-answered=no]")).to_have_count(1)

            # --- the host answers in its page; both bidders see the answer ---------------------------------
            host = Person(browser, base, "host")
            host.sign_in("hostremote", live, host_secret)
            answer = "已核对，第二家投标人报价为 12,500.00 元，已当场补充宣读。"
            host.page.locator("#live-messages textarea").fill(answer)
            host.page.locator("#live-messages button[type=submit]").click()
            expect(host.page.locator("#live-messages [data-answered=yes]")).to_contain_text(answer)
            for person in (b1, b2):
                expect(person.page.locator("#live-messages [data-answer]")).to_have_text(answer)

            # --- the Chinese page at phone width, with the answered objection and the form to answer the record:
            # axe-clean, nothing wider than the screen, and it still follows the opening ---------------------------
            zh = browser.new_context(locale="zh-CN", viewport={"width": NARROW, "height": 800}, bypass_csp=True)
            try:
                phone = zh.new_page()
                submit_login(phone, base, "bidder2", live)
                phone.wait_for_url(f"{base}{live}")
                expect(phone.locator("#answer-form-1")).to_be_visible()
                expect(phone.locator("#live-messages [data-answer]")).to_have_text(answer)
                assert axe(phone) == [] and overflow(phone) is None
                phone.close()
            finally:
                zh.close()

            # --- both bidders confirm the record, re-entering their password -------------------------------
            for person in (b1, b2):
                p = person.page
                p.check("#verdict-confirm-1")
                p.fill("#password-1", PASSWORD)
                p.click("#answer-submit-1")
                expect(p.locator("#my-answer-1")).to_be_visible()
            for person in (b1, b2):
                expect(person.page.locator("#answers-1 li[data-verdict=confirmed]")).to_have_count(2)
            b1.goto(f"/tenders/{tid}/opening")
            expect(b1.page.locator("[data-answers='1'] li[data-verdict=confirmed]")).to_have_count(2)

            for person in (b1, b2, host):
                person.check()
        finally:
            browser.close()
    assert time.monotonic() - started < BUDGET_SECONDS


def test_the_room_plays_live_in_the_page_and_its_latency_is_measured(remote_server: LiveServer, clock: Any) -> None:
    """The recorder films the room on the embedded default (4-second segments, synthetic camera stamped with the
    wall clock); a bidder's page plays the live playlist; glass-to-glass latency is read as the wall clock minus the
    capture instant of the frame on screen (hls.js `playingDate`, from EXT-X-PROGRAM-DATE-TIME)."""
    require_chromium()
    import statistics
    import threading

    from playwright.sync_api import expect, sync_playwright

    from app.extensions import db
    from app.recordings import services
    from app.recordings.recorder import Options, RoomRecorder
    from tests.browser.conftest import ARGS, CHROMIUM
    from tests.recordings.conftest import create_room

    app = remote_server.app
    world = build_world(app, bidders=1)
    at = clock.now() + timedelta(seconds=5)
    tender = published_tender(world, submission_deadline_at=at.isoformat(), opening_at=at.isoformat(), min_bids=1)
    tid = tender["id"]
    submitted_bid(world, world.bidders[0], tender)
    create_room(app)
    with app.app_context():
        services.request_start("room-a", actor="test", subject=f"tender:{tid}")
        db.session.commit()
    recorder = RoomRecorder(app, Options(room="room-a", preset="ultrafast", subject=f"tender:{tid}"), echo=print)
    assert recorder.opts.segment_seconds == 4.0  # the embedded default
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    samples: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # the bidder is on the page before the filming starts: the video shows up when an event says so
            person = Person(browser, remote_server.url, "bidder1")
            person.sign_in("bidder1", f"/tenders/{tid}/opening/live")
            p = person.page
            expect(p.locator("#live-note")).to_have_attribute("data-state", "live")
            expect(p.locator("#live-video")).to_be_hidden()
            thread.start()
            expect(p.locator("#live-video")).to_be_visible(timeout=30_000)
            p.wait_for_function(
                "() => { const v = document.getElementById('room-video');"
                " return v && v.currentTime > 0 && v.hls && v.hls.playingDate; }",
                timeout=40_000,
            )
            for _ in range(10):
                lag = p.evaluate("() => Date.now() - document.getElementById('room-video').hls.playingDate")
                samples.append(float(lag) / 1000)
                p.wait_for_timeout(500)
            person.check()
        finally:
            browser.close()
            stop.set()
            if thread.is_alive():
                thread.join(60)
    print(
        f"\nlive room glass-to-glass: median {statistics.median(samples):.1f} s, "
        f"min {min(samples):.1f} s, max {max(samples):.1f} s ({len(samples)} samples, 4 s segments)"
    )
    assert statistics.median(samples) < 10.0
