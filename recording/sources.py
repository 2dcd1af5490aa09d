"""Video sources behind two protocols: decoded frames (OpenCV, synthetic) and encoded packets (PyAV demux)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlparse

import av
import av.container
import av.stream
import cv2
import numpy as np
import numpy.typing as npt

from recording.clock import Clock, StreamClock, SystemClock
from recording.errors import SourceEnded, SourceLost, SourceUnavailable

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class VideoFrame:
    """A BGR frame and when it was captured, on both clocks."""

    image: Image
    mono_ns: int
    wall: datetime


@runtime_checkable
class FrameSource(Protocol):
    """Yields decoded frames; `read` raises SourceLost (live source gone) or SourceEnded (finite source done)."""

    @property
    def nominal_fps(self) -> float: ...

    def open(self) -> None: ...

    def read(self) -> VideoFrame: ...

    def close(self) -> None: ...


def _sleep_until(clock: Clock, mono_ns: int) -> None:
    delay = (mono_ns - clock.monotonic_ns()) / 1e9
    if delay > 0:
        time.sleep(delay)


class SyntheticSource:
    """Moving colour bars, a frame counter and a white flash at every whole second of the monotonic clock.

    Frame i is stamped open_time + i/fps on both clocks, so the timeline is exact whether the source runs
    at real time (`realtime=True`, it sleeps until each frame is due) or as fast as the encoder goes.
    The flash lines up with ToneSource's beep for lip-sync checks.
    """

    def __init__(
        self,
        width: int = 320,
        height: int = 180,
        fps: int = 25,
        *,
        clock: Clock | None = None,
        realtime: bool = False,
        max_frames: int | None = None,
        label: str = "TEST",
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.clock = clock or SystemClock()
        self.realtime = realtime
        self.max_frames = max_frames
        self.label = label
        self.index = 0
        self._origin_mono = 0
        self._origin_wall: datetime | None = None
        self._wall_anchor = 0
        self._bars = self._make_bars()

    @property
    def nominal_fps(self) -> float:
        return float(self.fps)

    def _make_bars(self) -> Image:
        colours = [(255, 255, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0), (255, 0, 255), (0, 0, 255), (255, 0, 0)]
        bars = np.zeros((self.height, self.width, 3), np.uint8)
        step = max(1, self.width // len(colours))
        for i, colour in enumerate(colours):
            bars[:, i * step : (i + 1) * step] = colour
        ramp = np.linspace(0.35, 1.0, self.height, dtype=np.float32)[:, None, None]
        return (bars * ramp).astype(np.uint8)

    def open(self) -> None:
        self._origin_mono = self.clock.monotonic_ns()
        self._origin_wall = self.clock.wall()
        self._wall_anchor = self._origin_mono  # skip() moves frames, not this mono↔wall pairing

    def skip(self, seconds: float) -> None:
        """Move the timeline forward without producing frames (a fake outage uses this)."""
        self._origin_mono += round(seconds * 1e9)

    def frame_time(self, index: int) -> int:
        return self._origin_mono + index * 1_000_000_000 // self.fps

    def read(self) -> VideoFrame:
        if self._origin_wall is None:
            raise SourceUnavailable("synthetic source read before open()")
        if self.max_frames is not None and self.index >= self.max_frames:
            raise SourceEnded(f"synthetic source produced its {self.max_frames} frames")
        mono = self.frame_time(self.index)
        if self.realtime:
            _sleep_until(self.clock, mono)
        shift = (self.index * 4) % self.width
        image = np.ascontiguousarray(np.roll(self._bars, shift, axis=1))
        second_started = (mono // 1_000_000_000) != ((mono - 1_000_000_000 // self.fps) // 1_000_000_000)
        if second_started:  # flash: a white square in the lower right, one frame long
            s = max(8, self.height // 6)
            image[-s:, -s:] = 255
        scale = max(0.4, self.height / 360)
        cv2.putText(
            image,
            f"{self.label} #{self.index}",
            (8, self.height - 10),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 0, 0),
            max(1, int(scale * 2)),
        )
        wall = self._origin_wall + timedelta(microseconds=(mono - self._wall_anchor) // 1000)
        self.index += 1
        return VideoFrame(image, mono, wall)

    def close(self) -> None:
        self._origin_wall = None


def _is_live_spec(spec: int | str) -> bool:
    if isinstance(spec, int):
        return True
    return urlparse(spec).scheme.lower() in {"rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt"}


class OpenCVSource:
    """cv2.VideoCapture on a device index, an RTSP/HTTP URL or a file.

    A live URL is stamped from the stream's own timestamps (CAP_PROP_POS_MSEC) placed near their arrival by a
    StreamClock, a device when the frame is read; a file from its own position (open time + CAP_PROP_POS_MSEC)
    and, with `realtime=True`, paced like a camera.
    """

    def __init__(
        self,
        spec: int | str,
        *,
        clock: Clock | None = None,
        live: bool | None = None,
        realtime: bool = False,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        timeout_ms: int = 5000,
        max_backlog_s: float = 10.0,
    ) -> None:
        self.spec = spec
        self.max_backlog_s = max_backlog_s
        self.clock = clock or SystemClock()
        self.live = _is_live_spec(spec) if live is None else live
        self._stream_stamps = self.live and isinstance(spec, str)  # a live URL: placed by its own timestamps
        self.realtime = realtime
        self.request = (width, height, fps)
        self.timeout_ms = timeout_ms
        self._cap: cv2.VideoCapture | None = None
        self._fps = fps or 25.0
        self._origin = (0, datetime.min.replace(tzinfo=UTC))
        self._placer = StreamClock()
        self._last_pos = -1
        self._grabbed = False

    @property
    def nominal_fps(self) -> float:
        return self._fps

    def open(self) -> None:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, self.timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.timeout_ms]
        if isinstance(self.spec, int):
            cap = cv2.VideoCapture(self.spec, cv2.CAP_ANY)
        else:
            cap = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise SourceUnavailable(f"cannot open video source {self.spec!r}")
        width, height, fps = self.request
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        reported = cap.get(cv2.CAP_PROP_FPS)
        if not fps and reported and 1 <= reported <= 120:
            self._fps = float(reported)
        self._cap = cap
        self._grabbed = False
        if self._stream_stamps and _is_live_spec(self.spec):
            self._skip_backlog(cap)
        self._origin = (self.clock.monotonic_ns(), self.clock.wall())
        self._placer.reset()
        self._last_pos = -1

    def _skip_backlog(self, cap: cv2.VideoCapture) -> None:
        """Drop the frames a stream buffered while it was being opened (often seconds of them).

        They would come out in one burst, all stamped "now": seconds of picture squeezed into a moment, ahead of
        the sound. A grab that returns in well under a frame interval is such a buffered frame; the first one
        that has to wait is live.
        """
        quick_ns = round(1e9 / self._fps / 3)
        for _ in range(round(self._fps * self.max_backlog_s)):
            started = time.monotonic_ns()
            if not cap.grab():
                return
            if time.monotonic_ns() - started >= quick_ns:
                self._grabbed = True  # live: read() retrieves it
                return

    def read(self) -> VideoFrame:
        if self._cap is None:
            raise SourceUnavailable("OpenCV source read before open()")
        if self._grabbed:
            self._grabbed = False
            ok, image = self._cap.retrieve()
        else:
            ok, image = self._cap.read()
        if not ok or image is None:
            if self.live:
                raise SourceLost(f"no frame from {self.spec!r}")
            raise SourceEnded(f"end of {self.spec!r}")
        if self.live:
            mono, wall = self.clock.monotonic_ns(), self.clock.wall()
            if self._stream_stamps:
                offset_ns = round(float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) * 1e6)
                if offset_ns > self._last_pos:  # a stream's own timestamps
                    self._last_pos = offset_ns
                    placed = self._placer.place(mono, offset_ns)
                    wall += timedelta(microseconds=(placed - mono) // 1000)
                    mono = placed
            return VideoFrame(np.asarray(image, np.uint8), mono, wall)
        offset_ns = round(float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) * 1e6)
        mono = self._origin[0] + offset_ns
        if self.realtime:
            _sleep_until(self.clock, mono)
        return VideoFrame(
            np.asarray(image, np.uint8), mono, self._origin[1] + timedelta(microseconds=offset_ns // 1000)
        )

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


@dataclass(frozen=True)
class SourcePacket:
    """An encoded packet as demuxed, with the capture time of its decode timestamp."""

    packet: av.Packet[Any]
    kind: str  # "video" or "audio"
    mono_ns: int
    wall: datetime


@runtime_checkable
class PacketSource(Protocol):
    """Yields encoded packets (an IP camera's H.264) for the copy path; same errors as FrameSource."""

    @property
    def video_stream(self) -> av.stream.Stream: ...

    @property
    def audio_stream(self) -> av.stream.Stream | None: ...

    def open(self) -> None: ...

    def read_packet(self) -> SourcePacket: ...

    def close(self) -> None: ...


class DemuxSource:
    """PyAV demuxer on an RTSP/HTTP URL or a file; H.264 video is handed over as packets, never decoded.

    Packet times are the stream's own timestamps, so the camera's cadence survives: a live stream's are placed
    near their arrival by a StreamClock (the backlog buffered while opening by its stream time before the first
    live packet), a file's from the moment it was opened; a file can be paced like a camera with `realtime=True`.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock | None = None,
        live: bool | None = None,
        realtime: bool = False,
        with_audio: bool = True,
        timeout_s: float = 5.0,
        max_backlog_packets: int = 2000,
    ) -> None:
        self.url = url
        self.clock = clock or SystemClock()
        self.live = _is_live_spec(url) if live is None else live
        self.realtime = realtime
        self.with_audio = with_audio
        self.timeout_s = timeout_s
        self._container: av.container.InputContainer | None = None
        self._video: av.stream.Stream | None = None
        self._audio: av.stream.Stream | None = None
        self._packets: Iterator[av.Packet[Any]] | None = None
        self._origin: tuple[int, int] | None = None  # a file: (mono, stream ns) of its first packet
        self._placer = StreamClock()
        self._backlog: deque[tuple[av.Packet[Any], int]] = deque()  # (packet, mono) read while opening
        self._wall_ref = (0, datetime.min.replace(tzinfo=UTC))
        self.max_backlog_packets = max_backlog_packets
        self.live_wait_ns = 5_000_000  # a packet that took this long to come was not buffered

    @property
    def video_stream(self) -> av.stream.Stream:
        if self._video is None:
            raise SourceUnavailable("demux source not open")
        return self._video

    @property
    def audio_stream(self) -> av.stream.Stream | None:
        return self._audio

    def open(self) -> None:
        options = {"rtsp_transport": "tcp"} if self.url.startswith("rtsp") else {}
        try:
            container = av.open(self.url, "r", options=options, timeout=(self.timeout_s, self.timeout_s))
        except (av.FFmpegError, OSError) as exc:
            raise SourceUnavailable(f"cannot open {self.url!r}: {exc}") from exc
        if not isinstance(container, av.container.InputContainer):
            raise SourceUnavailable(f"{self.url!r} is not an input")
        videos = [s for s in container.streams if s.type == "video"]
        if not videos or videos[0].codec_context.name != "h264":
            container.close()
            raise SourceUnavailable(f"{self.url!r} has no H.264 video stream to copy")
        self._video = videos[0]
        audios = [s for s in container.streams if s.type == "audio"] if self.with_audio else []
        self._audio = audios[0] if audios else None
        wanted = [self._video] + ([self._audio] if self._audio is not None else [])
        self._packets = container.demux(wanted)
        self._container = container
        self._origin = None
        self._placer.reset()
        self._backlog.clear()
        self._wall_ref = (self.clock.monotonic_ns(), self.clock.wall())
        if self.live and _is_live_spec(self.url):
            self._catch_up()

    def _raw(self) -> tuple[av.Packet[Any], int]:
        """The next packet with data and its decode time in ns of stream time."""
        if self._container is None or self._packets is None:
            raise SourceUnavailable("demux source read before open()")
        while True:
            try:
                packet = next(self._packets)
            except StopIteration:
                if self.live:
                    raise SourceLost(f"stream {self.url!r} ended") from None
                raise SourceEnded(f"end of {self.url!r}") from None
            except (av.FFmpegError, OSError) as exc:
                if self.live:
                    raise SourceLost(f"reading {self.url!r}: {exc}") from exc
                raise SourceEnded(f"error reading {self.url!r}: {exc}") from exc
            if packet.dts is None or packet.size == 0:
                continue  # demuxer flush packets carry no data
            tb = packet.time_base
            return packet, round(float(packet.dts * tb) * 1e9) if tb is not None else 0

    def _catch_up(self) -> None:
        """Take in what the demuxer buffered while opening (often seconds), up to the first packet that waits.

        Stamped on arrival, that backlog would all be "now" and every later packet as far in the future; the
        first live packet is placed by its arrival instead, and the buffered ones by their stream time before it.
        """
        held: list[tuple[av.Packet[Any], int]] = []
        for _ in range(self.max_backlog_packets):
            started = time.monotonic_ns()
            try:
                held.append(self._raw())
            except (SourceLost, SourceEnded) as exc:
                if not held:
                    self.close()
                    raise SourceUnavailable(f"{self.url!r} sent nothing: {exc}") from exc
                break
            if time.monotonic_ns() - started >= self.live_wait_ns:
                break
        last_media = held[-1][1]
        last_mono = self._placer.place(self.clock.monotonic_ns(), last_media)
        self._backlog = deque((packet, last_mono - (last_media - media)) for packet, media in held)

    def _stamped(self, packet: av.Packet[Any], mono: int) -> SourcePacket:
        mono_ref, wall_ref = self._wall_ref
        kind = "video" if packet.stream is self._video else "audio"
        return SourcePacket(packet, kind, mono, wall_ref + timedelta(microseconds=(mono - mono_ref) // 1000))

    def read_packet(self) -> SourcePacket:
        if self._backlog:
            return self._stamped(*self._backlog.popleft())
        packet, media = self._raw()
        if self.live:
            return self._stamped(packet, self._placer.place(self.clock.monotonic_ns(), media))
        if self._origin is None:
            self._origin = (self.clock.monotonic_ns(), media)
            self._wall_ref = (self._origin[0], self.clock.wall())
        mono = self._origin[0] + media - self._origin[1]
        if self.realtime:
            _sleep_until(self.clock, mono)
        return self._stamped(packet, mono)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._packets = None
        self._backlog.clear()
