"""The demo data of 政民互动 (`make run`): routing rules, the demo handler on a department's staff, a handful of
requests in different states of the loop; idempotent; and the pages a newcomer opens show them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.accounts.helpers import compile_translations

pytestmark = pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)


def test_the_demo_seeds_requests_in_every_state(app: Flask, clock: Any) -> None:
    from app.accounts.services_demo import seed_demo_accounts
    from app.convenience.interaction import services
    from app.convenience.interaction.demo import seed_demo_interaction
    from app.convenience.interaction.models import InteractionRequest, Status
    from app.core.storage import get_storage
    from app.extensions import db
    from app.permits.calendar import services as calendar
    from app.permits.catalogue import services as catalogue

    compile_translations()
    with app.app_context():
        get_storage().ensure_buckets()
        catalogue.load_catalogue_file(catalogue.DEMO_CATALOGUE, actor="system:test")
        calendar.seed(2026, 2026)
        seed_demo_accounts()
        db.session.commit()
        lines = seed_demo_interaction()
        db.session.commit()
        assert len(lines) == 6, lines
        assert seed_demo_interaction() == []  # idempotent
        rows = list(db.session.scalars(select(InteractionRequest)))
        assert {r.status for r in rows} == {
            Status.CALLED_BACK,
            Status.CLOSED,
            Status.REPLIED,
            Status.DISPATCHED,
            Status.HANDLING,
            Status.RECEIVED,
        }
        assert {r.channel.value for r in rows} == {"web", "hotline", "email", "forum"}
        assert sum(1 for r in rows if r.is_overdue) >= 1
        assert sum(1 for r in rows if services.rating_of(r) is not None) == 1
        handler_inbox = services.inbox(next(r for r in rows if r.status is Status.HANDLING).handler)
        assert len(handler_inbox) == 2  # the one being handled and the one replied, both the bureau's
