"""Slow clients do not exhaust the web server: the processes `make run` starts (honcho -f Procfile: nginx from
deploy/nginx.conf in front of gunicorn gthread 2 x 8), 40 clients trickling their bodies and 10 their headers,
and /healthz still answers at once through the proxy. Before the proxy, 16 such clients took every gunicorn
thread and /healthz timed out."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HONCHO = str(Path(sys.executable).parent / "honcho")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, timeout: float) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """`honcho -f Procfile start web app` as `make run` starts them (the Procfile's venv is this one)."""
    tmp_path = tmp_path_factory.mktemp("make-run")
    if not Path(NGINX).exists():
        unavailable("nginx", f"{NGINX} is not installed")
    procfile = tmp_path / "Procfile"
    procfile.write_text((ROOT / "Procfile").read_text().replace(".venv/bin/", f"{Path(sys.executable).parent}/"))
    port = _free_port()
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {
        **os.environ,
        "APP_INSTANCE_PATH": str(instance),
        "PYTHONPATH": str(ROOT),
        "PATH": f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin",
        "FLASK_APP": "wsgi:app",
        "PORT": str(port),  # as `make run` passes them
        "APP_PORT": str(_free_port()),
    }
    env.pop("APP_DATABASE_URL", None)
    log = (tmp_path / "honcho.log").open("wb")
    proc = subprocess.Popen(
        [HONCHO, "-f", str(procfile), "-d", str(ROOT), "start", "web", "app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz", 2)[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the platform did not start:\n" + (tmp_path / "honcho.log").read_text()[-3000:])
            time.sleep(0.3)
        yield port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # honcho and the processes it started, in their own session
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.close()


def test_slow_clients_do_not_exhaust_the_platform_started_like_make_run(platform: int) -> None:
    port = platform
    stop = threading.Event()
    socks: list[socket.socket] = []

    def trickle_body() -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(sock)
        sock.sendall(
            b"POST /api/v1/auth/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        while not stop.wait(1.0):
            sock.sendall(b" ")

    def trickle_headers() -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        socks.append(sock)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        while not stop.wait(1.0):
            sock.sendall(b"X-Slow: 1\r\n")

    threads = [threading.Thread(target=trickle_body, daemon=True) for _ in range(40)]
    threads += [threading.Thread(target=trickle_headers, daemon=True) for _ in range(10)]
    for t in threads:
        t.start()
    try:
        time.sleep(2)  # every slow client is connected and has sent something
        times = []
        for _ in range(5):
            started = time.monotonic()
            status, _headers, body = _get(port, "/healthz", 5)
            times.append(time.monotonic() - started)
            assert status == 200 and json.loads(body)["status"] == "ok"
            time.sleep(0.5)
        assert max(times) < 2.0, times
        # the API still works for a real request with a body (buffered by the proxy, then passed on at once)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", "/api/v1/auth/tokens", body=b"{}", headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 422
        conn.close()
        # a body larger than the proxy's memory buffer goes through its disk buffer to the platform
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/api/v1/auth/tokens", body=b" " * 2_000_000, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.getheader("Content-Type") == "application/problem+json"
        # the platform's own answer (its JSON limit is 1 MiB), not the proxy's (whose body limit is 300 MiB)
        assert resp.status == 413 and "JSON request body" in json.loads(resp.read())["detail"]
        conn.close()
    finally:
        stop.set()
        for s in socks:
            s.close()


def test_the_proxy_answers_its_own_errors_as_problem_json_under_the_api(platform: int) -> None:
    status, headers, body = _get(platform, "/api/v1/tenders?q=" + "a" * 10_000, 5)
    assert status == 414
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 414
    status, headers, _body = _get(platform, "/api/v1/healthz-unknown", 5)
    assert status == 404 and headers["content-type"] == "application/problem+json"  # the platform's own
