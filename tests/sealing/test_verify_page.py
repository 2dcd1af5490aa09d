"""The public verification page /seals/verify and its JSON API: results in words, bad uploads as readable 4xx."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask

from tests.accounts.helpers import compile_translations
from tests.html import parse
from tests.sealing.helpers import append_drawing, flip_byte

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


@pytest.fixture(autouse=True)
def _translations() -> None:
    compile_translations()


def upload(client: Any, data: bytes, headers: dict[str, str], name: str = "decision.pdf") -> Any:
    token = parse(client.get("/seals/verify", headers=headers)).csrf_token()
    return client.post(
        "/seals/verify",
        data={"file": (io.BytesIO(data), name), "csrf_token": token},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_page_in_both_languages(client: Any) -> None:
    zh = parse(client.get("/seals/verify", headers=ZH))
    assert "验证电子印章" in zh.one("h1").text
    en = parse(client.get("/seals/verify", headers=EN))
    assert en.one("h1").text == "Verify a sealed document"
    assert en.one("input", type="file").get("name") == "file"


def test_a_sealed_pdf_reads_genuine(client: Any, sealed_pdf: bytes) -> None:
    resp = upload(client, sealed_pdf, EN)
    assert resp.status_code == 200
    doc = parse(resp)
    assert doc.by_id("seal-verdict").get("data-ok") == "true"
    assert "genuine" in doc.by_id("seal-verdict").text
    items = doc.by_id("seal-checks-1").select("li")
    assert {li.get("data-check"): li.get("data-ok") for li in items} == {
        "integrity": "true",
        "expiry": "true",
        "signer": "true",
        "time": "true",
        "coverage": "true",
    }
    assert "邯郸市行政服务中心" in doc.by_id("seal-result").text
    zh = parse(upload(client, sealed_pdf, ZH))
    text = zh.by_id("seal-result").text
    assert "印章真实有效" in text and "时间戳" in text
    assert "Passed" not in text
    # Every time on the page is in the center's zone, with the zone named (the checks' own texts too).
    for check in ("time", "expiry"):
        li = zh.first("li", **{"data-check": check}).text
        assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(Asia/Shanghai, UTC\+08:00\)", li), li
        assert " UTC" not in li.replace("(Asia/Shanghai, UTC+08:00)", ""), li


def test_tampered_pdfs_fail_with_reasons(client: Any, sealed_pdf: bytes) -> None:
    doc = parse(upload(client, flip_byte(sealed_pdf), EN))
    assert doc.by_id("seal-verdict").get("data-ok") == "false"
    failed = doc.by_id("seal-checks-1").one("li", data_check="integrity")
    assert failed.get("data-ok") == "false" and "changed after sealing" in failed.text
    zh = parse(upload(client, append_drawing(sealed_pdf), ZH))
    coverage = zh.by_id("seal-checks-1").one("li", data_check="coverage")
    assert coverage.get("data-ok") == "false" and "盖章后" in coverage.text


@pytest.mark.parametrize(
    ("data", "status", "en_words"),
    [
        (b"GIF89a not a pdf at all", 415, "not a PDF document"),
        (b"%PDF-1.4\nbroken", 422, "cannot be read as a PDF"),
        (b"", 400, "Choose the PDF file"),
    ],
)
def test_bad_uploads_are_readable_4xx(client: Any, data: bytes, status: int, en_words: str) -> None:
    resp = upload(client, data, EN, name="x.pdf" if data else "")
    assert resp.status_code == status
    assert en_words in parse(resp).text
    assert resp.status_code == upload(client, data, ZH, name="x.pdf" if data else "").status_code


def test_an_unsealed_pdf_says_so(client: Any, plain_pdf: bytes) -> None:
    doc = parse(upload(client, plain_pdf, EN))
    assert doc.by_id("seal-verdict").get("data-ok") == "false"
    assert "no electronic seal" in doc.by_id("seal-verdict").text


def test_size_limit(app: Flask, client: Any, sealed_pdf: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SEAL_VERIFY_MAX_BYTES", 1024 * 1024)
    big = sealed_pdf + b"%" + b"x" * (1024 * 1024)
    resp = upload(client, big, EN)
    assert resp.status_code == 413 and "larger than 1 MB" in parse(resp).text
    resp = client.post("/api/v1/seals/verify", data=big, content_type="application/pdf")
    assert resp.status_code == 413 and resp.json["status"] == 413


def test_api_multipart_and_raw_body(client: Any, sealed_pdf: bytes) -> None:
    resp = client.post(
        "/api/v1/seals/verify",
        data={"file": (io.BytesIO(sealed_pdf), "d.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["ok"] is True and body["problem"] is None and body["size"] == len(sealed_pdf)
    sig = body["signatures"][0]
    assert sig["organisation"] == "邯郸市行政服务中心" and sig["timestamped"] is True
    assert {c["code"] for c in sig["checks"]} == {"integrity", "expiry", "signer", "time", "coverage"}
    time_check = next(c for c in sig["checks"] if c["code"] == "time")
    assert re.search(r"Sealed at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC,", time_check["message"])  # the API: UTC
    raw = client.post("/api/v1/seals/verify", data=flip_byte(sealed_pdf), content_type="application/pdf")
    assert raw.status_code == 200 and raw.json["ok"] is False
    integrity = next(c for c in raw.json["signatures"][0]["checks"] if c["code"] == "integrity")
    assert integrity["ok"] is False and "changed after sealing" in integrity["message"]


def test_api_refuses_what_it_cannot_check(client: Any) -> None:
    resp = client.post("/api/v1/seals/verify", data=b"plain text", content_type="application/pdf")
    assert resp.status_code == 415 and resp.content_type.startswith("application/problem+json")
    resp = client.post("/api/v1/seals/verify", data=b"{}", content_type="application/json")
    assert resp.status_code == 400 and "Choose the PDF" in resp.json["detail"]


def test_openapi_documents_the_endpoint(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert "post" in spec["paths"]["/api/v1/seals/verify"]
