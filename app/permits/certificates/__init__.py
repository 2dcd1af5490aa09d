"""The certificate registry (证照库): sealed certificates with versions, revocation and public verification."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits.certificates import api, models, views

    del models  # imported for its tables
    views.init_app(app)
    api.init_app(app)
