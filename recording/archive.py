"""Segment records, hash chain, the local spool (journal + pending objects) and the in-order uploader.

Spool layout (one directory per session):
    journal.jsonl          one canonical JSON line per init/segment/gap/closed event, fsync'd
    pending/NNNNNNNNNN.data  bytes waiting for upload, NNNNNNNNNN = upload order
    pending/NNNNNNNNNN.json  its destination; written after the journal line, so a crash never leaves
                             an object queued that the journal does not know (an orphan .data is completed
                             from the journal or removed on the next open)
The uploader takes pending objects strictly in order, retries with backoff while storage is down, and
deletes a spooled object only after storage confirmed its SHA-256. Nothing is deleted for lack of space:
a spool above `max_spool_bytes` raises the alarm callback instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from recording.clock import from_epoch_us
from recording.encoder import ClosedSegment
from recording.errors import SpoolError, StorageUnavailable
from recording.manifest import GENESIS, Signer, build_manifest, canonical_json, chain_hash, segment_meta

log = logging.getLogger(__name__)


class StoredInfo(Protocol):
    @property
    def sha256(self) -> str: ...


class ObjectStorage(Protocol):
    """The slice of the platform's storage the recorder needs (extra keyword arguments may follow)."""

    def put(self, bucket: str, key: str, stream: BinaryIO, *, length: int | None = None) -> StoredInfo: ...


@dataclass(frozen=True)
class SegmentRecord:
    """What the app stores as a row: everything needed to play, order, verify and place a segment."""

    session: str
    sequence: int
    period: int
    key: str
    size: int
    sha256: str
    init_key: str
    init_sha256: str
    prev_chain_hash: str
    chain_hash: str
    wall_start_us: int
    wall_end_us: int
    mono_start_ns: int
    mono_end_ns: int
    video_duration_us: int
    audio_duration_us: int

    @property
    def duration_s(self) -> float:
        return self.video_duration_us / 1e6

    @property
    def started_at(self) -> Any:
        return from_epoch_us(self.wall_start_us)

    @property
    def ended_at(self) -> Any:
        return from_epoch_us(self.wall_end_us)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Gap:
    """A stretch without media and why: camera lost, recorder restarted, …; mono times None across reboots."""

    session: str
    after_sequence: int  # last segment before the gap, -1 if none
    cause: str
    kind: str  # "camera", "restart", "audio"
    wall_start_us: int
    wall_end_us: int
    mono_start_ns: int | None = None
    mono_end_ns: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InitRecord:
    period: int
    key: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SpoolAlarm:
    pending_bytes: int
    max_bytes: int
    pending_objects: int


