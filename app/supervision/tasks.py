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


@sweep("supervision.escalation", every=timedelta(minutes=10))
def escalate() -> dict[str, int]:
    """Unresolved red signals one level up when their working days have run out (idempotent)."""
    from app.supervision.escalation import sweep_escalations

    return sweep_escalations()


@sweep("supervision.instructions.overdue", every=timedelta(minutes=30))
def flag_overdue_instructions() -> dict[str, int]:
    """Leaders' instructions past their due day and not closed, flagged once."""
    from app.supervision.duty import sweep_overdue_instructions

    return sweep_overdue_instructions()
