"""Fees (中心收费): a fee bill per accepted case from the catalogue's fee rules, one combined notice for a joint
case, payments through a payment channel, and the 制证 gate (no certificate while the bill is unpaid)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits.fees import api, home, models, views

    del models  # imported for its tables
    api.init_app(app)
    views.init_app(app)
    home.init_app()
