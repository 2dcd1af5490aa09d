"""The evidence-log explorer in headless Chromium: an auditor signs in, filters the log, opens an entry whose
inclusion proof the page verifies itself (WebCrypto SHA-256 and Ed25519 against /.well-known/platform-keys.json,
under the platform's CSP), the same verifier refuses modified entries, proofs and signatures, and the pages pass
axe-core with no serious or critical violation at 1280 and 375 px."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import audit
from app.audit import services
from app.core.db import db
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
from tests.browser.test_design import assets, axe_violations, no_sideways_scroll

pytestmark = pytest.mark.browser
__all__ = ["assets"]  # the fixture that builds app.css/app.js and finds axe-core

VERIFY = """async (data) => {
  const m = await import('/static/dist/audit-verify.js');
  const keys = await (await fetch('/.well-known/platform-keys.json')).json();
  return await m.verifyEntry(data, keys);
}"""


@pytest.fixture
def explorer_server(tmp_path: Path, clock: Any, assets: None) -> Iterator[tuple[LiveServer, str]]:
    with serve(tmp_path) as server:
        app = server.app
        _uid, secret = make_user(app, "auditweb", ["auditor"], totp=True)
        assert secret is not None
        with app.app_context():
            for i in range(11):
                audit.record(
                    "tender.publish" if i % 3 else "tender.cancel",
                    actor=f"user:{i % 2 + 1}",
                    subject=f"tender:{i}",
                    data={"title": f"城区道路照明设备采购 {i}", "n": i},
                )
            services.issue_checkpoint()
            db.session.commit()
        yield server, secret


def _sign_in(page: Any, base: str, secret: str, next_path: str) -> None:
    submit_login(page, base, "auditweb", next_path)
    page.wait_for_url(f"{base}/login/totp")
    page.fill("#code", next_totp(secret))
    page.click("#submit")
    page.wait_for_url(f"{base}{next_path}")


def test_entry_proof_is_verified_in_the_browser(explorer_server: tuple[LiveServer, str]) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    server, secret = explorer_server
    base = server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN")
            csp = watch_csp(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            _sign_in(page, base, secret, "/audit/")
            assert page.locator("nav a[href='/audit/']").inner_text() == "存证日志"

            # filter by action through the form
            page.select_option("#action", "tender.cancel")
            page.get_by_role("button", name="应用筛选").click()
            page.wait_for_url(f"{base}/audit/?**")
            links = page.locator("table a[href^='/audit/entries/']")
            shown = [int(n) for n in links.all_inner_texts()]
            assert len(shown) == 4 and shown == sorted(shown, reverse=True)  # i = 9, 6, 3, 0; newest first
            assert [shown[0] - n for n in shown] == [0, 3, 6, 9]

            links.first.click()
            page.wait_for_url(f"{base}/audit/entries/{shown[0]}")
            box = page.locator("#browser-verdict")
            page.wait_for_selector("#browser-verdict[data-state='verified']", timeout=10000)
            assert "浏览器核验通过" in box.inner_text()
            assert page.locator("#server-verdict").get_attribute("data-ok") == "true"
            assert not errors and not csp and not csp_violations(page), (errors, csp)

            # the same verifier, given modified inputs, says why it refuses them
            data = json.loads(page.locator("#audit-proof").text_content() or "{}")
            assert page.evaluate(VERIFY, data)["ok"] is True

            forged = dict(data, canonical=data["canonical"].replace('"user:2"', '"user:1"'))
            assert forged["canonical"] != data["canonical"]
            assert page.evaluate(VERIFY, forged) == {"ok": False, "reason": "leaf"}
            # a forger who also rewrites the leaf hash is caught by the signed root
            rehash = page.evaluate(
                """async (text) => {
                     const m = await import('/static/dist/audit-verify.js');
                     const h = await m.leafHash(new TextEncoder().encode(text));
                     return Array.from(h, b => b.toString(16).padStart(2, '0')).join('');
                   }""",
                forged["canonical"],
            )
            assert page.evaluate(VERIFY, dict(forged, leaf_hash=rehash)) == {"ok": False, "reason": "path"}
            wrong_path = dict(data, proof=[data["proof"][0][::-1], *data["proof"][1:]])
            assert page.evaluate(VERIFY, wrong_path) == {"ok": False, "reason": "path"}
            assert page.evaluate(VERIFY, dict(data, index=data["index"] - 1))["ok"] is False
            cp = data["checkpoint"]
            other_root = dict(cp, payload=dict(cp["payload"], root_hash="00" * 32))
            assert page.evaluate(VERIFY, dict(data, checkpoint=other_root)) == {"ok": False, "reason": "path"}
            sig = cp["signature"]["sig"]
            bad_sig = dict(cp, signature=dict(cp["signature"], sig=("B" if sig[0] == "A" else "A") + sig[1:]))
            assert page.evaluate(VERIFY, dict(data, checkpoint=bad_sig)) == {"ok": False, "reason": "signature"}
            relabelled = dict(cp, signature=dict(cp["signature"], key_id="0" * 16))
            assert page.evaluate(VERIFY, dict(data, checkpoint=relabelled)) == {"ok": False, "reason": "key"}
            later = dict(cp, payload=dict(cp["payload"], issued_at="2030-01-01T00:00:00.000000Z"))
            assert page.evaluate(VERIFY, dict(data, checkpoint=later)) == {"ok": False, "reason": "signature"}

            # and the page says "not verified" when what it was given does not hold
            page.evaluate(
                """() => {
                     const el = document.getElementById('audit-proof');
                     const d = JSON.parse(el.textContent);
                     d.canonical = d.canonical.replace('"n":9', '"n":8');
                     el.textContent = JSON.stringify(d);
                   }"""
            )
            page.evaluate("async () => { const m = await import('/static/dist/audit-verify.js?again'); }")
            page.wait_for_selector("#browser-verdict[data-state='failed']", timeout=10000)
            assert "浏览器核验未通过" in box.inner_text() and "叶哈希" in box.inner_text()
        finally:
            browser.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_explorer_pages_pass_axe(explorer_server: tuple[LiveServer, str], width: int) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    server, secret = explorer_server
    base = server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            # bypass_csp: axe is injected as a script the page's policy would (rightly) refuse.
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900}, bypass_csp=True)
            page = context.new_page()
            _sign_in(page, base, secret, "/audit/")
            for url in (
                "/audit/",
                "/audit/?subject=tender:1&subject_prefix=y",
                "/audit/?since=1999-01-01T00:00",
                "/audit/entries/4",
            ):
                page.goto(base + url)
                page.wait_for_load_state("networkidle")
                violations = axe_violations(page)
                assert not violations, f"{url} at {width}px:\n" + "\n".join(violations)
                no_sideways_scroll(page)
        finally:
            browser.close()


def test_the_entry_list_reads_as_cards_on_a_phone(explorer_server: tuple[LiveServer, str]) -> None:
    """At 375 px no column is hidden: every entry is a card whose fields are all on screen, labelled."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    server, secret = explorer_server
    base = server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
            page = context.new_page()
            _sign_in(page, base, secret, "/audit/")
            assert page.evaluate("() => document.documentElement.scrollWidth <= 375")
            # nothing scrolls inside the entries' region either: no column is pushed out of sight
            region = page.locator("#entries").locator("xpath=..")
            assert region.evaluate("el => el.scrollWidth <= el.clientWidth")
            rows = page.locator("#entries tbody tr")
            assert rows.count() >= 11  # the eleven recorded, and the sign-in's own entries
            first = rows.filter(has_text="tender:10")
            cells = first.locator("td")
            assert cells.count() == 6
            labels = []
            for i in range(6):
                cell = cells.nth(i)
                assert cell.is_visible()
                box = cell.bounding_box()
                assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375 and box["height"] > 0, (i, box)
                labels.append(cell.evaluate("el => getComputedStyle(el, '::before').content"))
            assert labels == ['"序号"', '"时间"', '"操作"', '"操作者"', '"关联对象"', '"数据"'], labels
            text = first.inner_text()
            assert "tender:10" in text and "城区道路照明设备采购 10" in text and "user:1" in text
            # the cells of a card are stacked, one under the other
            tops = [cells.nth(i).bounding_box()["y"] for i in range(6)]  # type: ignore[index]
            assert tops == sorted(tops) and len(set(tops)) == 6
        finally:
            browser.close()
