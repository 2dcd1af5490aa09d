"""Export a wall-clock range as one MP4 with faststart (PyAV remux of whole segments, no re-encode)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import av.container
import av.stream

from recording.archive import Gap, SegmentRecord
from recording.clock import to_epoch_us
from recording.errors import ExportError
from recording.manifest import segment_meta


@dataclass(frozen=True)
class ExportResult:
    path: Path
    sequences: list[int]
    start_us: int  # actual covered range: whole segments, so it may exceed the request
    end_us: int
    sha256: str
    size: int
    excerpt: dict[str, Any]


def _fetch_checked(fetch: Callable[[str], bytes | None], key: str, sha256: str) -> bytes:
    data = fetch(key)
    if data is None:
        raise ExportError(f"{key} is missing")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ExportError(f"{key} does not match its recorded SHA-256; refusing to export it")
    return data


def export_range(
    records: Sequence[SegmentRecord],
    fetch: Callable[[str], bytes | None],
    start: datetime,
    end: datetime,
    out_path: str | os.PathLike[str],
    *,
    gaps: Sequence[Gap] = (),
    manifest: Mapping[str, Any] | None = None,
) -> ExportResult:
    """Write every segment overlapping [start, end) into `out_path`, on the recording's own timeline.

    Segment and init bytes are checked against the records first. Raises ExportError for an empty range,
    a missing or altered object, or periods whose codec parameters differ (a camera changed resolution).
    """
    start_us, end_us = to_epoch_us(start), to_epoch_us(end)
    chosen = sorted(
        (r for r in records if r.wall_end_us > start_us and r.wall_start_us < end_us), key=lambda r: r.sequence
    )
    if not chosen:
        raise ExportError("no segment in the requested range")
    out_path = Path(out_path)
    inits: dict[str, bytes] = {}
    output = av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"})
    assert isinstance(output, av.container.OutputContainer)
    out_streams: dict[str, av.stream.Stream] = {}
    extradata: dict[str, bytes | None] = {}
    last_dts: dict[str, int] = {}
    offsets: dict[int, float] = {}  # period → seconds to add to its packet times
    try:
        for record in chosen:
            if record.init_key not in inits:
                inits[record.init_key] = _fetch_checked(fetch, record.init_key, record.init_sha256)
            data = _fetch_checked(fetch, record.key, record.sha256)
            with av.open(io.BytesIO(inits[record.init_key] + data), "r") as source:
                assert isinstance(source, av.container.InputContainer)
                streams = [s for s in source.streams if s.type in {"video", "audio"}]
                for stream in streams:
                    kind = str(stream.type)
                    if kind not in out_streams:
                        out_streams[kind] = output.add_stream_from_template(stream)
                        extradata[kind] = stream.codec_context.extradata
                    elif stream.codec_context.extradata != extradata[kind]:
                        raise ExportError(f"segment {record.sequence}: {kind} parameters differ; export per period")
                for packet in source.demux(streams):
                    if packet.dts is None or packet.size == 0 or packet.time_base is None:
                        continue
                    kind = str(packet.stream.type)
                    tb = packet.time_base
                    if record.period not in offsets:
                        if kind != "video":
                            continue  # place the period by its first video packet
                        offsets[record.period] = (record.wall_start_us - chosen[0].wall_start_us) / 1e6 - float(
                            packet.dts * tb
                        )
                    shift = round(offsets[record.period] / tb)
                    dts = packet.dts + shift
                    if kind in last_dts and dts <= last_dts[kind]:
                        shift += last_dts[kind] + 1 - dts
                        dts = last_dts[kind] + 1
                    last_dts[kind] = dts
                    packet.dts = dts
                    if packet.pts is not None:
                        packet.pts += shift
                    packet.stream = out_streams[kind]
                    output.mux(packet)
    except (av.FFmpegError, OSError) as exc:
        output.close()
        out_path.unlink(missing_ok=True)
        raise ExportError(f"remux failed: {exc}") from exc
    except ExportError:
        output.close()
        out_path.unlink(missing_ok=True)
        raise
    output.close()
    digest = hashlib.sha256()
    with open(out_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    size = out_path.stat().st_size
    first, last = chosen[0], chosen[-1]
    excerpt: dict[str, Any] = {
        "session": first.session,
        "requested": {"start_us": start_us, "end_us": end_us},
        "covered": {"start_us": first.wall_start_us, "end_us": last.wall_end_us},
        "prev_chain_hash": first.prev_chain_hash,
        "segments": [{**segment_meta(r.to_dict()), "sha256": r.sha256, "chain_hash": r.chain_hash} for r in chosen],
        "gaps": [
            g.to_dict() for g in gaps if g.wall_end_us > first.wall_start_us and g.wall_start_us < last.wall_end_us
        ],
        "export": {"sha256": digest.hexdigest(), "size": size},
    }
    if manifest is not None:
        excerpt["manifest_signature"] = dict(manifest["signature"])
        excerpt["manifest_final_chain_hash"] = manifest["manifest"]["final_chain_hash"]
    return ExportResult(
        out_path, [r.sequence for r in chosen], first.wall_start_us, last.wall_end_us, digest.hexdigest(), size, excerpt
    )
