"""Evidence log: an append-only RFC 6962 Merkle log of every audited action, with signed checkpoints.

Services call `record(action, actor=…, subject=…, data=…)` inside their own transaction, or `note(…)` (same
arguments) where they do not need the entry: it is appended by the transaction's commit, holding the log's
append lock only for that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, after_this_request, current_app, request
from flask.typing import ResponseReturnValue

if TYPE_CHECKING:
    from app.audit.models import AuditEntry, Checkpoint

__all__ = ["init_app", "issue_checkpoint", "note", "record"]


def record(
    action: str, *, actor: str | object | None, subject: str | None, data: dict[str, Any] | None = None
) -> AuditEntry:
    """Append to the evidence log in the caller's transaction (flush, no commit). See services.record."""
    from app.audit import services

    return services.record(action, actor=actor, subject=subject, data=data)


def note(action: str, *, actor: str | object | None, subject: str | None, data: dict[str, Any] | None = None) -> None:
    """Append to the evidence log when the caller's transaction commits (busy paths). See services.note."""
    from app.audit import services

    services.note(action, actor=actor, subject=subject, data=data)


def issue_checkpoint() -> Checkpoint | None:
    from app.audit import services

    return services.issue_checkpoint()


def _record_denial(endpoint: str, permission: str) -> None:
    """on_denial hook: log the refused attempt once the request's own transaction has been rolled back."""
    from flask_login import current_user

    from app.audit import services

    actor = services.actor_ref(current_user._get_current_object())  # capture before any rollback expires it
    details = {"permission": permission, "method": request.method, "path": request.path}

    @after_this_request
    def write(response: ResponseReturnValue) -> ResponseReturnValue:
        # Runs after the error handler rolled the request back, so nothing of the refused request
        # commits with it, and on SQLite this session is not holding a write lock another would wait on.
        from app.core.db import db

        try:
            db.session.rollback()
            services.record("access.denied", actor=actor, subject=endpoint, data=details)
            db.session.commit()
        except Exception:
            db.session.rollback()
            current_app.logger.exception("could not record access.denied for %s", endpoint)
        return response


_hooked: dict[str, bool] = {}


def init_app(app: Flask) -> None:
    from app.audit import actions, api, cli, models, tasks, views
    from app.core import keys, security

    del models  # imported for its tables
    app.add_template_filter(actions.action_label, "action_label")
    keys.init_app(app)
    api.register(app)
    views.init_app(app)
    app.cli.add_command(cli.audit_cli)
    tasks.register(app)
    if not _hooked.get("denial"):  # the hook list is process-wide; the hook itself works on current_app
        security.on_denial(_record_denial)
        _hooked["denial"] = True
