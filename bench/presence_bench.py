"""Window-staff presence detection: precision and recall of presence per second, absence-alert delay, and analysed
frames per second per window, for 8 windows on one core.

Each window gets its own composited footage (recording/presence_footage.py: scikit-image's photographs of people at a
desk, along a known timeline with short and long absences) and its own SeatDetector; one process pinned to one core
analyses the windows round robin at 2 frames a second of footage time, as `flask presence watch` does. Only the
detector's work is timed for the capacity figure (drawing the footage stands in for the camera's decoder).

    PYTHONPATH=. python bench/presence_bench.py [--windows 8] [--seconds 600] [--alert-after 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from recording.presence import FaceFinder, SeatDetector, Settings
from recording.presence_footage import SEAT, Footage, measure, timeline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--windows", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--alert-after", type=float, default=60.0)
    parser.add_argument("--core", type=int, default=0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    faces = FaceFinder()
    tp = fp = fn = tn = missed = false_alerts = frames = 0
    delays: list[float] = []
    spent = 0.0
    began = time.perf_counter()
    for window in range(1, args.windows + 1):
        footage = Footage(timeline(args.seconds, seed=window, long_absence=90), seed=window)
        m = measure(footage, SeatDetector(SEAT, Settings(), faces), alert_after=args.alert_after)
        tp, fp, fn, tn = tp + m.true_positive, fp + m.false_positive, fn + m.false_negative, tn + m.true_negative
        missed, false_alerts, frames, spent = (
            missed + m.missed_alerts,
            false_alerts + m.false_alerts,
            frames + m.frames,
            spent + m.analyse_seconds,
        )
        delays += m.alert_delays
        print(
            f"window {window}: precision {m.precision:.4f} recall {m.recall:.4f} alerts {len(m.alert_delays)} "
            f"(missed {m.missed_alerts}, false {m.false_alerts}) {m.ms_per_frame:.1f} ms/frame",
            flush=True,
        )
    per_frame = spent / max(1, frames)
    print(f"windows {args.windows} × {args.seconds} s of footage, {frames} analysed frames, one core (cpu {args.core})")
    print(
        f"presence per second: precision {tp / max(1, tp + fp):.4f}, recall {tp / max(1, tp + fn):.4f} "
        f"(tp {tp}, fp {fp}, fn {fn}, tn {tn})"
    )
    if delays:
        print(
            f"absence alerts: {len(delays)} due, missed {missed}, false {false_alerts}; detection delay "
            f"mean {statistics.mean(delays):.1f} s, max {max(delays):.1f} s (the alert sweep runs every 60 s on top)"
        )
    print(
        f"analysis: {per_frame * 1000:.1f} ms per frame → {1 / per_frame:.1f} frames/s on one core → "
        f"{1 / per_frame / args.windows:.2f} analysed frames/s per window for {args.windows} windows (target ≥ 2)"
    )
    print(f"wall time {time.perf_counter() - began:.0f} s (footage drawing included)")


if __name__ == "__main__":
    main()
