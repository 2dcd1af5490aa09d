"""Unified acceptance (统一受理) and the one-time correction notice (一次性告知): applications at the desk."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.permits.cases import (
        api,
        home,
        joint_api,
        joint_views,
        models,
        processing_api,
        processing_views,
        tasks,
        views,
    )

    del models, tasks  # imported for their tables and sweeps
    api.init_app(app)
    processing_api.init_app(app)
    joint_api.init_app(app)
    views.init_app(app)
    processing_views.init_app(app)
    joint_views.init_app(app)
    home.init_app()
