"""Helpers of the supervision follow-up tests (escalation, rota, instructions, letters, grading): the clients, the
sweeps as the worker runs them (each committed), counts and the evidence log's actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.extensions import db
from tests.accounts.helpers import login

ZH = "zh-CN,zh;q=0.9"
SECRETS: dict[str, str | None] = {}


def at(day: int, hour: int = 9) -> datetime:
    """March 2026, `hour` o'clock in Beijing."""
    return datetime(2026, 3, day, hour - 8, 0, tzinfo=UTC)


def _client(app: Flask, name: str, lang: str = ZH) -> Any:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    assert login(client, name, totp_secret=SECRETS.get(name)).status_code == 303
    return client


def run_escalation(app: Flask) -> dict[str, int]:
    from app.supervision import tasks

    with app.app_context():
        try:
            result = tasks.escalate()
            db.session.commit()
        finally:
            db.session.remove()
    return dict(result or {})


def run_overdue(app: Flask) -> dict[str, int]:
    from app.supervision import tasks

    with app.app_context():
        try:
            result = tasks.flag_overdue_instructions()
            db.session.commit()
        finally:
            db.session.remove()
    return dict(result or {})


def _count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _actions(app: Flask, prefix: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like(prefix + "%")).order_by(AuditEntry.index)
            )
        )
