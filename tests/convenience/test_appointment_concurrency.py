"""No slot is sold twice: 50 citizens book the last place of a slot at once through the API on PostgreSQL; exactly
one gets it, the others a 409 problem saying the slot is fully booked."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests import factories
from tests.convenience.conftest import window_id

PARALLEL = 50


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_fifty_bookings_for_the_last_place_one_wins(floor: Flask, db_backend: str) -> None:
    from app.convenience.appointment_models import Appointment
    from app.extensions import db

    client = floor.test_client()
    # SI-001 uses 600 s + 120 s rest of a slot's 900 bookable seconds: one place per window and slot.
    key = f"{window_id(floor, '01')}-202612080900"
    citizens = [factories.party(floor, client, f"citizen{i}") for i in range(PARALLEL)]
    barrier = threading.Barrier(PARALLEL)

    def book(i: int) -> tuple[int, Any]:
        mine = floor.test_client()
        headers = {"Authorization": f"Bearer {citizens[i].token}"}
        barrier.wait()
        resp = mine.post(
            "/api/v1/convenience/appointments",
            json={"service": "SI-001", "slot": key, "phone": f"138{i:08d}"},
            headers=headers,
        )
        return resp.status_code, resp.get_json()

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(book, range(PARALLEL)))
    statuses = sorted(code for code, _ in results)
    assert statuses == [201] + [409] * (PARALLEL - 1), statuses
    for code, body in results:
        if code == 409:
            assert body["type"].endswith("appointment-slot-taken") and "fully booked" in body["detail"]
    with floor.app_context():
        assert db.session.scalar(select(func.count(Appointment.id))) == 1
