"""Audio sources (synthetic tone, microphone via PortAudio, a stream's audio track) stamped on the monotonic clock."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import av
import av.container
import numpy as np
import numpy.typing as npt

from recording.clock import Clock, StreamClock, SystemClock
from recording.errors import SourceLost, SourceUnavailable

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AudioChunk:
    """Planar float samples in [-1, 1], shape (channels, n), the first one captured at mono_ns."""

    samples: Samples
    sample_rate: int
    mono_ns: int

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def end_ns(self) -> int:
        return self.mono_ns + self.frames * 1_000_000_000 // self.sample_rate


@runtime_checkable
class AudioSource(Protocol):
    """Pull model: the recorder asks for everything captured up to a monotonic instant."""

    sample_rate: int
    channels: int

    def open(self) -> None: ...

    def read_until(self, mono_ns: int) -> list[AudioChunk]: ...

    def discard_until(self, mono_ns: int) -> None: ...

    def close(self) -> None: ...


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class ToneSource:
    """A quiet 1 kHz tone with a loud 100 ms beep at each whole second of the monotonic clock.

    Sample k sits at exactly k / sample_rate seconds of the monotonic clock, so the tone is deterministic
    and its beeps line up with SyntheticSource's flashes.
    """

    def __init__(self, sample_rate: int = 48_000, channels: int = 1, *, clock: Clock | None = None) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.clock = clock or SystemClock()
        self._next: int | None = None  # index of the next sample to produce

    def _index(self, mono_ns: int) -> int:
        return _ceil_div(mono_ns * self.sample_rate, 1_000_000_000)

    def open(self) -> None:
        self._next = self._index(self.clock.monotonic_ns())

    def discard_until(self, mono_ns: int) -> None:
        if self._next is not None:
            self._next = max(self._next, self._index(mono_ns))

    def read_until(self, mono_ns: int) -> list[AudioChunk]:
        if self._next is None:
            raise SourceUnavailable("tone read before open()")
        end = self._index(mono_ns)
        if end <= self._next:
            return []
        k = np.arange(self._next, end, dtype=np.int64)
        phase = (k % self.sample_rate).astype(np.float64) / self.sample_rate  # seconds into the current second
        tone = np.sin(2 * np.pi * 1000.0 * phase)
        level = np.where(phase < 0.1, 0.5, 0.05)
        mono = np.broadcast_to((tone * level).astype(np.float32), (self.channels, end - self._next)).copy()
        chunk = AudioChunk(mono, self.sample_rate, self._next * 1_000_000_000 // self.sample_rate)
        self._next = end
        return [chunk]

    def close(self) -> None:
        self._next = None


class _QueuedSource:
    """Shared buffer for push-style sources: chunks wait in order until the recorder pulls them."""

    def __init__(self, sample_rate: int, channels: int, clock: Clock | None, max_seconds: float) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.clock = clock or SystemClock()
        self._queue: deque[AudioChunk] = deque()
        self._lock = threading.Lock()
        self._error: str | None = None
        self._max_frames = int(max_seconds * sample_rate)
        self._queued = 0
        self.overflowed_frames = 0
        self.last_end_ns: int | None = None  # end of the last sound captured: where an outage begins

    def _push(self, chunk: AudioChunk, stop: threading.Event | None = None) -> None:
        with self._lock:
            if stop is not None and stop.is_set():
                return  # from a connection that was closed: stale
            self._queue.append(chunk)
            self._queued += chunk.frames
            self.last_end_ns = chunk.end_ns
            while self._queued > self._max_frames and len(self._queue) > 1:
                # nobody is pulling (recorder stalled); the encoder will see the hole and fill silence
                old = self._queue.popleft()
                self._queued -= old.frames
                self.overflowed_frames += old.frames

    def _fail(self, message: str) -> None:
        with self._lock:
            self._error = message

    def read_until(self, mono_ns: int) -> list[AudioChunk]:
        with self._lock:
            if self._error is not None and not self._queue:
                raise SourceLost(self._error)
            out: list[AudioChunk] = []
            while self._queue and self._queue[0].mono_ns < mono_ns:
                chunk = self._queue.popleft()
                self._queued -= chunk.frames
                out.append(chunk)
            return out

    def discard_until(self, mono_ns: int) -> None:
        with self._lock:
            while self._queue and self._queue[0].end_ns <= mono_ns:
                self._queued -= self._queue.popleft().frames


class MicrophoneSource(_QueuedSource):
    """A PortAudio input through `sounddevice` (optional dependency, imported on open)."""

    def __init__(
        self,
        device: int | str | None = None,
        sample_rate: int = 48_000,
        channels: int = 1,
        *,
        clock: Clock | None = None,
        block_ms: int = 20,
    ) -> None:
        super().__init__(sample_rate, channels, clock, max_seconds=10.0)
        self.device = device
        self.block = sample_rate * block_ms // 1000
        self._stream: Any = None

    def open(self) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: the module is there but libportaudio is not
            raise SourceUnavailable(f"microphone capture needs sounddevice/PortAudio: {exc}") from exc

        def callback(indata: Any, frames: int, _time: Any, status: Any) -> None:
            # stamp the first sample: now minus the block's length (PortAudio's ADC time is per-API)
            end = self.clock.monotonic_ns()
            samples = np.ascontiguousarray(np.asarray(indata, np.float32).T)
            self._push(AudioChunk(samples, self.sample_rate, end - frames * 1_000_000_000 // self.sample_rate))
            if status and getattr(status, "input_overflow", False):
                self.overflowed_frames += frames

        try:
            stream = sounddevice.InputStream(
                device=self.device,
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype="float32",
                blocksize=self.block,
                callback=callback,
            )
            stream.start()
        except Exception as exc:  # PortAudioError and ValueError for bad devices alike
            raise SourceUnavailable(f"cannot open microphone {self.device!r}: {exc}") from exc
        self._stream = stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


class StreamAudioSource(_QueuedSource):
    """The audio track of an RTSP/HTTP stream or file, decoded by PyAV on a background thread.

    `open()` returns at once: the thread connects (seconds, on RTSP) so the capture loop never waits for it.
    A failure to connect, like a stream that ends, reaches the recorder as SourceLost from `read_until`;
    `close()` does not wait either: the thread drops its connection itself once it notices.
    """

    def __init__(
        self,
        url: str,
        sample_rate: int = 48_000,
        channels: int = 1,
        *,
        clock: Clock | None = None,
        timeout_s: float = 5,
    ) -> None:
        super().__init__(sample_rate, channels, clock, max_seconds=10.0)
        self.url = url
        self.timeout_s = timeout_s
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def open(self) -> None:
        self._stop.set()  # a previous connection, if any, winds down on its own
        stop = threading.Event()
        self._stop = stop
        with self._lock:
            self._queue.clear()
            self._queued = 0
            self._error = None
        self._thread = threading.Thread(target=self._pump, args=(stop,), name="stream-audio", daemon=True)
        self._thread.start()

    def _connect(self) -> av.container.InputContainer:
        options = {"rtsp_transport": "tcp"} if self.url.startswith("rtsp") else {}
        try:
            container = av.open(self.url, "r", options=options, timeout=(self.timeout_s, self.timeout_s))
        except (av.FFmpegError, OSError) as exc:
            raise SourceUnavailable(f"cannot open {self.url!r}: {exc}") from exc
        if not isinstance(container, av.container.InputContainer) or not container.streams.audio:
            container.close()
            raise SourceUnavailable(f"{self.url!r} has no audio track")
        return container

    def _pump(self, stop: threading.Event) -> None:
        try:
            container = self._connect()
        except SourceUnavailable as exc:
            if not stop.is_set():
                self._fail(str(exc))
            return
        layout = "mono" if self.channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=self.sample_rate)
        placer = StreamClock()
        try:
            for frame in container.decode(container.streams.audio[0]):
                if stop.is_set():
                    return
                if frame.pts is None or frame.time_base is None:
                    continue
                # stamp by arrival, not by the first frame: the backlog read at connection would put every
                # later frame as far in the future as it was long (seconds of A/V offset on RTSP)
                length_ns = round(frame.samples * 1e9 / frame.rate)
                media_ns = round(float(frame.pts * frame.time_base) * 1e9) + length_ns
                mono = placer.place(self.clock.monotonic_ns(), media_ns) - length_ns
                for out in resampler.resample(frame):
                    self._push(AudioChunk(out.to_ndarray().astype(np.float32), self.sample_rate, mono), stop)
                    mono += out.samples * 1_000_000_000 // self.sample_rate
            if not stop.is_set():
                self._fail(f"audio of {self.url!r} ended")
        except (av.FFmpegError, OSError) as exc:
            if not stop.is_set():
                self._fail(f"audio of {self.url!r}: {exc}")
        finally:
            container.close()

    def close(self) -> None:
        self._stop.set()
        self._thread = None
