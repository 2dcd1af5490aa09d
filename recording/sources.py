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

    With `max_lag_s` a real-time source behaves like a live camera whose reader fell behind: frames due more
    than `max_lag_s` ago are lost (counted in `dropped`) and the next one read is the newest due.
    """

    flash = True  # a subclass drawing a scene for an analyser (presence) goes without the flash

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
        max_lag_s: float | None = None,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.clock = clock or SystemClock()
        self.realtime = realtime
        self.max_frames = max_frames
        self.label = label
        self.max_lag_s = max_lag_s
        self.dropped = 0
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
            if self.max_lag_s is not None:
                behind = self.clock.monotonic_ns() - mono
                if behind > self.max_lag_s * 1e9:  # a live camera would have overwritten these frames
                    skipped = int(behind * self.fps // 1_000_000_000)
                    self.dropped += skipped
                    self.index += skipped
                    mono = self.frame_time(self.index)
            _sleep_until(self.clock, mono)
        image = self.render(self.index)
        second_started = (mono // 1_000_000_000) != ((mono - 1_000_000_000 // self.fps) // 1_000_000_000)
        if second_started and self.flash:  # flash: a white square in the lower right, one frame long
            s = max(8, self.height // 6)
            image[-s:, -s:] = 255
        wall = self._origin_wall + timedelta(microseconds=(mono - self._wall_anchor) // 1000)
        self.index += 1
        return VideoFrame(image, mono, wall)

    def render(self, index: int) -> Image:
        """Frame `index`'s picture (a new array): the bars moved 4 px a frame, with the label and frame number."""
        image = np.ascontiguousarray(np.roll(self._bars, (index * 4) % self.width, axis=1))
        scale = max(0.4, self.height / 360)
        cv2.putText(
            image,
            f"{self.label} #{index}",
            (8, self.height - 10),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 0, 0),
            max(1, int(scale * 2)),
        )
        return image

    def close(self) -> None:
        self._origin_wall = None


