"""Recording at an honest load: how many cameras this machine records in real time, and with which x264 settings.

    .venv/bin/python bench/recording_load_bench.py [--speed-seconds 12] [--presets ultrafast,superfast,veryfast]
        [--crfs 23,26] [--sizes 1280x720,960x540] [--live-seconds 40] [--live ultrafast:26,veryfast:23]
        [--window 960x540] [--max-streams 8] [--skip-speed] [--skip-live]

Everything goes through the platform's own recording path: `recording.Recorder` (overlay burned in, libx264
with threads=1 and tune zerolatency, AAC from the test tone, fMP4 segmenter, hash chain, spool, a local
directory written with fsync), fed by `SceneSource` — a detailed moving picture with sensor noise, moving
shapes, scrolling text and a clock — beside the colour bars of `SyntheticSource` in the same run.

1. Speed: each setting encodes the same seconds of bars and then of the scene as fast as it can, one process,
   one encoder thread. Per stream: the real-time factor (media seconds per wall second), CPU seconds per media
   second (the load-independent figure: 1 / it is how many such streams one core could carry), the bitrate and
   the picture quality of the scene (PSNR of the luma decoded back from the stored segments against the frames
   the encoder was given).
2. Live: N recorder processes at once (one per camera, as the platform runs them), each pacing its scene like a
   camera for --live-seconds. A frame the recorder takes more than 0.5 s after it was due is dropped (a live
   camera's buffer would have overwritten it); a segment is late when it is stored more than --late-tolerance
   seconds after its end (i.e. more than its duration + tolerance after its start). N grows from 1 until a run
   drops a frame or stores a segment late: the last clean N is how many this machine records in real time.
   Then rooms at 1280x720 are mixed with window cameras (--window) the same way.

The machine may be shared: the load average is printed with every figure, and the ratios of one run are the
figures to compare.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import av
import cv2
import numpy as np

from bench.recording_bench import DirStorage
from recording import (
    Archive,
    ClosedSegment,
    EncoderSettings,
    Recorder,
    SceneSource,
    SegmentRecord,
    SyntheticSource,
    SystemClock,
    ToneSource,
    VideoFrame,
)

MAX_LAG_S = 0.5  # a frame taken later than this after it was due is lost, as a live camera's would be


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def size_of(text: str) -> tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


class Keeping:
    """A frame source that keeps every `every`-th frame it hands out (the overlay is burned into it in place)."""

    def __init__(self, inner: Any, every: int) -> None:
        self.inner, self.every = inner, every
        self.kept: dict[int, np.ndarray] = {}
        self.count = 0

    @property
    def nominal_fps(self) -> float:
        return float(self.inner.nominal_fps)

    def open(self) -> None:
        self.inner.open()

    def read(self) -> VideoFrame:
        frame: VideoFrame = self.inner.read()
        if self.count % self.every == 0:
            self.kept[self.count] = frame.image  # the same array the encoder is given, after the overlay
        self.count += 1
        return frame

    def close(self) -> None:
        self.inner.close()


def psnr_y(segments: list[ClosedSegment], kept: dict[int, np.ndarray]) -> float:
    """Mean PSNR (dB) of the luma decoded from the segments against the kept input frames."""
    data = segments[0].init + b"".join(s.data for s in segments)
    values = []
    import io

    with av.open(io.BytesIO(data), "r") as container:
        for index, frame in enumerate(container.decode(video=0)):
            reference = kept.get(index)
            if reference is None:
                continue
            h = reference.shape[0]
            want = cv2.cvtColor(reference, cv2.COLOR_BGR2YUV_I420)[:h].astype(np.float32)
            got = frame.to_ndarray(format="yuv420p")[:h].astype(np.float32)
            mse = float(np.mean((want - got) ** 2))
            values.append(99.0 if mse == 0 else 10 * math.log10(255**2 / mse))
    return sum(values) / len(values) if values else float("nan")


def settings_for(preset: str, crf: int, fps: int) -> EncoderSettings:
    return EncoderSettings(fps=fps, segment_seconds=4.0, preset=preset, crf=crf, threads=1)


def speed_run(kind: str, width: int, height: int, fps: int, seconds: float, preset: str, crf: int, work: Path) -> dict:
    frames = round(seconds * fps)
    clock = SystemClock()
    if kind == "scene":
        inner: Any = SceneSource(width, height, fps, seed=1, clock=clock, max_frames=frames)
    else:
        inner = SyntheticSource(width, height, fps, clock=clock, max_frames=frames)
    source = Keeping(inner, every=5)
    closed: list[ClosedSegment] = []
    archive = Archive(
        DirStorage(work / f"store-{kind}"),
        session=f"speed-{kind}-{uuid.uuid4().hex[:8]}",
        room="bench",
        bucket="rec",
        spool_dir=work / f"spool-{uuid.uuid4().hex[:8]}",
    )
    recorder = Recorder(
        room="开标室 bench",
        video=source,
        audio=ToneSource(clock=clock),
        archive=archive,
        settings=settings_for(preset, crf, fps),
        clock=clock,
        on_segment_closed=closed.append,
    )
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    recorder.run(threading.Event())
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    archive.stop(60)
    media = sum(s.video_duration_us for s in closed) / 1e6
    return {
        "rtf": media / elapsed,
        "cpu_per_media_s": cpu / media,
        "mbit_s": sum(len(s.data) for s in closed) * 8 / media / 1e6,
        "psnr": psnr_y(closed, source.kept),
        "load": load(),
    }


def source_cost(width: int, height: int, fps: int, frames: int = 100) -> float:
    """CPU milliseconds the scene takes to draw one frame (part of every scene figure, not of a real camera's)."""
    source = SceneSource(width, height, fps, seed=1)
    cpu0 = cpu_seconds()
    for index in range(frames):
        source.render(index)
    return (cpu_seconds() - cpu0) * 1000 / frames


def speed(args: argparse.Namespace, work: Path) -> None:
    print(f"\n## Speed: one stream as fast as it goes, {args.speed_seconds:g} s of media each, threads=1 ({load()})")
    print(
        "size       preset     crf | bars: RT×  CPU-s/s Mbit/s | scene: RT×  CPU-s/s Mbit/s PSNR-Y | "
        "scene/bars CPU | streams/core (scene) | load"
    )
    for size in args.sizes.split(","):
        width, height = size_of(size)
        for preset in args.presets.split(","):
            for crf in (int(c) for c in args.crfs.split(",")):
                bars = speed_run("bars", width, height, args.fps, args.speed_seconds, preset, crf, work)
                scene = speed_run("scene", width, height, args.fps, args.speed_seconds, preset, crf, work)
                print(
                    f"{width}x{height:<5} {preset:<10} {crf:>3} | {bars['rtf']:9.2f} {bars['cpu_per_media_s']:8.3f} "
                    f"{bars['mbit_s']:6.2f} | {scene['rtf']:10.2f} {scene['cpu_per_media_s']:8.3f} "
                    f"{scene['mbit_s']:6.2f} {scene['psnr']:6.1f} | "
                    f"{scene['cpu_per_media_s'] / bars['cpu_per_media_s']:14.1f}× | "
                    f"{1 / scene['cpu_per_media_s']:20.2f} | {scene['load']}",
                    flush=True,
                )
        cost = source_cost(width, height, args.fps)
        print(f"  drawing one {width}x{height} scene frame: {cost:.1f} CPU-ms ({cost * args.fps / 10:.1f}% of a core)")


# ----- live: N recorder processes at once -----


@dataclass
class Camera:
    width: int
    height: int
    role: str  # "room" or "window"


@dataclass
class LiveResult:
    cameras: list[Camera]
    streams: list[dict] = field(default_factory=list)
    load: str = ""

    @property
    def clean(self) -> bool:
        return bool(self.streams) and all(s["dropped"] == 0 and s["late"] == 0 and s["ok"] for s in self.streams)


def worker(args: argparse.Namespace) -> None:
    """One camera's recorder process: record the scene in real time, print what happened as JSON."""
    work = Path(args.work)
    clock = SystemClock()
    source = SceneSource(
        args.width, args.height, args.fps, seed=args.seed, clock=clock, realtime=True, max_lag_s=MAX_LAG_S
    )
    ends: dict[str, int] = {}
    lateness: list[float] = []

    def on_segment(record: SegmentRecord) -> None:
        ends[record.key] = record.mono_end_ns

    def on_uploaded(key: str, _sha: str) -> None:
        if key in ends:
            lateness.append((time.monotonic_ns() - ends[key]) / 1e9)

    archive = Archive(
        DirStorage(work / "store"),
        session=f"live-{args.seed}-{uuid.uuid4().hex[:8]}",
        room=f"room-{args.seed}",
        bucket="rec",
        spool_dir=work / "spool",
        on_segment=on_segment,
        on_uploaded=on_uploaded,
    )
    recorder = Recorder(
        room=f"开标室 {args.seed}",
        video=source,
        audio=ToneSource(clock=clock),
        archive=archive,
        settings=settings_for(args.preset, args.crf, args.fps),
        clock=clock,
    )
    stop = threading.Event()
    # start on a shared instant, so every process is recording during the whole window
    time.sleep(max(0.0, args.start_at - time.time()))
    timer = threading.Timer(args.seconds, stop.set)
    timer.start()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    recorder.run(stop)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    ok = archive.stop(60)
    media = sum(r.video_duration_us for r in archive.records) / 1e6
    result = {
        "frames": recorder.frames,
        "dropped": source.dropped,
        "segments": len(archive.records),
        "late": sum(1 for v in lateness if v > args.late_tolerance),
        "worst_s": max(lateness) if lateness else float("nan"),
        "stored": len(lateness),
        "cpu_share": cpu / elapsed,
        "media_s": media,
        "ok": ok and len(lateness) == len(archive.records),
    }
    print(json.dumps(result))


def live_run(args: argparse.Namespace, cameras: list[Camera], preset: str, crf: int, work: Path) -> LiveResult:
    start_at = time.time() + 6.0  # time for every process to import and draw its scene's background
    procs = []
    for index, cam in enumerate(cameras):
        folder = work / f"live-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            f"--work={folder}",
            f"--width={cam.width}",
            f"--height={cam.height}",
            f"--fps={args.fps}",
            f"--preset={preset}",
            f"--crf={crf}",
            f"--seed={index}",
            f"--seconds={args.live_seconds}",
            f"--late-tolerance={args.late_tolerance}",
            f"--start-at={start_at}",
        ]
        if args.nice:
            cmd = ["nice", "-n", str(args.nice), *cmd]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        time.sleep(max(0.0, start_at - time.time()) + args.live_seconds / 2)
        result = LiveResult(cameras, load=load())
        for proc in procs:
            out, err = proc.communicate(timeout=args.live_seconds + 120)
            lines = [line for line in out.splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                print(f"  worker failed ({proc.returncode}): {err[-500:]}")
                result.streams.append({"ok": False, "dropped": -1, "late": -1})
                continue
            result.streams.append(json.loads(lines[-1]))
        return result
    finally:
        for proc in procs:  # interrupted: leave no recorder behind
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def describe(result: LiveResult) -> str:
    rooms = sum(1 for c in result.cameras if c.role == "room")
    windows = len(result.cameras) - rooms
    parts = []
    for cam, s in zip(result.cameras, result.streams, strict=True):
        if not s.get("ok", False) and s.get("dropped", -1) < 0:
            parts.append(f"{cam.role}: failed")
            continue
        parts.append(
            f"{cam.role} {cam.width}x{cam.height}: {s['dropped']} dropped/{s['frames'] + s['dropped']}, "
            f"{s['late']} late/{s['segments']} (worst {s['worst_s']:+.2f} s), CPU {s['cpu_share'] * 100:.0f}%"
        )
    verdict = "clean" if result.clean else "FAILS"
    return f"{rooms} room + {windows} window: {verdict} ({result.load})\n    " + "\n    ".join(parts)


def sweep(args: argparse.Namespace, preset: str, crf: int, work: Path, cameras_for: Any, label: str) -> int:
    best = 0
    for n in range(1, args.max_streams + 1):
        cameras = cameras_for(n)
        if cameras is None:
            break
        result = live_run(args, cameras, preset, crf, work)
        print(f"  [{preset} crf {crf}] {describe(result)}", flush=True)
        if not result.clean:
            break
        best = n
    print(f"  → [{preset} crf {crf}] {label}: {best} at once in real time", flush=True)
    return best


def live(args: argparse.Namespace, work: Path) -> None:
    ww, wh = size_of(args.window)
    print(
        f"\n## Live: recorder processes at once (niceness {args.nice}), {args.live_seconds:g} s each, dropped = taken "
        f"> {MAX_LAG_S} s after due, late = stored > {args.late_tolerance} s after the segment's end ({load()})"
    )
    for setting in args.live.split(","):
        preset, crf = setting.split(":")[0], int(setting.split(":")[1]) if ":" in setting else 23
        rooms = sweep(args, preset, crf, work, lambda n: [Camera(1280, 720, "room")] * n, "rooms 1280x720")
        if rooms == 0:
            continue

        def mixed(n: int) -> list[Camera] | None:
            # the supervision floor adds a camera per window: keep one room and add windows
            return [Camera(1280, 720, "room")] + [Camera(ww, wh, "window")] * n

        sweep(args, preset, crf, work, mixed, f"1 room + windows {ww}x{wh}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed-seconds", type=float, default=12.0)
    parser.add_argument("--presets", default="ultrafast,superfast,veryfast")
    parser.add_argument("--crfs", default="23,26")
    parser.add_argument("--sizes", default="1280x720,960x540")
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--live-seconds", type=float, default=40.0)
    parser.add_argument("--live", default="ultrafast:26,veryfast:23", help="PRESET:CRF,… to sweep at real time")
    parser.add_argument("--window", default="960x540", help="a window camera's size")
    parser.add_argument("--max-streams", type=int, default=8)
    parser.add_argument("--late-tolerance", type=float, default=1.0)
    parser.add_argument(
        "--nice", type=int, default=0, help="run the live recorders at this niceness (negative: before other work)"
    )
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-live", action="store_true")
    # one worker process (internal)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--width", type=int, default=1280, help=argparse.SUPPRESS)
    parser.add_argument("--height", type=int, default=720, help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="ultrafast", help=argparse.SUPPRESS)
    parser.add_argument("--crf", type=int, default=23, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=40.0, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped bench stops its recorders too
    work = Path(tempfile.mkdtemp(prefix="recording-load-bench-"))
    print(f"{os.cpu_count()} CPUs, {load()}; x264 threads=1, tune zerolatency, GOP = segment = 4 s, overlay on, AAC")
    try:
        if not args.skip_speed:
            speed(args, work)
        if not args.skip_live:
            live(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
