"""A client that sends a request's headers and first bytes, then stalls, holds nothing others need.

The bodies are read before any database transaction (or, for the views that stream to storage, after releasing
it): on SQLite every transaction is BEGIN IMMEDIATE, so a body read inside one held the single write lock for as
long as the client liked (healthz 503, every page and API call 500 after 30 s, the worker's checkpoint "database
is locked"); on PostgreSQL it held a connection idle in transaction. A real server on a socket, both databases.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import text
from werkzeug.serving import make_server

from tests.tendering.helpers import World, create_published, envelope_plaintext, form, seal

PROMPT = 5.0  # seconds: what "answers promptly" means here, on a loaded 2-core machine


@contextmanager
def live(app: Flask) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join(timeout=10)


def stall(port: int, method: str, path: str, headers: dict[str, str], length: int, first: bytes) -> socket.socket:
    """Send the request line, the headers and `first` of `length` announced bytes; the caller keeps the socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Length: {length}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + first)
    return sock


def get(port: int, path: str, token: str | None = None) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROMPT)
    started = time.monotonic()
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - started
    except TimeoutError:
        return 0, time.monotonic() - started
    finally:
        conn.close()


def checkpoint_in_time(app: Flask) -> str | None:
    """Write an audit checkpoint as the worker does, in a thread; None when it committed within PROMPT seconds."""
    outcome: dict[str, str | None] = {}

    def run() -> None:
        from app.audit import issue_checkpoint
        from app.extensions import db

        try:
            with app.app_context():
                issue_checkpoint()
                db.session.commit()
            outcome["error"] = None
        except Exception as exc:
            outcome["error"] = repr(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(PROMPT)
    if worker.is_alive():
        return "still waiting for the database after the deadline"
    return outcome["error"]


def idle_in_transaction(app: Flask) -> list[str]:
    """PostgreSQL: the queries of this database's connections that sit idle inside a transaction."""
    with app.app_context():
        from app.extensions import db

        if db.engine.dialect.name != "postgresql":
            return []
        rows = db.session.execute(
            text(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
            )
        ).scalars()
        found = list(rows)
        db.session.rollback()
        return found


def _upload(world: World) -> tuple[str, bytes, str]:
    tender = create_published(world)
    bidder = world.bidders[0]
    data = seal(envelope_plaintext(form(1_000_000)), tender["recipient"])
    created = bidder.api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)})
    assert created.status_code == 201, created.json
    return created.json["id"], data, bidder.token


def _multipart(boundary: str, text_value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n{text_value}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="confirm"\r\n\r\ntrue\r\n'
        f"--{boundary}--\r\n"
    ).encode()


