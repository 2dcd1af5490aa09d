"""The demo's monitored window without hardware: window 01's camera is the composited footage (photographs of people
at a desk, recording.presence_footage) as a live source. The frames are the footage at the wall-clock moment (so the
recorder films what the watcher analyses), the real detector finds the seat taken and left on it, the demo seed gives
window 01 its camera and recording room, and the watcher fills the timeline from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select

from recording.clock import ManualClock, from_epoch_us
from recording.presence import FaceFinder, SeatDetector, Settings
from recording.presence_footage import SEAT, FootageSource


def _at_footage_start(source: FootageSource, near: datetime) -> datetime:
    """The first instant at or after `near` where the looping footage starts again."""
    period_us = source.footage.seconds * 1_000_000
    near_us = int(near.timestamp()) * 1_000_000
    return from_epoch_us(near_us - near_us % period_us + period_us)


def test_frames_are_the_footage_at_their_wall_clock_moment() -> None:
    probe = FootageSource(seed=3, realtime=False)
    start = _at_footage_start(probe, datetime(2026, 12, 7, 9, tzinfo=UTC))
    first = FootageSource(fps=8, seed=3, clock=ManualClock(wall=start), realtime=False)
    first.open()
    frames = [first.read() for _ in range(17)]  # 2 s at 8 fps
    assert [f.wall for f in frames[::8]] == [
        from_epoch_us(int(start.timestamp()) * 1_000_000 + s * 10**6) for s in (0, 1, 2)
    ]
    for index, frame in enumerate(frames):
        assert first.footage_time(index) == pytest.approx(index / 8)
        # No flash, no label: exactly the footage's picture (a white square each second would be foreground).
        assert np.array_equal(frame.image, first.footage.frame(index / 8))
    # A second reader (the watcher at 2 fps) opened a second later sees the same moment as the recorder.
    later = FootageSource(fps=2, seed=3, clock=ManualClock(wall=frames[8].wall), realtime=False)
    later.open()
    assert np.array_equal(later.read().image, frames[8].image)
    small = FootageSource(160, 120, 2, seed=3, clock=ManualClock(wall=start), realtime=False)
    small.open()
    assert small.read().image.shape == (120, 160, 3)


@pytest.mark.timeout(600)
def test_the_detector_finds_the_seat_taken_and_left_on_the_live_footage() -> None:
    """Ten minutes of the demo camera at the watcher's 2 fps, against the footage's own truth per frame."""
    probe = FootageSource(seed=1, realtime=False)
    start = _at_footage_start(probe, datetime(2026, 12, 7, 9, tzinfo=UTC))
    source = FootageSource(fps=2, seed=1, clock=ManualClock(wall=start), realtime=False, max_frames=1200)
    source.open()
    detector = SeatDetector(SEAT, Settings(), FaceFinder())
    tp = fp = fn = tn = 0
    for index in range(source.max_frames or 0):
        frame = source.read()
        present = detector.analyse(frame.image, frame.wall).present
        if index < 20:
            continue  # the first ten seconds: the detector learns the empty seat (the footage opens with it empty)
        truth = source.present(index)
        tp += present and truth
        fp += present and not truth
        fn += truth and not present
        tn += not truth and not present
    assert tp and tn, (tp, fp, fn, tn)  # both states occur in these ten minutes
    assert tp / (tp + fp) >= 0.9 and tp / (tp + fn) >= 0.95, (tp, fp, fn, tn)


def test_the_demo_gives_window_01_a_recorded_camera(floor: Flask) -> None:
    from app.core.storage import WINDOW_RECORDINGS
    from app.extensions import db
    from app.recordings import services as rec
    from app.recordings.models import RoomKind
    from app.supervision.presence.demo import seed_demo_window_camera
    from app.supervision.presence.models import WindowCamera

    with floor.app_context():
        for _ in range(2):  # idempotent
            lines = rec.seed_demo_window_room() + seed_demo_window_camera()
            db.session.commit()
        assert any("/supervision/presence" in line for line in lines)
        [camera] = db.session.scalars(select(WindowCamera)).all()
        assert (camera.window.number, camera.source, camera.room_code) == ("01", "footage", "window-01")
        assert (camera.seat_x, camera.seat_y, camera.seat_w, camera.seat_h) == (SEAT.x, SEAT.y, SEAT.w, SEAT.h)
        room = rec.get_room("window-01")
        assert (room.kind, room.source) == (RoomKind.WINDOW, "footage")
        assert rec.request_start("window-01", actor="system:test").bucket == WINDOW_RECORDINGS
        db.session.commit()


def test_the_watcher_fills_the_timeline_from_the_demo_camera(floor: Flask, clock: Any) -> None:
    from app.extensions import db
    from app.recordings import services as rec
    from app.supervision.presence.demo import seed_demo_window_camera
    from app.supervision.presence.models import PresenceInterval, WindowCamera

    with floor.app_context():
        rec.seed_demo_window_room()
        seed_demo_window_camera()
        db.session.commit()
    result = floor.test_cli_runner().invoke(args=["presence", "watch", "--fps", "2", "--until", "4"])
    assert result.exit_code == 0, result.output
    with floor.app_context():
        camera = db.session.scalars(select(WindowCamera)).one()
        rows = db.session.scalars(select(PresenceInterval)).all()
        assert rows and {r.window_id for r in rows} == {camera.window_id}
        assert sum(r.frames for r in rows) >= 5  # the analysed frames of the camera's 4 s are in the timeline
        assert camera.last_seen_at is not None


def test_the_watcher_without_a_camera_waits_for_one_instead_of_failing(floor: Flask, monkeypatch: Any) -> None:
    from app.supervision.presence import cli

    monkeypatch.setattr(cli, "CAMERA_POLL_SECONDS", 0.2)
    result = floor.test_cli_runner().invoke(args=["presence", "watch", "--fps", "2", "--until", "1"])
    assert result.exit_code == 0, result.output
    assert "waiting for one" in result.output
