"""The platform's demo data: providers over the categories and districts (one suspended after a complaint), the
demo provider account linked to its company, orders in different states; seeding twice adds nothing."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select


def test_the_demo_seeds_providers_and_orders_in_every_state(app: Flask, clock: Any) -> None:
    from app.accounts import services_demo
    from app.convenience.household import services
    from app.convenience.household.demo import seed_demo_household
    from app.convenience.household.models import Complaint, Order, Provider
    from app.convenience.rating.models import Rating
    from app.extensions import db

    with app.app_context():
        services_demo.seed_demo_accounts()
        lines = seed_demo_household()
        db.session.commit()
        assert any("household_provider" in line for line in lines)
        providers = list(db.session.scalars(select(Provider)))
        assert len(providers) == 12
        assert sorted(p.status.value for p in providers).count("suspended") == 1
        assert len({c.code for p in providers for c in p.categories}) == 22  # every category has a provider
        assert {"130402", "130403", "130404", "130406", "130407", "130408"} <= {
            d.code for p in providers for d in p.districts
        }
        portal = db.session.scalar(select(Provider).where(Provider.account_id.is_not(None)))
        assert portal is not None and portal.account.username == "household_provider"
        states = sorted(o.status.value for o in db.session.scalars(select(Order)))
        assert states == ["accepted", "completed", "dispatched", "dispatched", "unassigned"]
        declined = [o for o in db.session.scalars(select(Order)) if o.failures == 1]
        assert len(declined) == 1 and declined[0].dispatches[0].outcome.value == "declined"
        assert db.session.scalar(select(func.count(Complaint.id))) == 1
        assert db.session.scalar(select(func.count(Rating.id))) == 1
        assert services.standing(portal) == services.Standing(5.0, 1)
        assert seed_demo_household() == []
        assert db.session.scalar(select(func.count(Order.id))) == 5
