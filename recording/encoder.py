"""Encode/mux with PyAV into fragmented MP4 and cut the stream into segments that each start on a keyframe.

One output container per *period* (a stretch of uninterrupted capture): its `ftyp moov` is the period's
init section (HLS EXT-X-MAP), each `moof mdat` fragment starts at a video keyframe (`frag_keyframe`), and
fragments are grouped into media segments of about `segment_seconds`. Timestamps inside a period count
from the period's first frame, whose capture instant (monotonic and wall) anchors the segments' times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.audio.stream
import av.stream
import av.video.frame
import cv2
import numpy as np

from recording.audio import AudioChunk, Samples
from recording.clock import to_epoch_us
from recording.errors import SegmentFormatError
from recording.fmp4 import Fragment, FragmentParser
from recording.sources import SourcePacket, VideoFrame

MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof+skip_trailer"
VIDEO_TIME_BASE = Fraction(1, 90_000)


@dataclass(frozen=True)
class EncoderSettings:
    """How segments are made. The GOP is fixed in time: a keyframe is forced every `gop_seconds`.

    x264 ultrafast at crf 26 with one thread: measured on a detailed moving 1280x720@25 picture
    (bench/recording_load_bench.py) it takes about two thirds of veryfast's CPU at crf 23 for a higher PSNR and a
    somewhat higher bitrate, so a machine records the most cameras in real time at that quality (README,
    Benchmarks).
    """

    fps: int = 25
    segment_seconds: float = 4.0
    gop_seconds: float | None = None  # default: one GOP per segment; must divide segment_seconds
    preset: str = "ultrafast"
    tune: str | None = "zerolatency"
    crf: int = 26
    max_bitrate_kbps: int | None = None
    threads: int = 1
    audio_rate: int = 48_000
    audio_channels: int = 1
    audio_bitrate: int = 64_000
    audio_resync_ms: int = 60  # capture jitter below this is absorbed, above it silence is added or audio cut
    copy_close_tolerance_s: float = 0.1  # copy path: a camera's GOP decides where segments may end

    @property
    def gop(self) -> float:
        return self.gop_seconds or self.segment_seconds

    def gop_frames(self) -> int:
        return max(1, round(self.gop * self.fps))


@dataclass(frozen=True)
class ClosedSegment:
    """A finished media segment with its period's init section and its times taken from the bytes."""

    period: int
    init: bytes
    data: bytes
    mono_start_ns: int
    mono_end_ns: int
    wall_start_us: int
    wall_end_us: int
    video_duration_us: int
    audio_duration_us: int
    starts_with_keyframe: bool


SegmentHandler = Callable[[ClosedSegment], None]


class _FragmentedOutput:
    """Owns one PyAV output container for one period and turns its byte stream into ClosedSegments."""

    def __init__(
        self, period: int, anchor: VideoFrame | SourcePacket, segment_seconds: float, tolerance_s: float
    ) -> None:
        self.period = period
        self.anchor_mono = anchor.mono_ns
        self.anchor_wall_us = to_epoch_us(anchor.wall)
        self._segment_ns = round(segment_seconds * 1e9)
        self._tolerance_ns = round(tolerance_s * 1e9)
        self._parser = FragmentParser()
        self._pending: list[Fragment] = []
        self._closed: list[ClosedSegment] = []
        self._finished = False
        self._min_dts_ns = 0  # lavf shifts the whole period when a packet (AAC priming) starts before zero
        self.container = av.open(self, "w", format="mp4", options={"movflags": MOVFLAGS, "flush_packets": "1"})

    # PyAV calls this with the muxer's output; keep it trivial (exceptions here are hard to trace).
    def write(self, data: bytes) -> int:
        self._parser.feed(bytes(data))
        return len(data)

    def mux(self, packet: av.Packet[Any]) -> None:
        if packet.dts is not None and packet.time_base is not None:
            self._min_dts_ns = min(self._min_dts_ns, int(packet.dts * packet.time_base * 1_000_000_000))
        self.container.mux(packet)

    def _track_ns(self, kind: str, frag: Fragment) -> tuple[int, int] | None:
        """(start, duration) of a track's run in period time, undoing lavf's shift; starts clamp at zero."""
        for info in self._parser.tracks.values():
            if info.kind == kind:
                run = frag.run_of(info.track_id)
                if run is None:
                    return None
                start = run.base_time * 1_000_000_000 // info.timescale + self._min_dts_ns
                end = (run.base_time + run.duration) * 1_000_000_000 // info.timescale + self._min_dts_ns
                return max(0, start), end - max(0, start)
        return None

    def collect(self) -> list[ClosedSegment]:
        """Segments completed by the writes so far (call after each mux)."""
        for frag in self._parser.take():
            self._pending.append(frag)
            first = self._track_ns("video", self._pending[0])
            last = self._track_ns("video", frag)
            if first is None or last is None:
                raise SegmentFormatError("fragment without video samples")
            if last[0] + last[1] - first[0] >= self._segment_ns - self._tolerance_ns:
                self._emit()
        out, self._closed = self._closed, []
        return out

    def _emit(self) -> None:
        if not self._pending:
            return
        init = self._parser.init
        if init is None:
            raise SegmentFormatError("fragments before the init section")
        frags, self._pending = self._pending, []
        video = [self._track_ns("video", f) for f in frags]
        audio = [self._track_ns("audio", f) for f in frags]
        start_ns = video[0][0] if video[0] else 0
        video_ns = sum(v[1] for v in video if v)
        audio_ns = sum(a[1] for a in audio if a)
        video_track = next(t for t in self._parser.tracks.values() if t.kind == "video")
        first_run = frags[0].run_of(video_track.track_id)
        self._closed.append(
            ClosedSegment(
                period=self.period,
                init=init,
                data=b"".join(f.data for f in frags),
                mono_start_ns=self.anchor_mono + start_ns,
                mono_end_ns=self.anchor_mono + start_ns + video_ns,
                wall_start_us=self.anchor_wall_us + start_ns // 1000,
                wall_end_us=self.anchor_wall_us + (start_ns + video_ns) // 1000,
                video_duration_us=video_ns // 1000,
                audio_duration_us=audio_ns // 1000,
                starts_with_keyframe=bool(first_run and first_run.first_is_sync),
            )
        )

    def _close_container(self) -> list[ClosedSegment]:
        if not self._finished:
            self._finished = True
            self.container.close()
        segments = self.collect()
        if self._parser.buffered:
            raise SegmentFormatError(f"{self._parser.buffered} bytes left after the last fragment")
        self._emit()
        out, self._closed = segments + self._closed, []
        return out


