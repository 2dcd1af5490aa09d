"""The demo's supervision: after every floor's demo data, read the evidence log once and turn the lights on, so the
wall of `make run` shows lights at once (the worker's sweeps keep it current afterwards)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.core.db import db
from app.supervision import ingest, lights
from app.supervision.models import ItemState, MonitoredItem, Signal


def seed_demo_supervision() -> list[str]:
    """Ingest the whole log and sweep the lights (flushes; idempotent: a second run finds nothing new)."""
    while ingest.ingest().read:
        pass
    lights.sweep_lights()
    items = db.session.scalar(select(func.count(MonitoredItem.id)).where(MonitoredItem.state == ItemState.OPEN)) or 0
    red = db.session.scalar(select(func.count(Signal.id)).where(Signal.colour == "red")) or 0
    yellow = db.session.scalar(select(func.count(Signal.id)).where(Signal.colour == "yellow")) or 0
    return [f"supervision: {items} steps watched, {red} red and {yellow} yellow signals — wall at /supervision/"]
