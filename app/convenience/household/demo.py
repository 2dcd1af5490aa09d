"""Demo data of the 8188890 platform for `make run`: twelve providers over the categories and the districts of 邯郸
(one suspended after a complaint, the demo provider account's company among them) and a few orders in different
states: one waiting for the demo provider's acknowledgement, one accepted, one completed and rated, one declined and
sent on, one escalated to the center as unassigned.

Idempotent: nothing is seeded once a provider exists. Everything goes through the services (so the evidence log
has it all); a fake clock places the older orders in the past and the real clock is put back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.accounts.models import User
from app.accounts.uscc import make_uscc
from app.convenience.household import services
from app.convenience.household.models import Provider
from app.core import time as clock_mod
from app.core.db import db

CORE = ["130402", "130403", "130404"]  # 邯山区、丛台区、复兴区: the city's three central districts
# name, organisation-code body, categories, districts (None: the central three), contact, phone
PROVIDERS: list[tuple[str, str, list[str], list[str] | None, str, str]] = [
    ("邯郸市安居家政服务有限公司", "MA0HJ001", ["HS01", "HS07", "HS08", "HS11", "HS12"], None, "王敏", "13831000001"),
    ("邯郸市便民水电维修有限公司", "MA0HJ002", ["HS02", "HS03", "HS10", "HS14", "HS18"], None, "李强", "13831000002"),
    ("邯郸市丛台区诚信开锁服务部", "MA0HJ003", ["HS04", "HS18"], ["130403", "130402"], "赵刚", "13831000003"),
    ("邯郸市家电医院维修有限公司", "MA0HJ004", ["HS05", "HS15", "HS16", "HS17", "HS20"], None, "刘洋", "13831000004"),
    ("邯郸市顺达搬家服务有限公司", "MA0HJ005", ["HS06"], [*CORE, "130407", "130408"], "陈军", "13831000005"),
    ("邯郸市清泉桶装水配送有限公司", "MA0HJ006", ["HS09"], CORE, "杨帆", "13831000006"),
    ("邯郸市万家乐家政服务有限公司", "MA0HJ007", ["HS01", "HS11", "HS17", "HS21"], CORE, "周丽", "13831000007"),
    ("邯郸市邯山区快修水电服务部", "MA0HJ008", ["HS02", "HS03", "HS15"], ["130402", "130404"], "吴涛", "13831000008"),
    ("邯郸市峰峰矿区惠民家政服务中心", "MA0HJ009", ["HS01", "HS02", "HS06", "HS08"], ["130406"], "郑红", "13831000009"),
    ("邯郸市永年区德馨养老护理服务有限公司", "MA0HJ010", ["HS08", "HS12"], ["130408", "130407"], "孙芳", "13831000010"),
    ("邯郸市安宁除虫灭鼠有限公司", "MA0HJ011", ["HS19"], [*CORE, "130406"], "马超", "13831000011"),
    ("邯郸市启航家教服务中心", "MA0HJ012", ["HS22", "HS13"], CORE, "胡静", "13831000012"),
]
PORTAL = 1  # the demo `household_provider` account works for 邯郸市便民水电维修有限公司
SUSPENDED = 10  # 安宁除虫灭鼠: suspended after a complaint


def _order(**kw: str) -> dict[str, str]:
    base = {
        "address": "丛台区人民路 88 号 3 号楼 2 单元 501 室",
        "preferred_time": "工作日下午",
        "contact_name": "张先生",
        "contact_phone": "13912340000",
    }
    return {**base, **kw}


@contextmanager
def _at(start: datetime) -> Iterator[clock_mod.FakeClock]:
    fake = clock_mod.FakeClock(start)
    previous = clock_mod.set_clock(fake)
    try:
        yield fake
    finally:
        clock_mod.set_clock(previous)


def seed_demo_household() -> list[str]:
    if db.session.scalar(select(func.count(Provider.id))):
        return []
    admin = db.session.scalar(select(User).where(User.username == "household_admin"))
    portal_user = db.session.scalar(select(User).where(User.username == "household_provider"))
    actor = admin or "system:demo"
    providers = []
    for i, (name, body, cats, dists, contact, phone) in enumerate(PROVIDERS):
        providers.append(
            services.register_provider(
                actor=actor,
                name=name,
                uscc=make_uscc("9", "1", "130400", body),
                contact_name=contact,
                contact_phone=phone,
                categories=cats,
                districts=dists or CORE,
                account_id=portal_user.id if portal_user is not None and i == PORTAL else None,
            )
        )
    services.complain(
        actor=actor, text="上门灭鼠后一周内复发，联系后未再上门处理。", provider_id=providers[SUSPENDED].id
    )
    services.suspend_provider(
        actor=actor, provider_id=providers[SUSPENDED].id, reason="群众投诉服务质量，暂停派单待整改"
    )
    lines = [f"household-service providers: {len(providers)} (one suspended), /convenience/household/admin/providers"]
    plumber = providers[PORTAL]
    real_now = clock_mod.now_utc()
    with _at(real_now - timedelta(days=2)) as clock:
        # Completed and rated: only the demo provider serves 水电维修 in 丛台区.
        done = services.request_order(
            actor=None, **_order(category="HS02", district="130403", description="卫生间水龙头漏水")
        )
        if done.provider_id == plumber.id and portal_user is not None:
            clock.advance(timedelta(minutes=10))
            services.accept(actor=portal_user, reference=done.reference)
            clock.advance(timedelta(hours=3))
            services.complete(
                actor=portal_user, reference=done.reference, work_done="更换水龙头阀芯，检查管路无渗漏", price_fen=8000
            )
            clock.advance(timedelta(hours=2))
            services.rate(
                reference=done.reference, token=done.token, level="very_satisfied", comment="师傅准时，手艺好"
            )
            lines.append(f"household order {done.reference}: completed and rated by the citizen")
        # Nobody serves 家教辅导 in 峰峰矿区: escalated to the center at once.
        unassigned = services.request_order(
            actor=None,
            **_order(
                category="HS22",
                district="130406",
                description="初二数学家教，每周两次",
                address="峰峰矿区滏阳东路 12 号",
            ),
        )
        lines.append(f"household order {unassigned.reference}: unassigned (no provider), with the center")
    with _at(real_now - timedelta(hours=3)) as clock:
        accepted = services.request_order(
            actor=None, **_order(category="HS02", district="130403", description="厨房插座跳闸")
        )
        if accepted.provider_id == plumber.id and portal_user is not None:
            clock.advance(timedelta(minutes=5))
            services.accept(actor=portal_user, reference=accepted.reference)
            lines.append(f"household order {accepted.reference}: accepted by the demo provider")
        # 管道疏通 in 邯山区: the rotation starts with the demo provider, which declines; the next one gets it.
        declined = services.request_order(
            actor=None,
            **_order(
                category="HS03", district="130402", description="下水道堵塞，需要疏通", address="邯山区陵园路 21 号"
            ),
        )
        if declined.provider_id == plumber.id and portal_user is not None:
            clock.advance(timedelta(minutes=8))
            services.decline(actor=portal_user, reference=declined.reference, reason="今日师傅已排满，无法按时上门")
            lines.append(f"household order {declined.reference}: declined by the demo provider, sent on")
    waiting = services.request_order(
        actor=None, **_order(category="HS02", district="130403", description="热水器不出热水")
    )
    lines.append(
        f"household order {waiting.reference}: waiting for acknowledgement"
        " (sign in as household_provider: /convenience/household/portal)"
    )
    return lines
