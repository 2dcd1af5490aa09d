"""The UI shell in headless Chromium: sign in, switch language, create an API token and use it."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.accounts.helpers import PASSWORD, make_user
from tests.browser.conftest import ARGS, CHROMIUM, LiveServer, csp_violations, require_chromium, watch_csp


@pytest.mark.browser
def test_sign_in_switch_language_and_use_a_token(live_server: LiveServer) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    make_user(live_server.app, "browser-bidder", ["bidder"])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN")
            csp = watch_csp(context)
            page = context.new_page()
            page.goto(live_server.url + "/login")
            assert page.locator("h1").inner_text() == "登录"
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            page.fill("#username", "browser-bidder")
            page.fill("#password", PASSWORD)
            page.click("#submit")
            page.wait_for_url(live_server.url + "/")
            nav = page.get_by_role("navigation")
            assert nav.get_by_role("link", name="我的账户").count() == 1

            page.get_by_role("button", name="English").click()
            page.wait_for_load_state()
            assert nav.get_by_role("link", name="My account").count() == 1
            assert page.locator("html").get_attribute("lang") == "en"

            nav.get_by_role("link", name="My account").click()
            page.fill("#name", "browser test")
            page.check("input[name=scopes][value='accounts.self']")
            page.get_by_role("button", name="Create token").click()
            token = page.locator("#new-token").inner_text().strip()
            assert token.startswith("scp_")
            assert page.get_by_role("heading", name="browser test").count() == 1  # the token's card
            assert csp_violations(page) == [] and csp == []
            # the token page cannot be framed, not even by a page of the platform itself
            page.set_content(f'<iframe id="f" src="{live_server.url}/account"></iframe>')
            page.wait_for_timeout(1500)
            framed = page.frame_locator("#f").locator("#new-token, #name")
            assert framed.count() == 0
        finally:
            browser.close()

    request = urllib.request.Request(live_server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        body = json.load(resp)
    assert body["username"] == "browser-bidder" and body["auth_method"] == "token"
    assert body["token_scopes"] == ["accounts.self"]
