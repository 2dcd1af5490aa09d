"""The capture loop: source → overlay → encoder/segmenter → archive, with reconnects, gaps and clean stops."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from types import FrameType

from recording.archive import Archive, Gap
from recording.audio import AudioSource
from recording.clock import Clock, SystemClock, to_epoch_us
from recording.encoder import ClosedSegment, CopyMuxer, EncoderSettings, EncodingMuxer
from recording.errors import SourceEnded, SourceLost, SourceUnavailable
from recording.overlay import burn_in
from recording.sources import FrameSource, PacketSource, SourcePacket, VideoFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0


@dataclass
class _Outage:
    cause: str
    kind: str
    wall_start_us: int
    mono_start_ns: int | None


def install_stop_signals(stop: threading.Event, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
    """Make SIGTERM/SIGINT set `stop`, so the recorder closes its current segment and returns (main thread only)."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in signals:
        signal.signal(sig, handler)


class Recorder:
    """Records one room into `archive` until `stop` is set or a finite source ends.

    A lost camera is reopened with exponential backoff; the time without media becomes a Gap with the
    error as its cause, and recording resumes in a new period (new init section). Resuming a spool whose
    session was not closed (the previous process died) records a "restart" gap first.
    """

    def __init__(
        self,
        *,
        room: str,
        video: FrameSource | PacketSource,
        archive: Archive,
        audio: AudioSource | None = None,
        settings: EncoderSettings | None = None,
        clock: Clock | None = None,
        overlay: bool = True,
        overlay_zone: tzinfo | None = None,
        backoff: Backoff | None = None,
        on_segment_closed: Callable[[ClosedSegment], None] | None = None,
    ) -> None:
        self.room = room
        self.video = video
        self.audio = audio
        self.archive = archive
        self.settings = settings or EncoderSettings()
        self.clock = clock or SystemClock()
        self.overlay = overlay
        self.overlay_zone = overlay_zone
        self.backoff = backoff or Backoff()
        self.on_segment_closed = on_segment_closed
        self.frames = 0
        self.reconnects = 0
        self._outage: _Outage | None = None
        self._audio_down: _Outage | None = None  # audio is away; retried at _audio_retry_ns
        self._audio_back: _Outage | None = None  # reopened after an outage: the gap ends with the first sound
        self._audio_retry_ns = 0
        self._audio_delay_s = self.backoff.initial_s
        self._last_end: tuple[int, int] | None = None  # (wall_us, mono_ns) just after the last media

    # ----- bookkeeping -----
    def _store(self, segments: list[ClosedSegment]) -> None:
        for seg in segments:
            if self.on_segment_closed is not None:
                self.on_segment_closed(seg)
            self.archive.add_segment(seg)

    def _begin_outage(self, cause: str, kind: str) -> None:
        if self._outage is not None:
            return
        if self._last_end is not None:
            wall_us, mono = self._last_end
        else:
            wall_us, mono = to_epoch_us(self.clock.wall()), self.clock.monotonic_ns()
        self._outage = _Outage(cause, kind, wall_us, mono)

    def _end_outage(self, wall_us: int, mono_ns: int | None) -> None:
        outage, self._outage = self._outage, None
        if outage is None:
            return
        mono_end = mono_ns if outage.mono_start_ns is not None else None
        self.archive.add_gap(
            Gap(
                session=self.archive.session,
                after_sequence=len(self.archive.records) - 1,
                cause=outage.cause,
                kind=outage.kind,
                wall_start_us=outage.wall_start_us,
                wall_end_us=max(wall_us, outage.wall_start_us),
                mono_start_ns=outage.mono_start_ns,
                mono_end_ns=mono_end,
            )
        )

    # ----- main loop -----
    def run(self, stop: threading.Event) -> None:
        resumed = self.archive.open_end
        if resumed is not None:
            self._outage = _Outage(
                "recorder restarted: the previous run ended without closing the session", "restart", *resumed
            )
        self.archive.start()
        if self.audio is not None:
            self._open_audio()
        try:
            while not stop.is_set():
                if not self._open_video(stop):
                    break
                try:
                    if isinstance(self.video, PacketSource):
                        self._record_packets(stop)
                    else:
                        self._record_frames(stop)
                except SourceLost as exc:
                    self.reconnects += 1
                    log.warning("%s: video lost (%s); reconnecting", self.room, exc)
                    self._begin_outage(f"camera lost: {exc}", "camera")
                except SourceEnded:
                    break
                finally:
                    self.video.close()
        finally:
            if self._outage is not None:  # stopped while the camera was away: the gap ends now
                self._end_outage(to_epoch_us(self.clock.wall()), self.clock.monotonic_ns())
            if self._audio_down is not None or self._audio_back is not None:  # likewise the sound
                self._end_audio_outage(self.clock.monotonic_ns())
            if self.audio is not None:
                self.audio.close()

    def _open_video(self, stop: threading.Event) -> bool:
        delay = self.backoff.initial_s
        while not stop.is_set():
            try:
                self.video.open()
                return True
            except SourceUnavailable as exc:
                log.warning("%s: cannot open video (%s); retry in %.1fs", self.room, exc, delay)
                self._begin_outage(f"camera unavailable: {exc}", "camera")
                stop.wait(delay)
                delay = min(self.backoff.max_s, delay * self.backoff.factor)
        return False

    def _open_audio(self) -> None:
        assert self.audio is not None
        try:
            self.audio.open()
            self._audio_down = None
        except SourceUnavailable as exc:
            self._note_audio_down(str(exc))

    def _note_audio_down(self, cause: str) -> None:
        now = self.clock.monotonic_ns()
        if self._audio_down is None:
            # the outage began with the last sound the source captured (a push source knows it), else now
            last: int | None = getattr(self.audio, "last_end_ns", None)
            began = now if last is None or last > now else last
            wall_us = to_epoch_us(self.clock.wall()) - (now - began) // 1000
            # a reopened stream that failed again before any sound continues the same outage
            self._audio_down = self._audio_back or _Outage(f"audio lost: {cause}", "audio", wall_us, began)
            self._audio_back = None
        self._audio_retry_ns = now + round(self._audio_delay_s * 1e9)
        self._audio_delay_s = min(self.backoff.max_s, self._audio_delay_s * self.backoff.factor)

    def _end_audio_outage(self, mono_ns: int) -> None:
        outage = self._audio_down or self._audio_back
        self._audio_down = self._audio_back = None
        if outage is None:
            return
        wall_us = to_epoch_us(self.clock.wall()) - (self.clock.monotonic_ns() - mono_ns) // 1000
        self.archive.add_gap(
            Gap(
                self.archive.session,
                len(self.archive.records) - 1,
                outage.cause,
                "audio",
                outage.wall_start_us,
                max(wall_us, outage.wall_start_us),
                outage.mono_start_ns,
                max(mono_ns, outage.mono_start_ns or mono_ns),
            )
        )

    def _pull_audio(self, mux: EncodingMuxer, until_ns: int) -> list[ClosedSegment]:
        if self.audio is None:
            return []
        if self._audio_down is not None:
            if self.clock.monotonic_ns() < self._audio_retry_ns:
                return []
            down = self._audio_down
            self._open_audio()  # a stream's audio connects in the background: the gap ends with its first sound
            if self._audio_down is not None:
                return []
            self._audio_back = down
        out: list[ClosedSegment] = []
        try:
            for chunk in self.audio.read_until(until_ns):
                if self._audio_back is not None:
                    self._end_audio_outage(chunk.mono_ns)
                out += mux.add_audio(chunk)
                self._audio_delay_s = self.backoff.initial_s  # sound is coming: the next loss starts afresh
        except SourceLost as exc:
            self.audio.close()
            self._note_audio_down(str(exc))
        return out

    def _record_frames(self, stop: threading.Event) -> None:
        assert not isinstance(self.video, PacketSource)
        first = self.video.read()
        mux = EncodingMuxer(self.archive.next_period(), first, self.settings, with_audio=self.audio is not None)
        self._end_outage(to_epoch_us(first.wall), first.mono_ns)
        if self.audio is not None and self._audio_down is None:
            self.audio.discard_until(first.mono_ns)
        interval = round(1e9 / self.settings.fps)
        frame: VideoFrame | None = first
        try:
            while frame is not None:
                if self.overlay:
                    burn_in(frame.image, self.room, frame.wall, zone=self.overlay_zone)
                segments = mux.add_frame(frame)
                segments += self._pull_audio(mux, frame.mono_ns + interval)
                self.frames += 1
                self._last_end = (to_epoch_us(frame.wall) + interval // 1000, frame.mono_ns + interval)
                self._store(segments)
                frame = None if stop.is_set() else self.video.read()
            if self._last_end is not None:
                self._store(self._drain_audio(mux, self._last_end[1]))
        finally:
            self._store(mux.finish())

    def _drain_audio(self, mux: EncodingMuxer, until_ns: int, timeout_s: float = 0.5) -> list[ClosedSegment]:
        """On a clean stop, wait briefly for a live stream's audio to catch up with the last frame."""
        out: list[ClosedSegment] = []
        if self.audio is None or mux.audio is None:
            return out
        track = mux.audio
        deadline = time.monotonic() + timeout_s  # real time: this waits for packets, not for the clock
        while self._audio_down is None:
            out += self._pull_audio(mux, until_ns)
            if track.covered_ns >= until_ns - track.resync * 1_000_000_000 // track.rate:
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        return out

    def _record_packets(self, stop: threading.Event) -> None:
        assert isinstance(self.video, PacketSource)
        item = self.video.read_packet()
        while not (item.kind == "video" and item.packet.is_keyframe):
            item = self.video.read_packet()  # join the stream at a keyframe
        mux = CopyMuxer(
            self.archive.next_period(), item, self.video.video_stream, self.video.audio_stream, self.settings
        )
        self._end_outage(to_epoch_us(item.wall), item.mono_ns)
        current: SourcePacket | None = item
        try:
            while current is not None:
                self._store(mux.add_packet(current))
                if current.kind == "video":
                    self.frames += 1
                    self._last_end = mux.end_point()  # the segments' timeline, so an outage starts where they end
                current = None if stop.is_set() else self.video.read_packet()
        finally:
            self._store(mux.finish())
