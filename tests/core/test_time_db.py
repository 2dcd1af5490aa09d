"""The clock, the UTC column type, after-commit hooks and problem JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select

from app.core import time as clock_mod
from app.core.db import UTCDateTime, after_commit, db


def test_now_utc_is_aware_and_fake_clock_moves(clock: clock_mod.FakeClock) -> None:
    start = clock_mod.now_utc()
    assert start.tzinfo is not None
    clock.advance(timedelta(minutes=5))
    assert clock_mod.now_utc() - start == timedelta(minutes=5)
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_center_time_names_the_zone() -> None:
    instant = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    text = clock_mod.format_center_time(instant, "Asia/Shanghai")
    assert text == "2026-12-01 09:30:00 (Asia/Shanghai, UTC+08:00)"


def test_utc_column_roundtrip_and_refuses_naive(app_ctx) -> None:
    md = MetaData()
    t = Table("t_utc_probe", md, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    md.create_all(db.engine)
    try:
        east = timezone(timedelta(hours=8))
        db.session.execute(t.insert().values(id=1, at=datetime(2026, 3, 1, 8, 0, tzinfo=east)))
        db.session.commit()
        got = db.session.execute(select(t.c.at)).scalar_one()
        assert got == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
        assert got.tzinfo is not None
        with pytest.raises(Exception, match="naive"):
            db.session.execute(t.insert().values(id=2, at=datetime(2026, 3, 1)))  # noqa: DTZ001
        db.session.rollback()
    finally:
        db.session.rollback()
        md.drop_all(db.engine)


def test_after_commit_runs_only_after_commit(app_ctx) -> None:
    ran: list[str] = []
    after_commit(lambda: ran.append("a"))
    assert ran == []
    db.session.rollback()
    db.session.commit()
    assert ran == [], "a rolled-back transaction drops its side effects"
    after_commit(lambda: ran.append("b"))
    db.session.commit()
    assert ran == ["b"]


def test_unknown_api_path_is_problem_json(client) -> None:
    resp = client.get("/api/v1/does-not-exist")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == 404 and body["title"]


def test_domain_periods_from_the_environment(monkeypatch) -> None:
    from app.config import load_config

    monkeypatch.setenv("APP_TENDER_MIN_DAYS_TO_DEADLINE", "0")
    monkeypatch.setenv("APP_EVALUATION_PUBLICITY_DAYS", "0.5")
    cfg = load_config()
    assert cfg["TENDER_MIN_DAYS_TO_DEADLINE"] == 0 and cfg["EVALUATION_PUBLICITY_DAYS"] == 0.5
    monkeypatch.setenv("APP_TENDER_MIN_DAYS_TO_DEADLINE", "twenty")
    with pytest.raises(ValueError, match="must be a number"):
        load_config()


def test_audit_intervals_from_the_environment(monkeypatch) -> None:
    """The batch of sealed-bid commitments and the checkpoint sweep run at configurable intervals (seconds), and the
    beat schedule follows them."""
    from datetime import timedelta

    from celery import Celery

    from app.config import load_config
    from app.core import tasks

    cfg = load_config()
    assert cfg["AUDIT_BATCH_INTERVAL"] == timedelta(seconds=15) and cfg["AUDIT_BATCH_CAPACITY"] == 256
    monkeypatch.setenv("APP_AUDIT_BATCH_INTERVAL", "5")
    monkeypatch.setenv("APP_AUDIT_CHECKPOINT_INTERVAL", "30")
    monkeypatch.setenv("APP_AUDIT_BATCH_CAPACITY", "64")
    cfg = load_config()
    assert cfg["AUDIT_BATCH_INTERVAL"] == timedelta(seconds=5)
    assert cfg["AUDIT_CHECKPOINT_INTERVAL"] == timedelta(seconds=30) and cfg["AUDIT_BATCH_CAPACITY"] == 64
    for name, raw in [
        ("APP_AUDIT_BATCH_INTERVAL", "soon"),
        ("APP_AUDIT_BATCH_INTERVAL", "0"),
        ("APP_AUDIT_BATCH_CAPACITY", "0"),
    ]:
        monkeypatch.setenv(name, raw)
        with pytest.raises(ValueError, match=name):
            load_config()
        monkeypatch.delenv(name)
    from flask import Flask

    from app.audit.tasks import register

    app = Flask("t")
    app.config.update(cfg)
    register(app)
    celery = Celery("t")
    tasks.bind(celery)
    schedule = celery.conf.beat_schedule
    assert schedule["audit.batch"]["schedule"] == 5 and schedule["audit.checkpoint"]["schedule"] == 30
