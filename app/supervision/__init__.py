"""Electronic supervision (电子监察): monitored items fed from the evidence log, rules, yellow and red lights, the
responsible person's explanation and the supervisor's review, the live wall. No floor imports this module."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.supervision import api, home, lights, models, oversight_views, permissions, tasks, views
    from app.supervision.stats import models as stats_models
    from app.supervision.stats import tasks as stats_tasks
    from app.supervision.stats import views as stats_views

    del lights, models, permissions, tasks, stats_models, stats_tasks  # their tables, rules, declarations, sweeps
    app.config.setdefault("SUPERVISION_TICKET_WAIT_MINUTES", 30)
    app.config.setdefault("SUPERVISION_EXPERT_CONFIRM_HOURS", 24)
    app.config.setdefault("SUPERVISION_AWARD_DAYS", 5)
    # Escalation of an unresolved red signal: one level up every N working days after the day it turned on.
    app.config.setdefault("SUPERVISION_ESCALATION_WORKDAYS", 2)
    app.config.setdefault("SUPERVISION_ESCALATION_LEVELS", ("department_head", "discipline_office", "duty_leader"))
    # Quarterly grading: base, weight of each term, thresholds (see app.supervision.grading for the formula).
    from app.supervision.grading import DEFAULT_GRADING

    app.config.setdefault("SUPERVISION_GRADING", DEFAULT_GRADING)
    api.init_app(app)
    views.init_app(app)
    oversight_views.init_app(app)
    stats_views.init_app(app)
    home.init_app()
    from app.supervision import presence

    presence.init_app(app)
