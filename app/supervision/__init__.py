"""Electronic supervision (电子监察): monitored items fed from the evidence log, rules, yellow and red lights, the
responsible person's explanation and the supervisor's review, the live wall. No floor imports this module."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.supervision import api, home, lights, models, permissions, tasks, views

    del lights, models, permissions, tasks  # imported for their tables, rules, declarations and sweeps
    app.config.setdefault("SUPERVISION_TICKET_WAIT_MINUTES", 30)
    app.config.setdefault("SUPERVISION_EXPERT_CONFIRM_HOURS", 24)
    app.config.setdefault("SUPERVISION_AWARD_DAYS", 5)
    api.init_app(app)
    views.init_app(app)
    home.init_app()
