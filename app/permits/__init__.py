"""Permits (行政许可): the working-day calendar and deadlines (more sub-packages follow)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits import calendar, permissions

    del permissions  # imported for its declarations
    calendar.init_app(app)
