"""Case numbers (受理编号) are sequential and unique per year, also under concurrent acceptances on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import text

from app.extensions import db
from app.permits.cases import services


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_concurrent_allocations_are_sequential_and_unique(app: Flask) -> None:
    got: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait()
                for _ in range(5):
                    number = services.allocate_case_number(2027)
                    db.session.execute(text("SELECT pg_sleep(0.01)"))  # hold the row lock a little
                    db.session.commit()
                    got.append(number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == [f"2027-{n:04d}" for n in range(1, 41)]
    with app.app_context():
        assert services.allocate_case_number(2028) == "2028-0001"
        assert services.allocate_case_number(2027) == "2027-0041"
        db.session.rollback()
        assert services.allocate_case_number(2027) == "2027-0041"  # a rolled-back acceptance leaves no gap
