"""Periodic work of the evidence log: sign a checkpoint when the log has grown."""

from __future__ import annotations

from flask import Flask

from app.audit import services
from app.core.tasks import sweep


def checkpoint_sweep() -> int | None:
    """Issue a checkpoint if entries were appended since the last one; returns its tree size."""
    cp = services.issue_checkpoint()
    return cp.tree_size if cp is not None else None


def register(app: Flask) -> None:
    # Declared here rather than at import so the interval follows AUDIT_CHECKPOINT_INTERVAL.
    sweep("audit.checkpoint", every=app.config["AUDIT_CHECKPOINT_INTERVAL"])(checkpoint_sweep)
