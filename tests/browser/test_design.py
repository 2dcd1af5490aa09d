"""The design system in headless Chromium: the shell pages pass axe-core (no serious or critical violation) in
zh-CN at 1280 and 375 px, sign-in and the home page work by keyboard alone on a phone, no page scrolls sideways.

axe-core comes from npm (package.json, pinned) and is injected from node_modules. Screenshots go to a temporary
folder; `UPDATE_SCREENSHOTS=1` (`make screenshots`) writes the few the README shows to docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import PASSWORD, make_user
from tests.browser.conftest import ARGS, CHROMIUM, LiveServer, chinese_browser_env, require_chromium, serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DIST = ROOT / "app" / "static" / "dist"
DOCS = ROOT / "docs" / "screenshots"
WIDTHS = (1280, 375)
BLOCKING = {"serious", "critical"}
# The screenshots kept in docs/screenshots/ (small PNGs): name-width.
KEEP = {"home-1280", "home-375", "sign-in-375", "sign-in-error-1280", "home-signed-in-375", "account-1280"}


@pytest.fixture(scope="module")
def assets() -> None:
    """The design system's bundles (app.css, app.js) and axe-core, built or installed by `make assets`."""
    if not (AXE.exists() and (DIST / "app.css").exists() and (DIST / "app.js").exists()):
        if not (shutil.which("npm") and shutil.which("make")):
            pytest.fail("app/static/dist/app.css or node_modules/axe-core is missing and npm is not installed")
        done = subprocess.run(
            ["make", "-f", "make/assets.mk", "assets"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"make assets failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, assets: None) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("design")) as live:
        make_user(live.app, "design-bidder", ["bidder"])
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env=chinese_browser_env())
        try:
            yield chromium
        finally:
            chromium.close()


def shots_dir(tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def new_page(browser: Any, width: int) -> Any:
    # bypass_csp: axe is injected as a script the page's Content-Security-Policy would (rightly) refuse.
    context = browser.new_context(
        locale="zh-CN", viewport={"width": width, "height": 900}, bypass_csp=True, device_scale_factor=1
    )
    return context.new_page()


def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page (WCAG 2.1 A and AA rules), one line each."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa', 'best-practice']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url} is {width}px wide in a {viewport}px window"


def sign_in(page: Any, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#username", "design-bidder")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(base + "/")


def check(page: Any, name: str, width: int, shots: Path) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"Noto Sans CJK SC"')
    assert page.locator("body.govuk-frontend-supported").count() == 1, "app.js (initAll) did not run"
    violations = axe_violations(page)
    assert not violations, f"{name} at {width}px:\n" + "\n".join(violations)
    no_sideways_scroll(page)
    if shots != DOCS or f"{name}-{width}" in KEEP:
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_shell_pages_pass_axe_and_fit_the_screen(server: LiveServer, browser: Any, width: int, tmp_path: Path) -> None:
    shots = shots_dir(tmp_path)
    page = new_page(browser, width)
    base = server.url

    page.goto(base + "/")
    check(page, "home", width, shots)

    page.goto(base + "/login")
    check(page, "sign-in", width, shots)

    # a failed sign-in: the error summary links to the field
    page.fill("#username", "design-bidder")
    page.click("#submit")
    summary = page.locator(".govuk-error-summary")
    assert summary.count() == 1 and summary.get_by_role("link").first.get_attribute("href") == "#password"
    check(page, "sign-in-error", width, shots)

    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(base + "/")
    check(page, "home-signed-in", width, shots)

    page.goto(base + "/account")
    check(page, "account", width, shots)

    page.goto(base + "/account/totp")
    check(page, "totp", width, shots)

    page.goto(base + "/no/such/page")
    check(page, "not-found", width, shots)
    page.context.close()


def test_sign_in_and_navigate_by_keyboard_on_a_phone(server: LiveServer, browser: Any) -> None:
    page = new_page(browser, 375)
    base = server.url
    page.goto(base + "/")

    # the first Tab reaches the skip link, which leads to the main content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"

    # the start button leads to the sign-in form, whose first field has the focus
    page.get_by_role("button", name="登录").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/login")
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type("design-bidder")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    no_sideways_scroll(page)

    # on a phone the role navigation folds behind a menu button that opens by keyboard
    toggle = page.get_by_role("button", name="菜单")
    link = page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的账户")
    assert toggle.is_visible() and not link.is_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true" and link.is_visible()
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/account")
    assert page.locator("h1").inner_text() == "我的账户"
    no_sideways_scroll(page)
    page.context.close()


def test_short_chinese_labels_never_break_per_character(server: LiveServer, browser: Any) -> None:
    """Tags, buttons and table headers keep a short label on one line, even in a squeezed column."""
    page = new_page(browser, 375)
    sign_in(page, server.url)
    page.goto(server.url + "/account")
    page.fill("#name", "测试令牌")
    page.check("input[name=scopes][value='accounts.self']")
    page.get_by_role("button", name="创建令牌").click()
    page.wait_for_load_state()
    for selector in (".govuk-tag", ".govuk-table__header", ".govuk-button"):
        for element in page.locator(selector).all():
            if not element.is_visible() or element.locator(".govuk-visually-hidden").count():
                continue
            lines = element.evaluate(
                "e => { const r = document.createRange(); r.selectNodeContents(e); "
                "const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top))); return tops.size; }"
            )
            text = element.inner_text().strip()
            if 0 < len(text) <= 8:
                assert lines <= 1, f"{selector} {text!r} breaks over {lines} lines"
    page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_tendering_pages_on_the_new_base_pass_axe(
    tmp_path: Path, clock: Any, assets: None, browser: Any, width: int
) -> None:
    """The pages not yet rewritten (bidder's and agency's) inherit the base and stay accessible and narrow."""
    from tests.accounts.helpers import next_totp
    from tests.browser.conftest import submit_login
    from tests.tendering.conftest import TENDERING_CONFIG
    from tests.tendering.helpers import build_world, create_published

    shots = shots_dir(tmp_path)
    with serve(tmp_path, **TENDERING_CONFIG) as live:
        world = build_world(live.app, bidders=1)
        tid = create_published(world, min_bids=1)["id"]
        _uid, secret = make_user(live.app, "design-agent", ["agency"], totp=True, organisation_id=world.agency.org_id)
        assert secret is not None
        base = live.url

        page = new_page(browser, width)
        submit_login(page, base, "bidder1", "/tenders")
        page.wait_for_url(base + "/tenders")
        for name, path in [("tenders", "/tenders"), ("tender", f"/tenders/{tid}"), ("bid", f"/tenders/{tid}/bid")]:
            page.goto(base + path)
            check(page, name, width, shots)
        page.context.close()

        page = new_page(browser, width)
        submit_login(page, base, "design-agent", "/agency/tenders")
        page.wait_for_url(base + "/login/totp")
        page.fill("#code", next_totp(secret))
        page.click("#submit")
        page.wait_for_url(base + "/agency/tenders")
        for name, path in [
            ("agency-tenders", "/agency/tenders"),
            ("agency-tender", f"/agency/tenders/{tid}"),
            ("agency-new", "/agency/tenders/new"),
        ]:
            page.goto(base + path)
            check(page, name, width, shots)
        page.context.close()
