"""Replay in headless Chromium: an auditor signs in, plays a recorded session, clicks an evidence-log event
on the timeline, and the video jumps to that instant (within a second)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pyotp
import pytest

from tests.accounts.helpers import PASSWORD, make_user
from tests.browser.conftest import ARGS as BROWSER_ARGS
from tests.browser.conftest import CHROMIUM, LiveServer, csp_violations, require_chromium, watch_csp

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "app" / "static" / "dist" / "replay.js"
ARGS = [*BROWSER_ARGS, "--autoplay-policy=no-user-gesture-required"]


def _ensure_bundle() -> None:
    """The replay bundle (hls.js as window.Hls) is built by `npm run build`; build it when it is missing."""
    if BUNDLE.is_file():
        return
    result = subprocess.run(
        ["npm", "run", "build"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if not BUNDLE.is_file():
        # The page then falls back to the browser's own HLS; the test below fails if there is none.
        print(f"npm run build did not produce {BUNDLE}: {result.stdout[-500:]} {result.stderr[-500:]}")


@pytest.mark.browser
@pytest.mark.slow
def test_auditor_plays_and_an_event_seeks_the_video(live_server: LiveServer) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    from tests.recordings.conftest import create_room, record

    _ensure_bundle()
    app = live_server.app
    _uid, secret = make_user(app, "browser-auditor", ["auditor"], totp=True)
    assert secret is not None
    create_room(app)
    recorded = record(app, seconds=9.0, events_at=(2.0, 6.0))
    sid = recorded.session_id
    with app.app_context():
        from app.recordings import replay, services

        first_us = replay.media_spans(services.get_session(sid))[0].wall_start_us
    target_index, target_at = recorded.events[1]
    expected = target_at - first_us / 1e6
    assert 1.5 < expected < 8.0

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="en-US")
            csp = watch_csp(context)  # hls.js (MSE blob: media) plays under the platform's CSP
            page = context.new_page()
            page.goto(live_server.url + "/login")
            page.fill("#username", "browser-auditor")
            page.fill("#password", PASSWORD)
            page.click("#submit")
            page.wait_for_url("**/login/totp")
            page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # enrolment used the current step
            page.click("#submit")
            page.wait_for_url(live_server.url + "/")

            page.goto(f"{live_server.url}/recordings/sessions/{sid}")
            assert page.locator("#integrity").get_attribute("data-intact") == "true"
            kind = page.evaluate("window.replayPlayer && window.replayPlayer.kind")
            # with the bundle the page plays through hls.js; without it, through the browser's own HLS
            assert kind == ("hls.js" if BUNDLE.is_file() else "native"), kind
            page.wait_for_function("() => document.getElementById('player').readyState >= 2", timeout=30_000)
            page.evaluate("document.getElementById('player').play()")
            page.wait_for_function("() => document.getElementById('player').currentTime > 0.5", timeout=30_000)
            assert page.evaluate("document.getElementById('player').paused") is False

            marker = page.locator(f'.rec-marker[data-index="{target_index}"]')
            assert marker.count() == 1
            page.evaluate(
                """() => { const v = document.getElementById('player');
                           window.seekedTo = null;
                           v.addEventListener('seeked', () => { window.seekedTo = v.currentTime; }, {once: true}); }"""
            )
            marker.click()
            page.wait_for_function("() => window.seekedTo !== null", timeout=30_000)
            landed = page.evaluate("window.seekedTo")
            assert abs(landed - expected) < 1.0, (landed, expected)
            # and it keeps playing from there, showing the instant under the playhead
            page.wait_for_function(
                f"() => document.getElementById('player').currentTime > {landed + 0.3}", timeout=30_000
            )
            assert page.locator("#wall-clock").inner_text() != "–"
            assert page.locator(f'#events tr[data-index="{target_index}"]').get_attribute("class") == "current"
            # the timeline is placed by the script (no inline styles)
            assert page.locator(".rec-seg").first.evaluate("el => el.style.width") not in ("", "0%")
            assert csp_violations(page) == [] and csp == []
        finally:
            browser.close()
