"""Dispatch at once on PostgreSQL: parallel requests (and declines) on one rotation never share a slot or a turn;
two timeout sweeps at once time each overdue order out once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.convenience.household.helpers import actions, order, order_args, provider

PARALLEL = 8
API = "/api/v1/convenience/household"


def _dispatches(app: Flask) -> list[tuple[int | None, int]]:
    from app.convenience.household.models import Dispatch
    from app.extensions import db

    with app.app_context():
        return [(d.slot, d.provider_id) for d in db.session.scalars(select(Dispatch).order_by(Dispatch.slot))]


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_parallel_requests_take_distinct_slots_in_fair_turns(app: Flask, db_backend: str, clock: Any) -> None:
    ids = [provider(app, f"服务商{i}") for i in range(4)]
    barrier = threading.Barrier(PARALLEL)

    def send(i: int) -> int:
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"{API}/orders", json=order_args(description=f"第{i}单"))
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return int(resp.get_json()["provider"])

    with ThreadPoolExecutor(PARALLEL) as pool:
        chosen = list(pool.map(send, range(PARALLEL)))
    rows = _dispatches(app)
    assert [slot for slot, _p in rows] == list(range(1, PARALLEL + 1))  # no slot twice, none skipped
    assert Counter(chosen) == dict.fromkeys(ids, PARALLEL // len(ids))
    assert [p for _slot, p in rows] == [ids[i % len(ids)] for i in range(PARALLEL)]  # the rotation's order
    assert actions(app).count("convenience.household.order_dispatched") == PARALLEL


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_declines_and_requests_at_once_keep_the_slots_unique(app: Flask, db_backend: str, clock: Any) -> None:
    from app.convenience.household import services
    from app.extensions import db
    from tests.convenience.household.helpers import as_user

    first = provider(app, "甲", account="prov_first")
    for i in range(3):
        provider(app, f"乙{i}")
    mine = []
    for _ in range(4):  # every 4th order goes to 甲: give it four to decline
        refs = [order(app)[0] for _ in range(4)]
        mine.append(refs[0])
    barrier = threading.Barrier(8)

    def work(i: int) -> str:
        with app.app_context():
            barrier.wait()
            if i < 4:
                services.decline(actor=as_user(app, "prov_first"), reference=mine[i], reason="忙")
            else:
                services.request_order(actor=None, **order_args())
            db.session.commit()
            return "ok"

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(8))) == ["ok"] * 8
    slots = [slot for slot, _p in _dispatches(app)]
    assert slots == list(range(1, 16 + 8 + 1))
    with app.app_context():
        for reference in mine:
            row = services.get_order(reference)
            assert row.provider_id != first and row.dispatches[0].outcome.value == "declined"


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_two_sweeps_at_once_time_each_order_out_once(app: Flask, db_backend: str, clock: Any) -> None:
    from app.convenience.household import services
    from app.extensions import db

    for i in range(3):
        provider(app, f"服务商{i}")
    for _ in range(6):
        order(app)
    clock.advance(timedelta(minutes=31))
    barrier = threading.Barrier(2)

    def sweep(_: int) -> int:
        with app.app_context():
            barrier.wait()
            result = services.sweep_timeouts()
            db.session.commit()
            return result["timed_out"]

    with ThreadPoolExecutor(2) as pool:
        assert sum(pool.map(sweep, range(2))) == 6
    assert actions(app).count("convenience.household.ack_timed_out") == 6
    slots = [slot for slot, _p in _dispatches(app)]
    assert slots == list(range(1, 13))


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_suspension_racing_the_providers_declines_moves_each_order_on_once(
    app: Flask, db_backend: str, clock: Any
) -> None:
    from app.convenience.household import services
    from app.core.errors import Conflict, NotFound
    from app.extensions import db
    from tests.convenience.household.helpers import as_user

    first = provider(app, "甲", account="prov_first")
    second = provider(app, "乙")
    mine = []
    for _ in range(4):
        mine.append(order(app)[0])  # → 甲
        order(app)  # → 乙
    barrier = threading.Barrier(5)

    def work(i: int) -> str:
        with app.app_context():
            barrier.wait()
            try:
                if i == 4:
                    services.suspend_provider(actor="system:test", provider_id=first, reason="投诉")
                else:
                    services.decline(actor=as_user(app, "prov_first"), reference=mine[i], reason="忙")
                db.session.commit()
                return "done"
            except (Conflict, NotFound):
                db.session.rollback()
                return "refused"

    with ThreadPoolExecutor(5) as pool:
        outcomes = list(pool.map(work, range(5)))
    assert outcomes[4] == "done"
    with app.app_context():
        for reference in mine:
            row = services.get_order(reference)
            assert [d.provider_id for d in row.dispatches] == [first, second]
            assert row.dispatches[0].outcome.value in ("declined", "withdrawn")
            assert row.dispatches[1].outcome.value == "pending" and row.provider_id == second
        declined = sum(services.get_order(r).dispatches[0].outcome.value == "declined" for r in mine)
    assert outcomes[:4].count("done") == declined
