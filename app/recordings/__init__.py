"""Recordings: the app side of recording/ — rooms, schedules, sessions, segment rows, replay, exports."""

from __future__ import annotations

import os

from flask import Flask

# Defaults, overridable in the config mapping or by APP_RECORDING_* environment variables.
DEFAULTS = {
    "RECORDING_MARGIN_BEFORE_S": 300,  # a scheduled window starts recording this early…
    "RECORDING_MARGIN_AFTER_S": 300,  # …and stops this late
    "RECORDING_EXPORT_MAX_S": 4 * 3600,
    "RECORDING_MAX_SPOOL_BYTES": 2 << 30,
    "RECORDING_SPOOL_DIR": None,  # default: <instance>/recording-spool
}


def init_app(app: Flask) -> None:
    from app.recordings import api, cli, models, permissions, services, tasks, views

    del models, permissions, services, tasks  # imported for their tables, permissions, providers and sweeps
    for name, default in DEFAULTS.items():
        env = os.environ.get(f"APP_{name}")
        if name not in app.config:
            app.config[name] = (env if isinstance(default, str) or default is None else int(env)) if env else default
    views.init_app(app)
    api.init_app(app)
    app.cli.add_command(cli.recording_cli)
