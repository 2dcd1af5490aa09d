"""Test footage for presence detection: real photographs composited onto a desk along a known timeline.

The people are photographs scikit-image ships (`astronaut`: Eileen Collins facing the camera; `camera`: a man in
profile behind a camera), each also mirrored, cut out with a head-and-shoulders mask and seated behind a desk drawn
on a brick wall (`brick`) with a cup of coffee on it (`coffee`). What makes it harder than a still picture: the
light drifts (±12 %) and flickers, the sensor adds noise, the camera shakes by a pixel, the person sways and leans,
and somebody walks past behind the desk outside the seat region.

`Footage.frame(t)` draws the frame at second t; `Footage.present(t)` is the truth. `CompositedSource` is the same
footage as a `recording.sources.FrameSource`, so the detector runs on it exactly as on a camera.
scikit-image is needed (it is a requirement of the detector anyway).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from recording.clock import Clock, to_epoch_us
from recording.errors import SourceEnded, SourceUnavailable
from recording.presence import SeatRegion
from recording.sources import SyntheticSource, VideoFrame

Image = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 320, 240
DESK_TOP = 168  # the desk's edge: the person is drawn behind it
SEAT = SeatRegion(0.28, 0.08, 0.44, 0.72)  # where the person sits, as the window camera is configured


@dataclass(frozen=True)
class Sprite:
    image: Image  # BGR
    alpha: npt.NDArray[np.float32]  # 0..1


def _cutout(
    image: Image, head: tuple[int, int, int, int], body: list[tuple[int, int]], box: tuple[int, int, int, int]
) -> Sprite:
    """Head ellipse (cx, cy, ax, ay) and body polygon, cropped to box (x0, y0, x1, y1), edges feathered."""
    mask = np.zeros(image.shape[:2], dtype=np.uint8)
    cv2.ellipse(mask, (head[0], head[1]), (head[2], head[3]), 0, 0, 360, 255, -1)
    cv2.fillPoly(mask, [np.array(body, dtype=np.int32)], 255)
    soft = np.asarray(cv2.GaussianBlur(mask, (9, 9), 0), dtype=np.float32) / np.float32(255)
    x0, y0, x1, y1 = box
    return Sprite(image[y0:y1, x0:x1].copy(), soft[y0:y1, x0:x1].copy())


def _skimage_data() -> Any:
    from skimage import data

    return data


@cache
def people() -> tuple[Sprite, ...]:
    data = _skimage_data()

    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cameraman = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    found = [
        _cutout(
            astronaut,
            (226, 98, 74, 90),
            [(150, 170), (300, 170), (360, 300), (372, 512), (20, 512), (60, 280)],
            (10, 0, 380, 512),
        ),
        _cutout(
            cameraman,
            (212, 128, 58, 66),
            [(150, 110), (250, 170), (330, 190), (330, 300), (170, 512), (0, 512), (0, 250), (120, 140)],
            (0, 50, 340, 512),
        ),
    ]
    mirrored = [Sprite(np.ascontiguousarray(s.image[:, ::-1]), np.ascontiguousarray(s.alpha[:, ::-1])) for s in found]
    return tuple(found + mirrored)


@cache
def desk() -> tuple[Image, Image, npt.NDArray[np.float32]]:
    """The empty scene (BGR), and the desk's front layer with its alpha (drawn over the person)."""
    data = _skimage_data()

    brick = cv2.resize(data.brick(), (WIDTH, HEIGHT))
    wall: Any = cv2.cvtColor(brick, cv2.COLOR_GRAY2BGR).astype(np.float32)
    wall = wall * np.array([0.75, 0.85, 1.0], dtype=np.float32) * 0.8 + 30  # a warm, dim wall
    scene = np.clip(wall, 0, 255).astype(np.uint8)
    cv2.rectangle(scene, (120, 40), (200, 165), (40, 40, 45), -1)  # the chair's back
    cv2.rectangle(scene, (8, 30), (70, 80), (200, 200, 190), -1)  # a notice on the wall
    front = np.zeros_like(scene)
    rng = np.random.default_rng(7)
    grain = rng.normal(0, 8, (HEIGHT - DESK_TOP, WIDTH)).astype(np.float32)
    grain = np.asarray(cv2.GaussianBlur(grain, (31, 3), 0), dtype=np.float32)
    wood = np.stack([60 + grain, 95 + grain, 140 + grain], axis=-1)
    front[DESK_TOP:] = np.clip(wood, 0, 255).astype(np.uint8)
    coffee = cv2.resize(cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)[40:340, 120:480], (72, 60))
    front[DESK_TOP + 4 : DESK_TOP + 64, 236:308] = coffee
    cv2.rectangle(front, (20, DESK_TOP + 10), (90, DESK_TOP + 40), (230, 230, 225), -1)  # papers
    alpha = np.zeros((HEIGHT, WIDTH), dtype=np.float32)
    alpha[DESK_TOP:] = 1.0
    return scene, front, alpha


