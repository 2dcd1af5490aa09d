"""Two rating requests for the same ticket at once on PostgreSQL: one is stored, the other refused (409), and the
evidence log has one entry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from tests.convenience.rating.helpers import actions, clerk, count, served_ticket

PARALLEL = 8


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_a_double_submit_stores_one_rating(rated_floor: Flask, db_backend: str) -> None:
    from app.convenience.rating.models import Rating, RectificationTask

    tracking = served_ticket(rated_floor, clerk(rated_floor))
    barrier = threading.Barrier(PARALLEL)

    def send(i: int) -> int:
        client = rated_floor.test_client()
        barrier.wait()
        resp = client.post(
            "/api/v1/convenience/ratings",
            json={"kind": "ticket", "reference": tracking, "level": "dissatisfied", "comment": f"第{i}次"},
        )
        assert resp.status_code in (201, 409), resp.get_data(as_text=True)
        if resp.status_code == 409:
            assert resp.content_type == "application/problem+json"
        return int(resp.status_code)

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = sorted(pool.map(send, range(PARALLEL)))
    assert statuses == [201] + [409] * (PARALLEL - 1)
    assert count(rated_floor, Rating) == 1 and count(rated_floor, RectificationTask) == 1
    assert actions(rated_floor) == ["convenience.rating.submitted", "convenience.rating.rectification_opened"]


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_two_sweeps_at_once_invite_each_matter_once(rated_floor: Flask, db_backend: str, clock: Any) -> None:
    from app.convenience.appointment_models import OutboxMessage
    from app.convenience.rating.models import Invitation
    from app.convenience.rating.services import invite_unrated
    from app.extensions import db

    clerk_id = clerk(rated_floor)
    for _ in range(6):
        served_ticket(rated_floor, clerk_id)
    clock.advance(timedelta(days=3, minutes=1))
    barrier = threading.Barrier(2)

    def sweep(_: int) -> int:
        with rated_floor.app_context():
            barrier.wait()
            result = invite_unrated()
            db.session.commit()
            return result["ticket"]

    with ThreadPoolExecutor(2) as pool:
        invited = sum(pool.map(sweep, range(2)))
    assert invited == 6
    assert count(rated_floor, Invitation) == 6
    assert count(rated_floor, OutboxMessage, OutboxMessage.kind == "rating_invitation") == 6
    assert actions(rated_floor).count("convenience.rating.invited") == 6
