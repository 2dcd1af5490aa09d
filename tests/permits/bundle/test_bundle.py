"""The bundle (一照三证联办): the union form (each attribute once, conflicts refused), de-duplicated materials, one
submission into four applications, acceptance into four parallel department cases, the licence with the USCC."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.accounts.uscc import is_valid_uscc
from app.audit.models import AuditEntry
from app.core.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.permits.bundle import demo, services
from app.permits.bundle.models import BundleCase, BundleDefinition, BundleStatus
from app.permits.cases import processing
from app.permits.cases import services as cases
from app.permits.cases.models import Application, ApplicationStatus, ReceivedMaterial
from app.permits.catalogue import services as catalogue
from app.permits.certificates.models import Certificate
from tests.permits.bundle.helpers import define, submit, submitted
from tests.permits.cases.helpers import people, who
from tests.permits.cases.processing_helpers import reviewer


def _actions(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)) or 0


def test_union_form_asks_each_attribute_once(desk_app: Flask) -> None:
    define(desk_app)
    with desk_app.app_context():
        bundle = services.get_bundle(demo.CODE)
        union = services.union_form(bundle.items)
        names = list(union["properties"])
        assert len(names) == len(set(names))
        every = {k for i in bundle.items for k in i.form_schema["properties"]}
        assert set(names) == every
        assert names.count("company_name") == 1 and "accounting" in names and "institution_category" in names
        assert sorted(p["x-order"] for p in union["properties"].values()) == list(range(1, len(names) + 1))
        assert set(union["required"]) == {r for i in bundle.items for r in i.form_schema["required"]}
        assert _actions("permits.bundle.defined") == 1
        define(desk_app)  # the same definition again: nothing changes, nothing recorded
        assert _actions("permits.bundle.defined") == 1


def test_conflicting_attribute_is_refused_and_nothing_stored(desk_app: Flask, demo_data: dict[str, Any]) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        data = copy.deepcopy(demo_data)
        tax = next(i for i in data["items"] if i["code"] == "HDDSJ-FW-001")
        tax["form"]["properties"]["registered_capital"]["maximum"] = 500  # defined otherwise than the others
        catalogue.load_catalogue(data, base=catalogue.DEMO_CATALOGUE.parent)
        db.session.commit()
        with pytest.raises(ValidationFailed) as info:
            services.define_bundle(
                actor=who(p["lead"]),
                code="YZSZ",
                name="一照三证",
                item_codes=demo.ITEMS,
                licence_item=demo.LICENCE_ITEM,
            )
        assert any("registered_capital" in c and "HDDSJ-FW-001" in c for c in info.value.extra["errors"]["items"])
        db.session.rollback()
        assert db.session.scalar(select(func.count(BundleDefinition.id))) == 0
        with pytest.raises(PermissionDenied):
            services.define_bundle(
                actor=who(p["desk"]), code="X", name="x", item_codes=demo.ITEMS[:2], licence_item="x"
            )


def test_materials_are_deduplicated_and_sent_once(desk_app: Flask) -> None:
    row_id, _p = submitted(desk_app)
    with desk_app.app_context():
        row = services.get_bundle_case(row_id)
        bundle = row.bundle
        names = [m.name for m in services.materials(bundle)]
        assert len(names) == len(set(names))
        total = sum(len(i.materials) for i in bundle.items)
        assert len(names) < total
        id_card = next(m for m in services.materials(bundle) if m.name == "法定代表人身份证")
        assert {i.code for i, _ in id_card.members} == {"HDZJ-FW-001", "HDGSJ-FW-001", "HDDSJ-FW-001"}
        needed = services.needed_materials(bundle, row.answers)
        assert services.received_keys(row) == {m.key for m in needed}
        assert _actions("permits.bundle.material_received") == len(needed)  # one upload per material
        # ... received by each part that asks for it: every application has all it needs
        for part in row.parts:
            assert cases.missing_materials(part.application) == []
        copies = db.session.scalar(select(func.count(ReceivedMaterial.id)))
        assert copies == sum(len(m.applies(row.answers)) for m in needed)


@pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)
def test_submission_makes_four_parts_and_acceptance_four_parallel_cases(desk_app: Flask) -> None:
    row_id, p = submitted(desk_app)
    with desk_app.test_request_context():
        row = services.get_bundle_case(row_id)
        assert [part.application.item.code for part in row.parts] == demo.ITEMS
        tax = next(part.application for part in row.parts if part.application.item.code == "HDGSJ-FW-001")
        assert set(tax.answers) == set(tax.item.form_schema["properties"]) & set(demo.ANSWERS)
        with pytest.raises(PermissionDenied):
            services.accept_bundle(actor=who(p["applicant"]), row=row)
        services.accept_bundle(actor=who(p["desk"]), row=row)
        db.session.commit()
        row = services.get_bundle_case(row_id)
        assert row.status is BundleStatus.ACCEPTED
        opened = [processing.get_case(part.application_id) for part in row.parts]
        assert len({c.case_number for c in opened}) == 4
        assert {c.item.department.code for c in opened} == {"HDGS", "HDZJ", "HDGSJ", "HDDSJ"}
        for case in opened:  # each department's review is running at once: in parallel
            step = processing.current_step(case)
            assert step is not None and step.kind.value == "review"
            assert case.accepted_on == opened[0].accepted_on
        with pytest.raises(Conflict):
            services.accept_bundle(actor=who(p["desk"]), row=row)


def test_acceptance_is_all_or_nothing(desk_app: Flask) -> None:
    define(desk_app)
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]), materials=False)
        db.session.commit()
        with pytest.raises(Conflict):
            services.accept_bundle(actor=who(p["desk"]), row=row)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Application.id)).where(Application.case_number.is_not(None))) == 0


def test_bad_answers_store_nothing(desk_app: Flask) -> None:
    define(desk_app)
    p = people(desk_app)
    with desk_app.test_request_context():
        with pytest.raises(ValidationFailed):
            submit(who(p["applicant"]), materials=False, accounting="sometimes")
        db.session.rollback()
        assert db.session.scalar(select(func.count(BundleCase.id))) == 0
        assert db.session.scalar(select(func.count(Application.id))) == 0


def test_output_licence_carries_the_uscc_with_the_other_three(desk_app: Flask) -> None:
    row_id, p = submitted(desk_app)
    reviewers = {code: reviewer(desk_app, code, items=tuple(demo.ITEMS)) for code in ("HDGS", "HDZJ", "HDGSJ", "HDDSJ")}
    with desk_app.test_request_context():
        services.accept_bundle(actor=who(p["desk"]), row=services.get_bundle_case(row_id))
        db.session.commit()
        row = services.get_bundle_case(row_id)
        with pytest.raises(Conflict):  # no department has decided yet
            services.issue_output(actor=who(p["lead"]), row=row, uscc=demo.USCC)
        db.session.rollback()
        for part in services.get_bundle_case(row_id).parts:
            uid = reviewers[part.application.item.department.code]
            processing.finish_step(actor=who(uid), application=processing.get_case(part.application_id), kind="review")
            processing.decide(
                actor=who(uid), application=processing.get_case(part.application_id), outcome="approve", reasons="符合"
            )
        db.session.commit()
        row = services.get_bundle_case(row_id)
        with pytest.raises(ValidationFailed):  # a wrong check character
            services.issue_output(
                actor=who(p["lead"]), row=row, uscc=demo.USCC[:-1] + ("0" if demo.USCC[-1] != "0" else "1")
            )
        with pytest.raises(PermissionDenied):
            services.issue_output(actor=who(p["desk"]), row=row, uscc=demo.USCC)
        db.session.rollback()
        row = services.issue_output(actor=who(p["lead"]), row=services.get_bundle_case(row_id), uscc=demo.USCC)
        db.session.commit()
        assert row.status is BundleStatus.ISSUED and is_valid_uscc(row.uscc) and len(row.uscc) == 18
        assert row.organisation_code == demo.USCC[8:17] and row.tax_number == demo.USCC
        cert = db.session.scalar(select(Certificate).where(Certificate.number == row.certificate_number))
        assert cert.holder_code == demo.USCC and cert.item.code == demo.LICENCE_ITEM
        assert row.organisation_code in cert.scope and "纳税人识别号" in cert.scope
        assert cert.case_number == services.licence_part(row).case_number
        assert _actions("permits.bundle.output_issued") == 1
        assert all(part.application.status is ApplicationStatus.ACCEPTED for part in row.parts)
