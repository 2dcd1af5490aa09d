"""Video sources behind two protocols: decoded frames (OpenCV, synthetic) and encoded packets (PyAV demux)."""

from __future__ import annotations

import time
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

from recording.clock import Clock, SystemClock
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

    Live sources are stamped when the frame is read; a file is stamped from its own position (open time +
    CAP_PROP_POS_MSEC) and, with `realtime=True`, paced like a camera.
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
    ) -> None:
        self.spec = spec
        self.clock = clock or SystemClock()
        self.live = _is_live_spec(spec) if live is None else live
        self.realtime = realtime
        self.request = (width, height, fps)
        self.timeout_ms = timeout_ms
        self._cap: cv2.VideoCapture | None = None
        self._fps = fps or 25.0
        self._origin = (0, datetime.min.replace(tzinfo=UTC))

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
        self._origin = (self.clock.monotonic_ns(), self.clock.wall())

    def read(self) -> VideoFrame:
        if self._cap is None:
            raise SourceUnavailable("OpenCV source read before open()")
        ok, image = self._cap.read()
        if not ok or image is None:
            if self.live:
                raise SourceLost(f"no frame from {self.spec!r}")
            raise SourceEnded(f"end of {self.spec!r}")
        if self.live:
            return VideoFrame(np.asarray(image, np.uint8), self.clock.monotonic_ns(), self.clock.wall())
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

    Packet times are the stream's own timestamps placed on the local clocks at the first packet, so the
    camera's cadence survives; a file can be paced like a camera with `realtime=True`.
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
        self._origin: tuple[int, datetime, float] | None = None

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

    def read_packet(self) -> SourcePacket:
        if self._container is None:
            raise SourceUnavailable("demux source read before open()")
        assert self._packets is not None
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
            seconds = float(packet.dts * tb) if tb is not None else 0.0
            if self._origin is None:
                self._origin = (self.clock.monotonic_ns(), self.clock.wall(), seconds)
            mono0, wall0, sec0 = self._origin
            offset_ns = round((seconds - sec0) * 1e9)
            mono = mono0 + offset_ns
            if self.realtime:
                _sleep_until(self.clock, mono)
            kind = "video" if packet.stream is self._video else "audio"
            return SourcePacket(packet, kind, mono, wall0 + timedelta(microseconds=offset_ns // 1000))

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
            self._packets = None
