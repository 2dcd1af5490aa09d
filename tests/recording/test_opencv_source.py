"""OpenCV frame source on a file and on RTSP (with the stream's audio), the RTSP copy path, and a lost camera.

The RTSP camera is tests/recording/rtsp_server.py: ffmpeg's test pattern and tone as H.264 + AAC over RTP,
served on a free local port. Each test records a few seconds in real time.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from recording import (
    Archive,
    Backoff,
    DemuxSource,
    EncoderSettings,
    ManualClock,
    OpenCVSource,
    Recorder,
    StreamAudioSource,
    ToneSource,
)
from recording.clock import from_epoch_us, to_epoch_us
from recording.errors import SourceLost
from recording.overlay import burn_in
from recording.sources import SourcePacket
from tests.recording.conftest import FakeStorage, ffprobe, probe_segment
from tests.recording.rtsp_server import BEEP, FLASH, RtspTestServer, free_tcp_port
from tests.services import unavailable

ROOM = "开标室 B"


@pytest.fixture(autouse=True)
def _ffmpeg() -> None:
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            unavailable(tool, "not installed (apt-get install ffmpeg)")


def _archive(tmp: Path, name: str, storage: FakeStorage) -> Archive:
    return Archive(storage, session=name, room=ROOM, bucket="rec", spool_dir=tmp / f"spool-{name}")


def _obj(storage: FakeStorage, key: str) -> bytes:
    data = storage.get(key)
    assert data is not None, f"{key} was not stored"
    return data


def _seconds(frame: av.VideoFrame | av.AudioFrame) -> float:
    assert frame.time is not None
    return float(frame.time)


def _joined(tmp: Path, storage: FakeStorage, archive: Archive, period: int, name: str) -> Path:
    """The period's init section and its segments as one playable file."""
    records = [r for r in archive.records if r.period == period]
    path = tmp / name
    path.write_bytes(_obj(storage, records[0].init_key) + b"".join(_obj(storage, r.key) for r in records))
    return path


def _check_segments(
    tmp: Path, storage: FakeStorage, archive: Archive, *, audio: bool, sound_throughout: bool = True
) -> list[dict[str, Any]]:
    """Every segment: H.264 (+ AAC), first packet a keyframe, audio present; returns the probes."""
    probes = []
    for record in archive.records:
        probe = probe_segment(tmp, _obj(storage, record.init_key), _obj(storage, record.key), f"s{record.sequence}.mp4")
        codecs = sorted(s["codec_name"] for s in probe["streams"])
        assert codecs == (["aac", "h264"] if audio else ["h264"]), codecs
        kinds = {s["index"]: s["codec_type"] for s in probe["streams"]}
        video = [p for p in probe["packets"] if kinds[p["stream_index"]] == "video"]
        assert video and "K" in video[0]["flags"], f"segment {record.sequence} does not start on a keyframe"
        if audio and sound_throughout:
            assert any(kinds[p["stream_index"]] == "audio" for p in probe["packets"]), "no audio"
        assert record.sha256 == hashlib.sha256(_obj(storage, record.key)).hexdigest()
        probes.append(probe)
    return probes


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


# ----- a file -----


def test_file_through_opencv_is_segmented_with_the_room_and_time_burnt_in(tmp_path: Path) -> None:
    source = tmp_path / "camera.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
         "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(source)],
        check=True, timeout=60,
    )  # fmt: skip
    clock = ManualClock()
    storage = FakeStorage()
    archive = _archive(tmp_path, "file", storage)
    video = OpenCVSource(str(source), clock=clock)
    assert not video.live
    recorder = Recorder(
        room=ROOM,
        video=video,
        audio=ToneSource(clock=clock),
        archive=archive,
        clock=clock,
        settings=EncoderSettings(segment_seconds=1.0, preset="ultrafast", crf=18),
    )
    recorder.run(threading.Event())  # a file ends by itself
    assert archive.stop(10)

    assert recorder.frames == 75 and video.nominal_fps == 25.0
    records = archive.records
    assert [round(r.video_duration_us / 1e6, 3) for r in records] == [1.0, 1.0, 1.0]
    assert all(abs(r.audio_duration_us - r.video_duration_us) < 40_000 for r in records)
    start = clock.wall()
    assert from_epoch_us(records[0].wall_start_us) == start  # the file's timeline starts when it was opened
    assert records[-1].wall_end_us - records[0].wall_start_us == 3_000_000
    probes = _check_segments(tmp_path, storage, archive, audio=True)
    assert [sum(1 for p in probe["packets"] if p["codec_type"] == "video") for probe in probes] == [25, 25, 25]

    recorded = _decode(_joined(tmp_path, storage, archive, 0, "recorded.mp4"))
    original = _decode(source)
    assert len(recorded) == len(original) == 75
    rest = (slice(120, 240), slice(0, 320))  # the lower half: untouched picture
    for i in (0, 37, 74):
        got, src = recorded[i].astype(np.int16), original[i].astype(np.int16)
        wall = from_epoch_us(records[0].wall_start_us + i * 40_000)  # this frame's time: open time + file position
        expected = burn_in(original[i].copy(), ROOM, wall)
        drawn = np.argwhere((expected != original[i]).any(axis=2))  # the band with the room and the time
        (y0, x0), (y1, x1) = drawn.min(axis=0), drawn.max(axis=0)
        band = (slice(y0, y1 + 1), slice(x0, x1 + 1))
        assert x1 - x0 > 150, "the band holds the room's name and the time"
        assert np.abs(got[rest] - src[rest]).mean() < 4, "the picture outside the band changed"
        assert np.abs(got[band] - src[band]).mean() > 25, "nothing burnt into the band"

        def distance(image: np.ndarray, band: tuple[slice, slice] = band, got: np.ndarray = got) -> float:
            return float(np.abs(got[band] - image[band].astype(np.int16)).mean())

        # the recorded band is this room at this instant, not a tenth of a second later nor another room
        right = distance(expected)
        assert right < 6
        assert right < distance(burn_in(original[i].copy(), ROOM, wall + timedelta(milliseconds=100)))
        assert right < distance(burn_in(original[i].copy(), "开标室 C", wall))


