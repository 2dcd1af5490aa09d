"""The public tender portal and its feeds (issue 14 §2): search, tender pages, Atom feeds; zh/en, no account."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.publication.portal import cli, feeds, models, views

    del models  # imported for its table and the search indexes on the tenders table
    feeds.configure(app)
    views.init_app(app)
    cli.init_app(app)
