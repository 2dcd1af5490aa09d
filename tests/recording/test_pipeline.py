"""Synthetic source → encoder → segments → storage → signed manifest, checked with ffprobe and verification."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from recording import ManifestError, ProblemKind, canonical_json, verify_chain, verify_manifest
from tests.recording.conftest import make_session, probe_segment, run_session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    tmp = tmp_path_factory.mktemp("rec")
    session = make_session(tmp, frames=25 * 5 + 12)  # 5.48 s in 1 s segments: 5 full + 1 short
    run_session(session)
    assert session.archive.wait_uploaded(20)
    key = Ed25519PrivateKey.generate()
    manifest = session.archive.close(
        checkpoint_start={"tree_size": 10, "root": "ab" * 32},
        checkpoint_end={"tree_size": 12, "root": "cd" * 32},
        signer=key.sign,
        key_id="platform-2025",
    )
    assert session.archive.stop(20)
    return session, manifest, key, tmp


def test_segments_are_h264_aac_starting_on_keyframes_with_configured_durations(recorded: tuple) -> None:
    session, _manifest, _key, tmp = recorded
    records = session.archive.records
    assert [r.sequence for r in records] == list(range(6))
    for record in records:
        init = session.storage.get(record.init_key)
        data = session.storage.get(record.key)
        assert init is not None and data is not None
        probe = probe_segment(tmp, init, data, f"probe-{record.sequence}.mp4")
        assert sorted(s["codec_name"] for s in probe["streams"]) == ["aac", "h264"]
        by_index = {s["index"]: s["codec_type"] for s in probe["streams"]}
        video = [p for p in probe["packets"] if by_index[p["stream_index"]] == "video"]
        audio = [p for p in probe["packets"] if by_index[p["stream_index"]] == "audio"]
        assert "K" in video[0]["flags"], f"segment {record.sequence} does not start on a keyframe"
        assert audio, f"segment {record.sequence} has no audio"
        expected_frames = 25 if record.sequence < 5 else 12
        assert len(video) == expected_frames
        video_s = sum(float(p["duration_time"]) for p in video)
        audio_s = len(audio) * 1024 / 48000  # AAC frames; the first one may carry no duration (priming)
        assert abs(video_s - expected_frames / 25) < 0.001
        assert abs(record.video_duration_us / 1e6 - expected_frames / 25) < 0.001
        assert abs(audio_s - video_s) < 0.05
    # wall-clock and monotonic times follow each other without holes
    for a, b in itertools.pairwise(records):
        assert a.wall_end_us == b.wall_start_us
        assert a.mono_end_ns == b.mono_start_ns


def test_manifest_verifies_and_is_canonical_json(recorded: tuple) -> None:
    session, manifest, key, _tmp = recorded
    report = verify_manifest(manifest, session.storage.get, key.public_key())
    assert report.ok, report.problems
    assert report.checked_segments == 6
    stored = session.storage.get("recordings/s-1/manifest.json")
    assert stored == canonical_json(manifest)
    body = manifest["manifest"]
    assert body["checkpoint_start"] == {"tree_size": 10, "root": "ab" * 32}
    assert body["final_chain_hash"] == session.archive.records[-1].chain_hash
    assert b'"segments":[{' in stored and b": " not in stored


def test_one_flipped_byte_is_reported_at_its_segment(recorded: tuple) -> None:
    session, manifest, key, _tmp = recorded
    target = session.archive.records[3]
    tampered = bytearray(session.storage.get(target.key))
    tampered[len(tampered) // 2] ^= 0x01

    def provider(object_key: str) -> bytes | None:
        return bytes(tampered) if object_key == target.key else session.storage.get(object_key)

    report = verify_manifest(manifest, provider, key.public_key())
    assert [(p.kind, p.sequence) for p in report.problems] == [(ProblemKind.HASH_MISMATCH, 3)]


def test_missing_segment_and_bad_signature_and_chain_break_are_named(recorded: tuple) -> None:
    session, manifest, key, _tmp = recorded
    gone = session.archive.records[1].key
    report = verify_manifest(manifest, lambda k: None if k == gone else session.storage.get(k), key.public_key())
    assert [(p.kind, p.sequence) for p in report.problems] == [(ProblemKind.MISSING, 1)]

    other = Ed25519PrivateKey.generate().public_key()
    report = verify_manifest(manifest, session.storage.get, other)
    assert [p.kind for p in report.problems] == [ProblemKind.SIGNATURE_INVALID]

    # re-timing a segment in the manifest: signature fails and the chain breaks exactly there
    forged = copy.deepcopy(manifest)
    forged["manifest"]["segments"][2]["wall_start_us"] += 1_000_000
    report = verify_manifest(forged, session.storage.get, key.public_key())
    assert [(p.kind, p.sequence) for p in report.problems] == [
        (ProblemKind.SIGNATURE_INVALID, None),
        (ProblemKind.CHAIN_BREAK, 2),
    ]


def test_replaced_segment_with_consistent_hash_breaks_the_chain_without_manifest(recorded: tuple) -> None:
    session, _manifest, _key, _tmp = recorded
    rows = [r.to_dict() for r in session.archive.records]
    assert verify_chain(rows, session.storage.get).ok
    rows[4]["sha256"] = "00" * 32  # someone swapped the object and its row's hash
    report = verify_chain(rows, session.storage.get)
    assert {(p.kind, p.sequence) for p in report.problems} == {
        (ProblemKind.CHAIN_BREAK, 4),
        (ProblemKind.HASH_MISMATCH, 4),
    }


def test_canonical_json_rejects_floats_and_sorts_keys() -> None:
    assert canonical_json({"b": 1, "a": ["é", None, True]}) == '{"a":["é",null,true],"b":1}'.encode()
    with pytest.raises(ManifestError):
        canonical_json({"t": 1.5})


def test_segment_records_reach_the_callback_in_order(tmp_path: Path) -> None:
    seen = []
    session = make_session(tmp_path, frames=60, on_segment=seen.append)
    run_session(session)
    assert [r.sequence for r in seen] == [0, 1, 2]
    assert seen[1].prev_chain_hash == seen[0].chain_hash
    assert session.archive.stop(10)


def test_microphone_without_portaudio_is_a_clear_unavailable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from recording import MicrophoneSource, SourceUnavailable

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as on a host without the module
    with pytest.raises(SourceUnavailable, match="sounddevice"):
        MicrophoneSource().open()
