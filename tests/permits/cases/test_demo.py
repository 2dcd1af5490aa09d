"""`make run`'s demo applications: one in every state, idempotent."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.permits.cases.demo import seed_demo_cases
from app.permits.cases.models import Application, ApplicationStatus
from tests.factories import user


def test_demo_applications_in_every_state(desk_app: Flask, clock: Any) -> None:
    user(desk_app, "admin", roles=["admin"], totp=False)
    user(desk_app, "bidder", roles=["bidder"])
    with desk_app.app_context():
        lines = seed_demo_cases()
        db.session.commit()
        assert len(lines) == 8, lines
        rows = list(db.session.execute(select(Application).order_by(Application.id)).scalars())
        assert [r.status for r in rows] == [
            ApplicationStatus.RECEIVED,
            ApplicationStatus.CORRECTION_REQUESTED,
            ApplicationStatus.REFUSED,
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.ACCEPTED,
        ]
        assert [r.is_deemed for r in rows[3:]] == [False, True]
        assert seed_demo_cases() == []
