"""Task and periodic-sweep declarations beside domain code, bound to Celery when the app starts.

Domain modules declare `@task("module.verb")` functions and `@sweep("module.verb", every=...)`
sweeps; tests call the functions directly. Sweeps must be idempotent: each runs under a named
lock (`sweep_lock`) so two beats or workers never run the same sweep at once.

A task that works on an object of its module names an `on_failure(reason, *args, **kwargs)` handler:
when the task raises anything, the worker logs the failure and calls the handler in a fresh transaction
(committed on its own) so the module marks its object failed and records why. A task failure is never silent.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import Celery
from flask import current_app
from sqlalchemy import text

from app.core.db import after_commit, db


@dataclass
class Declared:
    name: str
    fn: Callable[..., Any]
    every: timedelta | None = None
    on_failure: Callable[..., Any] | None = None


_declared: dict[str, Declared] = {}
_bound: dict[str, Celery] = {}


def task(
    name: str, *, on_failure: Callable[..., Any] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A task; `on_failure(reason, *args, **kwargs)` marks its object failed when the task raises."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _declared[name] = Declared(name, fn, on_failure=on_failure)
        return fn

    return deco


def failure_handler(name: str) -> Callable[..., Any] | None:
    found = _declared.get(name)
    return found.on_failure if found is not None else None


def failure_reason(exc: BaseException) -> str:
    """What a failed task tells its object's owner: the exception's kind and message, on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def sweep(name: str, every: timedelta) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A periodic, idempotent sweep; runs under `sweep_lock(name)`."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        def locked(*args: Any, **kwargs: Any) -> Any:
            with sweep_lock(name) as got:
                if not got:
                    return None
                return fn(*args, **kwargs)

        locked.__name__ = fn.__name__
        locked.__doc__ = fn.__doc__
        _declared[name] = Declared(name, locked, every)
        return locked

    return deco


def declared() -> dict[str, Declared]:
    return dict(_declared)


def bind(celery: Celery) -> None:
    """Register every declared task with Celery and build the beat schedule."""
    _bound["celery"] = celery
    schedule: dict[str, Any] = {}
    for d in _declared.values():
        celery.task(name=d.name)(d.fn)
        if d.every is not None:
            schedule[d.name] = {"task": d.name, "schedule": d.every.total_seconds()}
    celery.conf.beat_schedule = schedule


def enqueue_after_commit(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> None:
    """Send task `name` once the current transaction has committed (never before, never on rollback)."""

    def send() -> None:
        if "celery" not in _bound:
            raise RuntimeError("Celery is not initialised")
        _bound["celery"].send_task(name, args=args, kwargs=kwargs, countdown=countdown)

    after_commit(send)


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def sweep_lock(name: str) -> Iterator[bool]:
    """A transaction-scoped lock named `name`: PostgreSQL advisory lock, or SQLite's single writer.

    Yields False when another process holds it (PostgreSQL), so the caller skips this round.
    """
    if db.engine.dialect.name == "postgresql":
        got = db.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(name)}).scalar()
        yield bool(got)
    else:
        # Every SQLite transaction here starts with BEGIN IMMEDIATE: holding the write lock is the lock.
        db.session.execute(text("SELECT 1"))
        yield True


# struct flock (Linux, 64-bit off_t): l_type, l_whence, l_start, l_len, l_pid — for open-file-description locks.
_FLOCK = struct.Struct("hhqqi4x")
_CLAIM_FILES = 1024  # the striped fallback where OFD locks do not exist (not Linux)


def _claim_file_lock(folder: str, name: str) -> tuple[int, bool]:
    """(descriptor, got) for the SQLite claim of `name`; closing the descriptor releases it.

    Linux: an open-file-description lock on one byte of locks/claims.lock, at an offset taken from the name's
    SHA-256 (62 bits: two names never share one in practice). Such a lock belongs to this descriptor, so two
    threads of one process exclude each other as two processes do, and the process's death releases it.
    Elsewhere: `flock` on one of _CLAIM_FILES files (two names sharing a file make the second wait for a later try).
    """
    digest = hashlib.sha256(name.encode()).digest()
    ofd = getattr(fcntl, "F_OFD_SETLK", None)
    if ofd is not None:
        fd = os.open(os.path.join(folder, "claims.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        offset = int.from_bytes(digest[:8], "big") >> 2
        try:
            fcntl.fcntl(fd, ofd, _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0))
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                os.close(fd)
                raise
            return fd, False
        return fd, True
    stripe = int.from_bytes(digest[:4], "big") % _CLAIM_FILES
    fd = os.open(os.path.join(folder, f"claim-{stripe:04d}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return fd, False
    return fd, True


@contextmanager
def claim(name: str) -> Iterator[bool]:
    """A lock named `name` held by this process, outside any transaction, for work that takes long (an envelope
    decrypting, a chunk uploading): yields False when another process (or thread) holds it. It dies with its
    holder, so a worker killed in the middle leaves nothing claimed.

    PostgreSQL: a session advisory lock on a connection of its own (autocommit: nothing sits idle in a
    transaction); closing the connection releases it. SQLite (the embedded default, one host): a lock on a file
    under the instance folder's locks/ (_claim_file_lock), released when its descriptor closes or the process
    dies. Two different names never hold each other up: a false "busy" answered an upload in a deadline rush
    when writers shared a fixed set of stripes.
    """
    if db.engine.dialect.name == "postgresql":
        key = _lock_key(name)
        conn = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield got
            finally:
                if got:
                    try:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    except Exception:
                        conn.invalidate()  # closing the connection releases the lock
                        raise
        finally:
            conn.close()
        return
    folder = os.path.join(current_app.config["INSTANCE_PATH"], "locks")
    os.makedirs(folder, exist_ok=True)
    fd, got = _claim_file_lock(folder, name)
    try:
        yield got
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)  # releases the lock; the empty file stays for the next holder
