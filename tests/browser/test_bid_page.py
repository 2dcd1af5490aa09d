"""The bid page in headless Chromium: what the page seals is what opens at the opening.

A bidder signs in, fills the bid form generated from the tender's schema, attaches a file, seals and uploads
in the page and gets the signed receipt. The test then moves the platform's FakeClock past the opening, runs
the opening sweep and checks the opened bid holds exactly the typed form values and the file's bytes.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

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
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world, create_published
from tests.tendering.test_opening import run_sweep

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "app" / "static" / "dist"
FILE_NAME = "技术方案.pdf"
FILE_BYTES = "%PDF-1.7 技术方案 — 施工组织设计\n".encode() + bytes(range(256)) * 300  # > one 64 KiB age chunk


@pytest.fixture(scope="module")
def seal_bundle() -> Path:
    if not (DIST / "seal.js").exists():
        if not shutil.which("npm"):
            pytest.fail("app/static/dist/seal.js is missing and npm is not installed: run `make assets`")
        done = subprocess.run(
            ["npm", "run", "build"], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0 or not (DIST / "seal.js").exists():
            pytest.fail(f"npm run build failed:\n{done.stdout}\n{done.stderr}")
    return DIST / "seal.js"


@pytest.fixture
def tender_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    """A live server with the tendering rules of the tests (no 20-day minimum) on the FakeClock."""
    with serve(tmp_path, **TENDERING_CONFIG) as server:
        yield server


def test_what_the_page_seals_opens_at_the_opening(tender_server: LiveServer, clock: Any, seal_bundle: Path) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    app = tender_server.app
    world = build_world(app, bidders=1)
    tender = create_published(world, min_bids=1)
    tid = tender["id"]
    base = tender_server.url

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN", accept_downloads=True)
            csp = watch_csp(context)  # the page (sealing included) runs under the platform's CSP, unviolated
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            submit_login(page, base, "bidder1", f"/tenders/{tid}/bid")
            page.wait_for_url(f"{base}/tenders/{tid}/bid")
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            # the countdown runs from the server's (fake) clock: one hour before the deadline
            page.wait_for_function("() => document.getElementById('deadline-countdown').dataset.state === 'running'")
            assert page.locator("#deadline-countdown").inner_text().startswith(("01:00:0", "00:59:5"))

            # the price is typed in 元 (at most two decimals); a wrong value is caught in the page before sealing
            for wrong in ("12.345", "1,23", "12元", "-5"):
                page.fill("[data-field=price]", wrong)
                page.click("#seal-submit")
                assert page.locator("[data-error-for=price]").inner_text() != "", wrong
                assert page.locator("#bid-error").is_visible()

            # 1,234,567.89 元 is sealed as 123456789 分, its capital amount shown under the field as it is typed
            page.fill("[data-field=price]", "1,234,567.89")
            assert page.locator("[data-capital-for=price]").inner_text() == "大写：壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"
            page.select_option("[data-field=currency]", value='"CNY"')
            page.fill("[data-field=duration_days]", "180")
            page.set_input_files(
                "input[data-envelope=bid]",
                files=[{"name": FILE_NAME, "mimeType": "application/pdf", "buffer": FILE_BYTES}],
            )
            page.click("#seal-submit")
            page.wait_for_selector("#receipt:not([hidden])", timeout=60_000)
            assert page.locator("#receipt-check").get_attribute("class") == "ok"
            summary = page.locator("#receipt-summary").inner_text()  # the time in the center's zone, named
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(Asia/Shanghai\)", summary), summary
            assert page.locator("progress[data-kind=seal]").evaluate("el => el.value") == 100
            assert page.locator("progress[data-kind=upload]").evaluate("el => el.value") == 100
            shown = json.loads(page.locator("#receipt-json").inner_text())
            with page.expect_download() as info:
                page.click("#receipt-download")
            downloaded = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
            assert downloaded == shown
            assert csp_violations(page) == [] and csp == []

            # a replacement still sealing when the deadline passes is refused with a clear message
            page.goto(f"{base}/tenders/{tid}/bid")
            page.fill("[data-field=price]", "9.99")
            page.select_option("[data-field=currency]", value='"CNY"')
            page.fill("[data-field=duration_days]", "30")
            clock.advance(timedelta(hours=2))  # the server's clock passes the deadline and the opening time
            page.click("#seal-submit")
            page.wait_for_selector("#bid-error:not([hidden])", timeout=60_000)
            assert "已过投标截止时间" in page.locator("#bid-error").inner_text()  # the page speaks Chinese here
            assert page.locator("#receipt").is_hidden()
            assert errors == []
            assert csp_violations(page) == [] and csp == []
        finally:
            browser.close()

    # the platform's own copy of the receipt is the one the page showed
    own = world.bidders[0].api.get(f"/api/v1/tenders/{tid}/bid").json
    assert own["versions"][-1]["receipt"] == shown

    # the plaintext never reached the platform before the opening
    from tests.tendering.helpers import database_bytes, storage_bytes

    before = database_bytes(app) + storage_bytes(app)
    assert FILE_BYTES[:40] not in before and b"123456789" not in before
    assert own["versions"][-1]["kind"] == "submission" and len(own["versions"]) == 1  # the late one is no bid

    assert run_sweep(app) == {"started": 1, "records": 1}

    from app.core.storage import OPENED_BIDS, get_storage
    from app.extensions import db
    from app.tendering.models import BidEnvelope, EnvelopeOutcome

    with app.app_context():
        env = db.session.scalars(select(BidEnvelope)).one()
        assert env.outcome is EnvelopeOutcome.OPENED, env.failure_cause
        assert env.sha256 == shown["payload"]["envelopes"][0]["sha256"]
        assert env.form == {"price": 123456789, "currency": "CNY", "duration_days": 180}
        with get_storage().open(OPENED_BIDS, env.plaintext_key) as fh:
            archive = fh.read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        member = tar.extractfile(f"files/{FILE_NAME}")
        assert member is not None and member.read() == FILE_BYTES
        form_json = tar.extractfile("form.json")
        assert form_json is not None
        assert json.loads(form_json.read()) == {"price": 123456789, "currency": "CNY", "duration_days": 180}
