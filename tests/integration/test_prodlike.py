"""The production topology under faults (issue 15 §3), the CI-sized scenario; bench/prodlike_faults.py runs the
full size (50 bidders, five experts) with the same code.

deploy/prodlike's `Topology` starts two gunicorn behind nginx (TLS, a self-signed certificate the clients
trust), two Celery workers, beat, a recorder, a private PostgreSQL cluster, Redis and SeaweedFS, APP_ENV=production.
Then, through nginx and the API only (the cast — organisations, users, tokens — is made through the services on
the same database, as an administrator would):

1. publish a tender; the bidders seal and upload their bids, spread over a rush window, while the harness kills
   one web process (SIGKILL of its process group; started again 8 s later, as systemd would) and stops S3 for
   `s3_outage` seconds;
2. the opening by the beat's sweep: the harness kills the worker running it as soon as the tender is `opening`
   (started again later); the other worker finishes it on the next sweep;
3. evaluation by the committee (drawn, seated, review, scoring, aggregation, the report signed by every member),
   publicity, the award — with PostgreSQL stopped and started once in the middle of the scoring.

Afterwards: every receipt verifies offline with its inclusion proof and the sealed file (`python -m crypto
verify-receipt`), the opening record's bids equal what a fault-free run must give (every bid, envelope, hash,
size and form as the bidders sent them, every envelope opened), the evidence log verifies (`flask audit verify`),
the recorder's segments of the session are contiguous, and the clients saw only retryable answers — 502/504 from
the proxy (a web process died under the request), 503 with Retry-After, 409 with the offset (with Retry-After when
another request was still writing the upload) — and recovered from each. One bidder's answer to a stored chunk is
lost on the way back: it starts that bid again from byte 0, is told with 409 where the server's copy ends, and
resumes there (asserted: the offset is the lost chunk's end, and the receipt verifies).

The legal periods are shortened by configuration (APP_TENDER_MIN_DAYS_TO_DEADLINE=0,
APP_EVALUATION_PUBLICITY_DAYS of a few seconds), the one difference from production's settings.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.scenario]


def load_topology_module() -> Any:
    spec = importlib.util.spec_from_file_location("prodlike", ROOT / "deploy" / "prodlike.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("prodlike", module)
    spec.loader.exec_module(module)
    return module


def note(msg: str) -> None:
    print(f"[scenario {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- the clients: a Flask-test-client look-alike over HTTPS that recovers from retryable answers ----------------


class Answer:
    def __init__(self, status: int, data: bytes, headers: Any) -> None:
        self.status_code = status
        self.data = data
        self.headers = headers
        self.mimetype = headers.get("Content-Type", "").split(";")[0].strip()

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.data)
        except ValueError:
            return {"raw": self.data[:200].decode(errors="replace")}


RETRYABLE = {502, 503, 504}


@dataclass
class Observed:
    """Every answer the clients saw that was not a success, by kind; and the ones a client must not see."""

    seen: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, violation: str | None = None) -> None:
        with self.lock:
            self.seen[kind] += 1
            if violation:
                self.violations.append(violation)


def _shape(path: str) -> str:
    path = path.split("?", maxsplit=1)[0]
    return re.sub(r"/(\d+|[0-9a-f]{16,}|[A-Za-z0-9_-]{20,})(?=/|$)", "/…", path)


class Http:
    """get/post/put/patch/delete(url, json=, data=, headers=) like Flask's test client, against nginx over TLS.

    Retryable answers are retried until `patience` seconds have passed: 502/504 (the proxy lost the web process
    under the request), 503 (it must carry Retry-After, which is honoured), 409 with Retry-After (another request
    holds the upload: honoured too); a connection error likewise. Each is counted in `observed`; a 5xx of another
    kind, or a 503 without Retry-After, is a violation."""

    def __init__(self, base: str, ca_file: str, observed: Observed, patience: float = 180.0) -> None:
        import requests

        self.base = base
        self.session = requests.Session()
        self.session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the topology's certificate
        self.ca_file = ca_file
        self.observed = observed
        self.patience = patience

    def open(self, method: str, url: str, **kw: Any) -> Answer:
        import requests

        deadline = time.monotonic() + self.patience
        while True:
            try:
                resp = self.session.request(method, self.base + url, timeout=300, verify=self.ca_file, **kw)
            except requests.ConnectionError as exc:
                self.observed.add(f"{method} {_shape(url)} connection-error")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{method} {url}: {exc}") from exc
                time.sleep(0.5)
                continue
            status = resp.status_code
            busy = status == 409 and "Retry-After" in resp.headers
            if status < 500 and not busy:
                return Answer(status, resp.content, resp.headers)
            kind = f"{method} {_shape(url)} {status}{' busy' if busy else ''}"
            wait = 0.5
            violation = None
            if status == 503 or busy:
                after = resp.headers.get("Retry-After")
                if after is None or not after.isdigit():
                    violation = f"{kind} without Retry-After: {resp.text[:200]}"
                else:
                    wait = min(float(after), 5.0)
            elif status not in RETRYABLE and not busy:
                violation = f"{kind}: {resp.text[:300]}"
            self.observed.add(kind, violation)
            if violation and status not in {503}:
                return Answer(status, resp.content, resp.headers)
            if time.monotonic() > deadline:
                return Answer(status, resp.content, resp.headers)
            time.sleep(wait)

    def get(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Answer:
        return self.open("GET", url, headers=headers, **kw)

    def post(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Answer:
        return self.open("POST", url, headers=headers, **kw)

    def put(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Answer:
        return self.open("PUT", url, headers=headers, **kw)

    def patch(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Answer:
        return self.open("PATCH", url, headers=headers, **kw)

    def delete(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Answer:
        return self.open("DELETE", url, headers=headers, **kw)


# --- the scenario -------------------------------------------------------------------------------------------------

PRICE, TECH, COMM = "投标报价", "技术方案", "商务及信誉"
CRITERIA = {
    "items": [
        {"name": PRICE, "category": "price", "weight": 30},
        {"name": TECH, "category": "technical", "weight": 50},
        {"name": COMM, "category": "commercial", "weight": 20},
    ],
    "outlier_percent": 30,
    "drop_extremes": True,
}


@dataclass
class Sizes:
    bidders: int = 8
    experts: int = 5  # a committee has at least five members
    bid_bytes: int = (5 << 20) + (300 << 10)  # two chunks on S3 (chunk_min 5 MiB)
    rush_window: float = 20.0  # the bidders start spread over this many seconds
    s3_outage: float = 10.0
    deadline_after: float = 150.0  # seconds from publication to the deadline (= the opening)


@dataclass
class Bidder:
    party: Any
    price: int
    sealed: bytes = b""
    plaintext: bytes = b""
    upload_id: str = ""
    answer: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    resumed_from_409: int = 0
    loses_an_answer: bool = False  # its first stored chunk's answer is lost: it starts again from byte 0
    lost_answer_resumed_at: int | None = None
    lost_stored_offset: int | None = None


class Scenario:
    def __init__(self, topo: Any, sizes: Sizes) -> None:
        self.topo = topo
        self.sizes = sizes
        self.observed = Observed()
        self.timings: dict[str, float] = {}
        self.faults: dict[str, Any] = {}
        self.http = Http(topo.url, str(topo.ca_file), self.observed)
        self.app = self._app()

    def _app(self) -> Any:
        """The platform on the topology's database and storage, for making the cast through the services."""
        for key, value in self.topo.env.items():
            if key.startswith("APP_"):
                os.environ[key] = value
        from app import create_app

        # Cheap password hashing for the cast only (every party authenticates with a token; experts sign with it).
        return create_app({"ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})

    # --- the cast ---------------------------------------------------------------------------------------------

    def cast(self) -> None:
        from tests import factories

        t0 = time.monotonic()
        app, client = self.app, self.http
        buyer = factories.organisation(app, name="邯郸市第一中学", kind="buyer", n=1)
        agency_org = factories.organisation(app, name="邯郸招标代理有限公司", kind="agency", n=2)
        self.world = factories.World(
            app=app,
            client=client,
            buyer_id=buyer,
            agency=factories.party(app, client, "agent", role="agency", org_id=agency_org),
            other_agency=factories.party(app, client, "agent2", role="agency", org_id=agency_org),
            anonymous=factories.Api(client, None),
        )
        self.world.admin = factories.party(app, client, "root", role="admin")
        self.world.auditor = factories.party(app, client, "auditor", role="auditor")
        self.bidders: list[Bidder] = []
        for i in range(self.sizes.bidders):
            org = factories.organisation(app, name=f"投标人{i + 1}建设有限公司", kind="bidder", n=10 + i)
            who = factories.party(app, client, f"bidder{i + 1}", role="bidder", org_id=org)
            self.bidders.append(Bidder(who, price=1_000_000 - 7_000 * i, loses_an_answer=i == 1))
        self.pool = factories.Pool()
        employer = factories.organisation(app, name="邯郸市设计研究院", kind="other", n=90)
        for i in range(self.sizes.experts + 1):
            expert_id, who = factories.expert(self.world, f"expert{i + 1}", specialties=["civil"], employer_id=employer)
            self.pool.experts[expert_id] = who
            self.pool.by_user[who.user_id] = who
        self.timings["cast_s"] = time.monotonic() - t0

    # --- publish, seal, the rush under faults ------------------------------------------------------------------

    def publish(self) -> None:
        from app.core.time import now_utc
        from tests import factories

        at = now_utc() + timedelta(seconds=self.sizes.deadline_after)
        self.tender = factories.published_tender(
            self.world,
            title="邯郸市第一中学教学楼改造工程（故障演练）",
            submission_deadline_at=at.isoformat(),
            opening_at=at.isoformat(),
            min_bids=1,
            criteria=CRITERIA,
            max_bid_size=self.sizes.bid_bytes + (1 << 20),
        )
        self.tid = int(self.tender["id"])
        self.opening_at = at
        note(f"tender {self.tid} published; deadline and opening at {at:%H:%M:%S} UTC")

    def seal(self) -> None:
        from tests import factories

        t0 = time.monotonic()
        for i, b in enumerate(self.bidders):
            filler = hashlib.sha256(f"bid{i}".encode()).digest() * (self.sizes.bid_bytes // 32)
            b.plaintext = factories.envelope(factories.bid_form(b.price), {"技术方案.bin": filler})
            b.sealed = factories.seal(b.plaintext, self.tender["recipient"])
        self.timings["seal_s"] = time.monotonic() - t0

    def upload(self, b: Bidder) -> None:
        api = b.party.api
        tid = self.tid
        t0 = time.monotonic()
        data = b.sealed
        started = api.post(f"/api/v1/tenders/{tid}/uploads", {"envelope": "bid", "size": len(data)})
        assert started.status_code == 201, started.json
        b.upload_id = uid = started.json["id"]
        chunk = started.json["chunk_min"]
        offset = 0
        while offset < len(data):
            part = data[offset : offset + chunk]
            headers = {
                "Content-Range": f"bytes {offset}-{offset + len(part) - 1}/{len(data)}",
                "Content-Type": "application/octet-stream",
            }
            put = api.put(f"/api/v1/uploads/{uid}", part, headers)
            if put.status_code == 409:  # the platform names the offset to resume from
                assert isinstance(put.json.get("offset"), int), put.json
                self.observed.add("PUT /api/v1/uploads/… 409 (resumed at the offset)")
                b.resumed_from_409 += 1
                if b.loses_an_answer and b.lost_answer_resumed_at is None:
                    b.lost_answer_resumed_at = put.json["offset"]
                offset = put.json["offset"]
                continue
            assert put.status_code == 200, (put.status_code, put.json)
            if b.loses_an_answer and offset == 0 and b.lost_answer_resumed_at is None:
                # The chunk is stored, but its answer never reaches the client (a connection cut on the way back):
                # the client knows nothing, so it starts again from byte 0, now as large a first chunk as allowed.
                b.lost_stored_offset = put.json["offset"]
                chunk = min(len(data), started.json["chunk_max"])
                continue
            offset = put.json["offset"]
        done = api.post(f"/api/v1/uploads/{uid}/complete")
        assert done.status_code == 200, done.json
        assert done.json["sha256"] == hashlib.sha256(data).hexdigest()
        submitted = api.post(f"/api/v1/tenders/{tid}/bid", {"uploads": {"bid": uid}})
        assert submitted.status_code == 201, submitted.json
        b.answer = submitted.json
        b.seconds = time.monotonic() - t0

    def rush(self) -> None:
        sizes = self.sizes
        go = time.monotonic()
        errors: list[BaseException] = []

        def one(i: int) -> None:
            time.sleep(i * sizes.rush_window / max(1, sizes.bidders))
            try:
                self.upload(self.bidders[i])
            except BaseException as exc:
                errors.append(exc)
                raise

        def faults() -> None:
            time.sleep(1.0)
            note("fault: kill web1 (SIGKILL of its process group)")
            self.topo.kill_web(0)
            self.faults["web_killed_at_s"] = round(time.monotonic() - go, 1)
            time.sleep(2.0)
            note(f"fault: stop S3 for {sizes.s3_outage:.0f} s")
            t_stop = time.monotonic()
            self.topo.stop_s3()
            stopped = time.monotonic()
            self.faults["s3_stopped_at_s"] = round(stopped - go, 1)
            time.sleep(max(0.0, sizes.s3_outage - (stopped - t_stop)))
            self.topo.start_s3()
            self.faults["s3_down_s"] = round(time.monotonic() - t_stop, 1)
            note(f"S3 back after {self.faults['s3_down_s']} s")
            since = time.monotonic() - self.faults["web_killed_at_s"] - go
            time.sleep(max(0.0, 8.0 - since))
            self.topo.start_web(0)
            note("web1 started again")

        with cf.ThreadPoolExecutor(max_workers=min(sizes.bidders, 16) + 1) as pool:
            fault = pool.submit(faults)
            futures = [pool.submit(one, i) for i in range(sizes.bidders)]
            cf.wait([*futures, fault])
        fault.result()
        assert not errors, errors[:3]
        self.timings["rush_s"] = time.monotonic() - go
        times = sorted(b.seconds for b in self.bidders)
        self.timings["bid_p50_s"] = times[len(times) // 2]
        self.timings["bid_max_s"] = times[-1]

    # --- the opening, a worker killed in the middle -------------------------------------------------------------

    def tender_status(self) -> tuple[str, int]:
        from sqlalchemy import func, select

        from app.extensions import db
        from app.tendering.models import Bid, BidEnvelope, BidVersion, Tender

        with self.app.app_context():
            try:
                tender = db.session.get(Tender, self.tid)
                assert tender is not None
                done = db.session.scalar(
                    select(func.count())
                    .select_from(BidEnvelope)
                    .join(BidVersion, BidEnvelope.version_id == BidVersion.id)
                    .join(Bid, BidVersion.bid_id == Bid.id)
                    .where(Bid.tender_id == self.tid, BidEnvelope.outcome != "sealed")
                )
                return tender.status.value, int(done or 0)
            finally:
                db.session.remove()

    def worker_running_the_opening(self) -> int:
        """The worker whose log last received tendering.open_due (each logs the tasks it receives)."""
        latest: tuple[str, int] = ("", 1)
        for i in (1, 2):
            text = self.topo.procs[f"worker{i}"].log_path.read_text(errors="replace")
            for line in text.splitlines():
                if "tendering.open_due" in line and "received" in line and line[:24] > latest[0]:
                    latest = (line[:24], i)
        return latest[1]

    def opening(self) -> None:
        from app.core.time import now_utc

        wait = (self.opening_at - now_utc()).total_seconds()
        note(f"waiting {max(0, wait):.0f} s for the opening instant")
        time.sleep(max(0.0, wait))
        t0 = time.monotonic()
        deadline = t0 + 120
        status, done = self.tender_status()
        while status == "published" and time.monotonic() < deadline:
            time.sleep(0.05)
            status, done = self.tender_status()
        assert status == "opening", status
        victim = self.worker_running_the_opening()
        self.topo.kill_worker(victim)
        killed_at = time.monotonic()
        self.faults["worker_killed"] = f"worker{victim}"
        self.faults["envelopes_opened_when_killed"] = f"{done}/{self.sizes.bidders}"
        note(f"fault: killed worker{victim} in the opening ({done}/{self.sizes.bidders} envelopes had an outcome)")
        restarted = False
        while time.monotonic() < deadline + 120:
            status, done = self.tender_status()
            if status != "opening":
                break
            if not restarted and time.monotonic() - killed_at > 40:
                self.topo.start_worker(victim)  # as systemd would; the other worker may have finished already
                restarted = True
            time.sleep(0.2)
        assert status == "opened", (status, done)
        self.timings["opening_s"] = time.monotonic() - t0
        self.faults["opening_record_published_by"] = [
            f"worker{i}"
            for i in (1, 2)
            if "'records': 1" in self.topo.procs[f"worker{i}"].log_path.read_text(errors="replace")
        ]
        if not restarted:
            self.topo.start_worker(victim)

    # --- evaluation, PostgreSQL restarted in the middle; publicity; award ---------------------------------------

    def evaluation(self) -> None:
        from tests import factories

        tid, agency = self.tid, self.world.agency.api
        t0 = time.monotonic()
        n = self.sizes.experts
        body = {"size": n, "expert_seats": n, "groups": [], "reserves_per_group": 1, "buyer_rep_ids": []}
        defined = factories.put_json(self.world.agency, f"/api/v1/tenders/{tid}/committee", body)
        assert defined.status_code == 200, defined.json
        factories.draw(self.world, tid)
        members = factories.seat_everyone(self.world, tid, self.pool, self.world.agency)
        assert sorted(members) == list(range(1, n + 1))
        opened = agency.post(f"/api/v1/tenders/{tid}/rooms", {"stage": 1, "chair_seat": 1, "objective": [COMM]})
        assert opened.status_code == 201, opened.json
        bid_ids = opened.json["bid_ids"]
        assert len(bid_ids) == self.sizes.bidders
        base = f"/api/v1/tenders/{tid}/rooms/1"
        for who in members.values():
            verdicts = [
                {"bid_id": b, "requirement": r, "passed": True, "reason": ""}
                for b in bid_ids
                for r in ("资格审查", "符合性审查")
            ]
            assert factories.put_json(who, f"{base}/review", {"verdicts": verdicts}).status_code == 200
            assert who.api.post(f"{base}/review/submit").status_code == 200
        closed = members[1].api.post(f"{base}/review/close")
        assert closed.status_code == 200 and closed.json["phase"] == "scoring", closed.json

        sheets = [(seat, k, b) for seat in members for k, b in enumerate(bid_ids)]
        restart_after = len(sheets) // 2
        restarter: threading.Thread | None = None
        for count, (seat, k, bid) in enumerate(sheets):
            if count == restart_after:

                def restart() -> None:
                    note("fault: restart PostgreSQL")
                    self.faults["postgres_down_s"] = round(self.topo.restart_postgres(), 1)
                    note(f"PostgreSQL back after {self.faults['postgres_down_s']} s")

                restarter = threading.Thread(target=restart)
                restarter.start()
            items = {TECH: 40 + (k % 5) + seat % 2, COMM: 15}
            who = members[seat]
            saved = factories.put_json(who, f"{base}/sheets/{bid}", {"items": items, "reasons": {}})
            assert saved.status_code == 200, saved.json
            submitted = who.api.post(f"{base}/sheets/{bid}/submit")
            assert submitted.status_code == 200, submitted.json
        assert restarter is not None
        restarter.join()
        aggregated = members[1].api.post(f"{base}/aggregate")
        assert aggregated.status_code == 200, aggregated.json
        drawn_up = members[1].api.post(f"/api/v1/tenders/{tid}/evaluation/report", {})
        assert drawn_up.status_code == 201, drawn_up.json
        sha = drawn_up.json["report_sha256"]
        for who in members.values():
            signed = who.api.post(
                f"/api/v1/tenders/{tid}/evaluation/report/signatures",
                {"report_sha256": sha, "password": factories.PASSWORD},
            )
            assert signed.status_code == 201, signed.json
        self.ranking = drawn_up.json["report"]["ranking"]
        ev = f"/api/v1/tenders/{tid}/evaluation"
        published = agency.post(f"{ev}/publicity", {})
        assert published.status_code == 200, published.json
        self.timings["evaluation_s"] = time.monotonic() - t0
        ends = published.json.get("publicity_ends_at") or published.json.get("ends_at")
        note(f"publicity until {ends}")
        deadline = time.monotonic() + 120
        while True:
            awarded = agency.post(f"{ev}/award")
            if awarded.status_code == 201 or time.monotonic() > deadline:
                break
            assert awarded.status_code == 409, awarded.json  # publicity not over yet
            time.sleep(1.0)
        assert awarded.status_code == 201, awarded.json
        self.award = awarded.json["document"]["payload"]
        assert self.award["winner"]["bid_id"] == self.ranking[0]["bid_id"]
        status = self.world.anonymous.get(f"/api/v1/tenders/{tid}") if self.world.anonymous else None
        assert status is not None and status.json["status"] == "awarded"

    # --- afterwards ---------------------------------------------------------------------------------------------

    def verify_receipts(self, work: Path) -> int:
        keys = self.http.get("/api/v1/keys").json["keys"]
        key_file = work / "platform.pub"
        key_file.write_text(keys[0]["public_key"])
        deadline = time.monotonic() + 120
        verified = 0
        for i, b in enumerate(self.bidders):
            while True:
                own = b.party.api.get(f"/api/v1/tenders/{self.tid}/bid")
                assert own.status_code == 200, own.json
                version = own.json["versions"][-1]
                if version["proof"] is not None or time.monotonic() > deadline:
                    break
                time.sleep(2.0)
            assert version["receipt"] == b.answer["receipt"]
            receipt = work / f"receipt{i}.json"
            receipt.write_text(json.dumps({"receipt": version["receipt"], "proof": version["proof"]}))
            sealed = work / f"bid{i}.age"
            sealed.write_bytes(b.sealed)
            out = subprocess.run(
                [sys.executable, "-m", "crypto", "verify-receipt", str(receipt), "--key", str(key_file),
                 "--file", str(sealed), "--envelope", "bid", "--require-proof"],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
            assert out.returncode == 0, out.stdout + out.stderr
            verified += 1
        return verified

    def expected_opening_bids(self) -> list[dict[str, Any]]:
        """What the record must say of every bid in any run, faults or not: computed from what was sent."""
        rows = []
        for b in self.bidders:
            rows.append(
                {
                    "organisation_id": b.party.org_id,
                    "commitment": b.answer["receipt"]["payload"]["commitment"],
                    "outcome": "valid",
                    "envelopes": [
                        {
                            "name": "bid",
                            "sha256": hashlib.sha256(b.sealed).hexdigest(),
                            "size": len(b.sealed),
                            "outcome": "opened",
                            "plaintext_sha256": hashlib.sha256(b.plaintext).hexdigest(),
                        }
                    ],
                    "form": {"price": b.price, "currency": "CNY", "duration_days": 90},
                }
            )
        return sorted(rows, key=lambda r: r["organisation_id"])

    def recorded_opening_bids(self) -> list[dict[str, Any]]:
        records = self.world.agency.api.get(f"/api/v1/tenders/{self.tid}/opening-records")
        assert records.status_code == 200, records.json
        (record,) = records.json
        rows = []
        for bid in record["payload"]["bids"]:
            rows.append(
                {
                    "organisation_id": bid["bidder"]["organisation_id"],
                    "commitment": bid["receipt"]["commitment"],
                    "outcome": bid["outcome"],
                    "envelopes": [
                        {k: e[k] for k in ("name", "sha256", "size", "outcome", "plaintext_sha256")}
                        for e in bid["envelopes"]
                    ],
                    "form": {k: bid["form"][k] for k in ("price", "currency", "duration_days")},
                }
            )
        return sorted(rows, key=lambda r: r["organisation_id"])

    def verify_log(self) -> str:
        out = self.topo.flask("audit", "verify", check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout.strip()

    def recording_segments(self) -> dict[str, Any]:
        """The recorder's sessions in the room: their segments' sequence numbers have no gap, and every segment
        was stored (uploaded after S3 came back if it was made while S3 was down)."""
        from sqlalchemy import select

        from app.extensions import db
        from app.recordings.models import RecordingGap, RecordingSegment, RecordingSession

        deadline = time.monotonic() + 90
        while True:
            with self.app.app_context():
                sessions = db.session.scalars(select(RecordingSession).order_by(RecordingSession.id)).all()
                summary: dict[str, Any] = {}
                for session in sessions:
                    segments = db.session.scalars(
                        select(RecordingSegment)
                        .where(RecordingSegment.session_id == session.id)
                        .order_by(RecordingSegment.sequence)
                    ).all()
                    numbers = [s.sequence for s in segments]
                    gaps = [(a, b) for a, b in itertools.pairwise(numbers) if b != a + 1]
                    marked = db.session.scalars(
                        select(RecordingGap.after_sequence).where(RecordingGap.session_id == session.id)
                    ).all()
                    summary[session.key] = {
                        "status": session.status.value,
                        "segments": len(numbers),
                        "sequence_gaps": gaps,
                        "marked_gaps_after": sorted(marked),
                    }
                db.session.remove()
            spool = list((self.topo.state / "instance" / "recording-spool").rglob("*.ts"))
            if not spool or time.monotonic() > deadline:
                summary["spooled_not_uploaded"] = len(spool)
                return summary
            time.sleep(2.0)

    def report(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes.__dict__,
            "timings_s": {k: round(v, 1) for k, v in self.timings.items()},
            "faults": self.faults,
            "client_answers_other_than_success": dict(self.observed.seen),
            "violations": self.observed.violations,
            "resumed_from_409": sum(b.resumed_from_409 for b in self.bidders),
            "lost_answer": [
                {"stored_to": b.lost_stored_offset, "told_to_resume_at": b.lost_answer_resumed_at}
                for b in self.bidders
                if b.loses_an_answer
            ],
        }


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Any]:
    from tests.integration.s3 import find_weed
    from tests.services import unavailable

    prodlike = load_topology_module()
    missing = [
        what
        for what, ok in (
            ("PostgreSQL server binaries", (prodlike.PG_BIN / "pg_ctl").exists()),
            ("redis-server", bool(shutil_which("redis-server"))),
            ("nginx", bool(shutil_which("nginx") or Path("/usr/sbin/nginx").exists())),
            ("weed", find_weed() is not None),
        )
        if not ok
    ]
    if missing:
        unavailable("the production topology", "missing: " + ", ".join(missing))
    env = {"APP_TENDER_MIN_DAYS_TO_DEADLINE": "0", "APP_EVALUATION_PUBLICITY_DAYS": str(10 / 86400)}
    topo = prodlike.Topology(tmp_path / "prodlike", env=env)
    saved = dict(os.environ)
    try:
        topo.start()
        yield topo
    finally:
        topo.stop()
        os.environ.clear()
        os.environ.update(saved)


def shutil_which(name: str) -> str | None:
    import shutil

    return shutil.which(name)


def run_scenario(topo: Any, sizes: Sizes, work: Path) -> dict[str, Any]:
    scenario = Scenario(topo, sizes)
    scenario.cast()
    scenario.publish()
    scenario.seal()
    scenario.rush()
    note(f"rush done in {scenario.timings['rush_s']:.1f} s; answers seen: {dict(scenario.observed.seen)}")
    scenario.opening()
    note(f"opened in {scenario.timings['opening_s']:.1f} s after the instant")
    assert scenario.recorded_opening_bids() == scenario.expected_opening_bids()
    scenario.evaluation()
    note(f"awarded; evaluation took {scenario.timings['evaluation_s']:.1f} s")
    work.mkdir(parents=True, exist_ok=True)
    verified = scenario.verify_receipts(work)
    assert verified == sizes.bidders
    log_state = scenario.verify_log()
    result = scenario.report()
    result["receipts_verified"] = verified
    result["audit_verify"] = log_state
    result["recording"] = scenario.recording_segments()
    assert scenario.observed.violations == [], scenario.observed.violations
    # the client whose stored chunk's answer was lost resumed exactly where the server's copy ended (its receipt,
    # verified above with the sealed file, shows the bytes are the ones it sealed)
    assert result["lost_answer"], "no bidder lost an answer"
    for lost in result["lost_answer"]:
        assert lost["stored_to"] is not None and lost["stored_to"] > 0, lost
        assert lost["told_to_resume_at"] == lost["stored_to"], lost
    assert scenario.observed.seen, "no fault was visible to any client: the scenario did not exercise them"
    return result


@pytest.mark.timeout(1800)
def test_the_platform_under_faults(topology: Any, tmp_path: Path) -> None:
    result = run_scenario(topology, Sizes(), tmp_path / "verify")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    for name, session in result["recording"].items():
        if name != "spooled_not_uploaded":
            assert session["sequence_gaps"] == [], (name, session)
    assert result["recording"]["spooled_not_uploaded"] == 0
