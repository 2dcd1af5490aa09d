"""政民互动 (the interaction platform) of the convenience floor: complaints, suggestions, consultations and help
requests from the web form, the hotline, e-mail and forum posts, routed to departments by rules and followed
through the closed loop 受理 → 调度 → 办理 → 回复 → 督办 → 办结 → 回访 → 评价 with working-day limits."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.convenience.interaction import (
        admin,
        api,
        home,
        models,
        open311,
        permissions,
        reference,
        services,
        tasks,
        views,
    )

    # imported for their routes (on views' blueprint), tables, declarations, reference data and sweep
    del admin, models, permissions, reference, tasks
    for key, value in services.DEFAULTS.items():  # INTERACTION_LIMIT_DAYS: working days per kind
        app.config.setdefault(key, value)
    api.init_app(app)
    views.init_app(app)
    open311.init_app(app)
    home.init_app()
