"""The receipt as a person reads it: the bidder's receipt page and PDF, and the public verification page's
server-side fallback (the in-browser checks are in tests/browser/test_receipt_verify.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.accounts.helpers import csrf_from, login
from tests.tendering.helpers import (
    World,
    audit_actions,
    create_published,
    envelope_plaintext,
    form,
    run_batch,
    seal,
    submit,
    upload,
)

# Pages are thin views over services whose own tests run on both engines: the pages once, on SQLite.
pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


class Texts(HTMLParser):
    """The text inside each element with an id, and every link's href."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.links: list[str] = []
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag in ("br", "img", "input", "meta", "link", "hr", "path"):
            return
        self._open.append((tag, a.get("id")))
        if a.get("id"):
            self.by_id.setdefault(str(a["id"]), "")

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            t, _ = self._open.pop()
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, ident in self._open:
            if ident:
                self.by_id[ident] += data


def parse(resp: Any) -> Texts:
    parser = Texts()
    parser.feed(resp.get_data(as_text=True))
    return parser


def _signed_in(world: World, username: str) -> Any:
    client = world.app.test_client()
    assert login(client, username).status_code == 303
    return client


def _submitted(world: World) -> tuple[int, dict[str, Any], bytes]:
    tender = create_published(world)
    tid = tender["id"]
    api = world.bidders[0].api
    sealed = seal(envelope_plaintext(form(1_000_000)), tender["recipient"])
    resp = submit(api, tid, {"bid": upload(api, tid, "bid", sealed)})
    assert resp.status_code == 201, resp.json
    return tid, resp.json["receipt"], sealed


def test_receipt_page_shows_the_facts_in_the_centers_zone_and_the_proof_status(world, clock) -> None:
    tid, receipt, _sealed = _submitted(world)
    payload = receipt["payload"]
    bidder = _signed_in(world, "bidder1")
    resp = bidder.get(f"/tenders/{tid}/bid/receipts/1", headers=ZH)
    assert resp.status_code == 200
    page = parse(resp)
    facts = " ".join(page.by_id["receipt-facts"].split())
    assert payload["tender"]["reference"] in facts and payload["bidder"]["name"] in facts
    assert payload["bid"]["id"] in facts and receipt["signature"]["key_id"] in facts
    assert "Asia/Shanghai" in facts and "UTC+08:00" in facts  # the center's zone, named
    assert "待定" in facts  # the proof comes with the next batch
    html = resp.get_data(as_text=True)
    envelope = payload["envelopes"][0]
    assert envelope["sha256"] in html and "KB" in html
    assert f"/tenders/{tid}/bid/receipts/1.pdf" in page.links and f"/tenders/{tid}/bid/receipts/1.json" in page.links
    assert not any("with=proof" in link for link in page.links)
    verify = next(link for link in page.links if "/receipts/verify" in link)
    assert parse_qs(urlsplit(verify).query)["commitment"] == [payload["commitment"]]
    assert "<svg" in html  # the QR code

    entry = run_batch(world.app, clock)
    resp = bidder.get(f"/tenders/{tid}/bid/receipts/1", headers=EN)
    facts = " ".join(parse(resp).by_id["receipt-facts"].split())
    assert f"Included in evidence-log entry {entry}, leaf " in facts and "checkpoint size" in facts
    assert any("with=proof" in link for link in parse(resp).links)
    # the bid page leads to it
    assert f"/tenders/{tid}/bid/receipts/1" in parse(bidder.get(f"/tenders/{tid}/bid")).links


def test_other_bidders_and_strangers_cannot_read_a_receipt_and_are_logged(world, clock) -> None:
    tid, _, _ = _submitted(world)
    rival = _signed_in(world, "bidder2")  # a bidder of another organisation, without a bid here
    for suffix in ("", ".pdf", ".json"):
        assert rival.get(f"/tenders/{tid}/bid/receipts/1{suffix}").status_code == 404
    denied = [a for a in audit_actions(world.app) if a[0] == "access.denied" and a[2] == f"tender:{tid}"]
    assert len(denied) == 3 and all(a[3]["attempt"] == "receipt" for a in denied)
    assert _signed_in(world, "bidder1").get(f"/tenders/{tid}/bid/receipts/2").status_code == 404
    anon = world.app.test_client()
    for suffix in ("", ".pdf"):
        resp = anon.get(f"/tenders/{tid}/bid/receipts/1{suffix}")
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "receipt.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")


def _qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    import cv2

    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    image = cv2.imread(str(next(tmp_path.glob("page*.png"))))
    # The ArUco-based detector: OpenCV's classic QRCodeDetector missed the code on a full page for about one
    # receipt in thirty (which one depends on the random commitment in the URL; the same page fails every
    # time), mistaking text for finder patterns or finding the code and decoding nothing. This one decoded
    # every one of 450 random receipts rendered the same way.
    ok, decoded, _points, _ = cv2.QRCodeDetectorAruco().detectAndDecodeMulti(image)
    return [d for d in decoded if d] if ok else []


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_receipt_pdf_is_chinese_with_the_zone_the_hash_and_a_qr_code_to_the_verification_page(
    world, clock, tmp_path: Path
) -> None:
    tid, receipt, _ = _submitted(world)
    payload = receipt["payload"]
    entry = run_batch(world.app, clock)
    resp = _signed_in(world, "bidder1").get(f"/tenders/{tid}/bid/receipts/1.pdf")
    assert resp.status_code == 200 and resp.content_type == "application/pdf"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = _pdf_text(resp.data, tmp_path)
    flat = " ".join(text.split())
    assert "投标回执" in flat and "项目编号" in flat and "接收时间" in flat and payload["bidder"]["name"] in flat
    assert "(Asia/Shanghai, UTC+08:00)" in flat and "T" not in flat.split("接收时间")[1][:40].split("(")[0]
    assert payload["envelopes"][0]["sha256"] in flat.replace(" ", "")
    assert f"已纳入存证日志第 {entry} 条" in flat
    codes = _qr_codes(resp.data, tmp_path)
    assert len(codes) == 1, codes
    url = urlsplit(codes[0])
    assert url.path == "/receipts/verify" and parse_qs(url.query)["commitment"] == [payload["commitment"]]


