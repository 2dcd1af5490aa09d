"""`make run`'s supervision: after the demo applications, one ingest and one lights sweep light the wall."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.permits.cases.demo import seed_demo_cases
from app.supervision.demo import seed_demo_supervision
from app.supervision.models import Rule, Signal
from tests.factories import user


def test_the_demo_wall_has_lights(desk_app: Flask, clock: Any) -> None:
    user(desk_app, "admin", roles=["admin"], totp=False)
    user(desk_app, "bidder", roles=["bidder"])
    with desk_app.app_context():
        seed_demo_cases()
        [line] = seed_demo_supervision()
        db.session.commit()
        assert "red" in line
        fired = set(db.session.scalars(select(Rule.code).join(Signal, Signal.rule_id == Rule.id)))
        # The application left undecided (backdated 14 days by the demo): deemed accepted, an event red.
        assert "deemed-acceptance" in fired
        before = db.session.scalars(select(Signal.id)).all()
        seed_demo_supervision()  # idempotent
        db.session.commit()
        assert db.session.scalars(select(Signal.id)).all() == before
