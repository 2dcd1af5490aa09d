"""Demo data of 政民互动 for `make run`: routing rules to the demo catalogue's departments, the demo department
handler on the staff of the environment bureau, and a handful of requests from every channel in different states
of the loop (one rated, one to call back, one replied waiting to be closed, one overdue, one being handled, one
new at the dispatch office).

Idempotent: nothing is seeded once any request exists, or when the demo accounts or departments are missing. A
fake clock places the requests in the past; the real clock is put back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.accounts.models import User
from app.convenience.interaction import services
from app.convenience.interaction.models import (
    Channel,
    InteractionCategory,
    InteractionRequest,
    InteractionRoutingRule,
    Kind,
)
from app.core import time as clock_mod
from app.core.db import db
from app.permits.cases.processing_models import DepartmentStaff
from app.permits.catalogue.models import Department

RULES = [  # priority, kind, category code, keyword, department code
    (10, None, "environment", "", "HDHB"),
    (10, None, "social-security", "", "HDRS"),
    (20, Kind.COMPLAINT, None, "工资", "HDRS"),
    (10, None, "labour", "", "HDRS"),
    (10, None, "traffic", "", "HDJT"),
    (10, None, "market", "", "HDGS"),
    (10, None, "housing", "", "HDJS"),
]
HANDLER_DEPARTMENT = "HDHB"


@contextmanager
def _at(start: datetime) -> Iterator[clock_mod.FakeClock]:
    fake = clock_mod.FakeClock(start)
    previous = clock_mod.set_clock(fake)
    try:
        yield fake
    finally:
        clock_mod.set_clock(previous)


def _user(username: str) -> User | None:
    found: User | None = db.session.scalar(select(User).where(User.username == username))
    return found


def seed_demo_interaction() -> list[str]:
    if db.session.scalar(select(func.count(InteractionRequest.id))):
        return []
    operator, handler, dispatcher = _user("hotline_operator"), _user("department_handler"), _user("dispatcher")
    departments = {d.code: d for d in db.session.scalars(select(Department))}
    if operator is None or handler is None or dispatcher is None or HANDLER_DEPARTMENT not in departments:
        return []
    categories = {c.code: c for c in db.session.scalars(select(InteractionCategory))}
    for priority, kind, category, keyword, department in RULES:
        if department in departments:
            db.session.add(
                InteractionRoutingRule(
                    priority=priority,
                    kind=kind,
                    category_id=categories[category].id if category else None,
                    keyword=keyword,
                    department_id=departments[department].id,
                    note=f"{category or keyword} → {department}",
                )
            )
    if (
        db.session.scalar(
            select(DepartmentStaff).where(
                DepartmentStaff.user_id == handler.id,
                DepartmentStaff.department_id == departments[HANDLER_DEPARTMENT].id,
            )
        )
        is None
    ):
        db.session.add(DepartmentStaff(department_id=departments[HANDLER_DEPARTMENT].id, user_id=handler.id))
    db.session.flush()

    real_now = clock_mod.now_utc()
    lines: list[str] = []

    def made(hours_ago: int, **kw: Any) -> InteractionRequest:
        with _at(real_now - timedelta(hours=hours_ago)):
            return services.submit(**kw).request

    def later(hours_ago: int) -> Any:  # the evidence log's instants only ever move forward
        return _at(real_now - timedelta(hours=hours_ago))

    # 1. consultation by the hotline to another department, overdue
    late = made(
        170,
        channel=Channel.HOTLINE,
        kind="consultation",
        category="social-security",
        name="赵女士",
        phone="13803100004",
        body="灵活就业人员如何续缴养老保险？",
        actor=operator,
    )
    lines.append(f"interaction request {late.reference}: consultation, overdue")
    # 2. complaint by the web form: the whole loop, rated
    rated = made(
        150,
        channel=Channel.WEB,
        kind="complaint",
        category="environment",
        name="刘女士",
        phone="13803100001",
        body="丛台区某小区旁的烧烤店每晚油烟很大，影响居民开窗通风。",
    )
    with later(130):
        services.take_up(actor=handler, reference=rated.reference)
        services.reply(
            actor=handler,
            reference=rated.reference,
            text=services.fill_template(rated).replace("【请填写】", "已现场检查并责令安装油烟净化设施"),
        )
    with later(110):
        services.close(actor=dispatcher, reference=rated.reference)
        services.call_back(actor=operator, reference=rated.reference, reached=True, satisfied=True, note="已整改")
        from app.convenience.rating import services as rating

        rating.rate(services.rating_subject(rated), level="satisfied", comment="处理及时")
    lines.append(f"interaction request {rated.reference}: complaint, closed, called back and rated")
    # 3. consultation by the hotline, closed and waiting for the call-back
    asked = made(
        100,
        channel=Channel.HOTLINE,
        kind="consultation",
        category="environment",
        name="陈先生",
        phone="0310-3100002",
        body="个体餐馆办理排污许可需要什么材料？",
        actor=operator,
    )
    with later(80):
        services.reply(actor=handler, reference=asked.reference, text="请携带营业执照和环评登记表到二楼环保窗口办理。")
        services.close(actor=dispatcher, reference=asked.reference)
    lines.append(f"interaction request {asked.reference}: consultation, closed, to call back")
    # 4. complaint by e-mail, replied, waiting for the dispatcher to close it
    mailed = made(
        70,
        channel=Channel.EMAIL,
        kind="complaint",
        category="environment",
        name="王先生",
        email="wang@example.com",
        title="夜间施工噪声",
        body="工地每晚十一点后仍在施工，噪声扰民。",
        external_id="<demo-1@mail.example.com>",
        actor=operator,
    )
    with later(50):
        services.press(actor=dispatcher, reference=mailed.reference, note="群众多次反映，请两日内答复")
        services.reply(actor=handler, reference=mailed.reference, text="已约谈施工单位，夜间22时后停止施工。")
    lines.append(f"interaction request {mailed.reference}: complaint, replied, to close")
    # 5. suggestion from the forum, being handled
    posted = made(
        20,
        channel=Channel.FORUM,
        kind="suggestion",
        category="environment",
        name="老邯郸",
        title="建议增加分类垃圾桶",
        body="建议在滏阳河沿岸增设分类垃圾桶。",
        external_id="demo-forum-1",
        actor=operator,
    )
    with later(10):
        services.take_up(actor=handler, reference=posted.reference)
    lines.append(f"interaction request {posted.reference}: suggestion, being handled")
    # 6. help request by the web form, new at the dispatch office
    fresh = made(
        2,
        channel=Channel.WEB,
        kind="help",
        category="utilities",
        name="孙大爷",
        phone="13803100006",
        body="独居老人家中停暖，请帮忙联系供热公司。",
    )
    lines.append(f"interaction request {fresh.reference}: help request, at the dispatch office")
    services.mark_overdue()
    db.session.flush()
    return lines
