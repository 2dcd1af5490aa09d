"""Evaluation (评标): the expert pool, committees drawn verifiably at random, declarations, session rooms.

Grouped by concern, each sub-package with its services, JSON API, forms and pages: pool/, committee/, room/,
clarifications/, report/. Shared at the package level: models, permissions, schemas, visibility, home, tasks, and
web (the blueprints the sub-packages' views and APIs are routed on).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.evaluation import home, models, permissions, tasks, web
    from app.evaluation.clarifications import api as clarifications_api
    from app.evaluation.clarifications import views as clarifications_views
    from app.evaluation.committee import api as committee_api
    from app.evaluation.committee import views as committee_views
    from app.evaluation.pool import api as pool_api
    from app.evaluation.pool import services as services_pool
    from app.evaluation.pool import views as pool_views
    from app.evaluation.report import api as report_api
    from app.evaluation.report import views as report_views
    from app.evaluation.room import api as room_api
    from app.evaluation.room import views as room_views

    del models, permissions, services_pool, tasks  # imported for their tables, declarations, data and sweeps
    del pool_api, committee_api, room_views  # routed on the shared blueprints of web.py
    app.extensions["evaluation"] = True  # reference data is created only in apps that load this module
    web.init_api(app)  # the pool's and committees' API (pool/api.py, committee/api.py)
    room_api.init_app(app)
    report_api.init_app(app)
    clarifications_api.init_app(app)
    web.init_app(app)  # the page blueprints, with every sub-package's views on them
    committee_views.init_app(app)
    clarifications_views.init_app(app)
    report_views.init_app(app)
    pool_views.init_app(app)
    home.init_app()
