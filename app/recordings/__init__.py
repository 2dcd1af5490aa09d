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
    "RECORDING_MEDIA_WINDOW_S": 3600,  # one `recording.media.accessed` entry per viewer, recording and window
}

_hooked: dict[str, bool] = {}


def _anonymous_attempt(endpoint: str, permission: str) -> None:
    """security.on_anonymous hook: a request without credentials on a recording is a refusal, logged."""
    from flask import current_app, request

    from app.core.db import db, is_valid_id
    from app.recordings import services
    from app.recordings.models import RecordingExport, RecordingSession

    if not endpoint.startswith(("recordings.", "recordings-api.")):
        return
    args = request.view_args or {}

    def valid(name: str) -> bool:
        value = args.get(name)
        return isinstance(value, int) and is_valid_id(value)

    try:
        db.session.rollback()
        session: RecordingSession | None = None
        if valid("session_id"):
            session = db.session.get(RecordingSession, args["session_id"])
        elif valid("export_id"):
            export = db.session.get(RecordingExport, args["export_id"])
            session = export.session if export is not None else None
        if session is None:
            return
        services.record_anonymous_refusal(session, what=endpoint.split(".", 1)[1], address=request.remote_addr)
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("could not record the anonymous attempt on %s", endpoint)


def init_app(app: Flask) -> None:
    from app.recordings import api, cli, models, permissions, services, tasks, views

    del models, permissions, services, tasks  # imported for their tables, permissions, providers and sweeps
    for name, default in DEFAULTS.items():
        env = os.environ.get(f"APP_{name}")
        if name not in app.config:
            app.config[name] = (env if isinstance(default, str) or default is None else int(env)) if env else default
    views.init_app(app)
    api.init_app(app)
    if not _hooked.get("anonymous"):  # the hook list is process-wide; the hook works on current_app
        from app.core import security

        security.on_anonymous(_anonymous_attempt)
        _hooked["anonymous"] = True
    app.cli.add_command(cli.recording_cli)
