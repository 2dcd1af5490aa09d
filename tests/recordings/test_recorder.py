"""The room recorder process: CLI run → segment rows and stored objects → a signed manifest that verifies;
SIGTERM stops it cleanly; the evidence log holds the session's start and end with checkpoints."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from tests.recordings.conftest import create_room

ROOT = Path(__file__).resolve().parents[2]


def _storage_root(app: Flask) -> Path:
    return Path(app.config["STORAGE_URL"].removeprefix("file://"))


def _check_closed_session(app: Flask, key: str) -> dict:
    """Rows, objects, manifest, evidence log of a closed session; returns the manifest."""
    from app.audit.models import AuditEntry
    from app.core.keys import platform_signing_key
    from app.extensions import db
    from app.recordings.models import RecordingSession, SessionStatus
    from crypto.cli_recording import verify_manifest_document
    from recording.manifest import verify_manifest

    root = _storage_root(app) / "recordings"
    with app.app_context():
        session = db.session.scalar(select(RecordingSession).where(RecordingSession.key == key))
        assert session is not None and session.status == SessionStatus.CLOSED
        rows = session.segments
        assert len(rows) >= 3
        assert [r.sequence for r in rows] == list(range(len(rows)))
        for prev, row in itertools.pairwise(rows):
            assert row.prev_chain_hash == prev.chain_hash
            assert row.wall_start_us >= prev.wall_start_us and row.mono_start_ns > prev.mono_start_ns
        for row in rows:
            assert row.uploaded_at is not None
            data = (root / row.object_key).read_bytes()
            assert len(data) == row.size
            assert hashlib.sha256(data).hexdigest() == row.sha256
            assert (root / row.init_key).is_file()
        manifest_bytes = (root / session.manifest_key).read_bytes()
        assert hashlib.sha256(manifest_bytes).hexdigest() == session.manifest_sha256
        manifest = json.loads(manifest_bytes)
        public = platform_signing_key().public_key()
        report = verify_manifest(manifest, lambda k: (root / k).read_bytes(), public)
        assert report.ok, report.problems
        assert report.checked_segments == len(rows)
        # crypto's independent re-implementation agrees with the library on a real manifest
        assert verify_manifest_document(manifest, public)["final_chain_hash"] == session.final_chain_hash
        body = manifest["manifest"]
        assert body["checkpoint_start"]["payload"]["tree_size"] >= 1
        assert body["checkpoint_end"]["payload"]["tree_size"] >= body["checkpoint_start"]["payload"]["tree_size"]
        actions = [
            e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action.startswith("recording.")))
        ]
        assert "recording.session_started" in actions and "recording.session_closed" in actions
        closed = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "recording.session_closed"))
        assert closed.data["manifest_sha256"] == session.manifest_sha256
        assert closed.data["checkpoint_end"]["tree_size"] == body["checkpoint_end"]["payload"]["tree_size"]
        return manifest


def test_cli_run_records_rows_objects_and_a_verifying_manifest(app: Flask) -> None:
    create_room(app)
    result = app.test_cli_runner().invoke(
        args=[
            "recording",
            "run",
            "--room",
            "room-a",
            "--until",
            "7s",
            "--segment-seconds",
            "1",
            "--preset",
            "ultrafast",
        ]
    )
    assert result.exit_code == 0, result.output
    keys = [line.split()[3] for line in result.output.splitlines() if "closed session" in line]
    assert len(keys) == 1, result.output
    manifest = _check_closed_session(app, keys[0])
    duration_us = manifest["manifest"]["ended_at_us"] - manifest["manifest"]["started_at_us"]
    assert 5_000_000 <= duration_us <= 8_000_000


def test_cli_run_refuses_an_unknown_room(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["recording", "run", "--room", "nope", "--until", "2s"])
    assert result.exit_code != 0 and "No recording room" in result.output


RUNNER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import app as pkg
    if "app.recordings" not in pkg.MODULES:
        pkg.MODULES.append("app.recordings")
    from app import create_app
    from app.config import test_config
    application = create_app(test_config(Path(sys.argv[1]), SQLALCHEMY_DATABASE_URI=sys.argv[2]))
    result = application.test_cli_runner().invoke(args=sys.argv[3:], catch_exceptions=False)
    sys.stdout.write(result.output)
    sys.exit(result.exit_code)
    """
)


def test_sigterm_closes_the_segment_and_the_session(app: Flask) -> None:
    from app.extensions import db
    from app.recordings.models import RecordingSegment

    create_room(app)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUNNER,
            app.config["INSTANCE_PATH"],
            app.config["SQLALCHEMY_DATABASE_URI"],
            "recording",
            "run",
            "--room",
            "room-a",
            "--until",
            "120s",
            "--segment-seconds",
            "1",
            "--preset",
            "ultrafast",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        count = 0
        while time.monotonic() < deadline and count < 3:
            time.sleep(0.5)
            with app.app_context():
                count = len(db.session.scalars(select(RecordingSegment.id)).all())
                db.session.rollback()
        if count < 3:
            proc.kill()
            raise AssertionError(f"no segments arrived: {proc.communicate(timeout=30)[0].decode()[-3000:]}")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 0, text
    keys = [line.split()[3] for line in text.splitlines() if "closed session" in line]
    assert len(keys) == 1, text
    _check_closed_session(app, keys[0])


def test_camera_specs_name_the_bars_the_scene_with_its_seed_and_files() -> None:
    from app.recordings.recorder import SCENE_MAX_LAG_S, make_sources
    from recording import OpenCVSource, SceneSource, SyntheticSource, ToneSource

    bars, tone = make_sources("synthetic", width=320, height=180, fps=25, label="A")
    assert type(bars) is SyntheticSource and isinstance(tone, ToneSource)
    scene, tone = make_sources("scene:7", width=320, height=180, fps=25, label="A")
    assert isinstance(scene, SceneSource) and isinstance(tone, ToneSource)
    assert scene.seed == 7 and scene.realtime and scene.max_lag_s == SCENE_MAX_LAG_S
    assert (scene.width, scene.height, scene.fps) == (320, 180, 25)
    assert make_sources("scene", width=320, height=180, fps=25, label="A")[0].seed == 0
    for other in ("scenery", "scene:", "scene:x"):  # not a scene: a file or URL like any other name
        assert isinstance(make_sources(other, width=320, height=180, fps=25, label="A")[0], OpenCVSource)
