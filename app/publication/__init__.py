"""Publication: the platform's open data for the public — OCDS releases and records of every tender (ocds/)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.publication import ocds

    ocds.init_app(app)
