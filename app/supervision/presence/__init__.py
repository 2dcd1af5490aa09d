"""Window-staff monitoring (实时监控工作人员): each convenience window's camera, presence in its seat region
(recording.presence), a presence timeline per window, absence and idleness alerts as supervision signals, and the
retention of the windows' recordings."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.supervision.presence import cli, models, tasks, views

    del models, tasks  # imported for their tables and sweeps
    cfg = app.config
    cfg.setdefault("SUPERVISION_PRESENCE_ABSENT_MINUTES", 10)  # seat empty that long while tickets wait: red
    cfg.setdefault("SUPERVISION_PRESENCE_IDLE_MINUTES", 15)  # signed on, no call that long while tickets wait
    cfg.setdefault("SUPERVISION_WINDOW_RETENTION_DAYS", 30)
    views.init_app(app)
    app.cli.add_command(cli.presence_cli)
