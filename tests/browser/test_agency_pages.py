"""The agency's pages in headless Chromium: sign in with TOTP, draft (an error shown in the form first),
upload the tender document, confirm and publish; the public page then shows the tender with its opening key."""

from __future__ import annotations

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
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world

pytestmark = pytest.mark.browser


@pytest.fixture
def tender_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    with serve(tmp_path, **TENDERING_CONFIG) as server:
        yield server


def test_draft_upload_and_publish_in_the_browser(tender_server: LiveServer, clock: Any) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    app = tender_server.app
    world = build_world(app, bidders=0)
    _uid, secret = make_user(app, "agentweb", ["agency"], totp=True, organisation_id=world.agency.org_id)
    assert secret is not None
    base = tender_server.url

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="en-US")
            csp = watch_csp(context)  # the agency's pages (the schema editor included) run under the CSP
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            submit_login(page, base, "agentweb", "/agency/tenders")
            page.wait_for_url(f"{base}/login/totp")
            page.fill("#code", next_totp(secret))
            page.click("#submit")
            page.wait_for_url(f"{base}/agency/tenders")
            assert page.locator("nav a[href='/agency/tenders']").count() == 1

            page.click("a[href='/agency/tenders/new']")
            page.wait_for_url(f"{base}/agency/tenders/new")
            page.fill("#title", "城区道路照明设备采购")
            page.select_option("#buyer_id", value=str(world.buyer_id))
            page.fill("#category", "goods")
            page.fill("#budget", "880000.50")
            page.fill("#submission_deadline_at", "2026-02-10T09:00")
            page.fill("#opening_at", "2026-02-10T08:00")  # before the deadline: refused, shown by the field
            page.click("#submit")
            page.wait_for_selector("#opening_at-error")
            assert "before the deadline" in page.locator("#opening_at-error").inner_text()
            assert page.input_value("#title") == "城区道路照明设备采购"  # the rest of the input is kept
            # the bid form's fields are rows of controls; "Add a field" brings one more row (a submit, no script)
            assert page.locator("#bid_fields > li").count() == 3
            page.click("#add_field")
            page.wait_for_selector("#bid_fields-3-key")
            assert page.input_value("#title") == "城区道路照明设备采购"
            page.fill("#bid_fields-3-key", "warranty_months")
            page.fill("#bid_fields-3-label", "质保期（月）")
            page.select_option("#bid_fields-3-type", value="integer")
            page.check("#bid_fields-3-required")
            page.fill("#bid_fields-3-low", "12")
            page.fill("#opening_at", "2026-02-10T09:30")
            page.press("#bid_fields-3-low", "Enter")  # Enter saves the draft (it removes no row)
            page.wait_for_selector("#tender-status[data-status=draft]")
            assert "2026-02-10 09:00:00 (Asia/Shanghai, UTC+08:00)" in page.locator("#tender-facts").inner_text()

            with app.app_context():
                from sqlalchemy import select

                from app.extensions import db
                from app.tendering.models import Tender

                schema = db.session.scalars(select(Tender)).one().bid_form_schema
            assert schema["properties"]["warranty_months"] == {
                "type": "integer",
                "title": "质保期（月）",
                "minimum": 12,
            }
            assert "warranty_months" in schema["required"] and schema["title"] == "开标一览表"
            assert schema["properties"]["currency"] == {"type": "string", "enum": ["CNY"], "title": "币种"}

            page.set_input_files(
                "#document", files=[{"name": "招标文件.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 x"}]
            )
            page.click("#document-form [type=submit]")
            page.wait_for_selector("text=招标文件.pdf")

            page.click("a[href$='/publish']")
            page.wait_for_selector("#publish-checks")
            assert page.locator("#publish-checks li[data-ok=yes]").count() == 3
            assert "城区道路照明设备采购" in page.locator("#frozen-terms").inner_text()
            page.click("#publish-form [type=submit]")
            page.wait_for_selector("#tender-status[data-status=published]")
            recipient = page.locator("#recipient").inner_text()
            assert recipient.startswith("age1")
            page.click("text=Public page")
            page.wait_for_selector("#recipient")
            assert page.locator("#recipient").inner_text() == recipient
            assert errors == []
            assert csp_violations(page) == [] and csp == []
        finally:
            browser.close()


def test_the_tender_form_fits_a_phone(tender_server: LiveServer, clock: Any) -> None:
    """At 375 px the rows of the criteria and bid-form editors stack: nothing scrolls sideways, with errors too."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    app = tender_server.app
    world = build_world(app, bidders=0)
    _uid, secret = make_user(app, "agentphone", ["agency"], totp=True, organisation_id=world.agency.org_id)
    assert secret is not None
    base = tender_server.url
    fits = "() => document.documentElement.scrollWidth <= 375"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
            page = context.new_page()
            submit_login(page, base, "agentphone", "/agency/tenders/new")
            page.wait_for_url(f"{base}/login/totp")
            page.fill("#code", next_totp(secret))
            page.click("#submit")
            page.wait_for_url(f"{base}/agency/tenders/new")
            assert page.evaluate(fits), page.evaluate("document.documentElement.scrollWidth")
            # the controls of a row are stacked: the key above the label, both the row's full width
            key = page.locator("#bid_fields-0-key").bounding_box()
            label = page.locator("#bid_fields-0-label").bounding_box()
            assert key and label and label["y"] > key["y"] + key["height"] and key["width"] > 200
            page.click("#add_criterion")
            page.wait_for_selector("#criteria-3-name")
            page.fill("#title", "城区道路照明设备采购")
            page.select_option("#buyer_id", value=str(world.buyer_id))
            page.fill("#category", "goods")
            page.fill("#submission_deadline_at", "2026-02-10T09:00")
            page.fill("#opening_at", "2026-02-10T09:30")
            page.fill("#criteria-0-weight", "50")  # the weights no longer add up to 100
            page.fill("#bid_fields-0-low", "1.234")
            page.click("#submit")
            page.wait_for_selector("#bid_fields-0-low-error")
            assert page.evaluate(fits), page.evaluate("document.documentElement.scrollWidth")
        finally:
            browser.close()