# ----- RTSP -----


@pytest.fixture
def camera() -> Iterator[RtspTestServer]:
    try:
        server = RtspTestServer(size="320x240")
        server.start()
    except (FileNotFoundError, RuntimeError) as exc:
        unavailable("local RTSP camera (ffmpeg)", str(exc))
        raise
    try:
        yield server
    finally:
        server.stop()


def _record_for(recorder: Recorder, seconds: float) -> int:
    """Record in real time for `seconds`, stop; returns the wall-clock instant (µs) of the stop."""
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    stopped_us = to_epoch_us(datetime.now(UTC))
    stop.set()
    thread.join(15)
    assert not thread.is_alive(), "the recorder did not stop"
    return stopped_us


def _ends_at_the_stop(archive: Archive, stopped_us: int) -> None:
    """The recording's last instant is the stop, give or take the stream's delay: not seconds in the future."""
    end = archive.records[-1].wall_end_us
    assert -600_000 < end - stopped_us < 100_000, (end - stopped_us) / 1e6


def _runs(flags: list[bool] | np.ndarray) -> list[tuple[int, int]]:
    """(start index, length) of each run of True that touches neither end (those may be cut)."""
    runs, start = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if start > 0 and i < len(flags):
                runs.append((start, i - start))
            start = None
    return runs


def _flashes(path: Path) -> list[tuple[float, int]]:
    """(time, code) of each flash: the white box shown for `code` frames from a whole second on."""
    with av.open(str(path)) as container:
        frames = [(_seconds(f), f.to_ndarray(format="bgr24")) for f in container.decode(video=0)]
    lit = [image[-16:, -16:].mean() > 160 for _t, image in frames]
    return [(frames[start][0], n) for start, n in _runs(lit)]


def _beeps(path: Path) -> list[tuple[float, int]]:
    """(time, code) of each beep: 4 kHz over the 1 kHz tone for `code` × 40 ms from a whole second on."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.rate
        decoded = list(container.decode(stream))
    first = _seconds(decoded[0])
    samples = np.concatenate([f.to_ndarray()[0] for f in decoded])
    # a first difference makes the 4 kHz beep stand out 16× over the quieter 1 kHz tone
    energy = np.convolve(np.abs(np.diff(samples)), np.ones(48) / 48, mode="same")
    loud = energy > energy.max() * 0.5
    return [(first + start / rate, round(n / rate / 0.04)) for start, n in _runs(loud)]


def _av_offsets(path: Path) -> list[float]:
    """For each flash, how much later its own beep sounds (its code tells it from the beeps around it)."""
    beeps = _beeps(path)
    offsets = []
    for t, code in _flashes(path):
        same = [b - t for b, c in beeps if c == code]
        if same:
            offsets.append(min(same, key=abs))
    return offsets


def _assert_lip_sync(offsets: list[float]) -> None:
    """Flashes and beeps in sync: each within 150 ms of its own beep, at most two paired with a beep whole
    seconds away (see below), nothing in between, and no drift."""
    synced = [o for o in offsets if abs(o) < 0.15]
    unmatched = [o for o in offsets if abs(o) > 0.9]
    assert len(synced) >= 3 and len(synced) + len(unmatched) == len(offsets) and len(unmatched) <= 2, offsets
    assert max(synced) - min(synced) < 0.04, offsets  # and no drift


@pytest.mark.parametrize("delay_ms", [0, 300, 1000])
def test_the_lip_sync_check_sees_a_desync(tmp_path: Path, delay_ms: int) -> None:
    """The camera's marks in a file, the sound delayed by `delay_ms`: only the file in sync passes the check."""
    path = tmp_path / f"marks-{delay_ms}.mp4"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", f"testsrc=size=320x240:rate=25,{FLASH}",
         "-f", "lavfi", "-i", BEEP, "-af", f"adelay={delay_ms}", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "1", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    offsets = _av_offsets(path)
    assert len(offsets) >= 4, offsets
    if delay_ms == 0:
        _assert_lip_sync(offsets)
    else:
        with pytest.raises(AssertionError):
            _assert_lip_sync(offsets)


