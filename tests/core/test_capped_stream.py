"""CappedStream: the per-upload size cap that tender documents and clarification answers stream through."""

from __future__ import annotations

import io

import pytest

from app.core.errors import ValidationFailed
from app.core.storage import CappedStream


def test_a_stream_within_the_cap_reads_through() -> None:
    capped = CappedStream(io.BytesIO(b"x" * 10), 10, ValidationFailed("too large"))
    assert capped.read(4) + capped.read(-1) == b"x" * 10
    assert capped.read(1) == b""


def test_reading_past_the_cap_raises_the_given_error() -> None:
    capped = CappedStream(io.BytesIO(b"x" * 11), 10, ValidationFailed("the document is larger than allowed"))
    assert capped.read(10) == b"x" * 10
    with pytest.raises(ValidationFailed, match="larger than allowed"):
        capped.read(5)
