"""Is somebody in the seat? Presence detection for a window camera, frame by frame, with hysteresis.

A window's camera looks at the desk; the seat region (a rectangle, as fractions of the frame) is where the member of
staff sits. Two signals per analysed frame:

- **Foreground**: the share of the seat region that differs from the empty seat's background model (grey, blurred,
  brightness-normalised against the part of the frame outside the seat, so a light switched on is not a person).
  The model learns only while the seat is judged empty (slowly, to follow daylight) and is never taught a person.
- **Face**: the LBP face cascades (frontal and profile, both directions) of Debian's opencv-data, run by
  scikit-image's cascade detector on the seat region. The OpenCV 5 wheels ship neither cascade files nor a
  cascade classifier, hence scikit-image. A face confirms a person; an occupied seat where no face has been seen for
  `object_seconds` is an object left on the chair (a coat, a bag) and is learnt into the background.

The raw judgement (foreground ≥ threshold, or a face) goes through hysteresis: the seat becomes occupied after
`on_frames` consecutive positive frames and empty after `off_seconds` without one. A missing cascade file is a clear
`PresenceConfigError`, never a crash in the middle of a day; without cascades the detector may be built with
`faces=False` (foreground only) when the operator chooses so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

CASCADE_DIRS = ("/usr/share/opencv4/lbpcascades", "/usr/share/opencv/lbpcascades")
FRONTAL = "lbpcascade_frontalface.xml"
PROFILE = "lbpcascade_profileface.xml"
ANALYSIS_WIDTH = 128  # the seat region is scaled to this width before anything is measured


class PresenceConfigError(RuntimeError):
    """The detector cannot be built as configured (a cascade file absent, a seat region outside the frame)."""


@dataclass(frozen=True)
class SeatRegion:
    """The seat as fractions of the frame: left, top, width, height in [0, 1]."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        values = (self.x, self.y, self.w, self.h)
        if not all(isinstance(v, int | float) and 0 <= v <= 1 for v in values):
            raise PresenceConfigError("the seat region's fractions must lie between 0 and 1")
        if self.w < 0.05 or self.h < 0.05 or self.x + self.w > 1.0001 or self.y + self.h > 1.0001:
            raise PresenceConfigError("the seat region must be at least 5 % of the frame and lie inside it")

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        x0, y0 = round(self.x * width), round(self.y * height)
        return x0, y0, max(8, round(self.w * width)), max(8, round(self.h * height))


@dataclass(frozen=True)
class Settings:
    fg_threshold: float = 0.18  # share of the seat region that must differ from the empty seat
    pixel_threshold: int = 28  # grey-level difference that counts a pixel as changed
    on_frames: int = 2  # consecutive positive frames before the seat counts as occupied
    off_seconds: float = 4.0  # seconds without a positive frame before it counts as empty
    learn_rate: float = 0.05  # background update per analysed frame while the seat is empty
    object_seconds: float = 120.0  # occupied, still and faceless that long: an object, learnt into the background
    motion_threshold: float = 0.05  # share of the seat region that changed since the previous frame: movement
    faces: bool = True
    face_every: int = 4  # the face cascades run on every Nth frame, and on every frame the foreground leaves in doubt


def cascade_path(name: str, dirs: Sequence[str] | None = None) -> Path:
    """The cascade file `name` in PRESENCE_CASCADE_DIR or Debian's opencv-data folders; PresenceConfigError if none."""
    search = list(dirs) if dirs is not None else [os.environ.get("PRESENCE_CASCADE_DIR", ""), *CASCADE_DIRS]
    for folder in search:
        if folder and (Path(folder) / name).is_file():
            return Path(folder) / name
    raise PresenceConfigError(
        f"face cascade {name} not found in {', '.join(d for d in search if d)}: install the Debian package "
        "opencv-data or set PRESENCE_CASCADE_DIR"
    )