@dataclass(frozen=True)
class Segment:
    seconds: int
    present: bool
    person: int = 0


def timeline(total_seconds: int, seed: int = 1, long_absence: int = 150) -> list[Segment]:
    """A working stretch: presences of 1–6 minutes, short absences (5–40 s: a file fetched, a colleague asked) and
    every few presences a long one (`long_absence` to twice that: the seat left empty)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible timeline, not a secret
    found: list[Segment] = [Segment(rng.randint(20, 60), False)]
    used = found[0].seconds
    n = 0
    while used < total_seconds:
        on = Segment(rng.randint(60, 360), True, rng.randrange(len(people())))
        off_len = rng.randint(long_absence, 2 * long_absence) if n % 3 == 2 else rng.randint(5, 40)
        found += [on, Segment(off_len, False)]
        used += on.seconds + off_len
        n += 1
    return found


@dataclass
class Footage:
    segments: list[Segment]
    seed: int = 0
    passer_by_every: int = 90  # seconds between people walking past behind the desk
    _starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = 0
        for s in self.segments:
            self._starts.append(t)
            t += s.seconds

    @property
    def seconds(self) -> int:
        return sum(s.seconds for s in self.segments)

    def segment_at(self, t: float) -> Segment:
        for start, seg in zip(reversed(self._starts), reversed(self.segments), strict=True):
            if t >= start:
                return seg
        return self.segments[0]

    def present(self, t: float) -> bool:
        return self.segment_at(t).present

    def absences(self) -> list[tuple[int, int]]:
        """(start, end) seconds of every absence."""
        return [(st, st + s.seconds) for st, s in zip(self._starts, self.segments, strict=True) if not s.present]

    def frame(self, t: float) -> Image:
        scene, front, front_alpha = desk()
        rng = np.random.default_rng(int(t * 1000) + self.seed * 7919)
        canvas: Any = scene.astype(np.float32)
        # Somebody walking past on the left, outside the seat region, for a few seconds every so often.
        phase = t % self.passer_by_every
        if phase < 6:
            walker = people()[int(t // self.passer_by_every) % len(people())]
            self._paste(canvas, walker, centre_x=int(-20 + phase * 18), top=70, height=130)
        seg = self.segment_at(t)
        if seg.present:
            sprite = people()[seg.person]
            sway = 4 * math.sin(t / 7.0 + seg.person) + 3 * math.sin(t / 2.3)
            lean = 6 * math.sin(t / 23.0)
            scale = 1.0 + 0.05 * math.sin(t / 11.0)
            self._paste(canvas, sprite, centre_x=int(160 + sway), top=int(18 + lean), height=int(200 * scale))
        canvas = canvas * (1 - front_alpha[..., None]) + front.astype(np.float32) * front_alpha[..., None]
        light = 1.0 + 0.12 * math.sin(2 * math.pi * t / 240.0) + 0.02 * rng.standard_normal()
        canvas = canvas * light + rng.normal(0, 5, canvas.shape)
        shift = rng.integers(-1, 2, size=2)
        matrix = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], dtype=np.float32)
        out = np.clip(canvas, 0, 255).astype(np.uint8)
        moved: Image = np.asarray(cv2.warpAffine(out, matrix, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REPLICATE))
        return moved

    @staticmethod
    def _paste(canvas: npt.NDArray[np.float32], sprite: Sprite, *, centre_x: int, top: int, height: int) -> None:
        h0, w0 = sprite.image.shape[:2]
        width = max(1, round(w0 * height / h0))
        image = cv2.resize(sprite.image, (width, height)).astype(np.float32)
        alpha = cv2.resize(sprite.alpha, (width, height))
        x0, y0 = centre_x - width // 2, top
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(WIDTH, x0 + width), min(HEIGHT, y0 + height)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        part = image[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        a = alpha[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0, None]
        canvas[cy0:cy1, cx0:cx1] = canvas[cy0:cy1, cx0:cx1] * (1 - a) + part * a


class CompositedSource:
    """The footage as a FrameSource at `fps`, stamped from `start` (as fast as it is read)."""

    def __init__(self, footage: Footage, *, fps: float = 2.0, start: datetime | None = None) -> None:
        self.footage = footage
        self.fps = fps
        self.start = start or datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
        self.index = 0

    @property
    def nominal_fps(self) -> float:
        return self.fps

    def open(self) -> None:
        self.index = 0

    def read(self) -> VideoFrame:
        t = self.index / self.fps
        if t >= self.footage.seconds:
            raise SourceEnded("end of the composited footage")
        self.index += 1
        return VideoFrame(self.footage.frame(t), int(t * 1e9), self.start + timedelta(seconds=t))

    def close(self) -> None:
        pass


FOOTAGE_SPEC = re.compile(r"footage(?::(\d{1,9}))?")  # a camera spec: 'footage' or 'footage:SEED'
FOOTAGE_HOURS = 2  # the live footage's length; it starts again after that


class FootageSource(SyntheticSource):
    """The composited footage as a live window camera (the demo's, and any test's): a looping working stretch of
    FOOTAGE_HOURS, paced and stamped like SyntheticSource (real time, lost frames when its reader falls behind).

    A frame shows the footage at the wall-clock instant it is stamped with (modulo the footage's length), so every
    reader of the same spec sees the same moment: the recorder films what the presence watcher analyses. The people
    are photographs; nothing is decided here about whether the seat is taken — that is the detector's job.
    """

    flash = False  # a white square each second would be foreground to the detector

    def __init__(
        self,
        width: int = WIDTH,
        height: int = HEIGHT,
        fps: int = 10,
        *,
        seed: int = 1,
        clock: Clock | None = None,
        realtime: bool = True,
        max_frames: int | None = None,
        label: str = "WINDOW",
        max_lag_s: float | None = None,
    ) -> None:
        super().__init__(
            width, height, fps, clock=clock, realtime=realtime, max_frames=max_frames, label=label, max_lag_s=max_lag_s
        )
        self.footage = Footage(timeline(FOOTAGE_HOURS * 3600, seed=seed), seed=seed)

    def _make_bars(self) -> Image:
        return np.zeros((1, 1, 3), np.uint8)  # not used: the footage is the picture

    def footage_time(self, index: int) -> float:
        """Seconds into the footage of frame `index`: its wall-clock stamp modulo the footage's length."""
        if self._origin_wall is None:
            raise SourceUnavailable("footage source read before open()")
        wall_us = to_epoch_us(self._origin_wall) + (self.frame_time(index) - self._wall_anchor) // 1000
        return (wall_us % (self.footage.seconds * 1_000_000)) / 1e6

    def present(self, index: int) -> bool:
        """The truth for frame `index` (tests compare the detector with it)."""
        return self.footage.present(self.footage_time(index))

    def render(self, index: int) -> Image:
        image = self.footage.frame(self.footage_time(index))
        if image.shape[:2] != (self.height, self.width):
            image = np.asarray(cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA), np.uint8)
        return image


