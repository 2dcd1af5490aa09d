"""The 8188890 social-service platform (社会服务平台) of the convenience floor: 22 household-service categories,
a provider directory, citizens' requests dispatched to providers in rotation by district and category, the
providers' acknowledgement within a time limit (or re-dispatch by a sweep, escalation to the center after N
failures), completion with the price, the citizen's 好差评 feeding the provider's rating, complaints and
suspensions."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.convenience.household import api, home, models, permissions, services, tasks, views

    del models, permissions, tasks  # imported for their tables, declarations and sweeps
    for key, value in services.DEFAULTS.items():  # documented in services.py
        app.config.setdefault(key, value)
    api.init_app(app)
    views.init_app(app)
    home.init_app()
    from app.convenience.household.demo import seed_demo_household
    from app.core.reference import demo

    demo("demo.convenience.household")(seed_demo_household)
