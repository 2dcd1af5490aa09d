"""The presence watcher's state: the window cameras it reads and their seat detectors, kept in step with the
cameras table while it runs.

`sync` reads the active cameras and compares them with what is watched: a camera added (or activated) is opened,
one removed (or deactivated) is closed, one whose source or seat region changed is closed and opened again with a
new detector (the old one learnt the old picture). A camera that cannot be opened is tried again at the next sync
(said once per setting, not at every try); a live camera lost is dropped and opened again at the next sync; a finite
source that ended (a file) stays ended until its setting changes. `round` analyses one frame of each watched camera
and stores the observations (flushes; the caller commits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.core.db import db
from app.supervision.presence import services

Spec = tuple[str, tuple[float, float, float, float]]  # the camera's source and seat region


@dataclass
class Watched:
    window_id: int
    number: str
    spec: Spec
    source: Any  # recording.sources.FrameSource
    detector: Any  # recording.presence.SeatDetector
    last: datetime | None = None


@dataclass
class Watcher:
    open_source: Callable[[str], Any]  # a source spec → an unopened FrameSource
    faces: Any = None  # recording.presence.FaceFinder, or None (foreground only)
    fps: float = 2.0
    say: Callable[[str], None] = lambda _text: None
    watched: dict[int, Watched] = field(default_factory=dict)
    failed: dict[int, Spec] = field(default_factory=dict)  # cameras that could not be opened (said once)
    ended: dict[int, Spec] = field(default_factory=dict)  # finite sources that ended, by the setting they ended at

    def _close(self, window_id: int) -> None:
        gone = self.watched.pop(window_id, None)
        if gone is not None:
            try:
                gone.source.close()
            except Exception as exc:  # noqa: BLE001  (closing a broken camera must not stop the others)
                self.say(f"window {gone.number}: closing the camera failed ({exc})")

    def sync(self) -> dict[str, int]:
        """Bring the watched cameras in step with the table; commits (ends the read, so the next sync sees changes
        other processes committed). Returns how many were added, changed and removed."""
        from recording.errors import SourceUnavailable
        from recording.presence import SeatDetector, Settings

        counts = {"added": 0, "changed": 0, "removed": 0}
        active = {}
        for cam in services.cameras():
            spec: Spec = (cam.source, (cam.seat_x, cam.seat_y, cam.seat_w, cam.seat_h))
            active[cam.window_id] = (cam, spec)
        for window_id in list(self.watched):
            if window_id not in active:
                self.say(f"window {self.watched[window_id].number}: camera removed")
                self._close(window_id)
                counts["removed"] += 1
        for key in list(self.failed) + list(self.ended):
            if key not in active:
                self.failed.pop(key, None)
                self.ended.pop(key, None)
        for window_id, (cam, spec) in sorted(active.items(), key=lambda kv: kv[1][0].window.number):
            current = self.watched.get(window_id)
            if current is not None and current.spec == spec:
                continue
            if current is None and self.ended.get(window_id) == spec:
                continue
            region = services.seat_region(cam)
            source = self.open_source(cam.source)
            try:
                source.open()
            except SourceUnavailable as exc:
                if self.failed.get(window_id) != spec:
                    self.say(f"window {cam.window.number}: camera unavailable ({exc}); trying again later")
                self.failed[window_id] = spec
                if current is not None:  # its setting changed to one that does not open: stop the old one too
                    self._close(window_id)
                    counts["removed"] += 1
                continue
            self.failed.pop(window_id, None)
            self.ended.pop(window_id, None)
            if current is not None:
                self._close(window_id)
                counts["changed"] += 1
                self.say(f"window {cam.window.number}: camera changed, watching {cam.source}")
            else:
                counts["added"] += 1
                self.say(f"window {cam.window.number}: watching {cam.source}")
            self.watched[window_id] = Watched(
                window_id, cam.window.number, spec, source, SeatDetector(region, Settings(), self.faces)
            )
        db.session.commit()
        return counts

    def round(self) -> int:
        """One frame of each watched camera, analysed and stored (flushes). Returns the frames analysed."""
        from recording.errors import SourceEnded, SourceLost

        step = timedelta(seconds=0.9 / self.fps)
        done = 0
        for window_id, watched in list(self.watched.items()):
            try:
                frame = watched.source.read()
            except (SourceEnded, SourceLost) as exc:
                self.say(f"window {watched.number}: {exc}")
                if isinstance(exc, SourceEnded):
                    self.ended[window_id] = watched.spec
                self._close(window_id)
                continue
            if watched.last is not None and frame.wall - watched.last < step:
                continue
            watched.last = frame.wall
            obs = watched.detector.analyse(frame.image, frame.wall)
            services.observe(window_id, frame.wall, obs.present, face=obs.face)
            done += 1
        return done

    def close(self) -> None:
        for window_id in list(self.watched):
            self._close(window_id)
