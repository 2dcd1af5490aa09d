"""HLS (version 7, fMP4) media playlists from segment records, with wall-clock dates and explicit gaps.

Each period's init section is an EXT-X-MAP; every segment carries EXT-X-PROGRAM-DATE-TIME so the player
can put it on the platform's wall-clock timeline; a gap or a new period is an EXT-X-DISCONTINUITY, and
each gap is also an EXT-X-DATERANGE carrying its cause (optionally filled with EXT-X-GAP segments so the
player's timeline keeps the outage's length).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from recording.archive import Gap, SegmentRecord
from recording.clock import iso_utc

GAP_CLASS = "cn.service-center.recording.gap"


def _quoted(text: str) -> str:
    # quoted-string values may not contain double quotes, CR or LF
    return " ".join(text.replace('"', "'").split())


def build_playlist(
    records: Sequence[SegmentRecord],
    *,
    uri: Callable[[str], str],
    gaps: Sequence[Gap] = (),
    closed: bool = False,
    gap_segments: bool = False,
    min_target_duration: int = 1,
) -> str:
    """Return the playlist text. `uri(object_key)` makes each URI (the app signs them there)."""
    ordered = sorted(records, key=lambda r: r.sequence)
    gaps_after: dict[int, list[Gap]] = {}
    for gap in gaps:
        gaps_after.setdefault(gap.after_sequence, []).append(gap)
    durations = [r.video_duration_us / 1e6 for r in ordered]
    target = max([min_target_duration] + [math.floor(d + 0.5) for d in durations])
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{ordered[0].sequence if ordered else 0}",
        f"#EXT-X-PLAYLIST-TYPE:{'VOD' if closed else 'EVENT'}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    gap_index = 0

    def daterange(gap: Gap) -> None:
        nonlocal gap_index
        lines.append(
            f'#EXT-X-DATERANGE:ID="gap-{gap_index}",CLASS="{GAP_CLASS}",START-DATE="{iso_utc(gap.wall_start_us)}",'
            f'END-DATE="{iso_utc(gap.wall_end_us)}",X-KIND="{_quoted(gap.kind)}",X-CAUSE="{_quoted(gap.cause)}"'
        )
        gap_index += 1

    first_seq = ordered[0].sequence if ordered else 0
    for seq in sorted(s for s in gaps_after if s < first_seq):
        for gap in gaps_after[seq]:
            daterange(gap)
    prev: SegmentRecord | None = None
    broken = False
    for record, duration in zip(ordered, durations, strict=True):
        if prev is not None and (broken or record.period != prev.period or record.sequence != prev.sequence + 1):
            lines.append("#EXT-X-DISCONTINUITY")
        if prev is None or record.init_key != prev.init_key:
            lines.append(f'#EXT-X-MAP:URI="{uri(record.init_key)}"')
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{iso_utc(record.wall_start_us)}")
        lines.append(f"#EXTINF:{duration:.3f},")
        lines.append(uri(record.key))
        broken = False
        for gap in gaps_after.get(record.sequence, []):
            if gap.kind == "audio":  # video continues: mark the time, do not break the stream
                daterange(gap)
                continue
            daterange(gap)
            broken = True
            if gap_segments:
                left = (gap.wall_end_us - gap.wall_start_us) / 1e6
                moment = gap.wall_start_us
                while left > 0.0005:
                    piece = min(float(target), left)
                    lines += ["#EXT-X-GAP", f"#EXT-X-PROGRAM-DATE-TIME:{iso_utc(moment)}", f"#EXTINF:{piece:.3f},"]
                    lines.append(uri(record.key))  # never fetched (EXT-X-GAP), but a URI line is required
                    moment += round(piece * 1e6)
                    left -= piece
        prev = record
    if closed:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"
