"""A bid submitted by keyboard alone on a phone (375 px): sign in, fill the bid form, choose a file, seal and submit.

Only Tab, Shift+Tab, typing, arrow keys and Enter move and act; the one exception is the file chooser, whose
operating-system dialog cannot be driven in headless Chromium: the focused file input gets its file through
Playwright's set_input_files, as the dialog would have given it. The page must not scroll sideways at any step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import PASSWORD
from tests.browser.conftest import ARGS, CHROMIUM, LiveServer, csp_violations, require_chromium, serve, watch_csp
from tests.browser.test_bid_page import seal_bundle  # noqa: F401  (the fixture)
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import build_world, create_published

pytestmark = pytest.mark.browser

FOCUSED = "() => { const e = document.activeElement; return [e.id, e.dataset.field || '', e.type || '']; }"


@pytest.fixture
def tender_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    with serve(tmp_path, **TENDERING_CONFIG) as server:
        yield server


def tab_to(page: Any, element_id: str, limit: int = 120) -> None:
    """Press Tab until the element with `element_id` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} is never reached by Tab")


def fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 376, f"{page.url} is {width}px wide at 375px"


def test_a_bid_is_sealed_and_submitted_by_keyboard_on_a_phone(
    tender_server: LiveServer,
    clock: Any,
    seal_bundle: Path,  # noqa: F811
) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    world = build_world(tender_server.app, bidders=1)
    tid = create_published(world, min_bids=1)["id"]
    base = tender_server.url

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800}, has_touch=False)
            csp = watch_csp(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            page.goto(f"{base}/login?next=/tenders/{tid}/bid")
            tab_to(page, "username")
            page.keyboard.type("bidder1")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/tenders/{tid}/bid")
            page.wait_for_function("() => document.getElementById('deadline-countdown').dataset.state === 'running'")
            fits(page)

            # from the top of the page, Tab through everything up to the button; fill what the form asks on the way
            page.keyboard.press("Tab")  # the skip link
            assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
            filled: list[str] = []
            for _ in range(150):
                page.keyboard.press("Tab")
                element_id, name, kind = page.evaluate(FOCUSED)
                if name == "price" and "price" not in filled:
                    page.keyboard.type("1234567")
                elif name == "currency" and "currency" not in filled:
                    page.keyboard.press("ArrowDown")  # — then CNY
                    assert page.locator("[data-field=currency]").input_value() == '"CNY"'
                elif name == "duration_days" and "duration_days" not in filled:
                    page.keyboard.type("120")
                elif kind == "file" and "file" not in filled:
                    page.locator(":focus").set_input_files(
                        files=[{"name": "技术方案.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 plan"}]
                    )
                    name = "file"
                elif element_id == "seal-submit":
                    break
                else:
                    continue
                filled.append(name)
            else:
                raise AssertionError("the seal-and-submit button is never reached by Tab")
            assert filled == ["price", "currency", "duration_days", "file"], filled
            fits(page)

            page.keyboard.press("Enter")  # on the focused button: seal in the page, upload, receive the receipt
            page.wait_for_selector("#receipt:not([hidden])", timeout=60_000)
            assert page.locator("#receipt-check").get_attribute("class") == "ok"
            assert page.locator("#receipt").is_visible()
            fits(page)

            # the receipt's download button is reachable by keyboard too
            tab_to(page, "receipt-download")
            assert errors == [] and csp_violations(page) == [] and csp == []
        finally:
            browser.close()

    own = world.bidders[0].api.get(f"/api/v1/tenders/{tid}/bid").json
    assert own["versions"][-1]["kind"] == "submission"
