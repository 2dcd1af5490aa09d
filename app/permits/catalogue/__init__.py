"""The item catalogue (事项目录) and the public guide (办事指南): departments, items, forms, materials, fees."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits.catalogue import admin, api, cli, models, views

    del models  # imported for its tables
    api.init_app(app)
    views.init_app(app)
    admin.init_app(app)
    cli.init_app(app)
