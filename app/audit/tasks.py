"""Periodic work of the evidence log: seal the constant-rate batch of commitments, sign checkpoints."""

from __future__ import annotations

from flask import Flask

from app.audit import batches, services
from app.core.tasks import sweep


def checkpoint_sweep() -> int | None:
    """Issue a checkpoint if entries were appended since the last one; returns its tree size."""
    cp = services.issue_checkpoint()
    return cp.tree_size if cp is not None else None


def batch_sweep() -> int | None:
    """Seal this interval's batch of commitments (one log entry and a checkpoint, also when none arrived);
    returns the entry's log index, None when the interval already has its batch."""
    batch = batches.seal_batch()
    return batch.log_index if batch is not None else None


def register(app: Flask) -> None:
    # Declared here rather than at import so the intervals follow the configuration (APP_AUDIT_*_INTERVAL).
    sweep("audit.checkpoint", every=app.config["AUDIT_CHECKPOINT_INTERVAL"])(checkpoint_sweep)
    sweep("audit.batch", every=app.config["AUDIT_BATCH_INTERVAL"])(batch_sweep)
