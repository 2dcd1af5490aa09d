"""Permits (行政许可): the item catalogue and public guide (办事指南), the working-day calendar and deadlines;
unified acceptance and the one-time correction notice; case processing and decisions to come.

Each concern is a sub-package with its own init_app; this module only wires them in.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits import bundle, calendar, cases, catalogue, certificates, fees, permissions

    del permissions  # imported for its declarations
    catalogue.init_app(app)
    calendar.init_app(app)
    cases.init_app(app)
    certificates.init_app(app)
    fees.init_app(app)
    bundle.init_app(app)
