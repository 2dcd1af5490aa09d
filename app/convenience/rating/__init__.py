"""好差评 (service rating) of the convenience floor: five levels, one rating per served ticket or decided permit
application, never forced; invitations three days after a matter closed unrated; rectification tasks with a due
date and call-backs for bad ratings; appeals; results per window, staff member and department."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.convenience.rating import api, home, models, permissions, tasks, views

    del models, permissions, tasks  # imported for their tables, declarations and sweeps
    app.config.setdefault("RATING_RECTIFY_WORKING_DAYS", 5)  # a bad rating's rectification is due in N working days
    app.config.setdefault("RATING_INVITE_AFTER_DAYS", 3)  # invite to rate N days after the matter closed
    app.config.setdefault("RATING_INVITE_WITHIN_DAYS", 30)  # older matters are not invited any more
    api.init_app(app)
    views.init_app(app)
    home.init_app()
