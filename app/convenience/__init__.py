"""Convenience floor (便民服务): services, windows and staff, the ticket queue, window call panels and the hall
display, appointments (预约服务), after-hours sessions and door-to-door service (下班延时、上门服务), 好差评."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.convenience import (
        admin_views,
        api,
        appointment_models,
        appointment_views,
        appointments,
        home,
        home_visit_models,
        home_visit_views,
        home_visits,
        models,
        permissions,
        tasks,
        views,
    )

    del (
        models,
        appointment_models,
        home_visit_models,
        permissions,
        tasks,
    )  # imported for their tables, declarations and sweeps
    for key, value in (
        appointments.DEFAULTS | home_visits.DEFAULTS
    ).items():  # the appointment settings (documented in appointments.py)
        app.config.setdefault(key, value)
    # One display stream lasts this long, then the browser reconnects; tests that walk every route read it whole.
    app.config.setdefault("CONVENIENCE_STREAM_SECONDS", 1 if app.testing else 25)
    app.config.setdefault("CONVENIENCE_STREAM_POLL_SECONDS", 0.25)
    api.init_app(app)
    appointment_views.init_app()
    home_visit_views.init_app()
    admin_views.init_app()
    views.init_app(app)
    home.init_app()
    from app.convenience import rating

    rating.init_app(app)
    from app.convenience import interaction

    interaction.init_app(app)
    from app.convenience import household

    household.init_app(app)
