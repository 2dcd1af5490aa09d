"""Tendering (招投标): tenders, sealed bids with signed receipts, timed or committee custody, the opening."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.tendering import (
        api,
        common,
        home,
        models,
        permissions,
        remote_opening_api,
        remote_opening_views,
        tasks,
        views,
    )
    from app.tendering.agency import custody, documents, drafting, publication

    del models, permissions, tasks  # imported for their tables, declarations and sweeps
    del documents, publication, remote_opening_views  # their pages are routed on the blueprint
    del remote_opening_api  # routed on the API blueprint, before api.init_app registers it
    common.init_app(app)
    api.init_app(app)
    views.init_app(app)  # the blueprint, with the agency's pages (app/tendering/agency/) on it
    drafting.init_app()
    custody.init_app()
    home.init_app()