@dataclass(frozen=True)
class _Pending:
    order: int
    bucket: str
    key: str
    sha256: str
    size: int


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Archive:
    """Closes the loop from a ClosedSegment to a stored, chained, recorded object. Thread-safe."""

    def __init__(
        self,
        storage: ObjectStorage,
        *,
        session: str,
        room: str,
        bucket: str,
        spool_dir: str | os.PathLike[str],
        key_prefix: str | None = None,
        max_spool_bytes: int = 2 << 30,
        on_segment: Callable[[SegmentRecord], None] | None = None,
        on_gap: Callable[[Gap], None] | None = None,
        on_alarm: Callable[[SpoolAlarm], None] | None = None,
        on_uploaded: Callable[[str, str], None] | None = None,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 10.0,
    ) -> None:
        self.storage = storage
        self.session, self.room, self.bucket = session, room, bucket
        self.prefix = (key_prefix or f"recordings/{session}").rstrip("/")
        self.max_spool_bytes = max_spool_bytes
        self.on_segment, self.on_gap, self.on_alarm, self.on_uploaded = on_segment, on_gap, on_alarm, on_uploaded
        self.retry_initial_s, self.retry_max_s = retry_initial_s, retry_max_s
        self.spool = Path(spool_dir)
        self.pending_dir = self.spool / "pending"
        self.pending_dir.mkdir(parents=True, exist_ok=True)
        self.journal_path = self.spool / "journal.jsonl"
        self.records: list[SegmentRecord] = []
        self.inits: dict[int, InitRecord] = {}
        self.gaps: list[Gap] = []
        self.closed = False
        self.last_upload_error: str | None = None
        self._cond = threading.Condition()
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        self._alarmed = False
        self._next_order = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._load()

    # ----- recovery -----
    def _load(self) -> None:
        orders: dict[int, dict[str, Any]] = {}
        if self.journal_path.exists():
            with open(self.journal_path, "rb") as fh:
                lines = fh.read().split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    log.warning("ignoring a torn journal line in %s", self.journal_path)
                    continue
                kind = entry.pop("type")
                order = entry.pop("spool_order", None)
                if order is not None:
                    orders[int(order)] = entry
                if kind == "segment":
                    self.records.append(SegmentRecord(**entry))
                elif kind == "init":
                    self.inits[int(entry["period"])] = InitRecord(**entry)
                elif kind == "gap":
                    self.gaps.append(Gap(**entry))
                elif kind == "closed":
                    self.closed = True
        for data_path in sorted(self.pending_dir.glob("*.data")):
            order = int(data_path.stem)
            meta_path = data_path.with_suffix(".json")
            if not meta_path.exists():
                known = orders.get(order)
                if known is None:  # written before its journal line: never recorded, never announced
                    data_path.unlink()
                    continue
                meta = {"bucket": self.bucket, "key": known["key"], "sha256": known["sha256"], "size": known["size"]}
                _write_atomic(meta_path, canonical_json(meta))
            meta = json.loads(meta_path.read_bytes())
            self._pending.append(_Pending(order, meta["bucket"], meta["key"], meta["sha256"], meta["size"]))
            self._pending_bytes += int(meta["size"])
        for tmp in self.pending_dir.glob("*.tmp"):
            tmp.unlink()
        self._next_order = max([p.order for p in self._pending] + list(orders) + [-1]) + 1

    @property
    def open_end(self) -> tuple[int, int] | None:
        """(wall_end_us, mono_end_ns) of the last segment when resuming a session that was not closed."""
        if self.closed or not self.records:
            return None
        last = self.records[-1]
        return last.wall_end_us, last.mono_end_ns

    def next_period(self) -> int:
        return max(self.inits, default=-1) + 1

    # ----- producing -----
    def _journal(self, kind: str, entry: dict[str, Any], order: int | None = None) -> None:
        line = {"type": kind, **entry}
        if order is not None:
            line["spool_order"] = order
        with open(self.journal_path, "ab") as fh:
            fh.write(canonical_json(line) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _spool(self, key: str, data: bytes, sha256: str, journal: Callable[[int], None]) -> None:
        order = self._next_order
        self._next_order += 1
        base = self.pending_dir / f"{order:010d}"
        try:
            _write_atomic(base.with_suffix(".data"), data)
            journal(order)
            meta = {"bucket": self.bucket, "key": key, "sha256": sha256, "size": len(data)}
            _write_atomic(base.with_suffix(".json"), canonical_json(meta))
        except OSError as exc:
            raise SpoolError(f"cannot spool {key}: {exc}") from exc
        with self._cond:
            self._pending.append(_Pending(order, self.bucket, key, sha256, len(data)))
            self._pending_bytes += len(data)
            alarm = self._pending_bytes > self.max_spool_bytes and not self._alarmed
            if alarm:
                self._alarmed = True
            state = SpoolAlarm(self._pending_bytes, self.max_spool_bytes, len(self._pending))
            self._cond.notify_all()
        if alarm and self.on_alarm is not None:
            self.on_alarm(state)

    def add_segment(self, closed: ClosedSegment) -> SegmentRecord:
        if self.closed:
            raise SpoolError("session already closed")
        init = self.inits.get(closed.period)
        if init is None:
            init_sha = hashlib.sha256(closed.init).hexdigest()
            init = InitRecord(closed.period, f"{self.prefix}/init-{closed.period:04d}.mp4", init_sha, len(closed.init))
            self._spool(init.key, closed.init, init.sha256, lambda o: self._journal("init", init.to_dict(), o))
            self.inits[closed.period] = init
        seq = len(self.records)
        prev = bytes.fromhex(self.records[-1].chain_hash) if self.records else GENESIS
        digest = hashlib.sha256(closed.data).digest()
        partial: dict[str, Any] = {
            "session": self.session,
            "sequence": seq,
            "period": closed.period,
            "key": f"{self.prefix}/seg-{seq:06d}.m4s",
            "size": len(closed.data),
            "init_sha256": init.sha256,
            "wall_start_us": closed.wall_start_us,
            "wall_end_us": closed.wall_end_us,
            "mono_start_ns": closed.mono_start_ns,
            "mono_end_ns": closed.mono_end_ns,
            "video_duration_us": closed.video_duration_us,
            "audio_duration_us": closed.audio_duration_us,
        }
        record = SegmentRecord(
            sha256=digest.hex(),
            init_key=init.key,
            prev_chain_hash=prev.hex(),
            chain_hash=chain_hash(prev, digest, segment_meta(partial)).hex(),
            **partial,
        )
        self._spool(record.key, closed.data, record.sha256, lambda o: self._journal("segment", record.to_dict(), o))
        self.records.append(record)
        if self.on_segment is not None:
            self.on_segment(record)
        return record

    def add_gap(self, gap: Gap) -> None:
        self._journal("gap", gap.to_dict())
        self.gaps.append(gap)
        if self.on_gap is not None:
            self.on_gap(gap)

    def close(self, *, checkpoint_start: object, checkpoint_end: object, signer: Signer, key_id: str) -> dict[str, Any]:
        """Sign the manifest, queue it as `<prefix>/manifest.json` and mark the session closed."""
        manifest = build_manifest(
            session=self.session,
            room=self.room,
            bucket=self.bucket,
            inits=[i.to_dict() for _, i in sorted(self.inits.items())],
            segments=[r.to_dict() for r in self.records],
            gaps=[g.to_dict() for g in self.gaps],
            checkpoint_start=checkpoint_start,
            checkpoint_end=checkpoint_end,
            signer=signer,
            key_id=key_id,
        )
        data = canonical_json(manifest)
        sha = hashlib.sha256(data).hexdigest()
        key = f"{self.prefix}/manifest.json"
        self._spool(
            key, data, sha, lambda o: self._journal("manifest", {"key": key, "sha256": sha, "size": len(data)}, o)
        )
        self._journal("closed", {})
        self.closed = True
        return manifest

    # ----- uploading -----
    @property
    def pending_objects(self) -> int:
        with self._cond:
            return len(self._pending)

    @property
    def pending_bytes(self) -> int:
        with self._cond:
            return self._pending_bytes

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._upload_loop, name=f"upload-{self.session}", daemon=True)
            self._thread.start()

    def wait_uploaded(self, timeout: float) -> bool:
        """Block until the spool is empty; False on timeout (the objects stay spooled, nothing is lost)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self, timeout: float = 10.0) -> bool:
        """Drain for up to `timeout` seconds, then stop the uploader; returns whether the spool is empty."""
        drained = self.wait_uploaded(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.retry_max_s))
            self._thread = None
        return drained

    def _already_stored(self, item: _Pending) -> bool:
        """True when storage already holds exactly these bytes (an earlier run stored them, then lost the answer).

        Write-once storage refuses the retry of such an upload; without this check it would be retried forever.
        """
        stat = getattr(self.storage, "stat", None)
        if stat is None:
            return False
        try:
            info = stat(item.bucket, item.key)
        except Exception:  # noqa: BLE001 - missing or unreachable: not stored, the caller retries
            return False
        return bool(getattr(info, "sha256", None) == item.sha256)

    def _upload_one(self, item: _Pending) -> None:
        path = self.pending_dir / f"{item.order:010d}.data"
        try:
            with open(path, "rb") as fh:
                info = self.storage.put(item.bucket, item.key, fh, length=item.size)
        except Exception:
            if self._already_stored(item):
                return
            raise
        if info.sha256 != item.sha256:
            raise StorageUnavailable(f"storage reports sha256 {info.sha256} for {item.key}, expected {item.sha256}")

    def _upload_loop(self) -> None:
        delay = self.retry_initial_s
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item = self._pending[0]
            try:
                self._upload_one(item)
            except Exception as exc:  # noqa: BLE001 - any storage failure means "retry later", never "drop"
                self.last_upload_error = f"{type(exc).__name__}: {exc}"
                log.warning("upload of %s failed (%s); retrying in %.1fs", item.key, self.last_upload_error, delay)
                with self._cond:
                    if not self._stopping:
                        self._cond.wait(delay)
                delay = min(self.retry_max_s, delay * 2)
                continue
            delay = self.retry_initial_s
            self.last_upload_error = None
            base = self.pending_dir / f"{item.order:010d}"
            base.with_suffix(".json").unlink()
            base.with_suffix(".data").unlink()
            with self._cond:
                self._pending.pop(0)
                self._pending_bytes -= item.size
                if self._pending_bytes <= self.max_spool_bytes:
                    self._alarmed = False
                self._cond.notify_all()
            if self.on_uploaded is not None:
                self.on_uploaded(item.key, item.sha256)

    def read_spooled(self, key: str) -> bytes | None:
        """Bytes of an object still waiting in the spool (to replay the live tail before it is uploaded)."""
        with self._cond:
            items = list(self._pending)
        for item in items:
            if item.key == key:
                try:
                    return (self.pending_dir / f"{item.order:010d}.data").read_bytes()
                except FileNotFoundError:
                    return None
        return None
