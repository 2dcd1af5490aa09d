"""`/admin/catalogue`: the departments at a glance and the upload (JSON or a ZIP bundle) that amends the catalogue."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.errors import ValidationFailed
from app.core.time import FakeClock
from app.extensions import db
from app.permits.catalogue import services
from app.permits.catalogue.models import CatalogueFile, Department, Item
from tests.accounts.helpers import csrf, login, make_user, post_form
from tests.html import parse


@pytest.fixture(autouse=True)
def _clock(clock: FakeClock) -> FakeClock:  # administrators sign in with TOTP, which needs the fake clock
    return clock


def _admin(app: Flask, client: Any, lang: str = "en") -> None:
    _uid, secret = make_user(app, "root", ["admin"], totp=True)
    assert login(client, "root", totp_secret=secret).status_code == 303
    post_form(client, "/lang", {"lang": lang})


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _demo_bundle(demo: dict[str, Any], **changes: Any) -> dict[str, bytes]:
    """The demo catalogue as an administrator would zip it: catalogue.json and its files beside it."""
    data = json.loads(json.dumps(demo))
    data.update(changes)
    members = {"catalogue.json": json.dumps(data, ensure_ascii=False).encode()}
    for spec in data["files"].values():
        members[spec["path"]] = (services.DEMO_CATALOGUE.parent / spec["path"]).read_bytes()
    return members


def _upload(client: Any, body: bytes, name: str) -> Any:
    return client.post(
        "/admin/catalogue",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            int(db.session.scalar(select(func.count()).select_from(m)) or 0) for m in (Department, Item, CatalogueFile)
        )


def test_a_zip_bundle_loads_the_catalogue_with_its_files(app: Flask, client: Any, demo_data: dict[str, Any]) -> None:
    from app.core.storage import get_storage

    with app.app_context():
        get_storage().ensure_buckets()
    _admin(app, client)
    assert "The catalogue is empty." in client.get("/admin/catalogue").get_data(as_text=True)
    resp = _upload(client, _zip(_demo_bundle(demo_data)), "catalogue.zip")
    assert resp.status_code == 303
    page = client.get("/admin/catalogue").get_data(as_text=True)
    assert "36 item(s) added, 0 changed, 0 unchanged" in page
    assert _counts(app) == (14, 36, 5)
    rows = parse(page).select("tr", data_department=True)
    assert len(rows) == 14 and rows[0].attrs["data-department"] == "HDGS"
    # The same bundle again changes nothing; a JSON alone that renames one item changes that item only.
    assert _upload(client, _zip(_demo_bundle(demo_data)), "catalogue.zip").status_code == 303
    assert "0 item(s) added, 0 changed, 36 unchanged" in client.get("/admin/catalogue").get_data(as_text=True)
    items = json.loads(json.dumps(demo_data["items"]))
    items[0]["name"] = "企业设立登记"
    files_free = [i for i in items if not any(m.get("template") or m.get("sample") for m in i["materials"])]
    body = json.dumps({"departments": demo_data["departments"], "files": {}, "items": files_free[:1]}).encode()
    assert _upload(client, body, "one.json").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Item.name).where(Item.code == files_free[0]["code"])) == files_free[0]["name"]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../catalogue.json": b"{}"}, "may not be read: ../catalogue.json"),
        ({"/etc/passwd": b"x", "catalogue.json": b"{}"}, "may not be read: /etc/passwd"),
        ({"other.json": b"{}"}, "has no catalogue.json at its top level"),
        ({"catalogue.json": b"{not json"}, "cannot be read"),
        ({"catalogue.json": b"x", "big.bin": b"\0" * (services.MAX_FILE_SIZE + 1)}, "big.bin is too large"),
    ],
)
def test_a_hostile_or_broken_bundle_is_refused_and_stores_nothing(
    catalogue: Flask, client: Any, members: dict[str, bytes], message: str
) -> None:
    _admin(catalogue, client)
    before = _counts(catalogue)
    resp = _upload(client, _zip(members), "bad.zip")
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert _counts(catalogue) == before


def test_a_bundle_that_lacks_a_named_file_or_a_valid_item_is_refused(
    catalogue: Flask, client: Any, demo_data: dict[str, Any]
) -> None:
    _admin(catalogue, client)
    members = _demo_bundle(demo_data)
    members.pop("demo_files/company-application-blank.txt")
    resp = _upload(client, _zip(members), "bundle.zip")
    assert resp.status_code == 422 and "the bundle has no file demo_files/company-application-blank.txt" in (
        resp.get_data(as_text=True)
    )
    broken = _demo_bundle(demo_data)
    data = json.loads(broken["catalogue.json"])
    data["items"][3]["department"] = "NOPE"
    data["items"][0]["name"] = "不会被改名"
    broken["catalogue.json"] = json.dumps(data).encode()
    resp = _upload(client, _zip(broken), "bundle.zip")
    assert resp.status_code == 422 and "unknown department NOPE" in resp.get_data(as_text=True)
    with catalogue.app_context():  # checked as a whole: the valid first item was not renamed either
        assert db.session.scalar(select(Item.name).where(Item.code == "HDGS-XK-001")) == demo_data["items"][0]["name"]
    assert client.post("/admin/catalogue", data={"csrf_token": csrf(client)}).status_code == 400


def test_damaged_zip_and_oversized_upload(catalogue: Flask) -> None:
    with catalogue.app_context():
        with pytest.raises(ValidationFailed) as damaged:
            services.read_bundle(b"PK\x03\x04" + b"\0" * 64)
        assert damaged.value.detail == "The ZIP file is damaged."
        with pytest.raises(ValidationFailed) as big:
            services.read_bundle(b" " * (services.MAX_BUNDLE_SIZE + 1))
        assert "at most" in big.value.detail


def test_only_the_catalogue_permission_and_the_page_in_chinese(catalogue: Flask, client: Any) -> None:
    make_user(catalogue, "b1", ["bidder"])
    assert login(client, "b1").status_code == 303
    assert client.get("/admin/catalogue").status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    _admin(catalogue, client, lang="zh_CN")
    html = client.get("/admin/catalogue").get_data(as_text=True)
    assert "事项目录" in html and "共 14 个部门、36 个事项。" in html and "最近修改：" in html


def test_the_page_computes_the_department_options_once(
    catalogue: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The departments (with their item counts) are read once per page, for the table and the totals alike,
    also when an upload is refused and the page is shown again."""
    _admin(catalogue, client)
    calls: list[int] = []
    original = services.list_departments
    monkeypatch.setattr(services, "list_departments", lambda: calls.append(1) or original())
    page = client.get("/admin/catalogue")
    assert page.status_code == 200 and len(calls) == 1
    assert len(parse(page).by_id("departments").select("tr", **{"data-department": True})) == 14
    refused = _upload(client, b"{not json", "catalogue.json")
    assert refused.status_code in {400, 422} and len(calls) == 2
