"""A real Celery worker over Redis runs a task that a service enqueued after its commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import create_app
from app.config import test_config
from tests.conftest import build_schema
from tests.services import REDIS_URL, unavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_worker_over_redis_issues_checkpoint_enqueued_after_commit(tmp_path: Path) -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).flushdb()
    except redis.RedisError as exc:
        unavailable("Redis", str(exc))

    instance = tmp_path / "instance"
    instance.mkdir()
    db_url = f"sqlite:///{instance / 'test.sqlite'}"
    app = create_app(test_config(instance, BROKER_URL=REDIS_URL))
    build_schema(app)

    env = {
        **os.environ,
        "APP_INSTANCE_PATH": str(instance),
        "APP_DATABASE_URL": db_url,
        "APP_BROKER_URL": REDIS_URL,
        "APP_SECRET_KEY": "test-secret-key",
    }
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "wsgi.celery", "worker", "--pool", "solo", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        from app.audit import record
        from app.audit.models import Checkpoint
        from app.core.tasks import enqueue_after_commit
        from app.extensions import db

        with app.app_context():
            record("test.worker_probe", actor="system:test", subject="probe", data={"n": 1})
            enqueue_after_commit("audit.checkpoint")
            assert db.session.query(Checkpoint).count() == 0
            db.session.commit()  # the task leaves only now

            deadline = time.monotonic() + 60
            sizes: list[int] = []
            while time.monotonic() < deadline and not sizes:
                sizes = [cp.tree_size for cp in db.session.query(Checkpoint)]
                db.session.rollback()  # never sit in a transaction: on SQLite it holds the write lock
                if not sizes:
                    if worker.poll() is not None:
                        break
                    time.sleep(0.3)
            log.flush()
            output = (tmp_path / "worker.log").read_text(errors="replace")
            assert sizes == [1], f"the worker issued no checkpoint:\n{output[-4000:]}"
            assert "audit.checkpoint" in output and "succeeded" in output
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
