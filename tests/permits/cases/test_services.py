"""Unified acceptance rules: applicants, the form, materials, the desk's decision, the one-time notice."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.accounts.uscc import make_uscc
from app.audit.models import AuditEntry
from app.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.core.storage import DOCUMENTS, get_storage
from app.extensions import db
from app.permits.cases import services
from app.permits.cases.models import (
    Application,
    ApplicationChannel,
    ApplicationStatus,
    CorrectionNotice,
    ReceivedMaterial,
)
from tests.permits.cases.conftest import CITIZEN_ID, PDF, PNG
from tests.permits.cases.helpers import attach, attach_all, people, submit, who


def _count(model: Any) -> int:
    return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


# --- applicants --------------------------------------------------------------------------------------------


def test_uscc_check_digit(app: Flask) -> None:
    good = make_uscc("9", "1", "130400", "MA000001")
    with app.test_request_context():
        assert services.check_applicant("enterprise", "某公司", good.lower()).code == good
        wrong = good[:17] + ("0" if good[17] != "0" else "1")
        with pytest.raises(ValidationFailed) as exc:
            services.check_applicant("enterprise", "某公司", wrong)
        assert "check character" in exc.value.detail and exc.value.extra["errors"] == {
            "applicant.code": [exc.value.detail]
        }
        with pytest.raises(ValidationFailed):
            services.check_applicant("enterprise", "某公司", good[:17])  # 17 characters
        with pytest.raises(ValidationFailed):
            services.check_applicant("enterprise", "某公司", "I" + good[1:])  # a letter GB 32100 leaves out


def test_resident_id_number(app: Flask) -> None:
    with app.test_request_context():
        assert services.check_applicant("citizen", "张三", CITIZEN_ID.lower()).code == CITIZEN_ID
        for bad in ("110105194912310021", "11010519491331002X", "1101051949123100", "A1010519491231002X"):
            with pytest.raises(ValidationFailed):
                services.check_applicant("citizen", "张三", bad)
        with pytest.raises(ValidationFailed):
            services.check_applicant("robot", "张三", CITIZEN_ID)
        with pytest.raises(ValidationFailed):
            services.check_applicant("citizen", "  ", CITIZEN_ID)


# --- submitting ----------------------------------------------------------------------------------------------


def test_online_submission_records_the_applicant_and_no_first_handler(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        app_row = submit(who(p["applicant"]))
        db.session.commit()
        assert app_row.status is ApplicationStatus.RECEIVED and app_row.channel is ApplicationChannel.ONLINE
        assert app_row.submitted_by_id == p["applicant"] and app_row.first_handler_id is None
        assert app_row.number.startswith("SQ20260302-") and len(app_row.tracking_token) >= 32
        # The first member of staff who handles it becomes responsible, once.
        services.claim_application(actor=who(p["desk"]), application=app_row)
        services.claim_application(actor=who(p["lead"]), application=app_row)
        assert app_row.first_handler_id == p["desk"]
        actions = list(db.session.execute(select(AuditEntry.action).order_by(AuditEntry.index)).scalars())
        assert actions[-2:] == ["permits.application.submitted", "permits.application.first_handled"]
        with pytest.raises(PermissionDenied):
            services.claim_application(actor=who(p["applicant"]), application=app_row)


def test_desk_entry_makes_the_clerk_responsible(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["desk"]), channel=ApplicationChannel.DESK)
        assert row.first_handler_id == p["desk"] and row.submitted_by_id is None
        with pytest.raises(PermissionDenied):
            submit(who(p["applicant"]), channel=ApplicationChannel.DESK)
        with pytest.raises(Conflict):  # 社会保险登记 is online only
            submit(who(p["desk"]), channel=ApplicationChannel.DESK, item_code="HDRS-FW-001")
        with pytest.raises(NotFound):
            submit(who(p["desk"]), item_code="NO-SUCH")


def test_answers_failing_the_schema_store_nothing(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        before = _count(Application), _count(AuditEntry)
        for bad in ({"registered_capital": "many"}, {"company_type": "trust"}, {"unknown_field": 1}):
            with pytest.raises(ValidationFailed) as exc:
                submit(who(p["applicant"]), **bad)
            db.session.rollback()
            assert exc.value.status == 422 and exc.value.extra["errors"]["answers"]
        assert (_count(Application), _count(AuditEntry)) == before


# --- materials -----------------------------------------------------------------------------------------------


def test_material_is_stored_write_once_with_its_hash(desk_app: Flask) -> None:
    import hashlib

    p = people(desk_app)
    stranger = people(desk_app)["applicant"]
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        db.session.commit()
        received = attach(who(p["applicant"]), row, 0)
        db.session.commit()
        assert received.sha256 == hashlib.sha256(PDF).hexdigest() and received.size == len(PDF)
        assert b"".join(get_storage().get(DOCUMENTS, received.object_key)) == PDF
        png = attach(who(p["applicant"]), services.get_application(row.id), 1, PNG, "image/png")
        assert png.content_type == "image/png"
        # Somebody else's application is not there for a stranger.
        with pytest.raises(NotFound):
            attach(who(stranger), services.get_application(row.id), 0)


@pytest.mark.parametrize(
    ("data", "kind", "field_message"),
    [
        (PDF, "application/x-msdownload", "PDF, JPEG, PNG or OFD"),
        (b"MZ\x90\x00" + b"\x00" * 100, "application/pdf", "not of its declared type"),
        (PNG, "application/pdf", "not of its declared type"),
        (b"%PDF-" + b"x" * 5000, "application/pdf", "at most"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    desk_app: Flask, data: bytes, kind: str, field_message: str
) -> None:
    desk_app.config["PERMITS_MAX_MATERIAL_SIZE"] = 4096
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        db.session.commit()
        with pytest.raises(ValidationFailed) as exc:
            attach(who(p["applicant"]), row, 0, data, kind)
        db.session.rollback()
        assert field_message in exc.value.detail and "file" in exc.value.extra["errors"]
        assert _count(ReceivedMaterial) == 0
        assert list(get_storage().list(DOCUMENTS, prefix=f"permits/applications/{row.id}/")) == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(desk_app: Flask) -> None:
    desk_app.config["PERMITS_MAX_MATERIAL_SIZE"] = 4096
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        material = row.item.materials[0]

        class Exploding(io.RawIOBase):
            def read(self, size: int = -1) -> bytes:
                raise AssertionError("read")

        with pytest.raises(ValidationFailed):
            services.attach_material(
                actor=who(p["applicant"]),
                application=row,
                material_id=material.id,
                name="big.pdf",
                stream=Exploding(),  # type: ignore[arg-type]
                length=10**9,
                content_type="application/pdf",
            )


# --- the desk's decision -------------------------------------------------------------------------------------


def test_accept_gives_a_case_number_and_both_due_dates(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), row)
        row = services.get_application(row.id)
        services.accept_application(actor=who(p["desk"]), application=row)
        db.session.commit()
        # Accepted Monday 2026-03-02: 4 working days → Friday 03-06 (statutory); 1 → Tuesday 03-03 (promised).
        assert row.case_number == "2026-0001" and row.accepted_on == date(2026, 3, 2)
        assert (row.statutory_due, row.promised_due) == (date(2026, 3, 6), date(2026, 3, 3))
        assert row.first_handler_id == p["desk"] and row.decided_by_id == p["desk"] and not row.is_deemed
        with pytest.raises(Conflict):
            services.accept_application(actor=who(p["desk"]), application=row)
        second = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), second)
        services.accept_application(actor=who(p["desk"]), application=services.get_application(second.id))
        assert services.get_application(second.id).case_number == "2026-0002"
        assert services.allocate_case_number(2027) == "2027-0001"


def test_accept_needs_every_applicable_material_and_desk_staff(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        with pytest.raises(PermissionDenied):
            services.accept_application(actor=who(p["applicant"]), application=row)
        with pytest.raises(Conflict) as exc:
            services.accept_application(actor=who(p["desk"]), application=row)
        assert "组织机构代码申请表" in exc.value.detail


def test_conditional_materials_follow_the_answers(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        company = submit(who(p["applicant"]))
        person = submit(who(p["applicant"]), applicant_type="individual")
        names = lambda row: [m.name for m in services.applicable_materials(row.item, row.answers)]  # noqa: E731
        conditional = [m.name for m in company.item.materials if m.condition]
        assert conditional and set(conditional) <= set(names(company))
        assert not set(conditional) & set(names(person))


def test_refuse_acceptance_needs_reason_and_remedies(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        with pytest.raises(ValidationFailed):
            services.refuse_acceptance(actor=who(p["desk"]), application=row, reason="", remedies="x")
        services.refuse_acceptance(
            actor=who(p["desk"]), application=row, reason="不属于本中心受理范围", remedies="请向市场监管局申请"
        )
        assert row.status is ApplicationStatus.REFUSED and row.case_number is None
        assert row.refusal_remedies == "请向市场监管局申请"


def test_one_time_notice_lists_every_missing_and_defective_material(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        attach(who(p["applicant"]), row, 0)
        row = services.get_application(row.id)
        first = row.item.materials[0]
        notice = services.request_correction(
            actor=who(p["desk"]),
            application=row,
            defective=[{"material_id": first.id, "reason": "未加盖公章"}],
        )
        db.session.commit()
        needed = services.applicable_materials(row.item, row.answers)
        missing = [m.name for m in needed[1:]]
        assert [e["name"] for e in notice.entries if e["problem"] == "missing"] == missing
        assert notice.entries[-1] == {
            "material_id": first.id,
            "name": first.name,
            "problem": "defective",
            "reason": "未加盖公章",
        }
        assert row.status is ApplicationStatus.CORRECTION_REQUESTED and not notice.is_override
        with pytest.raises(Conflict):  # the applicant holds it now: no notice on top of a notice
            services.request_correction(actor=who(p["desk"]), application=row)


def test_second_notice_is_refused_unless_a_supervisor_overrides(desk_app: Flask) -> None:
    p = people(desk_app)
    with desk_app.test_request_context():
        row = submit(who(p["applicant"]))
        services.request_correction(actor=who(p["desk"]), application=row)
        # The applicant sends everything the notice asked for, and resubmits.
        with pytest.raises(ValidationFailed):
            services.resubmit_application(actor=who(p["applicant"]), application=row)
        attach_all(who(p["applicant"]), row)
        row = services.get_application(row.id)
        services.resubmit_application(actor=who(p["applicant"]), application=row)
        db.session.commit()
        assert row.status is ApplicationStatus.RESUBMITTED
        first = row.item.materials[0]
        defect = [{"material_id": first.id, "reason": "复印件不清晰"}]
        with pytest.raises(Conflict) as exc:
            services.request_correction(actor=who(p["desk"]), application=row, defective=defect)
        assert exc.value.status == 409
        db.session.rollback()
        with pytest.raises(PermissionDenied):  # desk staff cannot override themselves
            services.request_correction(
                actor=who(p["desk"]), application=row, defective=defect, override_reason="申请人要求"
            )
        db.session.rollback()
        assert _count(CorrectionNotice) == 1
        notice = services.request_correction(
            actor=who(p["lead"]), application=row, defective=defect, override_reason="原件与复印件不一致，经科长批准"
        )
        db.session.commit()
        assert notice.sequence == 2 and notice.is_override and notice.override_by_id == p["lead"]
        entry = db.session.execute(select(AuditEntry).order_by(AuditEntry.index.desc())).scalars().first()
        assert entry is not None and entry.action == "permits.application.correction_requested"


def test_accept_past_the_loaded_calendar_fails_loudly_and_stores_nothing(desk_app: Flask, clock: Any) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import delete

    from app.permits.calendar.deadlines import CalendarNotLoaded
    from app.permits.calendar.models import CalendarDay

    p = people(desk_app)
    clock.set(datetime(2026, 12, 28, 2, tzinfo=UTC))  # 4 working days from 12-28 reach into 2027
    with desk_app.test_request_context():
        db.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(2027, 1, 1)))
        row = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), row)
        db.session.commit()
        before = _count(AuditEntry)
        with pytest.raises(CalendarNotLoaded) as exc:
            services.accept_application(actor=who(p["desk"]), application=services.get_application(row.id))
        assert exc.value.status == 422
        db.session.rollback()
        row = services.get_application(row.id)
        assert row.status is ApplicationStatus.RECEIVED and row.case_number is None
        assert _count(AuditEntry) == before
