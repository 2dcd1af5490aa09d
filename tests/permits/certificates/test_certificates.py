"""The certificate registry: issue (sealed PDF in the store with its SHA-256), re-issue (versions), revoke,
expiry by the calendar, the public page and API, evidence-log entries, refusals."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.accounts.uscc import make_uscc
from app.permits.certificates.services import IssueArgs, add_months
from tests.html import parse
from tests.sealing.helpers import pdfsig

USCC = make_uscc("9", "1", "130400", "MA000012")
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


def body(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "item_code": "HDZJ-FW-001",
        "kind": "registration",
        "holder_kind": "organisation",
        "holder_name": "邯郸市示例科技有限公司",
        "holder_code": USCC,
        "scope": "软件开发；信息技术咨询服务",
        "valid_from": "2026-12-07",
        "case_number": "HD20261207-0001",
    }
    data.update(over)
    return data


def audit_actions(app: Flask, subject: str) -> list[str]:
    from app.audit.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        return [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.subject == subject))]


def issue(admin: Any, **over: Any) -> dict[str, Any]:
    resp = admin.api.post("/api/v1/permits/certificates", body(**over))
    assert resp.status_code == 201, resp.json
    return dict(resp.json)


def _holder_code(code: str) -> Any:
    """The holder code as IssueArgs loads it for a person, or the messages it refuses it with."""
    import marshmallow as ma

    try:
        return IssueArgs().load(body(holder_kind="person", holder_code=code))["holder_code"]
    except ma.ValidationError as exc:
        return exc.messages


def test_resident_id_by_the_cases_rule_and_validity_arithmetic() -> None:
    # One rule for the floor (app.permits.cases.services.normalise_resident_id): spaces and a lower-case x are
    # normalised, a wrong check character, a month 13 and a leading 0 are refused, each with its own message.
    assert _holder_code("11010519491231002X") == "11010519491231002X"
    assert _holder_code(" 110105 19491231 002x ") == "11010519491231002X"
    assert _holder_code("110105194912310021") == {"holder_code": ["The resident ID number's check digit is wrong."]}
    assert _holder_code("11010519491331002X") == {
        "holder_code": ["The resident ID number does not hold a valid birth date."]
    }
    assert "holder_code" in _holder_code("01010519491231002X")
    assert add_months(date(2026, 3, 1), 48) == date(2030, 2, 28)
    assert add_months(date(2026, 12, 7), 6) == date(2027, 6, 6)


def test_issue_seals_stores_and_logs(catalogue: Flask, admin: Any, client: Any, tmp_path: Path) -> None:
    cert = issue(admin)
    assert cert["number"].startswith("XK-2026-") and cert["version"] == 1 and cert["status"] == "valid"
    assert cert["title"] == "组织机构代码证"  # the item's output name
    assert cert["valid_until"] == "2030-12-06"  # the item's 48 months
    assert cert["holder"]["code"] == USCC and cert["case_number"] == "HD20261207-0001"
    pdf = client.get(cert["pdf"]["url"])
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == cert["pdf"]["sha256"] and len(pdf.data) == cert["pdf"]["size"]
    # The stored PDF carries a seal that validates against the platform's root, covering the whole file.
    from app.core.sealing import get_sealing, verify_pdf

    with catalogue.app_context():
        report = verify_pdf(pdf.data, get_sealing().trust())
    assert report.ok and report.signatures[0].organisation == "邯郸市行政服务中心"
    out = pdfsig(pdf.data, tmp_path)
    assert "Signature Validation: Signature is Valid." in out and "Total document signed" in out
    second = issue(admin)
    assert int(second["number"].rsplit("-", 1)[1]) == int(cert["number"].rsplit("-", 1)[1]) + 1
    assert audit_actions(catalogue, f"permit_certificate:{cert['number']}") == ["permits.certificate.issued"]


def test_pdf_text_and_qr_point_to_the_public_page(catalogue: Flask, admin: Any, client: Any) -> None:
    cert = issue(admin)
    data = client.get(cert["pdf"]["url"]).data
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.pdf"
        path.write_bytes(data)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "组织机构代码证" in text and cert["number"] in text and "邯郸市示例科技有限公司" in text
    assert f"/permits/certificates/{cert['number']}" in "".join(text.split())  # the URL wraps


def test_public_page_in_both_languages(catalogue: Flask, admin: Any, client: Any) -> None:
    from tests.accounts.helpers import compile_translations

    compile_translations()
    cert = issue(admin, holder_kind="person", holder_name="张三", holder_code="11010519491231002X")
    anonymous = catalogue.test_client()
    zh = parse(anonymous.get(f"/permits/certificates/{cert['number']}", headers=ZH))
    assert zh.by_id("certificate-status").text == "有效"
    assert "110105********002X" in zh.text and "11010519491231002X" not in zh.text  # a person's ID masked
    assert not zh.has("revoke-form")  # staff actions only for staff
    en = parse(anonymous.get(f"/permits/certificates/{cert['number']}", headers=EN))
    assert en.by_id("certificate-status").text == "Valid"
    assert "in force" in en.by_id("status-text").text
    assert anonymous.get("/permits/certificates/XK-2026-999999", headers=EN).status_code == 404


def test_reissue_makes_a_new_version_and_supersedes(catalogue: Flask, admin: Any, client: Any) -> None:
    first = issue(admin)
    resp = admin.api.post(
        f"/api/v1/permits/certificates/{first['number']}/reissue",
        {"reason": "单位名称变更", "holder_name": "邯郸市示例信息科技有限公司"},
    )
    assert resp.status_code == 201, resp.json
    new = resp.json
    assert new["number"] == f"{first['number']}-2" and new["version"] == 2
    assert new["holder"]["name"] == "邯郸市示例信息科技有限公司"
    assert new["pdf"]["sha256"] != first["pdf"]["sha256"]
    assert [(v["number"], v["status"]) for v in new["versions"]] == [
        (first["number"], "superseded"),
        (new["number"], "valid"),
    ]
    old = admin.api.get(f"/api/v1/permits/certificates/{first['number']}").json
    assert old["status"] == "superseded" and old["superseded_by"] == new["number"]
    page = parse(catalogue.test_client().get(f"/permits/certificates/{first['number']}", headers=EN))
    assert page.by_id("certificate-status").get("data-state") == "superseded"
    assert page.by_id("current-version").text == new["number"]
    assert audit_actions(catalogue, f"permit_certificate:{first['number']}") == [
        "permits.certificate.issued",
        "permits.certificate.superseded",
    ]
    assert audit_actions(catalogue, f"permit_certificate:{new['number']}") == ["permits.certificate.reissued"]
    # A superseded version can be neither re-issued nor revoked.
    again = admin.api.post(f"/api/v1/permits/certificates/{first['number']}/reissue", {"reason": "再次"})
    assert again.status_code == 409
    assert admin.api.post(f"/api/v1/permits/certificates/{first['number']}/revoke", {"reason": "x1"}).status_code == 409


def test_revocation_takes_effect_at_once(catalogue: Flask, admin: Any, client: Any) -> None:
    cert = issue(admin)
    resp = admin.api.post(f"/api/v1/permits/certificates/{cert['number']}/revoke", {"reason": "以欺骗手段取得许可"})
    assert resp.status_code == 200 and resp.json["status"] == "revoked"
    assert resp.json["revocation_reason"] == "以欺骗手段取得许可" and resp.json["revoked_at"]
    public = catalogue.test_client().get(f"/api/v1/permits/certificates/{cert['number']}").json
    assert public["status"] == "revoked"
    page = parse(catalogue.test_client().get(f"/permits/certificates/{cert['number']}", headers=EN))
    assert page.by_id("certificate-status").text == "Revoked by the issuer"
    assert "以欺骗手段取得许可" in page.by_id("revocation").text
    assert audit_actions(catalogue, f"permit_certificate:{cert['number']}") == [
        "permits.certificate.issued",
        "permits.certificate.revoked",
    ]
    from app.audit.models import AuditEntry
    from app.extensions import db

    with catalogue.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "permits.certificate.revoked")).one()
        assert str(admin.user_id) in str(entry.actor)
    twice = admin.api.post(f"/api/v1/permits/certificates/{cert['number']}/revoke", {"reason": "再次撤销"})
    assert twice.status_code == 409


def test_expired_by_the_calendar(clock: Any, catalogue: Flask, admin: Any) -> None:
    from datetime import UTC, datetime

    # The fake clock stands at 2026-01-05 (the admin's token is made under it too).
    cert = issue(admin, valid_from="2026-01-05", valid_until="2026-01-10")
    assert cert["number"].startswith("XK-2026-") and cert["status"] == "valid"
    clock.set(datetime(2026, 1, 10, 15, 59, tzinfo=UTC))  # 23:59 on the last day, in Shanghai
    assert admin.api.get(f"/api/v1/permits/certificates/{cert['number']}").json["status"] == "valid"
    clock.advance(timedelta(minutes=2))  # the next day in the center's zone
    later = admin.api.get(f"/api/v1/permits/certificates/{cert['number']}").json
    assert later["status"] == "expired"
    page = parse(catalogue.test_client().get(f"/permits/certificates/{cert['number']}", headers=EN))
    assert page.by_id("certificate-status").get("data-state") == "expired"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"holder_code": "91130400MA0000012X"}, "holder_code"),  # a bad USCC check character
        ({"holder_kind": "person", "holder_code": "110105194912310021"}, "holder_code"),
        ({"item_code": "NO-SUCH"}, "item_code"),
        ({"valid_from": "2026-12-07", "valid_until": "2026-01-01"}, "valid_until"),
        ({"holder_name": ""}, "holder_name"),
        ({"kind": "passport"}, "kind"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    catalogue: Flask, admin: Any, over: dict[str, Any], field: str
) -> None:
    resp = admin.api.post("/api/v1/permits/certificates", body(**over))
    assert resp.status_code == 422
    assert field in str(resp.json)
    from app.extensions import db
    from app.permits.certificates.models import Certificate

    with catalogue.app_context():
        assert db.session.scalars(select(Certificate)).all() == []


def test_only_staff_with_the_permission(catalogue: Flask, client: Any) -> None:
    from tests import factories

    bidder = factories.party(catalogue, client, "somebidder", role="bidder")
    assert bidder.api.post("/api/v1/permits/certificates", body()).status_code == 403
    anonymous = catalogue.test_client()
    assert anonymous.post("/api/v1/permits/certificates", json=body()).status_code == 401


def test_a_failing_seal_service_issues_nothing(catalogue: Flask, admin: Any) -> None:
    from app.core.sealing import RemoteSealer
    from app.extensions import db
    from app.permits.certificates.models import Certificate

    sealing = catalogue.extensions["sealing"]
    sealing._sealer = RemoteSealer("http://127.0.0.1:9", timeout=1)
    resp = admin.api.post("/api/v1/permits/certificates", body())
    assert resp.status_code == 503
    with catalogue.app_context():
        assert db.session.scalars(select(Certificate)).all() == []


def test_staff_pages_issue_reissue_revoke(catalogue: Flask, client: Any, clock: Any) -> None:
    from tests.accounts.helpers import compile_translations, csrf, login, make_user

    compile_translations()
    _uid, secret = make_user(catalogue, "certdesk", ["admin"], totp=True)
    assert login(client, "certdesk", totp_secret=secret).status_code == 303
    page = parse(client.get("/permits/certificates/", headers=EN))
    assert page.has("issue-form")
    form = {k: v for k, v in body().items()}
    form["csrf_token"] = csrf(client)
    bad = client.post("/permits/certificates/", data={**form, "holder_code": "123"}, headers=EN)
    assert bad.status_code == 422 and parse(bad).error_summary is not None
    # Each field's message in the page's language, after the field's name, and nothing in English on a zh page.
    for over, words in (
        ({"valid_from": "7.12."}, "有效期自：请按“年-月-日”填写日期"),
        ({"holder_kind": "person", "holder_code": "110105194912310021"}, "统一社会信用代码或身份证号码：居民身份证"),
        ({"kind": "passport", "holder_name": ""}, "持证人名称：请填写持证人名称"),
    ):
        bad = client.post("/permits/certificates/", data={**form, **over}, headers=ZH)
        found = parse(bad).error_summary
        assert bad.status_code == 422 and found is not None
        summary = found.text
        assert "证照信息不符合要求" in summary and words in summary, summary
        assert not re.search(r"[A-Za-z]{3,}", summary), summary
    done = client.post("/permits/certificates/", data=form, headers=EN)
    assert done.status_code == 302
    number = done.headers["Location"].rsplit("/", 1)[1]
    page = parse(client.get(f"/permits/certificates/{number}", headers=EN))
    assert page.has("revoke-form") and page.has("reissue-form")
    empty = client.post(f"/permits/certificates/{number}/revoke", data={"csrf_token": csrf(client), "reason": ""})
    assert empty.status_code == 422
    revoked = client.post(
        f"/permits/certificates/{number}/revoke", data={"csrf_token": csrf(client), "reason": "申请人申请注销"}
    )
    assert revoked.status_code == 302
    page = parse(client.get(f"/permits/certificates/{number}", headers=ZH))
    assert page.by_id("certificate-status").text == "已撤销" and not page.has("revoke-form")
