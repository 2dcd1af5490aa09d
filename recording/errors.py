"""Errors raised by the recording library; the app maps them to its own domain errors."""

from __future__ import annotations


class RecordingError(Exception):
    """Base class of every error this package raises on purpose."""


class SourceUnavailable(RecordingError):
    """A camera, stream, file or microphone could not be opened (or a needed module is missing)."""


class SourceLost(RecordingError):
    """A live source stopped delivering; the recorder reconnects and records a gap."""


class SourceEnded(RecordingError):
    """A finite source (a file, a test pattern with a frame limit) reached its end; recording stops."""


class StorageUnavailable(RecordingError):
    """The object storage refused or could not be reached; the segment stays in the spool."""


class SpoolError(RecordingError):
    """The local spool directory could not be written or read back."""


class SegmentFormatError(RecordingError):
    """The muxer produced bytes that are not the fragmented MP4 the segmenter expects."""


class ManifestError(RecordingError):
    """A manifest is malformed (not a problem found by verification, which is reported, not raised)."""


class ExportError(RecordingError):
    """An export range is empty or its segments cannot be joined into one file."""
