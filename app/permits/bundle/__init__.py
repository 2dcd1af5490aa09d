"""The bundle (一照三证联办): one form, one set of materials, four departments in parallel, one output set."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits.bundle import api, models, views

    del models  # imported for its tables
    api.init_app(app)
    views.init_app(app)
