"""政民互动 fixtures: two departments, the 2026 working-day calendar, a routing rule, and the cast (an operator, a
handler of each department, a dispatcher), on SQLite and PostgreSQL; the clock on Monday 2026-12-07 09:00."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.accounts.helpers import compile_translations, make_user


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Cast:
    operator: int
    handler: int  # staff of ENV (市生态环境局)
    other_handler: int  # staff of HRS (市人社局)
    dispatcher: int
    rule_id: int


def user(user_id: int) -> Any:
    from app.accounts.models import User
    from app.extensions import db

    return db.session.get(User, user_id)


def token(app: Flask, user_id: int, scopes: list[str]) -> str:
    from app.accounts import services_tokens
    from app.extensions import db

    with app.app_context():
        _row, text = services_tokens.create_token(user=user(user_id), name="t", scopes=scopes, expires_in_days=1)
        db.session.commit()
    return text


@pytest.fixture
def cast(app: Flask, clock: Any) -> Cast:
    from app.convenience.interaction.models import InteractionCategory, InteractionRoutingRule, Kind
    from app.extensions import db
    from app.permits.calendar import services as calendar
    from app.permits.cases.processing_models import DepartmentStaff
    from app.permits.catalogue.models import Department

    compile_translations()
    operator, _ = make_user(app, "operator", ["hotline_operator"])
    handler, _ = make_user(app, "handler", ["department_handler"])
    other, _ = make_user(app, "handler2", ["department_handler"])
    dispatcher, _ = make_user(app, "dispatcher", ["dispatcher"])
    with app.app_context():
        calendar.seed(2026, 2026)
        env = Department(code="ENV", name="市生态环境局", name_en="Ecology and Environment Bureau", position=1)
        hrs = Department(code="HRS", name="市人力资源和社会保障局", name_en="Human Resources Bureau", position=2)
        db.session.add_all([env, hrs])
        db.session.flush()
        db.session.add_all(
            [
                DepartmentStaff(department_id=env.id, user_id=handler),
                DepartmentStaff(department_id=hrs.id, user_id=other),
            ]
        )
        environment = db.session.query(InteractionCategory).filter_by(code="environment").one()
        rule = InteractionRoutingRule(
            priority=10, kind=None, category_id=environment.id, department_id=env.id, note="环境"
        )
        noise = InteractionRoutingRule(
            priority=20, kind=Kind.COMPLAINT, keyword="工资", department_id=hrs.id, note="欠薪"
        )
        db.session.add_all([rule, noise])
        db.session.commit()
        rule_id = rule.id
    return Cast(operator, handler, other, dispatcher, rule_id)
