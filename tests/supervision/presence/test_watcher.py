"""The presence watcher follows the cameras table while it runs: a camera set after it started is watched, one
whose seat or source changed is opened again with a new detector, one deactivated is closed — no restart."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import numpy as np
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from recording.errors import SourceEnded, SourceUnavailable
from recording.sources import VideoFrame
from tests.convenience.conftest import window_id

SEAT = (0.3, 0.1, 0.4, 0.7)


class FakeCamera:
    """A camera by its spec: 'cam:…' gives grey frames a second apart, 'broken' does not open, 'short' ends after
    two frames. Every camera made is kept, with whether it is open."""

    made: ClassVar[list[FakeCamera]] = []

    def __init__(self, spec: str) -> None:
        self.spec, self.is_open, self.reads = spec, False, 0
        self.wall = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
        FakeCamera.made.append(self)

    def open(self) -> None:
        if self.spec == "broken":
            raise SourceUnavailable("no such camera")
        self.is_open = True

    def read(self) -> VideoFrame:
        if self.spec == "short" and self.reads >= 2:
            raise SourceEnded("the file ended")
        self.reads += 1
        self.wall += timedelta(seconds=1)
        return VideoFrame(np.full((120, 160, 3), 90, np.uint8), self.reads, self.wall)

    def close(self) -> None:
        self.is_open = False


def _set(app: Flask, number: str, source: str, seat: tuple[float, ...] = SEAT, active: bool = True) -> None:
    from app.supervision.presence import services
    from app.supervision.presence.models import WindowCamera

    with app.app_context():
        wid = window_id(app, number)
        services.set_camera(window_id=wid, source=source, seat=seat, actor="system:test")  # type: ignore[arg-type]
        if not active:
            db.session.scalars(select(WindowCamera).where(WindowCamera.window_id == wid)).one().is_active = False
        db.session.commit()


def test_cameras_added_changed_and_removed_while_watching(floor: Flask) -> None:
    from app.supervision.presence.models import PresenceInterval
    from app.supervision.presence.watcher import Watcher

    FakeCamera.made = []
    said: list[str] = []
    wid = {n: window_id(floor, n) for n in ("01", "02", "03", "04")}
    with floor.app_context():
        watcher = Watcher(open_source=FakeCamera, say=said.append)
        assert watcher.sync() == {"added": 0, "changed": 0, "removed": 0} and not watcher.watched

        _set(floor, "01", "cam:a")  # another process sets a camera: the next sync opens it
        assert watcher.sync() == {"added": 1, "changed": 0, "removed": 0}
        assert watcher.round() == 1
        db.session.commit()
        assert db.session.scalars(select(PresenceInterval.window_id)).all() == [wid["01"]]
        db.session.commit()  # SQLite transactions begin IMMEDIATE: end this one before another process writes

        _set(floor, "02", "cam:b")
        _set(floor, "01", "cam:a", seat=(0.2, 0.2, 0.5, 0.5))  # the seat moved: a new detector for the new region
        assert watcher.sync() == {"added": 1, "changed": 1, "removed": 0}
        first, second, third = FakeCamera.made
        assert not first.is_open and second.is_open and third.is_open  # 01's old camera closed, reopened
        assert watcher.watched[wid["01"]].detector.region.x == 0.2
        assert watcher.sync() == {"added": 0, "changed": 0, "removed": 0}  # nothing changed: nothing reopened
        assert len(FakeCamera.made) == 3
        assert watcher.round() == 2
        db.session.commit()

        _set(floor, "02", "cam:b", active=False)  # deactivated: closed
        assert watcher.sync() == {"added": 0, "changed": 0, "removed": 1}
        assert not FakeCamera.made[-1].is_open and set(watcher.watched) == {wid["01"]}

        _set(floor, "03", "broken")  # cannot open: said once, tried again at every sync
        watcher.sync()
        watcher.sync()
        assert sum("unavailable" in text for text in said) == 1 and wid["03"] not in watcher.watched
        _set(floor, "03", "cam:fixed")
        assert watcher.sync()["added"] == 1

        _set(floor, "04", "short")  # a file that ends stays ended until its setting changes
        watcher.sync()
        for _ in range(3):
            watcher.round()
        db.session.commit()
        assert wid["04"] not in watcher.watched
        assert watcher.sync()["added"] == 0
        watcher.close()
        assert not any(c.is_open for c in FakeCamera.made)
        db.session.commit()


def test_the_running_command_picks_up_a_camera_set_after_it_started(floor: Flask, monkeypatch: Any) -> None:
    from app.supervision.presence import cli
    from app.supervision.presence.models import PresenceInterval

    monkeypatch.setattr(cli, "CAMERA_POLL_SECONDS", 0.3)
    monkeypatch.setattr(cli, "_source", FakeCamera)
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["result"] = floor.test_cli_runner().invoke(
            args=["presence", "watch", "--fps", "4", "--until", "3", "--no-faces"]
        )

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(1.0)  # the watcher started with no camera and waits
    _set(floor, "01", "cam:late")
    worker.join(timeout=30)
    result = outcome["result"]
    assert result.exit_code == 0, result.output
    assert "waiting for one" in result.output and "window 01: watching cam:late" in result.output
    with floor.app_context():
        rows = db.session.scalars(select(PresenceInterval)).all()
        assert rows and sum(r.frames for r in rows) >= 2