class _AudioTrack:
    """AAC encoding on a sample-count timeline kept within `resync` of the chunks' capture times."""

    def __init__(self, owner: _FragmentedOutput, settings: EncoderSettings, anchor_mono: int) -> None:
        container = owner.container
        self.rate = settings.audio_rate
        self.channels = settings.audio_channels
        self.layout = "mono" if self.channels == 1 else "stereo"
        stream = container.add_stream("aac", rate=self.rate, layout=self.layout)
        stream.bit_rate = settings.audio_bitrate
        self.stream = stream
        self.owner = owner
        self.anchor = anchor_mono
        self.next = 0
        self.resync = settings.audio_resync_ms * self.rate // 1000

    def _fit_channels(self, samples: Samples) -> Samples:
        if samples.shape[0] == self.channels:
            return samples
        if self.channels == 1:
            return np.asarray(samples.mean(axis=0, keepdims=True), np.float32)
        return np.repeat(samples[:1], self.channels, axis=0)

    def _encode(self, samples: Samples) -> None:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format="fltp", layout=self.layout)
        frame.sample_rate = self.rate
        frame.pts = self.next
        frame.time_base = Fraction(1, self.rate)
        self.next += samples.shape[1]
        for packet in self.stream.encode(frame):
            self.owner.mux(packet)

    def add(self, chunk: AudioChunk) -> None:
        samples = self._fit_channels(chunk.samples)
        if chunk.sample_rate != self.rate:
            raise ValueError(f"audio at {chunk.sample_rate} Hz, encoder at {self.rate} Hz")
        start = (chunk.mono_ns - self.anchor) * self.rate // 1_000_000_000
        drift = start - self.next
        if drift > self.resync:  # a hole in capture: keep sync with silence
            self._encode(np.zeros((self.channels, drift), np.float32))
        elif drift < -self.resync:  # overlapping or early audio: cut what is already covered
            samples = samples[:, -drift:]
        if samples.shape[1]:
            self._encode(samples)

    @property
    def covered_ns(self) -> int:
        """Monotonic instant up to which audio has been encoded."""
        return self.anchor + self.next * 1_000_000_000 // self.rate

    def flush(self) -> None:
        for packet in self.stream.encode(None):
            self.owner.mux(packet)


