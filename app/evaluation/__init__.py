"""Evaluation (评标): the expert pool, committees drawn verifiably at random, declarations, session rooms."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.evaluation import (
        api,
        clarification_api,
        home,
        models,
        permissions,
        report_api,
        room_api,
        services_pool,
        tasks,
        views,
        views_award,
        views_chair_report,
        views_committee,
    )

    del models, permissions, services_pool, tasks  # imported for their tables, declarations, data and sweeps
    app.extensions["evaluation"] = True  # reference data is created only in apps that load this module
    api.init_app(app)
    room_api.init_app(app)
    report_api.init_app(app)
    clarification_api.init_app(app)
    views.init_app(app)
    views_award.init_app(app)
    views_committee.init_app(app)
    views_chair_report.init_app(app)
    home.init_app()
