"""Loading a catalogue: the demo is realistic and loads idempotently; a bad file stores nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.core.errors import ValidationFailed
from app.core.storage import get_storage
from app.extensions import db
from app.permits.catalogue import services
from app.permits.catalogue.models import CatalogueFile, Department, Item, ItemKind, ItemMaterial, MaterialRequirement

BUNDLE = {"HDGS-XK-001": "营业执照", "HDZJ-FW-001": "组织机构代码证", "HDGSJ-FW-001": "国税", "HDDSJ-FW-001": "地税"}


def _count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _copy_demo(tmp_path: Path) -> Path:
    """The demo catalogue and its files in a folder of the test's own (to amend it)."""
    folder = tmp_path / "catalogue"
    shutil.copytree(services.DEMO_CATALOGUE.parent / "demo_files", folder / "demo_files")
    shutil.copy(services.DEMO_CATALOGUE, folder / "catalogue.json")
    return folder / "catalogue.json"


def test_the_demo_catalogue_is_realistic(catalogue: Flask) -> None:
    with catalogue.app_context():
        departments = db.session.scalars(select(Department)).all()
        items = db.session.scalars(select(Item)).all()
        assert len(departments) >= 8 and len(items) >= 30
        assert all(d.name.startswith("邯郸市") for d in departments)
        by_code = {i.code: i for i in items}
        for code, word in BUNDLE.items():  # 一照三证联办: four items of the four departments
            assert word in by_code[code].output_name and "一照三证联办" in by_code[code].description
        assert len({by_code[c].department_id for c in BUNDLE}) == 4
        assert {i.deemed_approval for i in items} == {True, False}
        assert {i.kind for i in items} == set(ItemKind)
        assert all(i.promised_limit_days <= i.statutory_limit_days for i in items)
        assert any(i.promised_limit_days < i.statutory_limit_days for i in items)
        assert any(i.acceptance_day_counts for i in items) and any(not i.acceptance_day_counts for i in items)
        assert any(not i.free for i in items)
        conditional = [m for i in items for m in i.materials if m.requirement is MaterialRequirement.CONDITIONAL]
        assert len(conditional) >= 10 and all(m.condition_tree for m in conditional)


def test_files_are_stored_once_by_sha256(catalogue: Flask) -> None:
    with catalogue.app_context():
        files = db.session.scalars(select(CatalogueFile)).all()
        assert len(files) == 5
        storage = get_storage()
        for f in files:
            body = b"".join(storage.get(f.bucket, f.key))
            assert hashlib.sha256(body).hexdigest() == f.sha256 and len(body) == f.size
            assert f.key == f"permits/catalogue/{f.sha256}"
        # the tax form serves two items: one row, two materials
        tax = next(f for f in files if f.name.startswith("税务登记表"))
        assert _count(select(ItemMaterial).where(ItemMaterial.template_id == tax.id).subquery()) == 2


def test_loading_again_changes_and_logs_nothing(catalogue: Flask) -> None:
    with catalogue.app_context():
        before = (_count(Item), _count(ItemMaterial), _count(CatalogueFile), _count(AuditEntry))
        stamps = dict(db.session.execute(select(Item.code, Item.updated_at)).all())
        counts = services.load_catalogue_file(services.DEMO_CATALOGUE)
        db.session.commit()
        assert counts == {
            "departments_created": 0,
            "departments_updated": 0,
            "items_created": 0,
            "items_updated": 0,
            "items_unchanged": len(stamps),
        }
        assert (_count(Item), _count(ItemMaterial), _count(CatalogueFile), _count(AuditEntry)) == before
        assert dict(db.session.execute(select(Item.code, Item.updated_at)).all()) == stamps
        assert services.seed_demo_catalogue() == []


def test_the_first_load_is_in_the_evidence_log(catalogue: Flask) -> None:
    with catalogue.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "permits.catalogue.loaded")).all()
        assert len(entries) == 1
        assert entries[0].subject == "permits:catalogue"


