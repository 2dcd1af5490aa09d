"""Periodic work of supervision: read the evidence log into monitored items, then turn the lights on."""

from __future__ import annotations

from datetime import timedelta

from app.core.tasks import enqueue_after_commit, sweep
from app.supervision import ingest as ingest_mod
from app.supervision import lights


@sweep("supervision.ingest", every=timedelta(seconds=20))
def ingest() -> dict[str, int]:
    """One batch of evidence-log entries from the cursor on; when more wait, the next batch is sent after commit."""
    batch = ingest_mod.ingest()
    if batch.read and ingest_mod.backlog():
        enqueue_after_commit("supervision.ingest")
    return {"read": batch.read, "opened": batch.opened, "closed": batch.closed, "events": batch.events}


@sweep("supervision.lights", every=timedelta(minutes=1))
def turn_lights_on() -> dict[str, int]:
    """Every light now due, as signals (idempotent)."""
    return lights.sweep_lights()
