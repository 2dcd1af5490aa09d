"""The demo ratings of `make run`: a few ratings, one bad with its open rectification task, an application rated,
a ticket left for the invitation sweep; idempotent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.convenience.rating.helpers import count


def test_the_demo_seeds_ratings_with_an_open_rectification_task(rated_floor: Flask, clock: Any) -> None:
    from app.accounts.services_demo import seed_demo_accounts
    from app.convenience.rating import services
    from app.convenience.rating.demo import seed_demo_ratings
    from app.convenience.rating.models import Invitation, Rating, RectificationTask
    from app.convenience.services import seed_demo_floor
    from app.extensions import db
    from app.permits.cases.demo import seed_demo_cases

    with rated_floor.app_context():
        seed_demo_accounts()
        seed_demo_cases()
        seed_demo_floor()
        db.session.commit()
        lines = seed_demo_ratings()
        db.session.commit()
        assert any("rectification task open" in line for line in lines), lines
        assert seed_demo_ratings() == []  # idempotent
        tasks = list(db.session.scalars(select(RectificationTask)))
        assert len(tasks) == 1 and tasks[0].status.value == "open" and tasks[0].due_on is not None
        assert tasks[0].responsible is not None and tasks[0].responsible.username == "window_staff"
        assert {r.subject_kind.value for r in db.session.scalars(select(Rating))} == {"ticket", "application"}
        assert services.results(clock.now().date() - timedelta(days=2), clock.now().date()).overall.total == 4
        services.invite_unrated()
        db.session.commit()
        # the ticket left unrated four days ago is invited (the permits demo's decided cases may be invited too)
        invited = [i.subject_kind.value for i in db.session.scalars(select(Invitation))]
        assert invited.count("ticket") == 1, invited
    assert count(rated_floor, Rating) == 4
