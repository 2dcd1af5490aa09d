"""Exports made by a real Celery worker started exactly as the Procfile starts it (`make run`).

The worker runs the Procfile's `worker:` command line from the repository root, with the embedded filesystem
broker and without PYTHONPATH: the project's packages must be importable because the project is installed in
its venv (`make install`), not because the test runner put the checkout on sys.path. Before that, the pool
processes could not import `recording` and the export stayed `pending` forever, recorded nowhere.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import select

from tests.recordings.conftest import Recorded, csrf_of

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def db_backend() -> str:
    return "sqlite"  # the worker opens the same file the test's app writes


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"BROKER_URL": "filesystem://"}  # the embedded broker `make run` uses


def procfile_command(name: str) -> list[str]:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return shlex.split(line.split(":", 1)[1])
    raise AssertionError(f"no {name!r} line in the Procfile")


@pytest.fixture
def worker(app: Flask, tmp_path: Path) -> Iterator[Path]:
    command = procfile_command("worker")
    if not (ROOT / command[0]).exists():
        pytest.fail(f"{command[0]} is missing: run `make install-dev` first")
    instance = Path(app.instance_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("APP_")}
    env |= {
        "APP_INSTANCE_PATH": str(instance),
        "APP_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "APP_BROKER_URL": "filesystem://",
        "APP_SECRET_KEY": app.config["SECRET_KEY"],
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield log_path
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _request_export(app: Flask, client: Any, session_id: int) -> int:
    from app.extensions import db
    from app.recordings.models import RecordingSegment

    with app.app_context():
        rows = db.session.scalars(
            select(RecordingSegment)
            .where(RecordingSegment.session_id == session_id)
            .order_by(RecordingSegment.sequence)
        ).all()
        start_us, end_us = rows[1].wall_start_us + 100_000, rows[2].wall_end_us - 100_000
    resp = client.post(
        f"/api/v1/recordings/sessions/{session_id}/exports",
        json={
            "start": datetime.fromtimestamp(start_us / 1e6, UTC).isoformat(),
            "end": datetime.fromtimestamp(end_us / 1e6, UTC).isoformat(),
        },
        headers={"X-CSRFToken": csrf_of(client)},
    )
    assert resp.status_code == 202, resp.get_json()
    return int(resp.get_json()["id"])


def _wait_finished(client: Any, export_id: int, log_path: Path, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        info = client.get(f"/api/v1/recordings/exports/{export_id}").get_json()
        if info["status"] != "pending":
            return info
        time.sleep(0.5)
    raise AssertionError(
        f"export {export_id} still {info.get('status')!r} after {timeout} s; worker log:\n"
        + log_path.read_text(errors="replace")[-4000:]
    )


def test_procfile_worker_makes_the_export_and_a_failing_task_marks_it_failed(
    app: Flask, auditor: Any, recorded: Recorded, worker: Path
) -> None:
    from app.audit.models import AuditEntry
    from app.extensions import db

    sid = recorded.session_id
    first = _request_export(app, auditor, sid)
    info = _wait_finished(auditor, first, worker)
    assert info["status"] == "done", info
    assert info["error"] is None and info["size"] > 0
    assert auditor.get(info["mp4_url"]).status_code == 200

    # A failure the task does not expect (here the exports bucket's folder is replaced by a file, as a broken
    # disk or volume would do) still ends the export: failed, with its reason, in the log, on the page.
    storage = Path(app.instance_path) / "storage"
    (storage / "exports").rename(storage / "exports.moved")
    (storage / "exports").write_bytes(b"not a folder")
    second = _request_export(app, auditor, sid)
    info = _wait_finished(auditor, second, worker)
    assert info["status"] == "failed", info
    assert info["error"] and "Conflict" in info["error"], info
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "recording.export_failed")).all()
        assert [e.data["export"] for e in entries] == [second]
        assert entries[0].data["error"] == info["error"]
    page = auditor.get(f"/recordings/sessions/{sid}")
    assert page.status_code == 200
    assert str(escape(info["error"])).encode() in page.data
    log = worker.read_text(errors="replace")
    assert "recordings.export" in log and "failed" in log


def test_the_venv_imports_the_project_from_any_directory(tmp_path: Path) -> None:
    """`make install` installs the project: a process started anywhere imports this checkout's packages."""
    python = ROOT / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.fail(".venv is missing: run `make install-dev` first")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [str(python), "-c", "import app, crypto, recording; print(app.__file__, crypto.__file__, recording.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for path in out.stdout.split():
        assert Path(path).resolve().is_relative_to(ROOT.resolve()), (path, ROOT)