def _stalled_requests(world: World) -> dict[str, tuple[str, str, dict[str, str], bytes]]:
    """Each kind of body a view reads: (method, path, headers, full body); only the first bytes are sent."""
    uid, data, token = _upload(world)
    boundary = uuid.uuid4().hex
    return {
        "bid upload chunk": (
            "PUT",
            f"/api/v1/uploads/{uid}",
            {
                "Authorization": f"Bearer {token}",
                "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
                "Content-Type": "application/octet-stream",
            },
            data,
        ),
        "multipart clarification answer": (
            "POST",
            "/api/v1/my/clarifications/1/answer",
            {"Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
            _multipart(boundary, "我方确认报价不变。" * 50),
        ),
        "JSON tender draft": (
            "POST",
            "/api/v1/tenders",
            {"Authorization": f"Bearer {world.agency.token}", "Content-Type": "application/json"},
            json.dumps({"title": "x" * 2000, "buyer_id": world.buyer_id}).encode(),
        ),
        "tender document": (
            "POST",
            "/api/v1/tenders/1/documents?name=a.pdf&content_type=application/pdf",
            {"Authorization": f"Bearer {world.agency.token}", "Content-Type": "application/octet-stream"},
            b"%PDF-1.4 " + b"x" * 5000,
        ),
    }


KINDS = ["bid upload chunk", "multipart clarification answer", "JSON tender draft", "tender document"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_stalled_body_blocks_nobody(world: World, kind: str) -> None:
    app = world.app
    method, path, headers, body = _stalled_requests(world)[kind]
    with live(app) as port:
        sock = stall(port, method, path, headers, len(body), body[:40])
        try:
            time.sleep(0.5)  # the server has read the headers and waits for the rest of the body
            other = world.bidders[1].token
            assert get(port, "/healthz")[0] == 200
            assert get(port, "/api/v1/tenders")[0] == 200
            assert get(port, "/api/v1/me", world.bidders[0].token)[0] == 200
            assert get(port, "/api/v1/me", other)[0] == 200
            assert checkpoint_in_time(app) is None
            assert idle_in_transaction(app) == []
            # the stalled client finishes: its request is answered as if it had never paused
            sock.sendall(body[40:])
            sock.settimeout(30)
            answer = sock.recv(65536).decode("latin-1")
            assert answer.startswith("HTTP/1.1 "), answer
            assert " 500 " not in answer.split("\r\n", 1)[0], answer
        finally:
            sock.close()


def test_the_stalled_chunk_is_stored_once_it_arrives(world: World) -> None:
    """The chunk whose body paused is stored with the right offset: the state read before is read again after."""
    method, path, headers, body = _stalled_requests(world)["bid upload chunk"]
    with live(world.app) as port:
        sock = stall(port, method, path, headers, len(body), body[:40])
        try:
            time.sleep(0.3)
            sock.sendall(body[40:])
            sock.settimeout(30)
            answer = sock.recv(65536).decode("latin-1")
        finally:
            sock.close()
    assert answer.startswith("HTTP/1.1 200"), answer
    uid = path.rsplit("/", 1)[1]
    state = world.bidders[0].api.get(f"/api/v1/uploads/{uid}").json
    assert state["offset"] == len(body)


@pytest.mark.parametrize("kind", ["bid upload chunk", "multipart clarification answer", "JSON tender draft"])
def test_a_body_that_stalls_past_its_deadline_is_answered_408_and_the_connection_closed(
    world: World, kind: str
) -> None:
    method, path, headers, body = _stalled_requests(world)[kind]
    world.app.config.update(BODY_TIMEOUT=1, BODY_MIN_RATE=1024)
    with live(world.app) as port:
        sock = stall(port, method, path, headers, len(body), body[:40])
        try:
            sock.settimeout(15)
            started = time.monotonic()
            received = b""
            while chunk := sock.recv(65536):  # the server answers, then closes: recv returns b"" at the end
                received += chunk
            elapsed = time.monotonic() - started
        finally:
            sock.close()
        head, _, payload = received.decode().partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 408"), received
        assert "application/problem+json" in head
        problem = json.loads(payload)
        assert problem["status"] == 408 and problem["type"].endswith("/request-timeout")
        assert elapsed < 10
        assert get(port, "/healthz")[0] == 200
    if kind == "bid upload chunk":
        uid = path.rsplit("/", 1)[1]
        assert world.bidders[0].api.get(f"/api/v1/uploads/{uid}").json["offset"] == 0


def test_a_slow_but_steady_body_is_not_cut_off(world: World) -> None:
    """The deadline moves on with every slice that arrives, even while storage asks for megabytes at once."""
    tender = create_published(world)
    bidder = world.bidders[0]
    data = seal(envelope_plaintext(form(1), {"技术方案.pdf": os.urandom(600_000)}), tender["recipient"])
    created = bidder.api.post(f"/api/v1/tenders/{tender['id']}/uploads", {"envelope": "bid", "size": len(data)})
    uid = created.json["id"]
    # 1 s of grace and 32 KiB/s at least; the client sends about 100 KiB/s, for about 6 s in all (storage reads
    # 256 KiB at a time: 2.5 s each)
    world.app.config.update(BODY_TIMEOUT=1, BODY_MIN_RATE=32 * 1024)
    headers = {
        "Authorization": f"Bearer {bidder.token}",
        "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}",
        "Content-Type": "application/octet-stream",
    }
    with live(world.app) as port:
        sock = stall(port, "PUT", f"/api/v1/uploads/{uid}", headers, len(data), b"")
        try:
            for start in range(0, len(data), 8 * 1024):
                sock.sendall(data[start : start + 8 * 1024])
                time.sleep(0.08)
            sock.settimeout(30)
            answer = sock.recv(65536).decode("latin-1")
        finally:
            sock.close()
    assert answer.startswith("HTTP/1.1 200"), answer
    assert bidder.api.get(f"/api/v1/uploads/{uid}").json["offset"] == len(data)
