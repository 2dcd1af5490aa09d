"""Request bodies: read before the database is touched, and never more slowly than a minimum rate.

Two rules keep one slow or stalled client from holding what others need:

1. No request body is read inside a database transaction. On SQLite every transaction is BEGIN IMMEDIATE, so
   the request's first query takes the single write lock; a client that stalls while its body is read would
   hold it (and on PostgreSQL a connection, idle in transaction, with its row locks). A `before_request` hook
   registered before every other one therefore reads the whole body of an ordinary request (forms, files, JSON)
   before authentication queries anything. Views that stream a large raw body to storage are marked
   `@streams_body`; they release the read transaction before the first byte (`release_read_transaction`) and
   reload what they need afterwards. A read inside a transaction raises (`BodyReadInTransaction`), so a view
   that breaks the rule fails in the tests instead of locking the platform.

2. Body reads have a deadline: the body must arrive at `BODY_MIN_RATE` bytes per second on average after a
   grace of `BODY_TIMEOUT` seconds (from the first read). A watchdog thread shuts the socket's receiving side
   when a request falls behind, which ends a read blocked in the server; the request is answered 408 problem
   JSON and the connection is closed. Header reading is bounded by the reverse proxy (deploy/nginx.conf),
   which also absorbs slow clients before they reach the application's threads.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context, request

from app.core.errors import DomainError
from app.core.problems import N_

F = TypeVar("F", bound=Callable[..., Any])

_STREAMS_ATTR = "_streams_body"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
READ_SLICE = 64 * 1024


class BodyTimeout(DomainError):
    status = 408
    code = "request-timeout"
    title = "Request timeout"  # the registered problem type (core.problems); the detail says what happened


class BodyReadInTransaction(RuntimeError):
    """A programming error: a request body read while the request holds a database transaction."""


def streams_body(fn: F) -> F:
    """Mark a view that reads its raw body itself, streaming it to storage after release_read_transaction()."""
    setattr(fn, _STREAMS_ATTR, True)
    return fn


def _view_streams_body(app: Flask, endpoint: str | None) -> bool:
    view = app.view_functions.get(endpoint or "")
    return bool(view is not None and getattr(view, _STREAMS_ATTR, False))


class _Watch:
    """One request body being read: its socket, when reading began and how much has arrived."""

    __slots__ = ("expired", "grace", "rate", "received", "sock", "started")

    def __init__(self, sock: socket.socket, grace: float, rate: float) -> None:
        self.sock = sock
        self.grace = grace
        self.rate = rate
        self.started: float | None = None
        self.received = 0
        self.expired = False

    def due(self) -> float:
        assert self.started is not None
        return self.started + self.grace + self.received / self.rate

    def expire(self) -> None:
        self.expired = True
        # Wakes a read blocked in the server (it sees the end of the stream) and refuses any further byte;
        # the answer can still be sent.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RD)


class _Watchdog:
    """One thread per process that expires the body reads that fell behind their deadline."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[_Watch] = set()
        self._pid = 0

    def add(self, watch: _Watch) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use in this process (gunicorn forks its workers)
                self._pid = os.getpid()
                self._watches = set()
                threading.Thread(target=self._run, name="body-deadline", daemon=True).start()
            self._watches.add(watch)
            self._cond.notify()

    def discard(self, watch: _Watch) -> None:
        with self._cond:
            self._watches.discard(watch)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                wait: float | None = None
                for watch in list(self._watches):
                    due = watch.due()
                    if now >= due:
                        self._watches.discard(watch)
                        watch.expire()
                    else:
                        wait = due - now if wait is None else min(wait, due - now)
                # Deadlines move as bytes arrive: look again at least every half second.
                self._cond.wait(None if wait is None else min(max(wait, 0.05), 0.5))


_watchdog = _Watchdog()


class DeadlineInput:
    """wsgi.input with a deadline on reading, refusing any read while a database transaction is open."""

    def __init__(self, inner: Any, sock: socket.socket | None, grace: float, rate: float) -> None:
        self._inner = inner
        self._watch = _Watch(sock, grace, rate) if sock is not None else None
        self._done = False

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        _refuse_inside_transaction()
        watch = self._watch
        if watch is not None and watch.started is None and not self._done:
            watch.started = time.monotonic()
            _watchdog.add(watch)
        try:
            data = fn(*args)
        except OSError:
            if watch is not None and watch.expired:
                raise BodyTimeout(*self._detail()) from None
            raise
        if watch is not None:
            if watch.expired:
                raise BodyTimeout(*self._detail())
            if isinstance(data, list):
                watch.received += sum(len(line) for line in data)
            else:
                watch.received += len(data)
        return data

    def _detail(self) -> tuple[str, dict[str, Any]]:
        watch = self._watch
        assert watch is not None
        return N_(
            "The body must arrive within %(grace)s s plus one second per %(rate)s bytes; %(received)s bytes arrived."
        ), {"grace": f"{watch.grace:g}", "rate": f"{watch.rate:g}", "received": watch.received}

    def read(self, size: int | None = -1) -> bytes:
        # In slices, so that the deadline moves on with every slice that arrives: a server's read(n) waits for
        # all n bytes, and a storage backend asks for megabytes at once.
        left = -1 if size is None or size < 0 else size
        if 0 <= left <= READ_SLICE:
            data: bytes = self._call(self._inner.read, left)
            return data
        parts = []
        while left:
            part: bytes = self._call(self._inner.read, READ_SLICE if left < 0 else min(left, READ_SLICE))
            if not part:
                break
            parts.append(part)
            if left > 0:
                left -= len(part)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        data: bytes = self._call(self._inner.readline, -1 if size is None else size)
        return data

    def readlines(self, hint: int | None = -1) -> list[bytes]:
        data: list[bytes] = self._call(self._inner.readlines, -1 if hint is None else hint)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def finish(self) -> None:
        self._done = True
        if self._watch is not None:
            _watchdog.discard(self._watch)


def _refuse_inside_transaction() -> None:
    if not has_app_context():
        return
    from app.core.db import db

    if db.session().in_transaction():
        raise BodyReadInTransaction("request body read inside a database transaction: release_read_transaction() first")


class BodyDeadlineMiddleware:
    """Wraps wsgi.input of every request in a DeadlineInput (see the module's docstring)."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app: Flask) -> None:
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
        if not isinstance(sock, socket.socket):
            sock = None
        stream = DeadlineInput(
            environ["wsgi.input"],
            sock,
            float(self.app.config["BODY_TIMEOUT"]),
            float(self.app.config["BODY_MIN_RATE"]),
        )
        environ["wsgi.input"] = stream
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            stream.finish()


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def read_body_first() -> None:
    """Before anything queries the database: read the whole body of every request but a streaming view's."""
    if request.endpoint is None or not _has_body() or _view_streams_body(current_app, request.endpoint):
        return  # no view (404, 405): nobody reads the body
    if request.mimetype in FORM_TYPES:
        request.form  # noqa: B018 - parses the form; files are spooled to temporary files
    else:
        request.get_data(cache=True)  # request.get_json() and webargs read this copy


def init_app(app: Flask) -> None:
    app.config.setdefault("BODY_TIMEOUT", 20)
    app.config.setdefault("BODY_MIN_RATE", 16 * 1024)
    app.wsgi_app = BodyDeadlineMiddleware(app.wsgi_app, app)  # type: ignore[method-assign]
    # First of all before_request hooks: authentication queries the database.
    app.before_request_funcs.setdefault(None, []).insert(0, read_body_first)
