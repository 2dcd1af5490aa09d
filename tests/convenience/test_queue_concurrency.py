"""100 parallel ticket requests to the API on PostgreSQL: 100 distinct numbers, no gap; windows calling at once
never call the same ticket."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.convenience.conftest import staff, window_id

PARALLEL = 100


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_parallel_tickets_get_distinct_numbers_without_a_gap(floor: Flask, db_backend: str) -> None:
    from app.convenience.models import Ticket
    from app.extensions import db

    barrier = threading.Barrier(PARALLEL)

    def take(i: int) -> str:
        client = floor.test_client()
        barrier.wait()
        resp = client.post("/api/v1/convenience/tickets", json={"service": "SI-001" if i % 2 else "SI-002"})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return str(resp.get_json()["number"])

    with ThreadPoolExecutor(PARALLEL) as pool:
        numbers = list(pool.map(take, range(PARALLEL)))
    assert len(set(numbers)) == PARALLEL
    assert sorted(numbers) == [f"A{i:03d}" for i in range(1, PARALLEL + 1)]
    with floor.app_context():
        stored = sorted(db.session.scalars(select(Ticket.sequence)))
        assert stored == list(range(1, PARALLEL + 1))


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_windows_calling_at_once_never_share_a_ticket(floor: Flask, db_backend: str) -> None:
    from app.accounts.models import User
    from app.convenience import queue
    from app.core.errors import Conflict
    from app.extensions import db

    numbers = ("01", "02", "03")
    clerks = {n: staff(floor, f"clerk{n}", (n,), sign_on=n) for n in numbers}
    ids = {n: window_id(floor, n) for n in numbers}
    with floor.app_context():
        for _ in range(30):
            queue.issue_ticket(service_code="SI-001", channel="kiosk")
        db.session.commit()
    barrier = threading.Barrier(len(numbers))

    def work(n: str) -> list[str]:
        got: list[str] = []
        barrier.wait()
        with floor.app_context():
            actor: Any = db.session.get(User, clerks[n])
            while True:
                try:
                    got.append(queue.call_next(actor=actor, window_id=ids[n]).number)
                    queue.serve(actor=actor, window_id=ids[n])
                    db.session.commit()
                except Conflict:
                    db.session.rollback()
                    return got

    with ThreadPoolExecutor(len(numbers)) as pool:
        results = list(pool.map(work, numbers))
    called = [n for got in results for n in got]
    assert sorted(called) == [f"A{i:03d}" for i in range(1, 31)]