class FaceFinder:
    """Frontal and profile LBP cascades (opencv-data) through scikit-image. Built once, shared by every window."""

    def __init__(self, dirs: Sequence[str] | None = None) -> None:
        try:
            from skimage.feature import Cascade
        except ImportError as exc:  # pragma: no cover - scikit-image is a requirement
            raise PresenceConfigError("scikit-image is needed for face detection") from exc
        self._frontal = Cascade(str(cascade_path(FRONTAL, dirs)))
        self._profile = Cascade(str(cascade_path(PROFILE, dirs)))

    def find(self, grey: Image) -> bool:
        """Whether a face is in the (already scaled) seat region."""
        width = grey.shape[1]
        kwargs: dict[str, Any] = {
            "scale_factor": 1.25,
            "step_ratio": 1.5,
            "min_size": (width // 6, width // 6),
            "max_size": (width // 2, width // 2),
        }
        if self._frontal.detect_multi_scale(grey, **kwargs):
            return True
        if self._profile.detect_multi_scale(grey, **kwargs):
            return True
        return bool(self._profile.detect_multi_scale(np.ascontiguousarray(grey[:, ::-1]), **kwargs))


@dataclass(frozen=True)
class Observation:
    """One analysed frame: the raw measures and the smoothed state."""

    at: datetime
    present: bool
    raw: bool
    foreground: float
    face: bool


@dataclass
class SeatDetector:
    """The state of one window's seat across frames. `analyse` one frame at a time, in time order."""

    region: SeatRegion
    settings: Settings = field(default_factory=Settings)
    faces: FaceFinder | None = None
    present: bool = False
    _background: npt.NDArray[np.float32] | None = None
    _outside_ref: float = 0.0
    _streak: int = 0
    _last_positive: datetime | None = None
    _last_face: datetime | None = None
    _last_motion: datetime | None = None
    _previous: npt.NDArray[np.float32] | None = None
    _previous_gain: float = 1.0
    _frames: int = 0
    _occupied_since: datetime | None = None

    def _prepare(self, image: Image) -> tuple[npt.NDArray[np.float32], float, Image]:
        if image.ndim != 3 or image.shape[2] != 3:
            raise PresenceConfigError("a BGR colour frame is expected")
        height, width = image.shape[:2]
        x, y, w, h = self.region.pixels(width, height)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        seat = grey[y : y + h, x : x + w]
        scaled: Image = np.asarray(
            cv2.resize(seat, (ANALYSIS_WIDTH, max(8, round(ANALYSIS_WIDTH * h / w))), interpolation=cv2.INTER_AREA),
            dtype=np.uint8,
        )
        blurred = cv2.GaussianBlur(scaled, (5, 5), 0).astype(np.float32)
        # Brightness outside the seat (the desk, the wall): the reference a lighting change is measured against.
        mask = np.ones(grey.shape, dtype=bool)
        mask[y : y + h, x : x + w] = False
        outside = float(grey[mask].mean()) if mask.any() else float(grey.mean())
        return blurred, outside, scaled

    def analyse(self, image: Image, at: datetime) -> Observation:
        seat, outside, scaled = self._prepare(image)
        if self._background is None or self._background.shape != seat.shape:
            self._background = seat.copy()  # the first frame is taken as the empty seat (or set_background)
            self._outside_ref = outside
        gain = outside / self._outside_ref if self._outside_ref > 1 else 1.0
        diff = np.abs(seat - self._background * gain)
        foreground = float((diff > self.settings.pixel_threshold).mean())
        moved = (
            self._previous is not None
            and self._previous.shape == seat.shape
            and float(
                (np.abs(seat - self._previous * gain / self._previous_gain) > self.settings.pixel_threshold).mean()
            )
            >= self.settings.motion_threshold
        )
        self._previous, self._previous_gain = seat, gain if gain > 0 else 1.0
        self._frames += 1
        doubtful = 0.5 * self.settings.fg_threshold <= foreground < 1.5 * self.settings.fg_threshold
        look = doubtful or self._frames % max(1, self.settings.face_every) == 0
        face = self.faces.find(scaled) if look and self.faces is not None and self.settings.faces else False
        if face:
            self._last_face = at
        if moved:
            self._last_motion = at
        raw = face or foreground >= self.settings.fg_threshold
        if raw:
            self._streak += 1
            self._last_positive = at
        else:
            self._streak = 0
        if not self.present and self._streak >= self.settings.on_frames:
            self.present = True
            self._occupied_since = at
        elif self.present and (
            self._last_positive is None or (at - self._last_positive).total_seconds() >= self.settings.off_seconds
        ):
            self.present = False
            self._occupied_since = None
        if self.present and self._occupied_since is not None:
            signs = [t for t in (self._occupied_since, self._last_face, self._last_motion) if t is not None]
            if (at - max(signs)).total_seconds() >= self.settings.object_seconds:
                # Occupied all that time, never a face, never a movement: a thing on the chair. Learn it.
                self._background, self._outside_ref = seat.copy(), outside
                self.present, self._streak, self._occupied_since, self._last_positive = False, 0, None, None
        if not self.present and not raw:
            rate = self.settings.learn_rate
            self._background = (1 - rate) * self._background + rate * (seat / gain if gain > 0 else seat)
        return Observation(at=at, present=self.present, raw=raw, foreground=foreground, face=face)

    def set_background(self, image: Image) -> None:
        """Teach the empty seat from a frame known to be empty (a reference picture taken when the window opens)."""
        seat, outside, _ = self._prepare(image)
        self._background, self._outside_ref = seat, outside


@dataclass(frozen=True)
class Interval:
    """A stretch of one state: [start, end)."""

    present: bool
    start: datetime
    end: datetime


def intervals(observations: Iterable[Observation], end: datetime | None = None) -> list[Interval]:
    """The smoothed states as intervals: each runs from its first observation to the next state's first one."""
    found: list[Interval] = []
    state: bool | None = None
    since: datetime | None = None
    last: datetime | None = None
    for obs in observations:
        if state is None or since is None:
            state, since = obs.present, obs.at
        elif obs.present != state:
            found.append(Interval(state, since, obs.at))
            state, since = obs.present, obs.at
        last = obs.at
    if state is not None and since is not None and last is not None:
        found.append(Interval(state, since, end or last))
    return found
