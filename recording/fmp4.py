"""Just enough ISO-BMFF parsing to cut a fragmented MP4 byte stream into init and media fragments.

The muxer (FFmpeg's mov muxer driven by PyAV) writes `ftyp moov` once and then one `moof mdat` pair
per fragment; with `frag_keyframe` each video keyframe starts a fragment. Reading `tfdt`/`trun` tells
us each fragment's start, duration and whether it starts on a sync sample, so segments can be closed
as soon as their last fragment is written, and their durations come from the bytes themselves.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from recording.errors import SegmentFormatError

_NON_SYNC = 0x0001_0000  # sample_is_non_sync_sample bit of the sample flags


@dataclass(frozen=True)
class TrackInfo:
    track_id: int
    kind: str  # "video", "audio" or the raw handler type
    timescale: int
    default_duration: int = 0
    default_flags: int = 0


@dataclass(frozen=True)
class TrackRun:
    """One track's share of a fragment, in that track's timescale."""

    track_id: int
    base_time: int
    duration: int
    samples: int
    first_is_sync: bool


@dataclass(frozen=True)
class Fragment:
    data: bytes
    runs: tuple[TrackRun, ...]

    def run_of(self, track_id: int) -> TrackRun | None:
        for run in self.runs:
            if run.track_id == track_id:
                return run
        return None


def iter_boxes(data: bytes | memoryview, start: int = 0, end: int | None = None) -> Iterator[tuple[str, int, int]]:
    """Yield (type, payload_start, box_end) for each complete box in data[start:end]."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            raise SegmentFormatError("box extends to end of stream; cannot segment a non-fragmented file")
        if size < header:
            raise SegmentFormatError(f"corrupt box size {size} at {pos}")
        if pos + size > end:
            return
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for k, s, e in iter_boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def parse_init(data: bytes) -> dict[int, TrackInfo]:
    """Tracks described by an init section (`ftyp moov`)."""
    moov = _child(data, 0, len(data), "moov")
    if moov is None:
        raise SegmentFormatError("init section has no moov box")
    tracks: dict[int, TrackInfo] = {}
    defaults: dict[int, tuple[int, int]] = {}
    for kind, s, e in iter_boxes(data, *moov):
        if kind == "trak":
            tkhd = _child(data, s, e, "tkhd")
            mdia = _child(data, s, e, "mdia")
            if tkhd is None or mdia is None:
                raise SegmentFormatError("trak without tkhd or mdia")
            version = data[tkhd[0]]
            (track_id,) = struct.unpack_from(">I", data, tkhd[0] + (20 if version == 1 else 12))
            mdhd = _child(data, mdia[0], mdia[1], "mdhd")
            hdlr = _child(data, mdia[0], mdia[1], "hdlr")
            if mdhd is None or hdlr is None:
                raise SegmentFormatError("mdia without mdhd or hdlr")
            version = data[mdhd[0]]
            (timescale,) = struct.unpack_from(">I", data, mdhd[0] + (20 if version == 1 else 12))
            handler = data[hdlr[0] + 8 : hdlr[0] + 12].decode("latin-1")
            kind_name = {"vide": "video", "soun": "audio"}.get(handler, handler)
            tracks[track_id] = TrackInfo(track_id, kind_name, timescale)
        elif kind == "mvex":
            for k2, s2, _e2 in iter_boxes(data, s, e):
                if k2 == "trex":
                    track_id, _desc, duration, _size, flags = struct.unpack_from(">IIIII", data, s2 + 4)
                    defaults[track_id] = (duration, flags)
    for track_id, (duration, flags) in defaults.items():
        if track_id in tracks:
            t = tracks[track_id]
            tracks[track_id] = TrackInfo(t.track_id, t.kind, t.timescale, duration, flags)
    return tracks


