"""The room recorder process: follows the room's sessions, runs recording.Recorder, writes rows, signs manifests.

One process per room (`flask recording run --room CODE`). The capture loop runs in a worker thread;
the main thread handles signals, polls the database (stop requests, schedules, heartbeats) and closes
sessions. Rows are written in short transactions of their own (one commit per segment) from the
library's callbacks; a database hiccup never stops the capture — the archive's journal is the source,
and missing rows are written again from it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from app.core.db import db
from app.core.errors import Conflict, NotFound
from app.core.fields import InstantOutOfRange, parse_instant, to_utc_instant
from app.core.keys import platform_key_id, platform_signing_key
from app.core.storage import get_storage
from app.core.time import now_utc
from app.recordings import services
from app.recordings.models import RecordingRoom, SessionStatus

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)$")


def parse_until(text: str | None, *, zone: str) -> datetime | None:
    """'90s', '15m', '2h' from now, or an ISO instant (without an offset: the center's time zone). ValueError if not."""
    if not text:
        return None
    m = _DURATION.match(text.strip())
    try:
        if m:
            factor = {"s": 1, "m": 60, "h": 3600}[m.group(2)]
            return to_utc_instant(now_utc() + timedelta(seconds=float(m.group(1)) * factor))
        return parse_instant(text, default_zone=ZoneInfo(zone))
    except (OverflowError, InstantOutOfRange) as exc:
        raise ValueError(
            f"--until: {text!r} is neither a duration (90s, 15m, 2h) nor an ISO instant in the years 2000-2999"
        ) from exc


@dataclass
class Options:
    room: str
    source: str | None = None
    width: int | None = None
    height: int | None = None
    fps: int | None = None
    segment_seconds: float = 4.0
    preset: str | None = None  # x264 preset and crf; None: the library's (EncoderSettings)
    crf: int | None = None
    audio: bool = True
    follow: bool = False
    continuous: bool = False
    rotate_s: float | None = None
    until: datetime | None = None
    poll_s: float = 1.0
    subject: str | None = None
    drain_s: float = 30.0
    # The library's clock (monotonic + wall) for a synthetic camera and the capture loop; None: the machine's.
    # The demo records a past opening with the real clock moved back by an offset (it still runs in real time).
    clock: Any = None


SCENE_SPEC = re.compile(r"scene(?::(\d{1,9}))?")
SCENE_MAX_LAG_S = 0.5  # a scene frame the recorder takes later than this is lost, as a live camera's would be


def make_sources(spec: str, *, width: int, height: int, fps: int, label: str, clock: Any = None) -> tuple[Any, Any]:
    """(video, audio) for a camera spec: 'synthetic', 'scene' or 'scene:SEED', 'footage' or 'footage:SEED', a device
    index, an RTSP URL (H.264 copied), a file/URL.

    'synthetic' is colour bars; 'scene' a detailed moving picture that loads the encoder as a room's camera does
    (frames it cannot take in time are lost, as a live camera's are); 'footage' a window's desk with people
    (photographs) coming and going (recording.presence_footage: the demo window's camera, without sound). `clock`
    (the library's Clock) paces and stamps the synthetic cameras; the others are stamped by the machine.
    """
    from recording.audio import ToneSource
    from recording.sources import DemuxSource, OpenCVSource, SceneSource, SyntheticSource

    if spec == "synthetic":
        return SyntheticSource(width, height, fps, clock=clock, realtime=True, label=label), ToneSource(clock=clock)
    scene = SCENE_SPEC.fullmatch(spec)
    if scene:
        seed = int(scene.group(1) or 0)
        video = SceneSource(
            width, height, fps, seed=seed, clock=clock, realtime=True, label=label, max_lag_s=SCENE_MAX_LAG_S
        )
        return video, ToneSource(clock=clock)
    if spec.startswith("footage"):
        from recording.presence_footage import FOOTAGE_SPEC, FootageSource

        footage = FOOTAGE_SPEC.fullmatch(spec)
        if footage:
            seed = int(footage.group(1) or 1)
            window = FootageSource(width, height, fps, seed=seed, clock=clock, label=label, max_lag_s=SCENE_MAX_LAG_S)
            return window, None
    if spec.isdigit():
        return OpenCVSource(int(spec), width=width, height=height, fps=fps), None
    if spec.startswith(("rtsp://", "rtsps://")):
        return DemuxSource(spec, live=True), None  # the camera's H.264 and audio are copied, not re-encoded
    return OpenCVSource(spec, realtime=True, fps=fps), None


class RoomRecorder:
    def __init__(self, app: Flask, options: Options, *, echo: Callable[[str], None] = print) -> None:
        self.app = app
        self.opts = options
        self.echo = echo
        self.ident = f"{socket.gethostname()}:{os.getpid()}"
        self.spool_root = Path(app.config.get("RECORDING_SPOOL_DIR") or Path(app.instance_path) / "recording-spool")
        self._uploaded: set[str] = set()
        self._lock = threading.Lock()
        self._needs_sync = False
        self.sessions_closed: list[str] = []

    # ----- helpers -----
    def _tx(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` in its own app context and transaction; commit, or roll back and re-raise."""
        with self.app.app_context():
            try:
                result = fn()
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise

    def _room(self) -> RecordingRoom:
        return services.get_room(self.opts.room)

    def _past_until(self) -> bool:
        return self.opts.until is not None and now_utc() >= self.opts.until

    # ----- main loop -----
    def run(self, stop: threading.Event) -> int:
        """Record until `stop`, `--until`, or (without --follow-schedule) the end of one session."""
        if not self.opts.follow:
            self._tx(lambda: self._room().id)  # one-shot: fail at once on an unknown room
        recorded = 0
        failures = 0
        while not stop.is_set() and not self._past_until():
            try:
                session_id = self._tx(self._pick_session)
            except NotFound:
                # Follow mode outlives a room that is not there yet (`make run` before its demo data).
                self.echo(f"{self.opts.room}: no such room yet; waiting")
                stop.wait(max(5.0, self.opts.poll_s))
                continue
            if session_id is None:
                if not self.opts.follow:
                    break
                stop.wait(self.opts.poll_s)
                continue
            try:
                self.record(session_id, stop)
                failures = 0
            except Exception:
                failures += 1
                log.exception("recording session %s failed", session_id)
                stop.wait(min(60.0, self.opts.poll_s * 2**failures))
            recorded += 1
            if not self.opts.follow:
                break
        return 0

    def _pick_session(self) -> int | None:
        room = self._room()
        if self.opts.follow:
            for line in services.apply_schedules(room, continuous=self.opts.continuous):
                self.echo(f"{room.code}: {line}")
        session = services.next_session_for(room)
        if session is None and not self.opts.follow:
            session = services.request_start(room.code, actor=f"recorder:{room.code}", subject=self.opts.subject)
        return session.id if session is not None else None

    # ----- one session -----
    def record(self, session_id: int, stop: threading.Event) -> None:
        from recording.archive import Archive
        from recording.encoder import EncoderSettings
        from recording.recorder import Recorder

        info = self._tx(lambda: self._begin(session_id))
        if info is None:
            return
        key, bucket, room_name, spec, width, height, fps, started = info
        max_spool = int(self.app.config.get("RECORDING_MAX_SPOOL_BYTES", 2 << 30))
        archive = Archive(
            _PutAdapter(self.app),
            session=key,
            room=room_name,
            bucket=bucket,  # the session's: a window's own bucket, a tendering room's write-once one
            spool_dir=self.spool_root / key,
            max_spool_bytes=max_spool,
            on_segment=lambda r: self._on_segment(session_id, r),
            on_gap=lambda g: self._on_gap(session_id, g),
            on_alarm=lambda a: log.error(
                "%s: spool holds %d bytes in %d objects (limit %d): storage unreachable?",
                key,
                a.pending_bytes,
                a.pending_objects,
                a.max_bytes,
            ),
            on_uploaded=lambda k, _sha: self._on_uploaded(session_id, k),
        )
        if archive.closed:  # the previous process signed the manifest but died before recording that
            self._finish(session_id, archive, manifest=None)
            return
        self._sync(session_id, archive)
        video, audio = make_sources(
            spec, width=width, height=height, fps=fps, label=self.opts.room, clock=self.opts.clock
        )
        if not self.opts.audio:
            audio = None
        chosen: dict[str, Any] = {"preset": self.opts.preset, "crf": self.opts.crf}
        settings = EncoderSettings(
            fps=fps,
            segment_seconds=self.opts.segment_seconds,
            **{name: value for name, value in chosen.items() if value is not None},
        )
        zone = ZoneInfo(self.app.config.get("CENTER_TIMEZONE", "Asia/Shanghai"))
        recorder = Recorder(
            room=room_name,
            video=video,
            audio=audio,
            archive=archive,
            settings=settings,
            clock=self.opts.clock,
            overlay_zone=zone,
        )
        capture_stop = threading.Event()
        errors: list[BaseException] = []

        def capture() -> None:
            try:
                recorder.run(capture_stop)
            except BaseException as exc:
                errors.append(exc)
                log.exception("%s: capture failed", key)

        thread = threading.Thread(target=capture, name=f"capture-{key}", daemon=True)
        thread.start()
        self.echo(f"{self.opts.room}: recording session {key}")
        beat = 0.0
        while thread.is_alive():
            thread.join(self.opts.poll_s)
            if capture_stop.is_set():
                continue
            if stop.is_set() or self._past_until():
                capture_stop.set()
                continue
            beat += self.opts.poll_s
            try:
                state = self._tx(partial(self._poll, session_id, heartbeat=beat >= 10))
            except Exception:
                log.exception("%s: cannot reach the database; recording on", key)
                continue
            if beat >= 10:
                beat = 0.0
            if self._needs_sync:
                self._sync(session_id, archive)
            stop_requested, schedule_id = state
            rotate = (
                self.opts.rotate_s is not None
                and schedule_id is None
                and (now_utc() - started).total_seconds() >= self.opts.rotate_s
            )
            if stop_requested or rotate:
                capture_stop.set()
        thread.join()
        self._finish(session_id, archive, manifest=None)
        if errors and not archive.records:
            raise RuntimeError(f"capture failed before any segment: {errors[0]}")

    def _begin(self, session_id: int) -> tuple[Any, ...] | None:
        try:
            session = services.begin_session(session_id, recorder=self.ident)
        except Conflict as exc:
            self.echo(f"{self.opts.room}: {exc.detail}")
            return None
        room = session.room
        return (
            session.key,
            session.bucket,
            room.name,
            self.opts.source or room.source,
            self.opts.width or room.width,
            self.opts.height or room.height,
            self.opts.fps or room.fps,
            session.started_at or now_utc(),
        )

    def _poll(self, session_id: int, *, heartbeat: bool) -> tuple[bool, int | None]:
        room = self._room()
        if self.opts.follow:
            services.apply_schedules(room, continuous=self.opts.continuous)
        session = services.heartbeat(session_id) if heartbeat else services.get_session(session_id)
        return session.stop_requested_at is not None, session.schedule_id

    # ----- rows from callbacks -----
    def _write(self, fn: Callable[[], Any]) -> bool:
        try:
            self._tx(fn)
            return True
        except Exception:
            log.exception("could not write a recording row; it will be written again from the journal")
            self._needs_sync = True
            return False

    def _on_segment(self, session_id: int, record: Any) -> None:
        if self._write(lambda: services.record_segment(session_id, record)):
            with self._lock:
                done = record.key in self._uploaded
            if done:  # uploaded before its row existed (the uploader is quick): mark it now
                self._write(lambda: services.mark_uploaded(session_id, record.key))

    def _on_gap(self, session_id: int, gap: Any) -> None:
        self._write(lambda: services.record_gap(session_id, gap))

    def _on_uploaded(self, session_id: int, key: str) -> None:
        with self._lock:
            self._uploaded.add(key)
        if "/seg-" in key:
            self._write(lambda: services.mark_uploaded(session_id, key))

    def _sync(self, session_id: int, archive: Any) -> None:
        """Write every journalled segment and gap that has no row yet (idempotent)."""
        self._needs_sync = False

        def sync() -> None:
            for record in list(archive.records):
                services.record_segment(session_id, record)
            for gap in list(archive.gaps):
                services.record_gap(session_id, gap)

        self._write(sync)

    # ----- closing -----
    def _finish(self, session_id: int, archive: Any, manifest: dict[str, Any] | None) -> None:
        from recording.manifest import canonical_json

        self._sync(session_id, archive)
        key_name = f"{archive.prefix}/manifest.json"
        if not archive.closed:
            checkpoint_start = self._tx(lambda: services.get_session(session_id).checkpoint_start)
            checkpoint_end = self._tx(services.end_checkpoint)
            with self.app.app_context():
                signing, signing_id = platform_signing_key(), platform_key_id()
            manifest = archive.close(
                checkpoint_start=checkpoint_start,
                checkpoint_end=checkpoint_end,
                signer=signing.sign,
                key_id=signing_id,
            )
        archive.start()
        if not archive.stop(timeout=self.opts.drain_s):
            # Nothing is lost: the spool keeps the objects and the next run of this room finishes the job.
            self.echo(f"{self.opts.room}: storage unreachable, {archive.pending_objects} objects stay in the spool")
            return
        if manifest is None:
            manifest = _read_manifest(self.app, archive.bucket, key_name)
            if manifest is None:
                self.echo(f"{self.opts.room}: manifest {key_name} is not in storage; the session stays open")
                return
        sha = hashlib.sha256(canonical_json(manifest)).hexdigest()
        session = self._tx(
            lambda: services.close_session(session_id, manifest=manifest, manifest_key=key_name, manifest_sha256=sha)
        )
        del session
        self.sessions_closed.append(archive.session)
        self.echo(f"{self.opts.room}: closed session {archive.session} ({len(archive.records)} segments)")


def _read_manifest(app: Flask, bucket: str, key: str) -> dict[str, Any] | None:
    import json

    from app.core.errors import NotFound

    with app.app_context():
        try:
            with get_storage().open(bucket, key) as fh:
                value = json.loads(fh.read())
        except (NotFound, ValueError):
            return None
    return value if isinstance(value, dict) else None


class _PutAdapter:
    """The platform's storage as the recording library's ObjectStorage (uploads run in the archive's thread)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def put(self, bucket: str, key: str, stream: Any, *, length: int | None = None) -> Any:
        from app.core.storage import WriteOnceViolation

        with self.app.app_context():
            storage = get_storage()
            content_type = "application/json" if key.endswith(".json") else "video/mp4"
            try:
                return storage.put(bucket, key, stream, length=length, content_type=content_type)
            except WriteOnceViolation:
                # A retry after a lost answer: the object is there; its checksum tells whether it is ours.
                return storage.stat(bucket, key)


def is_session_open(status: SessionStatus) -> bool:
    return status in (SessionStatus.PENDING, SessionStatus.RECORDING)
