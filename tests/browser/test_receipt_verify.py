"""The public receipt verification page in headless Chromium: a real receipt with its inclusion proof and the
sealed file, dropped on the page, passes every check in the browser; the same receipt with one hex digit of an
envelope's SHA-256 changed fails the signature check."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.accounts.helpers import login
from tests.browser.conftest import ARGS, CHROMIUM, LiveServer, csp_violations, require_chromium, serve, watch_csp
from tests.tendering.conftest import TENDERING_CONFIG
from tests.tendering.helpers import (
    build_world,
    create_published,
    envelope_plaintext,
    form,
    run_batch,
    seal,
    submit,
    upload,
)

pytestmark = pytest.mark.browser

DIST = Path(__file__).resolve().parents[2] / "app" / "static" / "dist"

DROP = """
([files]) => {
  const dt = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], name));
  }
  const drop = new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true });
  document.getElementById("drop-zone").dispatchEvent(drop);
}
"""


@pytest.fixture
def tender_server(tmp_path: Path, clock: Any) -> Iterator[LiveServer]:
    with serve(tmp_path, **TENDERING_CONFIG) as server:
        yield server


def _checks(page: Any) -> dict[str, str]:
    items = page.locator("#verify-checks li")
    return {
        items.nth(i).get_attribute("data-check"): items.nth(i).get_attribute("data-ok") for i in range(items.count())
    }


def _verify(page: Any) -> str:
    """Press the button and wait for the verdict ('ok' or 'failed'); the run marks itself 'running' at once."""
    page.click("#verify-submit")
    page.wait_for_selector("#verify-result[data-state=ok], #verify-result[data-state=failed]", timeout=30_000)
    return str(page.locator("#verify-result").get_attribute("data-state"))


def test_a_dropped_receipt_proof_and_sealed_file_pass_and_a_tampered_receipt_fails(
    tender_server: LiveServer, clock: Any
) -> None:
    require_chromium()
    if not (DIST / "verify.js").exists():
        pytest.fail("app/static/dist/verify.js is missing: run `make assets`")
    from playwright.sync_api import sync_playwright

    app = tender_server.app
    world = build_world(app, bidders=1)
    tender = create_published(world, min_bids=1)
    tid = tender["id"]
    api = world.bidders[0].api
    sealed = seal(envelope_plaintext(form(2_345_600)), tender["recipient"])
    resp = submit(api, tid, {"bid": upload(api, tid, "bid", sealed)})
    assert resp.status_code == 201, resp.json
    receipt = resp.json["receipt"]
    run_batch(app, clock)
    client = app.test_client()
    assert login(client, "bidder1").status_code == 303
    bundle = client.get(f"/tenders/{tid}/bid/receipts/1.json?with=proof").data
    assert json.loads(bundle)["proof"]["format"] == "platform-bid-receipt-proof/v1"
    commitment = receipt["payload"]["commitment"]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN")  # no account: a stranger's browser
            csp = watch_csp(context)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{tender_server.url}/receipts/verify?commitment={commitment}")
            page.wait_for_selector("#verify-form[data-ready=true]")
            assert page.locator("#sealed-group").is_visible()  # the sealed-file input only with the script

            # dropped together: the JSON is taken as the receipt, the other file as the sealed file
            files = [
                ["receipt-proof.json", base64.b64encode(bundle).decode()],
                ["bid.age", base64.b64encode(sealed).decode()],
            ]
            page.evaluate(DROP, [files])
            page.wait_for_selector("#verify-result[data-state=ok], #verify-result[data-state=failed]", timeout=30_000)
            checks = _checks(page)
            assert checks == {
                "format": "true",
                "signature": "true",
                "commitment": "true",
                "linked": "true",
                "file": "true",
                "batch": "true",
                "entry": "true",
                "checkpoint": "true",
                "log": "true",
                "proof": "true",
            }, checks
            assert page.locator("#verify-checks li").count() == 10  # one run per drop
            assert page.locator("#verify-result").get_attribute("data-state") == "ok"
            assert page.locator("#verify-verdict").inner_text() == "回执真实有效。"
            facts = page.locator("#verify-facts").inner_text()
            assert "(Asia/Shanghai, UTC+08:00)" in facts and receipt["payload"]["bidder"]["name"] in facts

            # one hex digit of the envelope's hash changed: the signature no longer matches
            tampered = json.loads(json.dumps(receipt))
            sha = tampered["payload"]["envelopes"][0]["sha256"]
            tampered["payload"]["envelopes"][0]["sha256"] = ("1" if sha[0] == "0" else "0") + sha[1:]
            page.set_input_files(
                "#receipt-file",
                files=[
                    {"name": "receipt.json", "mimeType": "application/json", "buffer": json.dumps(tampered).encode()}
                ],
            )
            assert _verify(page) == "failed"
            checks = _checks(page)
            assert checks["signature"] == "false", checks
            assert "签名与回执内容不符" in page.locator("#verify-checks").inner_text()
            assert page.locator("#verify-verdict").inner_text() == "回执未通过核验。"

            # the file inputs: the genuine receipt and the sealed file chosen, not dropped, pass again
            page.set_input_files(
                "#receipt-file", files=[{"name": "r.json", "mimeType": "application/json", "buffer": bundle}]
            )
            page.set_input_files(
                "#sealed-file", files=[{"name": "bid.age", "mimeType": "application/octet-stream", "buffer": sealed}]
            )
            assert _verify(page) == "ok", page.locator("#verify-checks").inner_text()
            # a different sealed file is not an envelope of the receipt
            page.set_input_files(
                "#sealed-file",
                files=[{"name": "x.age", "mimeType": "application/octet-stream", "buffer": sealed + b"x"}],
            )
            assert _verify(page) == "failed"
            assert _checks(page)["file"] == "false" and _checks(page)["signature"] == "true"
            assert errors == []
            assert csp_violations(page) == [] and csp == []
        finally:
            browser.close()


@pytest.mark.parametrize("width", (1280, 375))
def test_receipt_and_verification_pages_pass_axe_and_fit_a_phone(
    tender_server: LiveServer, clock: Any, width: int
) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import submit_login
    from tests.browser.test_design import AXE, axe_violations, no_sideways_scroll

    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run `make assets`")
    app = tender_server.app
    world = build_world(app, bidders=1)
    tender = create_published(world, min_bids=1)
    tid = tender["id"]
    api = world.bidders[0].api
    sealed = seal(envelope_plaintext(form(1_000)), tender["recipient"])
    receipt = submit(api, tid, {"bid": upload(api, tid, "bid", sealed)}).json["receipt"]
    run_batch(app, clock)
    base = tender_server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900}, bypass_csp=True)
            page = context.new_page()
            submit_login(page, base, "bidder1", f"/tenders/{tid}/bid/receipts/1")
            page.wait_for_url(f"{base}/tenders/{tid}/bid/receipts/1")
            page.wait_for_load_state("networkidle")
            assert "已纳入存证日志" in page.locator("#receipt-facts").inner_text()
            assert axe_violations(page) == []
            no_sideways_scroll(page)
            page.goto(f"{base}/receipts/verify?commitment={receipt['payload']['commitment']}")
            page.wait_for_selector("#verify-form[data-ready=true]")
            page.set_input_files(
                "#receipt-file",
                files=[{"name": "r.json", "mimeType": "application/json", "buffer": json.dumps(receipt).encode()}],
            )
            assert _verify(page) == "ok"
            assert axe_violations(page) == []
            no_sideways_scroll(page)
        finally:
            browser.close()