def test_an_amended_item_is_updated_and_the_others_left_alone(catalogue: Flask, tmp_path: Path) -> None:
    path = _copy_demo(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["items"][0]["promised_limit_days"] = 3
    data["items"][0]["materials"] = data["items"][0]["materials"][:2]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with catalogue.app_context():
        counts = services.load_catalogue_file(path)
        db.session.commit()
        assert counts["items_updated"] == 1 and counts["items_unchanged"] == len(data["items"]) - 1
        item = services.get_item(data["items"][0]["code"])
        assert item.promised_limit_days == 3 and [m.position for m in item.materials] == [1, 2]


def test_a_changed_template_file_changes_the_item(catalogue: Flask, tmp_path: Path) -> None:
    path = _copy_demo(tmp_path)
    (path.parent / "demo_files" / "tax-registration-form.txt").write_text("税务登记表（新版）", encoding="utf-8")
    with catalogue.app_context():
        counts = services.load_catalogue_file(path)
        db.session.commit()
        assert counts["items_updated"] == 2  # both tax registrations name the form
        assert _count(CatalogueFile) == 6  # the old version stays (write-once); the new one is added


def _refused(app: Flask, path: Path, data: dict[str, Any], expected: str) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with app.app_context():
        with pytest.raises(ValidationFailed) as caught:
            services.load_catalogue_file(path)
        db.session.rollback()
        assert expected in json.dumps(caught.value.extra.get("errors"), ensure_ascii=False) + caught.value.detail
        assert _count(Item) == 0 and _count(Department) == 0 and _count(CatalogueFile) == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["items"][5]["form"]["properties"]["applicant_type"].update({"pattern": "^(a+)+$"}), "pattern"),
        (lambda d: d["items"][5].update({"promised_limit_days": 400}), "promised_limit_days"),
        (lambda d: d["items"][5].update({"promised_limit_days": 30, "statutory_limit_days": 10}), "promised limit"),
        (lambda d: d["items"][5].update({"department": "NOPE"}), "unknown department"),
        (lambda d: d["items"][5].update({"code": d["items"][4]["code"]}), "appears twice"),
        (lambda d: d["items"][5].update({"kind": "tax"}), "kind"),
        (lambda d: d["items"][5]["fees"].append({"name": "x", "amount_fen": 1.5}), "amount_fen"),
        (lambda d: d["items"][0]["materials"][6].update({"condition": "ghost = 1"}), "not an attribute"),
        (lambda d: d["items"][0]["materials"][6].update({"condition": "__import__('os')"}), "Unexpected"),
        (lambda d: d["items"][0]["materials"][0].update({"condition": 'applicant_type = "enterprise"'}), "condition"),
        (lambda d: d["items"][0]["materials"][0].update({"template": "ghost"}), "unknown file"),
        (lambda d: d["files"]["tax-blank"].update({"path": "../../../../etc/passwd"}), "inside the catalogue"),
        (lambda d: d["departments"].append(dict(d["departments"][0])), "unique"),
    ],
)
def test_a_bad_catalogue_stores_nothing(app: Flask, tmp_path: Path, change: Any, expected: str) -> None:
    path = _copy_demo(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    _refused(app, path, data, expected)


def test_the_cli_loads_a_file_and_reports_errors(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["permits", "catalogue", "load", str(services.DEMO_CATALOGUE)])
    assert result.exit_code == 0, result.output
    assert "items created: 36" in result.output
    again = runner.invoke(args=["permits", "catalogue", "load", str(services.DEMO_CATALOGUE)])
    assert again.exit_code == 0 and "items created: 0" in again.output and "items unchanged: 36" in again.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    failed = runner.invoke(args=["permits", "catalogue", "load", str(bad)])
    assert failed.exit_code != 0 and "cannot be read" in failed.output


def test_required_materials_follow_the_answers(catalogue: Flask) -> None:
    with catalogue.app_context():
        item = services.get_item("HDGS-XK-001")
        base = services.required_materials(item, {"applicant_type": "individual", "has_foreign_investor": "no"})
        assert all(m.requirement is MaterialRequirement.REQUIRED for m in base)
        more = services.required_materials(item, {"applicant_type": "enterprise", "has_foreign_investor": "yes"})
        assert {m.name for m in more} - {m.name for m in base} == {"外商投资企业批准证书", "授权委托书及经办人身份证"}
