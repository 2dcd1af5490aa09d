"""The supervision staff's page of the windows' presence timelines for a day (today by default)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Flask, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.core.db import db
from app.core.pages import me
from app.core.security import requires
from app.core.time import now_utc
from app.core.views import register_nav
from app.supervision import people
from app.supervision.models import Signal
from app.supervision.permissions import WATCH
from app.supervision.presence import services
from app.supervision.presence.models import WindowCamera

bp = Blueprint("supervision_presence", __name__, url_prefix="/supervision", template_folder="templates")


def _day(raw: str | None, today: date) -> tuple[date, bool]:
    if not raw:
        return today, False
    try:
        return date.fromisoformat(raw[:10]), False
    except ValueError:
        return today, True


@bp.get("/presence")
@requires(WATCH)
def presence() -> Any:
    now = now_utc()
    today = now.astimezone(services.zone()).date()
    day, bad = _day(request.args.get("day"), today)
    start, end = services.day_span(day)
    rows: list[dict[str, Any]] = []
    for camera in sorted(db.session.scalars(select(WindowCamera)), key=lambda c: c.window.number):
        bars = services.timeline(camera.window_id, day, now=now)
        present, seen = services.share_present(bars)
        signals = list(
            db.session.scalars(
                select(Signal)
                .where(
                    Signal.subject == f"convenience.window:{camera.window_id}",
                    Signal.fired_at >= start,
                    Signal.fired_at < end,
                )
                .order_by(Signal.fired_at)
            )
        )
        staff = people.window_staff(camera.window_id, day)
        rows.append(
            {"camera": camera, "bars": bars, "present": present, "seen": seen, "signals": signals, "staff": staff}
        )
    audit.record(
        "supervision.presence.viewed",
        actor=me(),
        subject="supervision.presence",
        data={
            "day": day.isoformat(),
            "windows": [r["camera"].window.number for r in rows],
            "people": sorted({p.id for r in rows for p in r["staff"]}),  # whose presence the page showed
        },
    )  # committed by the request's boundary (app/core/pages.py)
    hours = list(range(start.hour, end.hour + 1))
    return render_template(
        "presence/presence.html", rows=rows, day=day, today=today, bad=bad, hours=hours, span=end.hour - start.hour
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    register_nav("supervision_presence.presence", _l("Window staff presence"), WATCH, order=85)
