"""Assemblies (objects written chunk by chunk across requests) on every backend: the filesystem and real S3."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.storage import SEALED_BIDS, UPLOADS, ObjectStorage, StorageUnavailable, WriteOnceViolation
from app.core.storage.base import ChunkStored
from app.core.storage.hashing import ResumableSha256
from tests.core.conftest import Backend

MiB = 1024 * 1024


def payload(size: int, seed: bytes = b"bid") -> bytes:
    return hashlib.shake_256(seed).digest(size)


class Writer:
    """What the bid upload service persists between requests: offset, hash state and part receipts."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage
        self.handle = storage.begin_assembly()
        self.offset = 0
        self.state: str | None = None
        self.parts: list[str] = []

    def append(self, data: bytes, *, last: bool = False) -> ChunkStored:
        stored = self.storage.append_chunk(
            self.handle,
            io.BytesIO(data),
            offset=self.offset,
            length=len(data),
            last=last,
            hash_state=self.state,
            parts=self.parts,
        )
        assert (stored.offset, stored.size, stored.sha256) == (self.offset, len(data), hashlib.sha256(data).hexdigest())
        self.offset += stored.size
        self.state = stored.hash_state
        self.parts.append(stored.part)
        return stored

    def complete(self, bucket: str, key: str) -> object:
        assert self.state is not None
        return self.storage.complete_assembly(
            self.handle, bucket, key, size=self.offset, hash_state=self.state, parts=self.parts
        )


def sizes(storage: ObjectStorage) -> list[int]:
    step = max(storage.min_chunk_size, 64 * 1024)
    return [step, step + 17, 1000]  # every chunk but the last at least the minimum; odd sizes on purpose


def test_chunks_become_one_object_hashed_on_the_way(storage: ObjectStorage, ns: str) -> None:
    chunks = [payload(n, bytes([i])) for i, n in enumerate(sizes(storage))]
    writer = Writer(storage)
    for i, chunk in enumerate(chunks):
        writer.append(chunk, last=i == len(chunks) - 1)
    info = writer.complete(SEALED_BIDS, f"{ns}/bid.age")
    whole = b"".join(chunks)
    assert info.size == len(whole)  # type: ignore[attr-defined]
    assert info.sha256 == hashlib.sha256(whole).hexdigest()  # type: ignore[attr-defined]
    assert b"".join(storage.get(SEALED_BIDS, f"{ns}/bid.age")) == whole
    assert storage.stat(SEALED_BIDS, f"{ns}/bid.age") == info
    # completing again (the answer was lost) is harmless and returns the same object
    assert writer.complete(SEALED_BIDS, f"{ns}/bid.age") == info


def test_a_failed_chunk_is_sent_again_at_the_same_offset(storage: ObjectStorage, ns: str) -> None:
    first, second = sizes(storage)[0], 4321
    data = payload(first + second)
    writer = Writer(storage)
    writer.append(data[:first])
    with pytest.raises(ValidationFailed):  # the connection broke: fewer bytes than announced
        storage.append_chunk(
            writer.handle,
            io.BytesIO(b"garbage" + data[first : first + 100]),
            offset=first,
            length=second,
            last=True,
            hash_state=writer.state,
            parts=writer.parts,
        )
    writer.append(data[first:], last=True)
    info = writer.complete(UPLOADS, f"{ns}/retried")
    assert b"".join(storage.get(UPLOADS, f"{ns}/retried")) == data
    assert info.sha256 == hashlib.sha256(data).hexdigest()  # type: ignore[attr-defined]


def test_chunk_rules(storage: ObjectStorage, ns: str) -> None:
    writer = Writer(storage)
    with pytest.raises(ValidationFailed):
        writer.append(b"x" * (storage.max_chunk_size + 1))
    with pytest.raises(ValidationFailed):  # longer than announced
        storage.append_chunk(
            writer.handle, io.BytesIO(b"abcd"), offset=0, length=3, last=True, hash_state=None, parts=[]
        )
    with pytest.raises(Conflict):  # the hash state must belong to the offset
        storage.append_chunk(
            writer.handle, io.BytesIO(b"abc"), offset=5, length=3, last=True, hash_state=None, parts=[]
        )
    if storage.min_chunk_size > 1:  # S3: parts under 5 MiB only at the end
        with pytest.raises(ValidationFailed):
            writer.append(b"x" * (storage.min_chunk_size - 1), last=False)
    with pytest.raises(ValidationFailed):
        storage.append_chunk("../../etc", io.BytesIO(b"a"), offset=0, length=1, last=True, hash_state=None, parts=[])
    storage.abort_assembly(writer.handle)