class SceneSource(SyntheticSource):
    """A detailed, moving picture that costs an encoder what a camera in a room does; deterministic by `seed`.

    Colour bars cost x264 almost nothing, so they say little about how many cameras a machine records. This
    scene has what a real one has: a still background full of detail at every scale (a photograph given as
    `background`, or a texture made from the seed: noise from coarse to fine, furniture edges, a notice board of
    small text), people-sized textured shapes moving across it, a ticker of text scrolling at the bottom, a
    running clock, and sensor noise that differs in every frame (`noise`: its standard deviation in 8-bit levels).
    Frame `i` depends only on the seed, the size and `i`; the timeline, pacing and dropping are SyntheticSource's.
    """

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: int = 25,
        *,
        seed: int = 0,
        noise: float = 3.0,
        movers: int = 6,
        background: str | None = None,
        clock: Clock | None = None,
        realtime: bool = False,
        max_frames: int | None = None,
        label: str = "SCENE",
        max_lag_s: float | None = None,
    ) -> None:
        super().__init__(
            width, height, fps, clock=clock, realtime=realtime, max_frames=max_frames, label=label, max_lag_s=max_lag_s
        )
        self.seed = seed
        rng = np.random.default_rng(seed)
        self._background = self._load(background) if background else self._texture(rng)
        self._movers = [self._mover(rng) for _ in range(movers)]
        self._ticker = self._ticker_strip(rng)
        # sensor noise: a bank of frames drawn once, split into the part added and the part taken away
        bank = 12
        self._noise: list[tuple[Image, Image]] = []
        for _ in range(bank if noise > 0 else 0):
            grain = np.rint(rng.standard_normal((height, width, 3), np.float32) * noise).clip(-127, 127)
            self._noise.append((grain.clip(0, None).astype(np.uint8), (-grain).clip(0, None).astype(np.uint8)))
        self._noise_order = rng.permutation(len(self._noise)) if self._noise else np.zeros(1, np.int64)

    def _make_bars(self) -> Image:
        return np.zeros((1, 1, 3), np.uint8)  # not used: the scene draws its own picture

    def _load(self, path: str) -> Image:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise SourceUnavailable(f"cannot read the background picture {path!r}")
        h, w = image.shape[:2]
        scale = max(self.width / w, self.height / h)  # cover the frame, then crop the middle
        image = cv2.resize(image, (max(self.width, round(w * scale)), max(self.height, round(h * scale))))
        top, left = (image.shape[0] - self.height) // 2, (image.shape[1] - self.width) // 2
        return np.ascontiguousarray(image[top : top + self.height, left : left + self.width], np.uint8)

    def _texture(self, rng: np.random.Generator) -> Image:
        w, h = self.width, self.height
        acc = np.zeros((h, w, 3), np.float32)
        weight = 1.0
        cell = max(w, h) / 4
        while cell >= 1.5:  # value noise from a quarter of the frame down to a couple of pixels
            grid = rng.random((max(2, round(h / cell)) + 1, max(2, round(w / cell)) + 1, 3), dtype=np.float32)
            acc += weight * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
            weight *= 0.62
            cell /= 2.2
        acc = (acc - acc.min()) / max(1e-6, float(acc.max() - acc.min()))
        tint = rng.uniform(0.6, 1.0, 3).astype(np.float32)
        image = np.ascontiguousarray((40 + 190 * acc * tint).clip(0, 255).astype(np.uint8))
        for _ in range(14):  # furniture, windows, doors: hard edges and flat-ish areas
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(h // 4, h))
            x1, y1 = x0 + int(rng.integers(w // 20, w // 4)), y0 + int(rng.integers(h // 20, h // 3))
            colour = tuple(int(c) for c in rng.integers(30, 230, 3))
            cv2.rectangle(image, (x0, y0), (x1, y1), colour, -1 if rng.random() < 0.5 else max(2, w // 300))
        # a notice board of small text, the finest detail a camera sees in a room
        bx, by, bw, bh = w // 20, h // 12, w // 3, h // 3
        cv2.rectangle(image, (bx, by), (bx + bw, by + bh), (225, 225, 215), -1)
        line = max(9, h // 60)
        for row in range(bh // line - 1):
            words = " ".join(f"{int(v):05d}" for v in rng.integers(0, 99999, 8))
            cv2.putText(
                image, words, (bx + 4, by + (row + 1) * line), cv2.FONT_HERSHEY_PLAIN, line / 14, (20, 20, 20), 1
            )
        return image

    def _mover(self, rng: np.random.Generator) -> tuple[Image, Image, float, float, float, float, float]:
        """A textured shape (sprite, mask) and its path: a Lissajous walk across the frame (x, y phase, speeds)."""
        mh, mw = int(self.height * rng.uniform(0.25, 0.5)), int(self.width * rng.uniform(0.06, 0.14))
        grid = rng.random((6, 4, 3), dtype=np.float32)
        sprite = (cv2.resize(grid, (mw, mh), interpolation=cv2.INTER_CUBIC) * 200 + 25).clip(0, 255).astype(np.uint8)
        stripes = (np.sin(np.arange(mh, dtype=np.float32) / rng.uniform(2.0, 6.0)) * 25).astype(np.int16)
        sprite = (sprite.astype(np.int16) + stripes[:, None, None]).clip(0, 255).astype(np.uint8)
        mask = np.zeros((mh, mw), np.uint8)
        cv2.ellipse(mask, (mw // 2, mh // 7), (mw // 4, mh // 8), 0, 0, 360, 255, -1)  # a head
        cv2.ellipse(mask, (mw // 2, mh * 3 // 5), (mw // 2 - 1, mh * 2 // 5), 0, 0, 360, 255, -1)  # a body
        return (
            sprite,
            mask,
            float(rng.uniform(0, 2 * np.pi)),
            float(rng.uniform(0, 2 * np.pi)),
            float(rng.uniform(0.05, 0.2)),  # cycles per second across the frame
            float(rng.uniform(0.03, 0.12)),
            float(rng.uniform(0.2, 0.9)),  # how much of the height it roams
        )

    def _ticker_strip(self, rng: np.random.Generator) -> Image:
        band = max(16, self.height // 24)
        words = "  ".join(
            f"第{int(n)}号 OPENING {int(n) * 7919 % 100000:05d} BID {int(m):06d}"
            for n, m in zip(rng.integers(1, 999, 24), rng.integers(0, 999999, 24), strict=True)
        )
        strip = np.full((band, self.width * 4, 3), (60, 20, 10), np.uint8)
        cv2.putText(strip, words, (0, int(band * 0.8)), cv2.FONT_HERSHEY_SIMPLEX, band / 36, (255, 255, 255), 2)
        return strip

    def render(self, index: int) -> Image:
        image = self._background.copy()
        t = index / self.fps
        h, w = self.height, self.width
        for sprite, mask, px, py, fx, fy, roam in self._movers:
            mh, mw = mask.shape[:2]
            x = int((w - mw) * (0.5 + 0.5 * np.sin(px + 2 * np.pi * fx * t)))
            y = int((h - mh) * (0.5 + 0.5 * roam * np.sin(py + 2 * np.pi * fy * t)))
            region = image[y : y + mh, x : x + mw]
            cv2.copyTo(sprite, mask, region)  # in place: region is a view into image
        band = self._ticker.shape[0]
        offset = (index * 3) % (self._ticker.shape[1] - w)
        image[h - band : h] = self._ticker[:, offset : offset + w]
        seconds = index // self.fps
        clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{index % self.fps:02d}"
        size = max(0.4, h / 720)
        cv2.putText(
            image,
            f"{self.label} {clock} #{index}",
            (w // 2, h // 8),
            cv2.FONT_HERSHEY_SIMPLEX,
            size,
            (255, 255, 255),
            max(1, int(size * 2)),
        )
        if self._noise:
            plus, minus = self._noise[int(self._noise_order[index % len(self._noise_order)])]
            cv2.add(image, plus, dst=image)
            cv2.subtract(image, minus, dst=image)
        return image


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