@dataclass
class Measured:
    """How the detector did on a footage: per second of the footage, and the absence alerts."""

    seconds: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    alert_delays: list[float]  # seconds after the true alert instant, one per long absence alerted
    missed_alerts: int  # long absences the detector never alerted on
    false_alerts: int  # alerts with no long absence behind them
    analyse_seconds: float  # time spent in SeatDetector.analyse
    frames: int

    @property
    def precision(self) -> float:
        return self.true_positive / max(1, self.true_positive + self.false_positive)

    @property
    def recall(self) -> float:
        return self.true_positive / max(1, self.true_positive + self.false_negative)

    @property
    def ms_per_frame(self) -> float:
        return self.analyse_seconds * 1000 / max(1, self.frames)


def measure(footage: Footage, detector: object, *, fps: float = 2.0, alert_after: float = 60.0) -> Measured:
    """Run `detector` (a SeatDetector) over the footage at `fps`; score each whole second by the state of its last
    analysed frame; an alert is due `alert_after` seconds into an absence (true and detected alike)."""
    import time

    from recording.presence import SeatDetector, intervals

    assert isinstance(detector, SeatDetector)
    source = CompositedSource(footage, fps=fps)
    source.open()
    observations = []
    spent = 0.0
    while True:
        try:
            frame = source.read()
        except SourceEnded:
            break
        began = time.perf_counter()
        observations.append(detector.analyse(frame.image, frame.wall))
        spent += time.perf_counter() - began
    by_second: dict[int, bool] = {}
    for obs in observations:
        by_second[int((obs.at - source.start).total_seconds())] = obs.present
    tp = fp = fn = tn = 0
    for second, predicted in by_second.items():
        truth = footage.present(second)
        tp += predicted and truth
        fp += predicted and not truth
        fn += truth and not predicted
        tn += not truth and not predicted
    end = source.start + timedelta(seconds=footage.seconds)
    detected = [
        ((i.start - source.start).total_seconds(), (i.end - source.start).total_seconds())
        for i in intervals(observations, end)
        if not i.present and (i.end - i.start).total_seconds() >= alert_after
    ]
    delays: list[float] = []
    missed = 0
    used: set[int] = set()
    for start, stop in footage.absences():
        if stop - start < alert_after or start == 0:
            continue  # too short to alert on; the footage's opening absence is the detector's learning time
        due = start + alert_after
        hit = next((k for k, (a, b) in enumerate(detected) if a <= stop and b > start and b - a >= alert_after), None)
        if hit is None:
            missed += 1
            continue
        used.add(hit)
        delays.append(detected[hit][0] + alert_after - due)
    false_alerts = sum(1 for k, (a, _) in enumerate(detected) if k not in used and a > 0)
    return Measured(footage.seconds, tp, fp, fn, tn, delays, missed, false_alerts, spent, len(observations))