def test_verification_page_is_public_and_the_fallback_verifies_a_receipt_with_its_proof(world, clock) -> None:
    tid, receipt, _ = _submitted(world)
    run_batch(world.app, clock)
    bundle = _signed_in(world, "bidder1").get(f"/tenders/{tid}/bid/receipts/1.json?with=proof").data
    anon = world.app.test_client()
    commitment = receipt["payload"]["commitment"]
    page = anon.get(f"/receipts/verify?commitment={commitment}", headers=ZH)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "dist/verify.js" in html and "<script>" not in html  # no inline script, the config is JSON data
    assert parse(page).by_id["expected-commitment"] == commitment
    token = csrf_from(page.data)
    resp = anon.post(
        f"/receipts/verify?commitment={commitment}",
        data={"csrf_token": token, "receipt_text": bundle.decode()},
        headers=EN,
    )
    assert resp.status_code == 200
    checks = parse(resp).by_id["verify-checks"]
    assert "Failed" not in checks and checks.count("Passed") == 3 and "checkpoint of" in checks
    assert "The receipt is genuine." in parse(resp).by_id["verify-verdict"]
    assert "Asia/Shanghai" in parse(resp).by_id["verify-facts"]


def test_the_fallback_refuses_a_tampered_receipt_and_garbage(world, clock) -> None:
    _, receipt, _ = _submitted(world)
    anon = world.app.test_client()
    token = csrf_from(anon.get("/receipts/verify").data)
    tampered = json.loads(json.dumps(receipt))
    sha = tampered["payload"]["envelopes"][0]["sha256"]
    tampered["payload"]["envelopes"][0]["sha256"] = ("0" if sha[0] != "0" else "1") + sha[1:]
    resp = anon.post("/receipts/verify", data={"csrf_token": token, "receipt_text": json.dumps(tampered)}, headers=EN)
    assert resp.status_code == 200
    assert "Failed" in parse(resp).by_id["verify-checks"] and "signature" in parse(resp).by_id["verify-checks"]
    assert "did not verify" in parse(resp).by_id["verify-verdict"]
    floated = json.loads(json.dumps(receipt))
    floated["payload"]["bid"]["version"] = 1.5
    proofless = json.dumps({"receipt": receipt, "proof": {"format": "platform-bid-receipt-proof/v1", "batch": []}})
    for text in (
        json.dumps(floated),
        proofless,
        "{",
        "[]",
        '{"receipt": 1}',
        '{"payload": {}, "signature": {}}',
        "1" * 300_000,
        "[" * 5000,
    ):
        resp = anon.post("/receipts/verify", data={"csrf_token": token, "receipt_text": text})
        assert resp.status_code == 200, text[:20]
        assert "did not verify" in parse(resp).by_id["verify-verdict"] or "未通过" in resp.get_data(as_text=True)
    empty = anon.post("/receipts/verify", data={"csrf_token": token, "receipt_text": "  "})
    assert empty.status_code == 400
    # nothing of what was dropped is kept
    assert sha not in json.dumps(audit_actions(world.app))


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils is not installed")
@pytest.mark.parametrize(
    "commitment",
    [  # two of the commitments whose receipt QR code the classic detector could not read on the page
        "00300795376bdd6a7fc537c472e1d75126372bbfae377569e49157d5db9dc92b",
        "6999e2bfc421e8c111de3d8ddd8cb40dfe7f986ed0456f49eacbd7e0ff4a9b3e",
    ],
)
def test_the_receipt_qr_code_reads_whatever_the_commitment(world, tmp_path: Path, commitment: str) -> None:
    from types import SimpleNamespace

    from app.tendering.receipts import render_receipt_pdf

    facts = {
        "tender": SimpleNamespace(reference="ZB-2026-0001", title="市政道路维修工程"),
        "number": 1,
        "kind": "submission",
        "bidder": {"name": "甲建设有限公司", "uscc": "91310000MA1FL0001X"},
        "bid_id": "b802a2ae470d3262",
        "bid_version": 1,
        "envelopes": [{"name": "technical", "size": 12345, "sha256": "ab" * 32}],
        "received_at": "2026年12月07日 10:00 (Asia/Shanghai, UTC+08:00)",
        "key_id": "48e5065e5cb889af",
        "commitment": commitment,
        "inclusion": {"entry": 12, "leaf": 0, "tree_size": 1},
        "verify_url": f"http://localhost/receipts/verify?commitment={commitment}",
    }
    with world.app.test_request_context(base_url="http://localhost/"):
        pdf = render_receipt_pdf(facts)
    assert _qr_codes(pdf, tmp_path) == [facts["verify_url"]]
