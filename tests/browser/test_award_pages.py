"""The agency's report → publicity → award pages in headless Chromium, under the CSP: the signed report leads to
the publicity form (confirmed in a dialog), the window shows; once it has ended the award is confirmed and its
notice shown. The evaluation up to the signed report is built through the API on the live server's app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
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
from tests.evaluation.test_pages_award import drawn_up
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def award_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    with serve(tmp_path, **TENDERING_CONFIG) as server:
        yield server


def sign_in(page: Any, base: str, username: str, secret: str, path: str) -> None:
    submit_login(page, base, username, path)
    page.wait_for_url(f"{base}/login/totp")
    page.fill("#code", next_totp(secret))
    page.click("#submit")
    page.wait_for_url(f"{base}{path}")


def test_report_publicity_and_award_in_the_browser(award_server: LiveServer, clock: Any) -> None:
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    app = award_server.app
    world = build_world(app, bidders=2)
    tid, _members, bids, sha = drawn_up(world, clock)
    _uid, secret = make_user(app, "agentaward", ["agency"], totp=True, organisation_id=world.agency.org_id)
    assert secret is not None
    base = award_server.url
    ev = f"/agency/tenders/{tid}/evaluation"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="en-US")
            csp = watch_csp(context)
            page = context.new_page()
            errors: list[str] = []
            dialogs: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            def accept(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.accept()

            page.on("dialog", accept)
            sign_in(page, base, "agentaward", secret, f"{ev}/report")
            expect(page.locator("#report-sha256")).to_have_text(sha)
            expect(page.locator("#report-status")).to_have_attribute("data-status", "final")
            assert page.locator("#signatures tr[data-signed='yes']").count() == 5
            assert page.locator("#report-pdf").get_attribute("href") == f"{ev}/report.pdf"

            page.click("#to-publicity")
            page.wait_for_url(f"{base}{ev}/publicity")
            page.click("#publish-form button[type=submit], #publish-form input[type=submit]")
            expect(page.locator("#publicity-window")).to_have_attribute("data-state", "open")
            assert any("names become public" in d for d in dialogs)
            assert page.locator("#no-objections").count() == 1

            # the window ends (three days); the session has expired meanwhile: sign in again
            clock.advance(timedelta(days=3, seconds=1))
            page.context.clear_cookies()
            sign_in(page, base, "agentaward", secret, f"{ev}/award")
            # unconfirmed: the page answers with its error summary
            page.click("#award-form button[type=submit], #award-form input[type=submit]")
            expect(page.locator(".govuk-error-summary")).to_be_visible()
            page.check("#confirm")
            page.click("#award-form button[type=submit], #award-form input[type=submit]")
            expect(page.locator("#award-notice")).to_have_attribute("data-winner", bids[0])
            expect(page.locator("#winner")).to_contain_text("投标人1建设有限公司")
            assert page.locator("#notices tr[data-notice='result']").count() == 1
            assert any("closes the tender" in d for d in dialogs)
            assert csp_violations(page) == [] and csp == [] and errors == []
        finally:
            browser.close()