@pytest.mark.parametrize(
    "offsets",
    [
        [0.32] * 6,  # the sound 320 ms late throughout
        [0.02] * 4 + [0.5],  # one flash out of sync
        [-3.0, 1.0, 1.0, 0.02, 0.03, 0.02],  # three flashes paired across whole seconds
        [0.0, 0.02, 0.04, 0.06, 0.08],  # drifting
    ],
)
def test_the_lip_sync_check_refuses_each_kind_of_desync(offsets: list[float]) -> None:
    _assert_lip_sync([0.02, 0.03, 0.02, -3.0])  # in sync, the first beep missed
    with pytest.raises(AssertionError):
        _assert_lip_sync(offsets)


def test_rtsp_through_opencv_with_the_stream_audio_stays_in_sync(tmp_path: Path, camera: RtspTestServer) -> None:
    storage = FakeStorage()
    archive = _archive(tmp_path, "rtsp", storage)
    recorder = Recorder(
        room=ROOM,
        video=OpenCVSource(camera.url),
        audio=StreamAudioSource(camera.url),
        archive=archive,
        settings=EncoderSettings(segment_seconds=1.0, preset="ultrafast"),
    )
    stopped = _record_for(recorder, 8.5)
    assert archive.stop(10)
    _ends_at_the_stop(archive, stopped)
    records = archive.records
    assert len(records) >= 3, [r.video_duration_us for r in records]
    assert not archive.gaps, archive.gaps
    _check_segments(tmp_path, storage, archive, audio=True)
    for r in records:
        assert abs(r.audio_duration_us - r.video_duration_us) < 80_000, (r.sequence, r.audio_duration_us)
    joined = _joined(tmp_path, storage, archive, 0, "rtsp.mp4")
    probe = ffprobe(joined, "-show_streams", "-show_format")
    duration = float(probe["format"]["duration"])
    assert abs(duration - sum(r.video_duration_us for r in records) / 1e6) < 0.1
    # lip sync, from the pictures and the sound: each flash and its beep were made at the same instant
    # (the camera itself sends the beep ~30 ms before the flash, and decoding delays the picture a frame or
    # two; a whole-second shift, as when a stream's buffered start is stamped "now", is caught by the codes)
    # The sound connects on its own while the picture does, so the first second may be silence (no beep), the
    # stop may cut the last beep short, and the beep detector can miss one: a flash whose own beep was not found
    # pairs with a same-code beep whole seconds away. Those (at most two) are not a sync error; anything between
    # 150 ms and 900 ms off is, and a whole-stream shift leaves no flash synced at all.
    _assert_lip_sync(_av_offsets(joined))


@pytest.mark.parametrize("where", ["file without sound", "nobody listening"])
def test_stream_audio_that_cannot_connect_is_lost_on_read(tmp_path: Path, where: str) -> None:
    """open() does not wait for the connection; its failure reaches the recorder as SourceLost from read_until."""
    if where == "file without sound":
        url = str(tmp_path / "mute.mp4")
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25",
             "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", url],
            check=True, timeout=60,
        )  # fmt: skip
    else:
        url = f"rtsp://127.0.0.1:{free_tcp_port()}/room"
    source = StreamAudioSource(url, timeout_s=1)
    started = time.monotonic()
    source.open()
    assert time.monotonic() - started < 0.5
    try:
        with pytest.raises(SourceLost, match="no audio track" if where == "file without sound" else url):
            while time.monotonic() - started < 10:
                assert source.read_until(time.monotonic_ns()) == []
                time.sleep(0.02)
    finally:
        source.close()


class _SpySource(DemuxSource):
    """The real demuxer, noting the H.264 NAL units it hands to the recorder."""

    def __init__(self, url: str) -> None:
        super().__init__(url, live=True)
        self.nals: list[bytes] = []

    def read_packet(self) -> SourcePacket:
        item = super().read_packet()
        if item.kind == "video":
            self.nals.append(b"".join(_annexb_nals(bytes(item.packet))))
        return item


def _annexb_nals(data: bytes) -> list[bytes]:
    parts = data.replace(b"\x00\x00\x00\x01", b"\x00\x00\x01").split(b"\x00\x00\x01")
    return [p for p in parts if p]


