"""Dispatch of household orders: rotation by district and category, suspended providers skipped, the
acknowledgement time limit (time travel + the sweep), decline → next provider, escalation after N failures,
hand dispatch of an unassigned order, the provider directory's checks; every change in the evidence log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.convenience.household.helpers import (
    CLEANING,
    CONGTAI,
    FENGFENG,
    HANSHAN,
    PLUMBING,
    act,
    actions,
    count,
    order,
    provider,
    state,
    uscc,
)

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def hh(app: Flask, clock: Any) -> Flask:
    return app


def _services() -> Any:
    from app.convenience.household import services

    return services


def test_the_22_categories_and_the_districts_of_handan_are_seeded(hh: Flask) -> None:
    with hh.app_context():
        cats = _services().categories()
        names = [d.name for d in _services().districts()]
    assert len(cats) == 22 and len({c.code for c in cats}) == 22
    assert {
        "家政保洁",
        "水电维修",
        "管道疏通",
        "开锁换锁",
        "家电维修",
        "搬家",
        "月嫂育婴",
        "养老护理",
        "送水送气",
        "房屋维修",
    } <= {c.name for c in cats}
    assert {"丛台区", "邯山区", "复兴区", "峰峰矿区", "肥乡区", "永年区"} <= set(names)


def test_orders_go_round_the_eligible_providers_and_skip_the_suspended(hh: Flask) -> None:
    from app.convenience.household.models import Dispatch

    a = provider(hh, "甲")
    b = provider(hh, "乙", categories=(PLUMBING, CLEANING), districts=(CONGTAI, HANSHAN))
    elsewhere = provider(hh, "丙", districts=(HANSHAN,))  # not in 丛台区
    other_trade = provider(hh, "丁", categories=(CLEANING,))  # not plumbing
    c = provider(hh, "戊")
    act(hh, _services().suspend_provider, actor="system:test", provider_id=c, reason="投诉待查")
    got = [state(hh, order(hh)[0])[1] for _ in range(6)]
    assert got == [a, b, a, b, a, b]
    with hh.app_context():
        from app.extensions import db

        slots = [d.slot for d in db.session.query(Dispatch).order_by(Dispatch.id)]
    assert slots == [1, 2, 3, 4, 5, 6]
    act(hh, _services().reinstate_provider, actor="system:test", provider_id=c, reason="整改完成")
    assert [state(hh, order(hh)[0])[1] for _ in range(3)] == [c, a, b]  # the cursor was at b: c comes next
    assert elsewhere not in got and other_trade not in got
    assert actions(hh).count("convenience.household.order_dispatched") == 9


def test_an_order_nobody_can_take_is_escalated_at_once(hh: Flask) -> None:
    provider(hh, "甲")
    reference, _ = order(hh, district=FENGFENG)
    status, who, dispatches = state(hh, reference)
    assert (status, who, dispatches) == ("unassigned", None, [])
    assert actions(hh)[-2:] == ["convenience.household.order_requested", "convenience.household.order_escalated"]


def test_not_acknowledged_in_time_goes_to_the_next_provider(hh: Flask, clock: Any) -> None:
    from app.core.errors import Conflict

    a = provider(hh, "甲", account="prov_a")
    b = provider(hh, "乙", account="prov_b")
    reference, _ = order(hh)
    clock.advance(timedelta(minutes=29))
    with hh.app_context():
        assert _services().sweep_timeouts() == {"timed_out": 0, "redispatched": 0, "escalated": 0}
    clock.advance(timedelta(minutes=1, seconds=1))
    with pytest.raises(Conflict):  # too late to accept, even before the sweep ran
        act(hh, _services().accept, actor="prov_a", reference=reference)
    with hh.app_context():
        from app.extensions import db

        assert _services().sweep_timeouts() == {"timed_out": 1, "redispatched": 1, "escalated": 0}
        db.session.commit()
        assert _services().sweep_timeouts()["timed_out"] == 0  # idempotent: nothing overdue any more
    assert state(hh, reference) == ("dispatched", b, [(a, "timed_out"), (b, "pending")])
    assert "convenience.household.ack_timed_out" in actions(hh)
    act(hh, _services().accept, actor="prov_b", reference=reference)
    assert state(hh, reference)[0] == "accepted"


def test_the_sweep_is_registered_on_beat(hh: Flask) -> None:
    from app.core.tasks import declared

    sweep = declared()["convenience.household.ack_timeouts"]
    assert sweep.every <= timedelta(minutes=5)


def test_decline_goes_to_the_next_and_n_failures_escalate(hh: Flask, clock: Any) -> None:
    a = provider(hh, "甲", account="prov_a")
    b = provider(hh, "乙", account="prov_b")
    c = provider(hh, "丙", account="prov_c")
    d = provider(hh, "丁", account="prov_d")
    hh.config["HOUSEHOLD_MAX_FAILURES"] = 3
    reference, _ = order(hh)
    act(hh, _services().decline, actor="prov_a", reference=reference, reason="师傅已排满")
    assert state(hh, reference)[1] == b
    clock.advance(timedelta(minutes=31))
    with hh.app_context():
        from app.extensions import db

        _services().sweep_timeouts()
        db.session.commit()
    assert state(hh, reference)[1] == c
    act(hh, _services().decline, actor="prov_c", reference=reference, reason="不在服务范围")
    status, who, dispatches = state(hh, reference)
    assert (status, who) == ("unassigned", None)  # three failures: with the center, d was never tried
    assert dispatches == [(a, "declined"), (b, "timed_out"), (c, "declined")]
    # The center dispatches it by hand; the chosen provider acknowledges as usual.
    act(hh, _services().assign, actor="system:test", reference=reference, provider_id=d)
    assert state(hh, reference)[:2] == ("dispatched", d)
    act(hh, _services().accept, actor="prov_d", reference=reference)
    assert actions(hh)[-3:] == [
        "convenience.household.order_escalated",
        "convenience.household.order_dispatched",
        "convenience.household.order_accepted",
    ]


def test_a_decline_needs_a_reason_and_only_the_dispatched_provider_answers(hh: Flask) -> None:
    from app.core.errors import NotFound, PermissionDenied, ValidationFailed

    provider(hh, "甲", account="prov_a")
    provider(hh, "乙", account="prov_b")
    reference, _ = order(hh)
    before = actions(hh)
    with pytest.raises(ValidationFailed):
        act(hh, _services().decline, actor="prov_a", reference=reference, reason="  ")
    with pytest.raises(NotFound):
        act(hh, _services().accept, actor="prov_b", reference=reference)
    from tests.factories import user as make_user

    make_user(hh, "stranger", roles=["household_provider"])
    with pytest.raises(PermissionDenied):
        act(hh, _services().accept, actor="stranger", reference=reference)
    assert actions(hh) == before


def test_suspending_a_provider_sends_its_waiting_order_on(hh: Flask) -> None:
    a = provider(hh, "甲")
    b = provider(hh, "乙")
    reference, _ = order(hh)
    act(hh, _services().suspend_provider, actor="system:test", provider_id=a, reason="多次投诉")
    assert state(hh, reference) == ("dispatched", b, [(a, "withdrawn"), (b, "pending")])
    assert [state(hh, order(hh)[0])[1] for _ in range(2)] == [b, b]
    from app.core.errors import Conflict

    with pytest.raises(Conflict):
        act(hh, _services().suspend_provider, actor="system:test", provider_id=a, reason="再次")
    act(hh, _services().withdraw_provider, actor="system:test", provider_id=b, reason="企业注销")
    status, who, _dispatches = state(hh, order(hh)[0])
    assert (status, who) == ("unassigned", None)


def test_completion_price_in_fen_and_the_rating_feeds_the_provider(hh: Flask) -> None:
    from app.core.errors import Conflict, ValidationFailed

    a = provider(hh, "甲", account="prov_a")
    reference, token = order(hh)
    with pytest.raises(Conflict):  # not accepted yet
        act(hh, _services().complete, actor="prov_a", reference=reference, work_done="换阀芯", price_fen=8000)
    act(hh, _services().accept, actor="prov_a", reference=reference)
    for bad in (-1, 10_000_001, "80", 1.5, None):
        with pytest.raises(ValidationFailed):
            act(hh, _services().complete, actor="prov_a", reference=reference, work_done="换阀芯", price_fen=bad)
    act(hh, _services().complete, actor="prov_a", reference=reference, work_done="更换阀芯", price_fen=8050)
    with hh.app_context():
        from app.extensions import db

        row = _services().get_order(reference)
        assert (row.status.value, row.price_fen) == ("completed", 8050)
        assert _services().standing(row.provider) == _services().Standing(None, 0)
        _services().rate(reference=reference, token=token, level="satisfied", comment="")
        db.session.commit()
    second, token2 = order(hh)
    act(hh, _services().accept, actor="prov_a", reference=second)
    act(hh, _services().complete, actor="prov_a", reference=second, work_done="疏通", price_fen=0)
    with hh.app_context():
        from app.extensions import db

        _services().rate(reference=second, token=token2, level="very_dissatisfied", comment="很慢")
        db.session.commit()
        assert _services().standings()[a] == _services().Standing(2.5, 2)


def test_the_directory_checks_the_uscc_and_stores_nothing_on_bad_input(hh: Flask) -> None:
    from app.convenience.household.models import Provider
    from app.core.errors import Conflict, ValidationFailed

    good = {
        "name": "邯郸市测试家政有限公司",
        "uscc": uscc(9001),
        "contact_name": "王",
        "contact_phone": "0310-3101234",
        "categories": [PLUMBING],
        "districts": [CONGTAI],
    }
    for bad in (
        {"uscc": uscc(9001)[:-1] + ("0" if uscc(9001)[-1] != "0" else "1")},  # wrong check character
        {"uscc": "12345"},
        {"categories": []},
        {"categories": ["HS99"]},
        {"districts": ["110101"]},
        {"contact_phone": "12"},
        {"name": ""},
    ):
        with pytest.raises(ValidationFailed):
            act(hh, _services().register_provider, actor="system:test", **{**good, **bad})
    assert count(hh, Provider) == 0 and actions(hh) == []
    act(hh, _services().register_provider, actor="system:test", **good)
    with pytest.raises(Conflict):
        act(hh, _services().register_provider, actor="system:test", **{**good, "name": "另一家"})
    assert count(hh, Provider) == 1 and actions(hh) == ["convenience.household.provider_registered"]


def test_a_reference_drawn_twice_is_drawn_again(hh: Flask, monkeypatch: Any) -> None:
    from app.convenience.household.models import Order

    provider(hh, "甲")
    first, _ = order(hh)
    drawn = iter([first, first, "JZ20261207-ZZZZZ2"])
    monkeypatch.setattr(_services(), "_new_reference", lambda: next(drawn))
    second, _ = order(hh)
    assert second == "JZ20261207-ZZZZZ2" and count(hh, Order) == 2


def test_a_provider_that_stops_serving_a_category_hands_its_waiting_order_on(hh: Flask) -> None:
    a = provider(hh, "甲", categories=(PLUMBING, CLEANING))
    b = provider(hh, "乙")
    reference, _ = order(hh)  # plumbing in 丛台区: a's turn
    assert state(hh, reference)[1] == a
    act(
        hh,
        _services().amend_provider,
        actor="system:test",
        provider_id=a,
        name="甲",
        contact_name="联系人",
        contact_phone="13800000000",
        categories=[CLEANING],
        districts=[CONGTAI],
    )
    assert state(hh, reference) == ("dispatched", b, [(a, "withdrawn"), (b, "pending")])
    assert [state(hh, order(hh)[0])[1] for _ in range(2)] == [b, b]  # a no longer plumbs
    assert state(hh, order(hh, category=CLEANING)[0])[1] == a
    assert "convenience.household.provider_amended" in actions(hh)


def test_a_provider_gains_a_district_and_unchanged_details_record_nothing(hh: Flask) -> None:
    from app.core.errors import Conflict, ValidationFailed

    a = provider(hh, "甲")
    details = {"name": "甲", "contact_name": "联系人", "contact_phone": "13800000000", "categories": [PLUMBING]}
    assert state(hh, order(hh, district=HANSHAN)[0])[:2] == ("unassigned", None)
    before = actions(hh)
    act(hh, _services().amend_provider, actor="system:test", provider_id=a, districts=[CONGTAI], **details)
    assert actions(hh) == before  # nothing changed, nothing recorded
    act(hh, _services().amend_provider, actor="system:test", provider_id=a, districts=[CONGTAI, HANSHAN], **details)
    assert state(hh, order(hh, district=HANSHAN)[0])[1] == a
    with pytest.raises(ValidationFailed) as bad:
        act(hh, _services().amend_provider, actor="system:test", provider_id=a, districts=["999999"], **details)
    assert "districts" in bad.value.extra["errors"]
    with pytest.raises(ValidationFailed):
        act(hh, _services().amend_provider, actor="system:test", provider_id=a, districts=[], **details)
    act(hh, _services().withdraw_provider, actor="system:test", provider_id=a, reason="企业注销")
    with pytest.raises(Conflict):
        act(hh, _services().amend_provider, actor="system:test", provider_id=a, districts=[FENGFENG], **details)
