"""Publication: the platform's open data for the public — OCDS releases and records of every tender (ocds/), and
the public tender portal with its Atom feeds (portal/)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.publication import ocds, portal

    ocds.init_app(app)
    portal.init_app(app)
