"""The detailed scene source: deterministic by seed, moving, noisy, detailed, and dropping like a live camera."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from recording import (
    EncoderSettings,
    EncodingMuxer,
    ManualClock,
    SceneSource,
    SourceEnded,
    SourceUnavailable,
    SyntheticSource,
)
from recording.sources import Image


def detail(image: Image) -> float:
    """Mean absolute Laplacian of the grey picture: how much fine detail an encoder has to keep."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def test_same_seed_same_frames_other_seed_other_frames() -> None:
    a, b, c = (SceneSource(320, 180, 25, seed=s) for s in (4, 4, 5))
    for index in (0, 13, 250):
        assert np.array_equal(a.render(index), b.render(index))
        assert not np.array_equal(a.render(index), c.render(index))


def test_every_frame_differs_and_the_shapes_move() -> None:
    quiet = SceneSource(320, 180, 25, seed=1, noise=0)
    noisy = SceneSource(320, 180, 25, seed=1, noise=3)
    # sensor noise: consecutive frames differ all over, by about the noise's size
    first, second = noisy.render(0), noisy.render(1)
    changed = np.any(first != second, axis=2).mean()
    assert changed > 0.8
    grain = np.abs(noisy.render(0).astype(np.int16) - quiet.render(0).astype(np.int16))
    assert 1.5 < float(grain.mean()) < 4.5
    # motion: without noise, a second later a sizeable part of the picture is different (the shapes walked)
    moved = np.any(quiet.render(0) != quiet.render(25), axis=2).mean()
    assert moved > 0.05
    # the ticker scrolls: its band differs between two frames
    assert not np.array_equal(quiet.render(0)[-8:], quiet.render(1)[-8:])


def test_far_more_detail_than_colour_bars() -> None:
    bars = SyntheticSource(640, 360, 25).render(0)
    scene = SceneSource(640, 360, 25, seed=0).render(0)
    assert detail(scene) > 10 * detail(bars)


def test_costs_the_encoder_what_a_real_picture_does() -> None:
    """Same settings, same two seconds: the scene needs many times the bits of the bars (x264's work follows)."""
    clock = ManualClock()
    settings = EncoderSettings(segment_seconds=1.0, preset="ultrafast", crf=23)
    sizes = {}
    for name, source in {
        "bars": SyntheticSource(320, 180, 25, clock=clock, max_frames=50),
        "scene": SceneSource(320, 180, 25, clock=clock, max_frames=50),
    }.items():
        source.open()
        first = source.read()
        mux = EncodingMuxer(0, first, settings, with_audio=False)
        segments = mux.add_frame(first)
        while True:
            try:
                segments += mux.add_frame(source.read())
            except SourceEnded:
                break
        segments += mux.finish()
        assert sum(s.video_duration_us for s in segments) == 2_000_000
        sizes[name] = sum(len(s.data) for s in segments)
    assert sizes["scene"] > 4 * sizes["bars"]  # measured ≈ 5×


def test_background_picture_is_cropped_to_the_frame(tmp_path: Path) -> None:
    picture = np.zeros((300, 800, 3), np.uint8)
    picture[:, :400] = (0, 0, 200)  # left half red, right half green: the frame shows the middle
    picture[:, 400:] = (0, 200, 0)
    path = tmp_path / "room.png"
    cv2.imwrite(str(path), picture)
    source = SceneSource(320, 180, 25, background=str(path), noise=0, movers=0)
    image = source.render(0)
    assert image.shape == (180, 320, 3)
    assert tuple(image[60, 20]) == (0, 0, 200) and tuple(image[60, 300]) == (0, 200, 0)
    with pytest.raises(SourceUnavailable):
        SceneSource(320, 180, 25, background=str(tmp_path / "missing.png"))


def test_a_reader_that_falls_behind_loses_frames_like_a_live_camera() -> None:
    clock = ManualClock()
    live = SceneSource(160, 90, 25, clock=clock, realtime=True, max_lag_s=0.2, noise=0)
    keeps = SceneSource(160, 90, 25, clock=clock, realtime=True, noise=0)
    live.open()
    keeps.open()
    clock.advance(0.1)  # within the lag: nothing lost
    assert live.read().mono_ns == live.frame_time(0) and live.dropped == 0
    clock.advance(0.9)  # one second behind: the frames due meanwhile are gone, the next read is the newest due
    frame = live.read()
    assert live.dropped == 24 and frame.mono_ns == live.frame_time(25)
    assert [keeps.read().mono_ns for _ in range(3)] == [keeps.frame_time(i) for i in range(3)]  # no lag limit
    assert keeps.dropped == 0
