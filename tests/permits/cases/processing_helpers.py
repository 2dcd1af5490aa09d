"""Helpers of the case-processing tests: department reviewers with authorisations, an accepted joint case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from app.core.time import FakeClock
from app.extensions import db
from app.permits.cases import authorisations, services, tasks
from tests.factories import user
from tests.permits.cases.conftest import ITEM
from tests.permits.cases.helpers import attach_all, people, submit, who

BEIJING = ZoneInfo("Asia/Shanghai")
LEAD = "HDZJ"  # the item's department (质监)
CO = ("HDGSJ", "HDDSJ")  # 国税, 地税
REVIEWER_ROLE = "permits_reviewer"


def at(clock: FakeClock, year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> None:
    clock.set(datetime(year, month, day, hour, minute, tzinfo=BEIJING))


def reviewer(app: Flask, department: str, *, authorise: bool = True, items: tuple[str, ...] = (ITEM,)) -> int:
    """A permits_reviewer on `department`'s staff with (by default) an authorisation for `items`, 2026–2027."""
    uid, _ = user(app, roles=[REVIEWER_ROLE], totp=False)
    admin_id, _ = user(app, roles=["admin"], totp=False)
    with app.test_request_context():
        admin, person = who(admin_id), who(uid)
        authorisations.add_staff(actor=admin, department_code=department, username=person.username)
        if authorise:
            authorisations.grant(
                actor=admin,
                department_code=department,
                username=person.username,
                item_codes=list(items),
                valid_from=datetime(2026, 1, 1, tzinfo=UTC),
                valid_to=datetime(2028, 1, 1, tzinfo=UTC),
                approved_by="局长 张某",
                reference="授字〔2026〕1号",
            )
        db.session.commit()
    return uid


def accepted_case(app: Flask, co: tuple[str, ...] | list[str] = CO, **item_changes: Any) -> tuple[int, dict[str, int]]:
    """An application of ITEM accepted now by the desk, with co-departments `co`; the item changed as asked."""
    p = people(app)
    with app.test_request_context():
        from app.permits.catalogue import services as catalogue

        item = catalogue.get_item(ITEM)
        for key, value in item_changes.items():
            setattr(item, key, value)
        row = submit(who(p["applicant"]))
        attach_all(who(p["applicant"]), row)
        services.accept_application(actor=who(p["desk"]), application=row, co_departments=list(co))
        db.session.commit()
        return row.id, p


def sweep(app: Flask) -> dict[str, int]:
    with app.test_request_context():
        out = tasks.deem_tasks()
        db.session.commit()
        return dict(out or {})
