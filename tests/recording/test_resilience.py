"""Storage outages, camera outages and a killed recorder: nothing is lost and every hole is explicit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recording import (
    Archive,
    Backoff,
    EncoderSettings,
    ManualClock,
    Recorder,
    SourceLost,
    SourceUnavailable,
    SpoolAlarm,
    SyntheticSource,
    ToneSource,
    VideoFrame,
    build_playlist,
    verify_manifest,
)
from tests.recording.conftest import FakeStorage, ffprobe, make_session, run_session

ROOT = Path(__file__).resolve().parents[2]


def test_storage_down_keeps_everything_in_order_and_alarms_when_spool_is_full(tmp_path: Path) -> None:
    storage = FakeStorage(down=True)
    alarms: list[SpoolAlarm] = []
    session = make_session(
        tmp_path,
        frames=25 * 6,
        storage=storage,
        max_spool_bytes=200_000,
        on_alarm=alarms.append,
        retry_initial_s=0.02,
        retry_max_s=0.1,
    )
    run_session(session)
    archive = session.archive
    assert not archive.wait_uploaded(0.5)
    assert storage.failures >= 1 and storage.objects == {}
    assert archive.pending_objects == 7  # init + 6 segments, all still spooled
    assert len(alarms) == 1 and alarms[0].pending_bytes > 200_000
    spooled = sorted((tmp_path / "spool" / "pending").glob("*.data"))
    assert len(spooled) == 7 and sum(p.stat().st_size for p in spooled) == archive.pending_bytes

    storage.down = False
    assert archive.wait_uploaded(10)
    expected = [archive.records[0].init_key] + [r.key for r in archive.records]
    assert storage.puts == expected
    for record in archive.records:
        assert storage.get(record.key) is not None
    assert list((tmp_path / "spool" / "pending").iterdir()) == []
    key = Ed25519PrivateKey.generate()
    manifest = archive.close(checkpoint_start=None, checkpoint_end=None, signer=key.sign, key_id="k")
    assert archive.stop(10)
    assert verify_manifest(manifest, storage.get, key.public_key()).ok


def test_upload_whose_answer_was_lost_is_recognised_on_write_once_storage(tmp_path: Path) -> None:
    class LostAnswer(FakeStorage):
        """Stores every object, then fails the first answer: the retry meets a write-once refusal."""

        answered: ClassVar[set[str]] = set()

        def put(self, bucket, key, stream, *, length=None):  # type: ignore[no-untyped-def]
            info = super().put(bucket, key, stream, length=length)
            if key not in self.answered:
                self.answered.add(key)
                raise ConnectionError("connection reset after the last byte")
            return info

    storage = LostAnswer(write_once=True)
    session = make_session(tmp_path, frames=25 * 3, storage=storage, retry_initial_s=0.02, retry_max_s=0.1)
    run_session(session)
    archive = session.archive
    assert archive.wait_uploaded(10), archive.last_upload_error
    assert list((tmp_path / "spool" / "pending").iterdir()) == []
    assert archive.stop(10)


def test_different_bytes_under_a_write_once_key_stay_spooled(tmp_path: Path) -> None:
    storage = FakeStorage(write_once=True)
    session = make_session(tmp_path, frames=25 * 3, storage=storage, retry_initial_s=0.02, retry_max_s=0.1)
    first_key = None
    # Squat the first segment's key with other bytes before the archive uploads it.
    real_put = storage.put

    def squatting_put(bucket, key, stream, *, length=None):  # type: ignore[no-untyped-def]
        nonlocal first_key
        if first_key is None and "seg-" in key:
            first_key = key
            storage.objects[(bucket, key)] = b"someone else's bytes"
        return real_put(bucket, key, stream, length=length)

    storage.put = squatting_put  # type: ignore[method-assign]
    run_session(session)
    archive = session.archive
    assert not archive.wait_uploaded(1)
    assert archive.pending_objects >= 1 and "write-once" in (archive.last_upload_error or "")
    archive.stop(2)


def test_wrong_hash_from_storage_is_retried_not_trusted(tmp_path: Path) -> None:
    class Liar(FakeStorage):
        lies = 2

        def put(self, bucket, key, stream, *, length=None):  # type: ignore[no-untyped-def]
            info = super().put(bucket, key, stream, length=length)
            if self.lies:
                self.lies -= 1
                return type(info)("0" * 64, info.size)
            return info

    storage = Liar()
    session = make_session(tmp_path, frames=25, storage=storage, retry_initial_s=0.01)
    run_session(session)
    assert session.archive.stop(10)
    assert storage.puts[:3] == [session.archive.records[0].init_key] * 3  # retried twice, same order kept


class FlakyCamera:
    """A synthetic camera that is lost after `fail_after` frames, refuses `refusals` reopens, and comes back
    `outage_s` later on the timeline."""

    def __init__(self, clock: ManualClock, fail_after: int, refusals: int, outage_s: float, total: int) -> None:
        self.inner = SyntheticSource(320, 180, 25, clock=clock, max_frames=total)
        self.fail_after, self.refusals, self.outage_s = fail_after, refusals, outage_s
        self.opened = 0
        self.failed = False

    @property
    def nominal_fps(self) -> float:
        return 25.0

    def open(self) -> None:
        if self.failed and self.refusals:
            self.refusals -= 1
            raise SourceUnavailable("connection refused")
        if self.opened == 0:
            self.inner.open()
        elif self.failed:
            self.inner.skip(self.outage_s)
        self.opened += 1

    def read(self) -> VideoFrame:
        if not self.failed and self.inner.index == self.fail_after:
            self.failed = True
            raise SourceLost("RTSP read timeout")
        return self.inner.read()

    def close(self) -> None:
        pass


def test_lost_camera_becomes_an_explicit_gap_and_a_new_period(tmp_path: Path) -> None:
    clock = ManualClock()
    storage = FakeStorage()
    archive = Archive(storage, session="s-2", room="R", bucket="rec", spool_dir=tmp_path / "spool")
    camera = FlakyCamera(clock, fail_after=40, refusals=2, outage_s=3.0, total=90)
    recorder = Recorder(
        room="R",
        video=camera,
        audio=ToneSource(clock=clock),
        archive=archive,
        clock=clock,
        settings=EncoderSettings(segment_seconds=1.0, preset="ultrafast"),
        backoff=Backoff(initial_s=0.01, max_s=0.02),
    )
    recorder.run(threading.Event())
    assert archive.stop(10)
    assert recorder.reconnects == 1
    assert [g.kind for g in archive.gaps] == ["camera"]
    gap = archive.gaps[0]
    assert "RTSP read timeout" in gap.cause
    before, after = archive.records[gap.after_sequence], archive.records[gap.after_sequence + 1]
    assert before.period == 0 and after.period == 1 and before.init_key != after.init_key
    assert gap.wall_start_us == before.wall_end_us  # frame 40 would have started here
    assert gap.wall_end_us == after.wall_start_us
    assert abs((gap.wall_end_us - gap.wall_start_us) / 1e6 - 3.0) < 0.001
    assert before.video_duration_us == 600_000  # frames 25..39: the segment was closed at the loss
    text = build_playlist(archive.records, gaps=archive.gaps, uri=lambda k: f"/r/{k}", closed=True)
    assert text.count("#EXT-X-DISCONTINUITY") == 1
    assert text.count("#EXT-X-MAP:") == 2
    assert "RTSP read timeout" in text


CHILD = textwrap.dedent(
    """
    import sys, threading
    from recording import Archive, EncoderSettings, Recorder, SyntheticSource, ToneSource, install_stop_signals

    class Down:
        def put(self, bucket, key, stream, *, length=None):
            raise ConnectionError("offline")

    archive = Archive(Down(), session="s-k", room="R", bucket="rec", spool_dir=sys.argv[1], retry_initial_s=5)
    stop = threading.Event()
    install_stop_signals(stop)
    Recorder(
        room="R", video=SyntheticSource(320, 180, 25, realtime=True), audio=ToneSource(), archive=archive,
        settings=EncoderSettings(segment_seconds=0.5, preset="ultrafast"),
    ).run(stop)
    """
)


def _journal_segments(spool: Path) -> int:
    path = spool / "journal.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_bytes().splitlines() if b'"type":"segment"' in line)


def test_killed_recorder_leaves_playable_segments_and_restart_records_the_gap(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(spool)], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while _journal_segments(spool) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.25)  # now in the middle of a segment
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    killed_segments = _journal_segments(spool)
    assert killed_segments >= 3

    storage = FakeStorage(down=True)  # inspect the spool before anything is uploaded
    archive = Archive(storage, session="s-k", room="R", bucket="rec", spool_dir=spool, retry_initial_s=0.02)
    assert len(archive.records) == killed_segments
    assert archive.open_end == (archive.records[-1].wall_end_us, archive.records[-1].mono_end_ns)
    for record in archive.records:
        init, data = archive.read_spooled(record.init_key), archive.read_spooled(record.key)
        assert init is not None and data is not None
        path = tmp_path / f"seg{record.sequence}.mp4"
        path.write_bytes(init + data)
        frames = ffprobe(path, "-show_frames", "-select_streams", "v")["frames"]
        assert len(frames) == round(record.video_duration_us / 40_000) > 0
        assert frames[0]["key_frame"] == 1

    storage.down = False
    seen = []
    archive.on_gap = seen.append
    recorder = Recorder(
        room="R",
        video=SyntheticSource(320, 180, 25, max_frames=20),
        audio=ToneSource(),
        archive=archive,
        settings=EncoderSettings(segment_seconds=0.5, preset="ultrafast"),
    )
    recorder.run(threading.Event())
    assert archive.wait_uploaded(20)
    assert [g.kind for g in seen] == ["restart"]
    gap = seen[0]
    assert gap.after_sequence == killed_segments - 1
    assert gap.wall_start_us == archive.records[killed_segments - 1].wall_end_us
    assert gap.wall_end_us == archive.records[killed_segments].wall_start_us
    assert archive.records[killed_segments].period == archive.records[killed_segments - 1].period + 1
    key = Ed25519PrivateKey.generate()
    manifest = archive.close(checkpoint_start="a", checkpoint_end="b", signer=key.sign, key_id="k")
    assert archive.stop(10)
    report = verify_manifest(manifest, storage.get, key.public_key())
    assert report.ok, report.problems
    assert [g["kind"] for g in manifest["manifest"]["gaps"]] == ["restart"]
    journal = [json.loads(x) for x in (spool / "journal.jsonl").read_bytes().splitlines()]
    assert journal[-1] == {"type": "closed"}


def test_sigterm_closes_the_current_segment(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(spool)], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while _journal_segments(spool) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        child.send_signal(signal.SIGTERM)
        assert child.wait(20) == 0
    finally:
        if child.poll() is None:
            child.kill()
    archive = Archive(FakeStorage(down=True), session="s-k", room="R", bucket="rec", spool_dir=spool)
    last = archive.records[-1]
    assert 0 < last.video_duration_us < 500_000  # the partial segment was closed, not lost
