"""Convenience floor (便民服务): services, windows and staff, the ticket queue, window call panels and the hall
display. Appointments, after-hours and door-to-door service, complaints, 好差评 and Open311 are still to come."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.convenience import api, home, models, permissions, tasks, views

    del models, permissions, tasks  # imported for their tables, declarations and sweeps
    # One display stream lasts this long, then the browser reconnects; tests that walk every route read it whole.
    app.config.setdefault("CONVENIENCE_STREAM_SECONDS", 1 if app.testing else 25)
    app.config.setdefault("CONVENIENCE_STREAM_POLL_SECONDS", 0.25)
    api.init_app(app)
    views.init_app(app)
    home.init_app()
    from app.convenience import rating

    rating.init_app(app)
