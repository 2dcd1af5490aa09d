"""Supervision recommendation letters (监察建议书): issued by a supervisor for a signal or a department, a Chinese PDF
sealed by the platform's Sealer (validated by pyHanko against the platform's root, and by poppler's pdfsig), numbered
per year, a QR code to the public verification page; the department's reply recorded once; access by role; bad input
refused storing nothing."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.supervision.models import Letter
from tests.accounts.helpers import post_form
from tests.html import parse
from tests.sealing.helpers import pdfsig
from tests.supervision.followup_helpers import _actions, _client

EN = "en"


@pytest.fixture
def app_config(seal_dir: Path) -> dict[str, Any]:
    return {"SEAL_DIR": str(seal_dir)}


def _letters(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(Letter.id))) or 0)


FORM = {
    "facts": "3月2日受理的申请至3月10日未作出决定，超过承诺时限。",
    "rules_broken": "《行政许可法》第四十二条；本中心承诺时限制度。",
    "recommendation": "立即作出决定，查明原因并整改。",
    "reply_due": "2026-03-25",
}


def test_a_letter_for_a_signal_is_sealed_numbered_and_verifiable(
    desk_app: Flask, red: dict[str, Any], tmp_path: Path
) -> None:
    watcher = _client(desk_app, "watcher")
    form_page = watcher.get(f"/supervision/letters?signal={red['signal']}").get_data(as_text=True)
    assert 'id="letter-form"' in form_page and f"针对第{red['signal']}号监察信号" in form_page
    done = post_form(watcher, "/supervision/letters", {**FORM, "signal": str(red["signal"]), "department": "ignored"})
    assert done.status_code == 303
    page = watcher.get(done.headers["Location"])
    doc = parse(page.data)
    assert "监建〔2026〕1号" in doc.text and red["department"] in doc.text
    pdf_url = doc.by_id("letter-pdf").attrs["href"]
    pdf = watcher.get(pdf_url)
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    with desk_app.app_context():
        letter = db.session.scalar(select(Letter))
        assert letter.department == red["department"] and letter.signal_id == red["signal"]
        assert hashlib.sha256(pdf.data).hexdigest() == letter.pdf_sha256 and len(pdf.data) == letter.pdf_size
        token = letter.token
        from app.core.sealing import get_sealing, verify_pdf

        report = verify_pdf(pdf.data, get_sealing().trust())
    assert report.ok and report.signatures[0].organisation == "邯郸市行政服务中心"
    out = pdfsig(pdf.data, tmp_path)
    assert "Signature Validation: Signature is Valid." in out and "Total document signed" in out
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "监察建议书" in flat and "监建〔2026〕1号" in flat and "查明的事实" in flat and "2026年03月25日" in flat
    assert "2026年03月10日10时00分" in flat and "亮红灯" in flat  # when the signal turned on, in the center's zone
    assert f"/supervision/letters/verify/{token}" in flat  # the QR code's address, printed under it
    # The public verification page: anybody, both languages; the facts stay with the department.
    anonymous = desk_app.test_client()
    zh = anonymous.get(f"/supervision/letters/verify/{token}", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200 and "监建〔2026〕1号" in zh.get_data(as_text=True)
    assert FORM["facts"] not in zh.get_data(as_text=True) and letter.pdf_sha256 in zh.get_data(as_text=True)
    en = anonymous.get(f"/supervision/letters/verify/{token}", headers={"Accept-Language": EN})
    assert "This letter was issued by the center" in en.get_data(as_text=True)
    assert anonymous.get("/supervision/letters/verify/nope").status_code == 404
    # Numbered per year: the next one, for a department without a signal.
    second = post_form(watcher, "/supervision/letters", {**FORM, "department": "邯郸市地方税务局"})
    assert second.status_code == 303
    with desk_app.app_context():
        numbers = list(db.session.scalars(select(Letter.number).order_by(Letter.id)))
    assert numbers == ["监建〔2026〕1号", "监建〔2026〕2号"]
    assert _actions(desk_app, "supervision.letter.") == ["supervision.letter.issued"] * 2


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_the_reply_is_recorded_once_by_the_department(desk_app: Flask, red: dict[str, Any]) -> None:
    watcher = _client(desk_app, "watcher")
    url = post_form(watcher, "/supervision/letters", {**FORM, "signal": str(red["signal"])}).headers["Location"]
    # Who sees it: supervisors, the department's head, the person the signal names; not other staff.
    for name in ("head", "clerk"):
        assert _client(desk_app, name).get(url).status_code == 200, name
    assert _client(desk_app, "other").get(url).status_code == 404
    assert _client(desk_app, "other").get(url + "/pdf").status_code == 404
    assert 'data-letter="' not in _client(desk_app, "other").get("/supervision/letters").get_data(as_text=True)
    assert 'id="reply-form"' not in _client(desk_app, "clerk").get(url).get_data(as_text=True)
    assert post_form(_client(desk_app, "clerk"), url + "/reply", {"reply": "已整改"}).status_code == 403
    follow_up = parse(watcher.get(f"/supervision/signals/{red['signal']}").data).by_id("follow-up")
    assert "监建〔2026〕1号" in follow_up.text
    head = _client(desk_app, "head")
    home = head.get("/").get_data(as_text=True)
    assert url in home.split('data-section="supervision-letters-to-reply"', 1)[1]
    assert post_form(head, url + "/reply", {"reply": "   "}).status_code == 422
    assert post_form(head, url + "/reply", {"reply": "已于3月12日作出决定，相关人员已作书面检查。"}).status_code == 303
    assert post_form(head, url + "/reply", {"reply": "again"}).status_code == 409
    doc = parse(head.get(url).data)
    assert doc.by_id("letter-state").text == "已回复" and "书面检查" in doc.by_id("letter-reply").text
    assert _actions(desk_app, "supervision.letter.") == ["supervision.letter.issued", "supervision.letter.replied"]


def test_bad_input_and_the_wrong_people_store_nothing(desk_app: Flask, red: dict[str, Any]) -> None:
    watcher = _client(desk_app, "watcher")
    for change in (
        {"facts": ""},
        {"rules_broken": "  "},
        {"recommendation": "x" * 4001},
        {"reply_due": "2026-02-30"},
        {"reply_due": "2026-03-10"},  # today: the reply is due after today
        {"reply_due": "2027-03-10"},  # more than 180 days
        {"department": ""},  # no signal either
        {"signal": "99999999"},
        {"signal": "abc"},
        {"signal": "³"},
    ):
        resp = post_form(watcher, "/supervision/letters", {**FORM, **change})
        assert resp.status_code == 422, change
        assert "govuk-error-summary" in resp.get_data(as_text=True)
    assert post_form(_client(desk_app, "head"), "/supervision/letters", {**FORM, "department": "x"}).status_code == 403
    assert watcher.post("/supervision/letters", data=FORM).status_code == 400  # no CSRF token
    assert _letters(desk_app) == 0
    assert _client(desk_app, "watcher").get("/supervision/letters/99999999999").status_code == 404


def test_a_failing_seal_issues_nothing(desk_app: Flask, red: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.sealing import RemoteSealer

    monkeypatch.setattr(desk_app.extensions["sealing"], "_sealer", RemoteSealer("http://127.0.0.1:9", timeout=1))
    resp = post_form(_client(desk_app, "watcher"), "/supervision/letters", {**FORM, "department": "某局"})
    assert resp.status_code == 503
    assert _letters(desk_app) == 0