def test_completion_refuses_what_the_recorded_state_does_not_cover(storage: ObjectStorage, ns: str) -> None:
    writer = Writer(storage)
    writer.append(b"only these bytes", last=True)
    assert writer.state is not None
    with pytest.raises(ValidationFailed):  # the hash state took fewer bytes than the size claimed
        storage.complete_assembly(
            writer.handle, UPLOADS, f"{ns}/short", size=writer.offset + 1, hash_state=writer.state, parts=writer.parts
        )
    with pytest.raises(ValidationFailed):  # a damaged hash state
        storage.complete_assembly(
            writer.handle, UPLOADS, f"{ns}/short", size=writer.offset, hash_state="%%%", parts=writer.parts
        )
    assert not storage.exists(UPLOADS, f"{ns}/short")
    storage.abort_assembly(writer.handle)


def test_filesystem_assembly_that_lost_bytes_is_refused(backend: Backend, ns: str) -> None:
    if backend.name != "fs":
        pytest.skip("the filesystem keeps the assembly as one local file")
    storage = backend.storage
    writer = Writer(storage)
    writer.append(b"x" * 100)
    path = storage._assembly_path(writer.handle)  # type: ignore[attr-defined]
    with open(path, "r+b") as fh:
        fh.truncate(40)  # bytes recorded as stored are gone
    with pytest.raises(StorageUnavailable):
        writer.append(b"y" * 10, last=True)
    with pytest.raises(StorageUnavailable):
        writer.complete(UPLOADS, f"{ns}/lost")
    assert not storage.exists(UPLOADS, f"{ns}/lost")


def test_write_once_keeps_the_first_object(storage: ObjectStorage, ns: str) -> None:
    one, two = Writer(storage), Writer(storage)
    one.append(b"first bid", last=True)
    two.append(b"other bid", last=True)
    info = one.complete(SEALED_BIDS, f"{ns}/once.age")
    with pytest.raises(WriteOnceViolation):
        two.complete(SEALED_BIDS, f"{ns}/once.age")
    assert b"".join(storage.get(SEALED_BIDS, f"{ns}/once.age")) == b"first bid"
    assert storage.stat(SEALED_BIDS, f"{ns}/once.age") == info
    two.storage.abort_assembly(two.handle)


def test_abort_forgets_the_assembly(storage: ObjectStorage, ns: str) -> None:
    writer = Writer(storage)
    writer.append(b"abandoned", last=True)
    storage.abort_assembly(writer.handle)
    storage.abort_assembly(writer.handle)  # twice is harmless
    with pytest.raises((NotFound, StorageUnavailable)):
        writer.complete(UPLOADS, f"{ns}/never")
    assert not storage.exists(UPLOADS, f"{ns}/never")


@pytest.mark.parametrize("cut", [0, 1, 63, 64, 65, 1000, 99_999])
def test_resumable_sha256_matches_hashlib(cut: int) -> None:
    data = os.urandom(100_000)
    head = ResumableSha256()
    head.update(data[:cut])
    tail = ResumableSha256.restore(head.save())
    tail.update(bytearray(data[cut : cut + 7]))
    tail.update(memoryview(data)[cut + 7 :])
    assert tail.size == len(data)
    assert tail.hexdigest() == hashlib.sha256(data).hexdigest()
    assert head.hexdigest() == hashlib.sha256(data[:cut]).hexdigest()  # hexdigest() does not end the hash


@pytest.mark.parametrize("state", ["%%%", "AAAA", ResumableSha256().save()[:-4] + "AAAA"])
def test_a_damaged_hash_state_is_refused(state: str) -> None:
    with pytest.raises(ValidationFailed):
        ResumableSha256.restore(state)