def _length_prefixed_nals(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return out


def test_rtsp_h264_is_copied_without_reencoding(tmp_path: Path, camera: RtspTestServer) -> None:
    storage = FakeStorage()
    archive = _archive(tmp_path, "copy", storage)
    source = _SpySource(camera.url)
    recorder = Recorder(
        room=ROOM, video=source, archive=archive, settings=EncoderSettings(segment_seconds=2.0, preset="ultrafast")
    )
    stopped = _record_for(recorder, 6.5)
    assert archive.stop(10)
    _ends_at_the_stop(archive, stopped)
    records = archive.records
    assert len(records) >= 2
    for r in records[:-1]:
        assert abs(r.video_duration_us - 2_000_000) <= 40_000  # cut on the camera's 1 s GOP
        assert abs(r.audio_duration_us - r.video_duration_us) < 80_000
    _check_segments(tmp_path, storage, archive, audio=True)
    joined = _joined(tmp_path, storage, archive, 0, "copy.mp4")
    with av.open(str(joined)) as container:
        stored = [b"".join(_length_prefixed_nals(bytes(p))) for p in container.demux(video=0) if p.size]
    # the recorder joins at a keyframe: from there on, every NAL unit is the camera's, byte for byte
    start = source.nals.index(stored[0])
    assert stored == source.nals[start : start + len(stored)]
    assert len(stored) >= 100


@pytest.mark.parametrize("kind", ["opencv", "demux"])
def test_rtsp_camera_lost_mid_recording_is_a_gap_then_reconnects(
    tmp_path: Path, camera: RtspTestServer, kind: str
) -> None:
    storage = FakeStorage()
    archive = _archive(tmp_path, f"lost-{kind}", storage)
    # OpenCV with the stream's audio on its own connection; the copy path takes the camera's audio along
    video = OpenCVSource(camera.url, timeout_ms=2000) if kind == "opencv" else DemuxSource(camera.url, timeout_s=2)
    audio = StreamAudioSource(camera.url, timeout_s=2) if kind == "opencv" else None
    recorder = Recorder(
        room=ROOM,
        video=video,
        audio=audio,
        archive=archive,
        settings=EncoderSettings(segment_seconds=1.0, preset="ultrafast"),
        backoff=Backoff(initial_s=0.2, factor=2.0, max_s=1.0),
    )
    stop = threading.Event()
    thread = threading.Thread(target=recorder.run, args=(stop,), daemon=True)
    thread.start()

    def wait_for(condition: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.05)

    try:
        wait_for(lambda: len(archive.records) >= 2, 10)
        assert len(archive.records) >= 2, "no recording before the outage"
        camera.stop()
        lost_at = time.monotonic()
        wait_for(lambda: recorder.reconnects >= 1, 8)
        assert recorder.reconnects == 1
        time.sleep(max(0.0, 2.0 - (time.monotonic() - lost_at)))
        camera.start()

        def sound_back() -> bool:
            return audio is None or any(g.kind == "audio" for g in archive.gaps)

        wait_for(lambda: any(r.period == 1 for r in archive.records[-1:]) and sound_back(), 15)
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    assert archive.stop(10)
    assert sorted(g.kind for g in archive.gaps) == (["audio", "camera"] if audio else ["camera"])
    gap = next(g for g in archive.gaps if g.kind == "camera")
    assert gap.cause.startswith("camera lost:"), gap.cause
    before = [r for r in archive.records if r.period == 0]
    after = [r for r in archive.records if r.period == 1]
    assert before and after, "no recording after the camera came back"
    assert gap.after_sequence == before[-1].sequence
    assert abs(gap.wall_start_us - before[-1].wall_end_us) <= 40_000  # where the last segment ends
    assert gap.wall_end_us == after[0].wall_start_us
    # the camera was away 2 s (its restart may then send its first fraction of a second a little fast)
    assert 1.5 <= (gap.wall_end_us - gap.wall_start_us) / 1e6 < 10
    assert gap.mono_end_ns is not None and gap.mono_start_ns is not None
    if audio is not None:  # the sound's own outage: from its last sound to its first after reconnecting
        silence = next(g for g in archive.gaps if g.kind == "audio")
        assert silence.cause.startswith("audio lost:"), silence.cause
        assert abs(silence.wall_start_us - gap.wall_start_us) < 500_000
        assert silence.wall_end_us > gap.wall_start_us + 1_500_000
    _check_segments(tmp_path, storage, archive, audio=True, sound_throughout=audio is None)
    for period in (0, 1):  # each period plays on its own
        path = _joined(tmp_path, storage, archive, period, f"p{period}.mp4")
        assert float(ffprobe(path, "-show_format")["format"]["duration"]) > 0.5
    assert camera.sessions >= 2  # the recorder really came back to the server
