"""Recording of bid-opening and evaluation rooms: capture, fMP4 segments, hash chain, spool, manifest, HLS, export."""

from recording.archive import Archive, Gap, InitRecord, ObjectStorage, SegmentRecord, SpoolAlarm, StoredInfo
from recording.audio import AudioChunk, AudioSource, MicrophoneSource, StreamAudioSource, ToneSource
from recording.clock import Clock, ManualClock, SystemClock
from recording.encoder import ClosedSegment, CopyMuxer, EncoderSettings, EncodingMuxer
from recording.errors import (
    ExportError,
    ManifestError,
    RecordingError,
    SegmentFormatError,
    SourceEnded,
    SourceLost,
    SourceUnavailable,
    SpoolError,
    StorageUnavailable,
)
from recording.export import ExportResult, export_range
from recording.manifest import (
    Problem,
    ProblemKind,
    VerificationReport,
    build_manifest,
    canonical_json,
    chain_hash,
    verify_chain,
    verify_manifest,
)
from recording.playlist import build_playlist
from recording.recorder import Backoff, Recorder, install_stop_signals
from recording.sources import (
    DemuxSource,
    FrameSource,
    OpenCVSource,
    PacketSource,
    SceneSource,
    SyntheticSource,
    VideoFrame,
)

__all__ = [
    "Archive",
    "AudioChunk",
    "AudioSource",
    "Backoff",
    "Clock",
    "ClosedSegment",
    "CopyMuxer",
    "DemuxSource",
    "EncoderSettings",
    "EncodingMuxer",
    "ExportError",
    "ExportResult",
    "FrameSource",
    "Gap",
    "InitRecord",
    "ManifestError",
    "ManualClock",
    "MicrophoneSource",
    "ObjectStorage",
    "OpenCVSource",
    "PacketSource",
    "Problem",
    "ProblemKind",
    "Recorder",
    "RecordingError",
    "SceneSource",
    "SegmentFormatError",
    "SegmentRecord",
    "SourceEnded",
    "SourceLost",
    "SourceUnavailable",
    "SpoolAlarm",
    "SpoolError",
    "StorageUnavailable",
    "StoredInfo",
    "StreamAudioSource",
    "SyntheticSource",
    "SystemClock",
    "ToneSource",
    "VerificationReport",
    "VideoFrame",
    "build_manifest",
    "build_playlist",
    "canonical_json",
    "chain_hash",
    "export_range",
    "install_stop_signals",
    "verify_chain",
    "verify_manifest",
]