class EncodingMuxer(_FragmentedOutput):
    """Frames → libx264 (fixed GOP, forced IDR on the GOP grid) + tone/microphone → AAC, one period."""

    def __init__(
        self,
        period: int,
        first: VideoFrame,
        settings: EncoderSettings,
        *,
        with_audio: bool,
    ) -> None:
        super().__init__(period, first, settings.segment_seconds, tolerance_s=settings.gop / 2)
        self.settings = settings
        height, width = first.image.shape[:2]
        self.width, self.height = width - width % 2, height - height % 2
        gop = settings.gop_frames()
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:forced-idr=1"
        if settings.max_bitrate_kbps:
            params += f":vbv-maxrate={settings.max_bitrate_kbps}:vbv-bufsize={settings.max_bitrate_kbps * 2}"
        options = {"preset": settings.preset, "crf": str(settings.crf), "x264-params": params}
        if settings.tune:
            options["tune"] = settings.tune
        stream = self.container.add_stream("libx264", rate=settings.fps, options=options)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = VIDEO_TIME_BASE
        stream.codec_context.time_base = VIDEO_TIME_BASE  # live frames can come closer than 1/fps (a burst)
        stream.codec_context.thread_count = settings.threads
        self.video = stream
        self.audio = _AudioTrack(self, settings, self.anchor_mono) if with_audio else None
        self._last_pts = -1
        self._next_key_ns = 0
        self._gop_ns = round(settings.gop * 1e9)
        self.frames = 0

    def add_frame(self, frame: VideoFrame) -> list[ClosedSegment]:
        image = frame.image
        if image.shape[0] != self.height or image.shape[1] != self.width:
            image = np.asarray(cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA), np.uint8)
        yuv = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), np.uint8)
        out = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        offset_ns = frame.mono_ns - self.anchor_mono
        pts = max(self._last_pts + 1, offset_ns * 90_000 // 1_000_000_000)
        self._last_pts = pts
        out.pts = pts
        out.time_base = VIDEO_TIME_BASE
        out.duration = 90_000 // self.settings.fps
        if offset_ns >= self._next_key_ns - self._gop_ns // (2 * self.settings.gop_frames()):
            out.pict_type = av.video.frame.PictureType.I
            while self._next_key_ns <= offset_ns + self._gop_ns // (2 * self.settings.gop_frames()):
                self._next_key_ns += self._gop_ns
        for packet in self.video.encode(out):
            self.mux(packet)
        self.frames += 1
        return self.collect()

    def add_audio(self, chunk: AudioChunk) -> list[ClosedSegment]:
        if self.audio is None:
            return []
        self.audio.add(chunk)
        return self.collect()

    def finish(self) -> list[ClosedSegment]:
        for packet in self.video.encode(None):
            self.mux(packet)
        if self.audio is not None:
            self.audio.flush()
        return self._close_container()


class CopyMuxer(_FragmentedOutput):
    """Camera packets → the same fMP4 segmenter without touching the H.264 bitstream.

    AAC audio is copied too; other audio (G.711 from most IP cameras) is decoded and encoded to AAC.
    The period starts at the first video keyframe; earlier packets are dropped.
    """

    def __init__(
        self,
        period: int,
        first: SourcePacket,
        video: av.stream.Stream,
        audio: av.stream.Stream | None,
        settings: EncoderSettings,
    ) -> None:
        super().__init__(period, first, settings.segment_seconds, tolerance_s=settings.copy_close_tolerance_s)
        self.settings = settings
        self.video_in = video
        self.video = self.container.add_stream_from_template(video)
        self.audio_in: av.audio.stream.AudioStream | None = None
        self.audio_copy: av.stream.Stream | None = None
        self.audio_encode: _AudioTrack | None = None
        self._resampler: av.AudioResampler | None = None
        if audio is not None:
            if audio.codec_context.name == "aac":
                self.audio_copy = self.container.add_stream_from_template(audio)
            elif isinstance(audio, av.audio.stream.AudioStream):
                self.audio_in = audio
                self.audio_encode = _AudioTrack(self, settings, self.anchor_mono)
                layout = self.audio_encode.layout
                self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=settings.audio_rate)
        tb = first.packet.time_base
        self._zero_s = float(first.packet.dts * tb) if first.packet.dts is not None and tb is not None else 0.0
        self._video_dts_ns = 0
        self.video_end_ns = 0  # period time just after the last video packet muxed so far

    def end_point(self) -> tuple[int, int]:
        """(wall µs, monotonic ns) just after the last video packet, on this period's timeline (its segments')."""
        return self.anchor_wall_us + self.video_end_ns // 1000, self.anchor_mono + self.video_end_ns

    def add_packet(self, item: SourcePacket) -> list[ClosedSegment]:
        packet = item.packet
        tb = packet.time_base
        if packet.dts is None or tb is None:
            return []
        shift = round(self._zero_s / tb)
        if item.kind == "video":
            packet.dts -= shift
            if packet.pts is not None:
                packet.pts -= shift
            if packet.dts < 0:
                return []
            start_ns = int(packet.dts * tb * 1_000_000_000)
            step_ns = int(packet.duration * tb * 1_000_000_000) if packet.duration else start_ns - self._video_dts_ns
            self._video_dts_ns = start_ns
            self.video_end_ns = max(self.video_end_ns, start_ns + max(0, step_ns))
            packet.stream = self.video
            self.mux(packet)
        elif self.audio_copy is not None:
            packet.dts -= shift
            if packet.pts is not None:
                packet.pts -= shift
            if packet.dts < 0:
                return []
            packet.stream = self.audio_copy
            self.mux(packet)
        elif self.audio_encode is not None and self._resampler is not None and self.audio_in is not None:
            mono = item.mono_ns
            for frame in self.audio_in.codec_context.decode(packet):
                for out in self._resampler.resample(frame):
                    samples = out.to_ndarray().astype(np.float32)
                    self.audio_encode.add(AudioChunk(samples, self.settings.audio_rate, mono))
                    mono += out.samples * 1_000_000_000 // self.settings.audio_rate
        return self.collect()

    def finish(self) -> list[ClosedSegment]:
        if self.audio_encode is not None:
            self.audio_encode.flush()
        return self._close_container()
