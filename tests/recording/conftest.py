"""Fakes and helpers for the recording library: switchable in-memory storage, ffprobe, a quick recording."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from recording import Archive, EncoderSettings, ManualClock, Recorder, SyntheticSource, ToneSource


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int


@dataclass
class FakeStorage:
    """The storage protocol in memory; `down = True` makes every put fail like an unreachable server."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    puts: list[str] = field(default_factory=list)
    down: bool = False
    write_once: bool = False
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, bucket: str, key: str, stream: BinaryIO, *, length: int | None = None) -> Stored:
        if self.down:
            with self.lock:
                self.failures += 1
            raise ConnectionError("storage unreachable")
        data = stream.read()
        assert length is None or length == len(data)
        with self.lock:
            if self.write_once and (bucket, key) in self.objects:
                raise FileExistsError(f"{key} is write-once")
            self.objects[(bucket, key)] = data
            self.puts.append(key)
        return Stored(hashlib.sha256(data).hexdigest(), len(data))

    def stat(self, bucket: str, key: str) -> Stored:
        if self.down:
            raise ConnectionError("storage unreachable")
        data = self.objects[(bucket, key)]
        return Stored(hashlib.sha256(data).hexdigest(), len(data))

    def get(self, key: str, bucket: str = "rec") -> bytes | None:
        return self.objects.get((bucket, key))


def ffprobe(path: Path, *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", *extra, "-of", "json", str(path)], capture_output=True, check=True, timeout=60
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def probe_segment(tmp_path: Path, init: bytes, data: bytes, name: str) -> dict[str, Any]:
    path = tmp_path / name
    path.write_bytes(init + data)
    return ffprobe(path, "-show_streams", "-show_packets")


@dataclass
class Session:
    archive: Archive
    storage: FakeStorage
    recorder: Recorder
    clock: ManualClock


def make_session(
    tmp_path: Path,
    *,
    frames: int,
    segment_seconds: float = 1.0,
    storage: FakeStorage | None = None,
    video: Any = None,
    audio: bool = True,
    **archive_kw: Any,
) -> Session:
    clock = ManualClock()
    storage = storage or FakeStorage()
    archive = Archive(storage, session="s-1", room="开标室 A", bucket="rec", spool_dir=tmp_path / "spool", **archive_kw)
    source = video or SyntheticSource(320, 180, 25, clock=clock, max_frames=frames)
    recorder = Recorder(
        room="开标室 A",
        video=source,
        audio=ToneSource(clock=clock) if audio else None,
        archive=archive,
        clock=clock,
        # crf pinned: spool and alarm sizes in the tests are written for these segments, whatever the default
        settings=EncoderSettings(segment_seconds=segment_seconds, preset="ultrafast", crf=23),
    )
    return Session(archive, storage, recorder, clock)


def run_session(session: Session) -> None:
    session.recorder.run(threading.Event())


@pytest.fixture
def storage() -> FakeStorage:
    return FakeStorage()
