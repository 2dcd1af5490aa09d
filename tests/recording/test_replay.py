"""HLS playlist, range export with faststart, the H.264 packet-copy path and A/V sync over a minute."""

from __future__ import annotations

import hashlib
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from recording import (
    Archive,
    DemuxSource,
    EncoderSettings,
    ExportError,
    Gap,
    ManualClock,
    Recorder,
    SourceUnavailable,
    build_playlist,
    export_range,
    verify_chain,
)
from recording.clock import from_epoch_us
from recording.fmp4 import iter_boxes
from tests.recording.conftest import FakeStorage, ffprobe, make_session, run_session


@pytest.fixture(scope="module")
def twelve_seconds(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp = tmp_path_factory.mktemp("twelve")
    session = make_session(tmp, frames=25 * 12, segment_seconds=2.0)
    run_session(session)
    assert session.archive.stop(20)
    return session, tmp


def test_playlist_has_map_dates_gaps_and_endlist(twelve_seconds: tuple) -> None:
    session, _ = twelve_seconds
    records = session.archive.records
    gap = Gap("s-1", 2, 'camera lost: "timeout"', "camera", records[2].wall_end_us, records[2].wall_end_us + 5_000_000)
    text = build_playlist(records, gaps=[gap], uri=lambda k: f"https://x/{k}?sig=1", gap_segments=True)
    lines = text.splitlines()
    assert lines[:3] == ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-TARGETDURATION:2"]
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in lines and "#EXT-X-ENDLIST" not in lines
    assert lines.count('#EXT-X-MAP:URI="https://x/recordings/s-1/init-0000.mp4?sig=1"') == 1
    dates = [line for line in lines if line.startswith("#EXT-X-PROGRAM-DATE-TIME:")]
    assert dates[0] == "#EXT-X-PROGRAM-DATE-TIME:2025-01-06T01:30:00.000Z"
    assert "#EXT-X-PROGRAM-DATE-TIME:2025-01-06T01:30:02.000Z" in dates
    assert lines.count("#EXTINF:2.000,") == 6 + 2  # six segments, then 2 + 2 + 1 s of gap filler
    assert lines.count("#EXTINF:1.000,") == 1
    # the gap: a date range with its cause, 5 s of EXT-X-GAP filler, then a discontinuity
    assert any(line.startswith("#EXT-X-DATERANGE:") and "X-CAUSE=\"camera lost: 'timeout'\"" in line for line in lines)
    assert lines.count("#EXT-X-GAP") == 3
    after = lines.index("#EXT-X-DISCONTINUITY")
    assert lines[after + 1] == "#EXT-X-PROGRAM-DATE-TIME:2025-01-06T01:30:06.000Z"
    closed = build_playlist(records, uri=str, closed=True)
    assert closed.endswith("#EXT-X-ENDLIST\n") and "#EXT-X-PLAYLIST-TYPE:VOD" in closed
    assert "#EXT-X-DISCONTINUITY" not in closed


def test_export_range_is_one_faststart_mp4_of_whole_segments(twelve_seconds: tuple) -> None:
    session, tmp = twelve_seconds
    records = session.archive.records
    start = from_epoch_us(records[1].wall_start_us + 500_000)
    end = from_epoch_us(records[3].wall_end_us - 500_000)
    result = export_range(records, session.storage.get, start, end, tmp / "export.mp4")
    assert result.sequences == [1, 2, 3]
    data = result.path.read_bytes()
    top = [kind for kind, _s, _e in iter_boxes(data)]
    assert top.index("moov") < top.index("mdat")
    probe = ffprobe(result.path, "-show_format", "-show_streams")
    assert abs(float(probe["format"]["duration"]) - 6.0) < 0.06
    assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
    video = next(s for s in probe["streams"] if s["codec_type"] == "video")
    assert int(video["nb_frames"]) == 150
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    excerpt = result.excerpt
    genesis = bytes.fromhex(excerpt["prev_chain_hash"])
    assert verify_chain(excerpt["segments"], session.storage.get, genesis=genesis, first_sequence=1).ok


def test_export_refuses_altered_segments_and_empty_ranges(twelve_seconds: tuple) -> None:
    session, tmp = twelve_seconds
    records = session.archive.records

    def fetch(key: str) -> bytes | None:
        data = session.storage.get(key)
        return data[:-1] + b"\0" if data is not None and key == records[0].key else data

    with pytest.raises(ExportError, match="seg-000000"):
        export_range(records, fetch, records[0].started_at, records[1].ended_at, tmp / "bad.mp4")
    assert not (tmp / "bad.mp4").exists()
    with pytest.raises(ExportError, match="no segment"):
        export_range(records, session.storage.get, from_epoch_us(0), from_epoch_us(1), tmp / "none.mp4")


def _camera_file(path: Path, seconds: int, audio_codec: str, gop: int = 50) -> None:
    """An IP-camera-like file: H.264 with a 2 s GOP plus AAC or G.711 audio."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=25, options={"preset": "ultrafast", "g": str(gop)})
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        audio = out.add_stream(audio_codec, rate=8000 if audio_codec == "pcm_mulaw" else 48000, layout="mono")
        rate = audio.rate
        for i in range(seconds * 25):
            image = np.full((180, 320, 3), (i * 7) % 255, np.uint8)
            image[:, (i * 3) % 320] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 25)
            for packet in video.encode(frame):
                out.mux(packet)
            n = rate // 25
            tone = np.sin(np.arange(i * n, (i + 1) * n) / rate * 2 * np.pi * 440).astype(np.float32)
            fmt = "s16" if audio_codec == "pcm_mulaw" else "fltp"
            samples = (tone * 8000).astype(np.int16)[None, :] if fmt == "s16" else tone[None, :]
            aframe = av.AudioFrame.from_ndarray(samples, format=fmt, layout="mono")
            aframe.sample_rate, aframe.pts, aframe.time_base = rate, i * n, Fraction(1, rate)
            for packet in audio.encode(aframe):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)


def _video_packet_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(video=0) if p.size]


def _copy(tmp: Path, source: Path, name: str) -> tuple[Archive, FakeStorage]:
    storage = FakeStorage()
    archive = Archive(storage, session=name, room="R", bucket="rec", spool_dir=tmp / f"spool-{name}")
    recorder = Recorder(
        room="R",
        video=DemuxSource(str(source), clock=ManualClock(), live=False),
        archive=archive,
        settings=EncoderSettings(segment_seconds=4.0),
    )
    recorder.run(threading.Event())
    assert archive.stop(10)
    return archive, storage


def test_packet_copy_keeps_the_camera_h264_bytes(tmp_path: Path) -> None:
    source = tmp_path / "camera.mp4"
    _camera_file(source, 9, "aac")
    archive, storage = _copy(tmp_path, source, "copy")
    records = archive.records
    assert [round(r.video_duration_us / 1e6, 2) for r in records] == [4.0, 4.0, 1.0]  # cut on the camera's GOP
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(storage.get(records[0].init_key) + b"".join(storage.get(r.key) for r in records))
    assert _video_packet_hashes(joined) == _video_packet_hashes(source)
    probe = ffprobe(joined, "-show_streams")
    assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]


def test_packet_copy_transcodes_g711_audio_to_aac(tmp_path: Path) -> None:
    source = tmp_path / "camera.mov"
    _camera_file(source, 5, "pcm_mulaw")
    archive, storage = _copy(tmp_path, source, "g711")
    record = archive.records[0]
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(storage.get(record.init_key) + storage.get(record.key))
    probe = ffprobe(joined, "-show_streams")
    assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
    assert abs(record.audio_duration_us - record.video_duration_us) < 80_000
    assert _video_packet_hashes(joined) == _video_packet_hashes(source)[: round(record.video_duration_us / 40_000)]


def test_copy_path_refuses_a_source_without_h264(tmp_path: Path) -> None:
    path = tmp_path / "audio.m4a"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4800), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    with pytest.raises(SourceUnavailable, match=r"H\.264"):
        DemuxSource(str(path), live=False).open()


def test_av_sync_over_a_minute_stays_within_40ms_per_segment(tmp_path: Path) -> None:
    session = make_session(tmp_path, frames=25 * 60, segment_seconds=4.0)
    run_session(session)
    assert session.archive.stop(20)
    records = session.archive.records
    assert len(records) == 15
    worst = max(abs(r.audio_duration_us - r.video_duration_us) for r in records)
    assert worst < 40_000, worst
    # and from the bytes: each segment's audio and video span the same stretch of time
    for record in records[::5]:
        path = tmp_path / f"s{record.sequence}.mp4"
        path.write_bytes(session.storage.get(record.init_key) + session.storage.get(record.key))
        packets = ffprobe(path, "-show_packets")["packets"]
        video = [float(p["pts_time"]) for p in packets if p["codec_type"] == "video"]
        audio = [float(p["pts_time"]) for p in packets if p["codec_type"] == "audio"]
        assert abs(min(audio) - min(video)) < 0.04
        assert abs((max(audio) + 1024 / 48000) - (max(video) + 0.04)) < 0.04