def parse_moof(data: bytes, start: int, end: int, tracks: dict[int, TrackInfo]) -> tuple[TrackRun, ...]:
    runs: list[TrackRun] = []
    for kind, s, e in iter_boxes(data, start, end):
        if kind != "traf":
            continue
        track_id = 0
        default_duration = 0
        default_flags = 0
        base_time = 0
        duration = 0
        samples = 0
        first_sync: bool | None = None
        for k2, s2, _e2 in iter_boxes(data, s, e):
            if k2 == "tfhd":
                (flags,) = struct.unpack_from(">I", data, s2)
                flags &= 0xFFFFFF
                (track_id,) = struct.unpack_from(">I", data, s2 + 4)
                info = tracks.get(track_id)
                default_duration = info.default_duration if info else 0
                default_flags = info.default_flags if info else 0
                pos = s2 + 8
                if flags & 0x1:
                    pos += 8
                if flags & 0x2:
                    pos += 4
                if flags & 0x8:
                    (default_duration,) = struct.unpack_from(">I", data, pos)
                    pos += 4
                if flags & 0x10:
                    pos += 4
                if flags & 0x20:
                    (default_flags,) = struct.unpack_from(">I", data, pos)
            elif k2 == "tfdt":
                version = data[s2]
                fmt = ">Q" if version == 1 else ">I"
                (base_time,) = struct.unpack_from(fmt, data, s2 + 4)
            elif k2 == "trun":
                (flags,) = struct.unpack_from(">I", data, s2)
                flags &= 0xFFFFFF
                (count,) = struct.unpack_from(">I", data, s2 + 4)
                pos = s2 + 8
                if flags & 0x1:
                    pos += 4
                first_flags: int | None = None
                if flags & 0x4:
                    (first_flags,) = struct.unpack_from(">I", data, pos)
                    pos += 4
                for i in range(count):
                    dur = default_duration
                    sflags = default_flags
                    if flags & 0x100:
                        (dur,) = struct.unpack_from(">I", data, pos)
                        pos += 4
                    if flags & 0x200:
                        pos += 4
                    if flags & 0x400:
                        (sflags,) = struct.unpack_from(">I", data, pos)
                        pos += 4
                    if flags & 0x800:
                        pos += 4
                    if i == 0 and first_flags is not None:
                        sflags = first_flags
                    if first_sync is None:
                        first_sync = not (sflags & _NON_SYNC)
                    duration += dur
                samples += count
        runs.append(TrackRun(track_id, base_time, duration, samples, bool(first_sync)))
    return tuple(runs)


class FragmentParser:
    """Incremental parser: feed the muxer's writes, take out the init section and complete fragments."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.init: bytes | None = None
        self.tracks: dict[int, TrackInfo] = {}
        self._ready: list[Fragment] = []

    def feed(self, chunk: bytes) -> None:
        self._buf += chunk
        self._drain()

    def take(self) -> list[Fragment]:
        out, self._ready = self._ready, []
        return out

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _drain(self) -> None:
        data = bytes(self._buf)
        consumed = 0
        boxes = list(iter_boxes(data))
        i = 0
        while i < len(boxes):
            kind, _s, e = boxes[i]
            if self.init is None:
                if kind == "moov":
                    self.init = data[:e]
                    self.tracks = parse_init(self.init)
                    consumed = e
                i += 1
                continue
            if kind == "moof":
                if i + 1 >= len(boxes):
                    break  # its mdat has not arrived yet
                k2, _s2, e2 = boxes[i + 1]
                if k2 != "mdat":
                    raise SegmentFormatError(f"moof followed by {k2}, expected mdat")
                runs = parse_moof(data, boxes[i][1], boxes[i][2], self.tracks)
                # anything between the previous fragment and this moof (styp, sidx) travels with it
                self._ready.append(Fragment(data[consumed:e2], runs))
                consumed = e2
                i += 2
                continue
            if kind == "mfra":  # random-access trailer: not part of any segment
                consumed = e
            i += 1
        if consumed:
            del self._buf[:consumed]


def describe(init: bytes, media: bytes) -> list[Fragment]:
    """Fragments of one stored media segment (used by verification and tests)."""
    parser = FragmentParser()
    parser.feed(init)
    parser.feed(media)
    return parser.take()
