"""The agency's committee pages in headless Chromium: from the tender page to the evaluation hub, the committee
defined through its form (an error shown first), the draw committed (its SHA-256 commitment shown) and performed
(the revealed seed checked against it, the seats filled with names withheld), with no CSP violation."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import make_user, next_totp
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
from tests.evaluation.helpers import build_pool, buyer_rep, opened_tender
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def committee_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    with serve(tmp_path, **TENDERING_CONFIG) as server:
        yield server


def test_committee_commit_and_perform_the_draw_in_the_browser(committee_server: LiveServer, clock: Any) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    app = committee_server.app
    world = build_world(app, bidders=3)
    tid = opened_tender(world, clock)["id"]
    build_pool(world, plain=8)
    rep = buyer_rep(world)
    _uid, secret = make_user(app, "agentdraw", ["agency"], totp=True, organisation_id=world.agency.org_id)
    assert secret is not None
    base = committee_server.url

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="en-US")
            csp = watch_csp(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
            submit_login(page, base, "agentdraw", f"/agency/tenders/{tid}")
            page.wait_for_url(f"{base}/login/totp")
            page.fill("#code", next_totp(secret))
            page.click("#submit")
            page.wait_for_url(f"{base}/agency/tenders/{tid}")

            page.click("#evaluation-link")
            page.wait_for_url(f"{base}/agency/tenders/{tid}/evaluation")
            page.click(f"#step-committee a[href='/agency/tenders/{tid}/evaluation/committee']")
            page.wait_for_selector("#committee-form")
            page.fill("#size", "6")  # even: refused by the service, shown in the error summary
            page.select_option("#groups-0-specialty", value="civil")
            page.fill("#groups-0-count", "2")
            page.check(f"#committee-form input[name=buyer_rep_ids][value='{rep.user_id}']")
            page.click("#save-committee")
            page.wait_for_selector(".govuk-error-summary")
            page.fill("#size", "5")
            if not page.is_checked(f"#committee-form input[name=buyer_rep_ids][value='{rep.user_id}']"):
                page.check(f"#committee-form input[name=buyer_rep_ids][value='{rep.user_id}']")
            page.click("#save-committee")
            page.wait_for_url(f"{base}/agency/tenders/{tid}/evaluation")
            page.click("#step-draw a")
            page.wait_for_selector("#commit-draw")
            page.click("#commit-draw")
            page.wait_for_selector("#commitment-1")
            commitment = page.locator("#commitment-1").inner_text().strip()
            assert len(commitment) == 64
            assert page.locator("#draw-1 time").count() >= 1

            page.click("#perform-draw")
            page.wait_for_selector("#seed-1")
            seed = page.locator("#seed-1").inner_text().strip()
            assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == commitment
            assert "matches the commitment" in page.locator("#check-1").inner_text()
            assert page.locator("#seats tr[data-seat]").count() == 5
            assert page.locator("#seats .app-name-withheld").count() == 5  # no names before publication (visibility.py)
            assert errors == []
            assert csp_violations(page) == [] and csp == []
        finally:
            browser.close()
