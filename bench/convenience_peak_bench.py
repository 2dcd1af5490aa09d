"""A peak day on the convenience floor, on the production-like stack, compressed in time.

    .venv/bin/python bench/convenience_peak_bench.py [--tickets 10000] [--windows 30] [--hotline 2000]
                                                     [--clients 12] [--rate 25] [--hold 0.2] [--paced 30]

Not part of the test run; prints figures. Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres),
Redis (the broker's database 14) and the `weed` binary (the stack of bench/bid_bench.py, reused); everything is
torn down afterwards.

gunicorn (2 workers × 8 threads) on a fresh PostgreSQL database serves a floor of the demo's window groups with
--windows windows open around the clock (so the bench does not depend on the hour), one window-staff account
signed on at each through the API's bearer tokens. Then, all at once:
- --clients kiosk clients take --tickets tickets through POST /api/v1/convenience/tickets at --rate a second
  (the day's 10,000 in about seven minutes: some 70 times the pace of a real peak day's average), services
  weighted like a real hall (most to social security and household registration); a ticket's time counts from
  its due instant, so a server falling behind shows in the figures (open loop);
- each window calls the next ticket, holds it --hold seconds (the visit), marks it served, and again, until all
  tickets are served;
- four hotline operators file --hotline requests through the console's API (/api/v1/convenience/interaction/hotline)
  beside the rush;
- one hall display follows /convenience/display/stream (Server-Sent Events, reconnecting with Last-Event-ID).
Reported: p50/p99/max of ticket issue and of call (targets p99 < 200 ms), errors by kind, how many calls the
display showed and after how long; then a paced phase (--paced calls one every 0.5 s, the hall quiet otherwise)
gives the display latency a person in the hall sees. Checked afterwards in the database: every 201 is one
ticket, numbers per group are 1…n with no gap and no duplicate, every ticket was called once and served once,
and the evidence log holds one issue, one call and one serve entry per ticket. Nothing lost, nothing twice.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bid_bench import Gunicorn, Stack, log  # noqa: E402

# Services of the demo floor with a weight each: a hall's day is mostly social security and household papers.
WEIGHTS = {"SI-001": 30, "SI-002": 15, "HR-001": 20, "HR-002": 10, "HF-001": 10, "UT-001": 5, "TX-001": 5, "GN-001": 5}
ALL_DAY = [{"weekday": d, "opens_at": "00:00", "closes_at": "23:59"} for d in range(7)]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def ms(values: list[float]) -> str:
    if not values:
        return "no samples"
    return (
        f"p50 {pct(values, 50) * 1000:.1f} ms, p99 {pct(values, 99) * 1000:.1f} ms, "
        f"max {max(values) * 1000:.1f} ms (n={len(values)})"
    )


class Client:
    """One keep-alive HTTP connection (a kiosk, a window's computer)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any, float]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body or {}).encode()
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        elapsed = time.perf_counter() - started
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw[:200]
        return resp.status, payload, elapsed


class Display(threading.Thread):
    """The hall display: follows the stream and notes when each (ticket, call) first appeared."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.seen: dict[tuple[str, int], float] = {}
        self.stop = threading.Event()
        self.last_id = ""

    def run(self) -> None:
        while not self.stop.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            headers = {"Accept": "text/event-stream"}
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            try:
                conn.request("GET", "/convenience/display/stream", headers=headers)
                resp = conn.getresponse()
                data = ""
                for raw in resp:
                    line = raw.decode("utf-8").rstrip("\n")
                    if line.startswith("id: "):
                        self.last_id = line[4:]
                    elif line.startswith("data: "):
                        data = line[6:]
                    elif line == "" and data:
                        now = time.time()
                        for call in json.loads(data)["calls"]:
                            self.seen.setdefault((call["number"], call["call"]), now)
                        data = ""
                    if self.stop.is_set():
                        break
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.2)
            finally:
                conn.close()


def build_floor(windows: int) -> dict[str, Any]:
    demo = json.loads((ROOT / "app/convenience/demo_floor.json").read_text(encoding="utf-8"))
    groups = [g["code"] for g in demo["groups"]]
    demand = Counter()
    by_code = {s["code"]: s for s in demo["services"]}
    for code, weight in WEIGHTS.items():
        demand[by_code[code]["group"]] += weight
    # windows per group in proportion to demand, at least one each
    share = {g: max(1, round(windows * demand[g] / sum(demand.values()))) for g in groups}
    while sum(share.values()) > windows:
        share[max(share, key=lambda g: share[g])] -= 1
    while sum(share.values()) < windows:
        share[max(demand, key=lambda g: demand[g] / share[g])] += 1
    out, n = [], 0
    for group in groups:
        for _ in range(share[group]):
            n += 1
            out.append({"number": f"{n:02d}", "name": f"{n:02d}号窗口", "group": group, "plans": ALL_DAY})
    return {"groups": demo["groups"], "services": demo["services"], "windows": out}


def setup(stack: Stack, windows: int, hotline: int) -> tuple[list[tuple[int, str]], list[str]]:
    """The floor, one signed-on staff member per window (their tokens), and hotline operators' tokens."""
    os.environ.update({k: v for k, v in stack.env.items() if k.startswith("APP_")})
    from app import create_app

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    app = create_app({"ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 8, "parallelism": 1}})
    staff: list[tuple[int, str]] = []
    operators: list[str] = []
    with app.app_context():
        from sqlalchemy import select

        from app.accounts import services_tokens, services_users
        from app.accounts.models import Role
        from app.convenience import services
        from app.convenience.models import Window
        from app.extensions import db

        services.load_floor(build_floor(windows), actor="system:bench", source="bench")
        db.session.flush()
        for window in db.session.scalars(select(Window).order_by(Window.number)):
            user = services_users.create_user(
                actor="system:bench",
                username=f"window{window.number}",
                display_name=f"窗口{window.number}",
                password=f"bench-{window.number}-password-long",
                roles=["window_staff"],
            )
            services.assign_staff(actor="system:bench", window_id=window.id, user_id=user.id)
            services.sign_on(actor=user, window_id=window.id)
            _row, token = services_tokens.create_token(user=user, name="bench", scopes=["convenience.*"])
            staff.append((window.id, token))
        operator_role = next(
            (r.name for r in db.session.scalars(select(Role)) if r.name == "hotline_operator"),
            None,
        )
        if hotline and operator_role:
            for i in range(4):
                user = services_users.create_user(
                    actor="system:bench",
                    username=f"operator{i}",
                    display_name=f"话务员{i}",
                    password=f"bench-operator-{i}-password",
                    roles=[operator_role],
                )
                operators.append(services_tokens.create_token(user=user, name="bench", scopes=["*"])[1])
        db.session.commit()
    return staff, operators


def verify(stack: Stack, issued: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from app import create_app
    from app.audit.models import AuditEntry
    from app.convenience.models import Ticket, TicketStatus
    from app.extensions import db

    app = create_app()
    with app.app_context():
        rows = db.session.execute(select(Ticket.group_id, Ticket.sequence, Ticket.status, Ticket.call_count)).all()
        by_group: dict[int, list[int]] = {}
        for group_id, sequence, _status, _calls in rows:
            by_group.setdefault(group_id, []).append(sequence)
        gaps_or_duplicates = sum(1 for seqs in by_group.values() if sorted(seqs) != list(range(1, len(seqs) + 1)))
        actions = dict(
            db.session.execute(
                select(AuditEntry.action, func.count())
                .where(
                    AuditEntry.action.in_(
                        ["convenience.ticket_issued", "convenience.ticket_called", "convenience.ticket_served"]
                    )
                )
                .group_by(AuditEntry.action)
            ).all()
        )
        return {
            "tickets": len(rows),
            "issued_201": issued,
            "served": sum(1 for r in rows if r[2] == TicketStatus.SERVED),
            "called_once": sum(1 for r in rows if r[3] == 1),
            "groups_with_gap_or_duplicate": gaps_or_duplicates,
            "log": actions,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10000)
    parser.add_argument("--windows", type=int, default=30)
    parser.add_argument("--hotline", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument(
        "--rate", type=float, default=25.0, help="tickets a second (arrivals at a fixed pace; 0: as fast as possible)"
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=1.0,
        help="seconds a window keeps a ticket called (the visit, compressed as the day is)",
    )
    parser.add_argument("--paced", type=int, default=30, help="calls of the paced display-latency phase")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="peak-bench-"))
    stack = Stack(work)
    server = None
    try:
        stack.start()
        staff, operators = setup(stack, args.windows, args.hotline)
        server = Gunicorn(stack, workers=2, threads=8, name="peak")
        port = server.port
        display = Display(port)
        display.start()

        codes = list(WEIGHTS)
        weights = [WEIGHTS[c] for c in codes]
        rng = random.Random(7)
        plan = rng.choices(codes, weights=weights, k=args.tickets)
        issue_times: list[float] = []
        call_times: list[float] = []
        hotline_times: list[float] = []
        errors: Counter[str] = Counter()
        calls_at: dict[tuple[str, int], float] = {}
        issued = [0]
        lock = threading.Lock()
        next_index = [0]
        done_issuing = threading.Event()

        def kiosk() -> None:
            client = Client(port)
            while True:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(plan):
                    return
                due = started + i / args.rate if args.rate else time.monotonic()
                if (wait := due - time.monotonic()) > 0:
                    time.sleep(wait)
                status, _body, _elapsed = client.post(
                    "/api/v1/convenience/tickets", {"service": plan[i], "channel": "kiosk"}
                )
                elapsed = time.monotonic() - due  # from when the visitor pressed the button (open loop)
                with lock:
                    if status == 201:
                        issued[0] += 1
                        issue_times.append(elapsed)
                    else:
                        errors[f"issue {status}"] += 1

        served = [0]

        def window(window_id: int, token: str) -> None:
            client = Client(port, token)
            idle_since: float | None = None
            while True:
                status, body, elapsed = client.post(f"/api/v1/convenience/windows/{window_id}/call")
                if status == 200:
                    idle_since = None
                    with lock:
                        call_times.append(elapsed)
                    current = (body or {}).get("current") or {}
                    if current.get("number"):
                        calls_at[(current["number"], int(current.get("call_count", 1)))] = time.time()
                    time.sleep(args.hold)
                    status, _b, _e = client.post(f"/api/v1/convenience/windows/{window_id}/serve")
                    with lock:
                        if status == 200:
                            served[0] += 1
                        else:
                            errors[f"serve {status}"] += 1
                elif status == 409:  # nobody waiting for this window (yet)
                    if done_issuing.is_set():
                        idle_since = idle_since or time.monotonic()
                        if time.monotonic() - idle_since > 3:
                            return
                    time.sleep(0.05)
                else:
                    with lock:
                        errors[f"call {status}"] += 1
                    time.sleep(0.1)

        def operator(token: str, count: int, offset: int) -> None:
            client = Client(port, token)
            span = args.tickets / args.rate if args.rate else 60.0  # spread over the rush
            for i in range(count):
                if (wait := started + i * span / count - time.monotonic()) > 0:
                    time.sleep(wait)
                status, _b, elapsed = client.post(
                    "/api/v1/convenience/interaction/hotline",
                    {
                        "kind": rng.choice(["consultation", "complaint", "suggestion", "help"]),
                        "category": rng.choice(["social-security", "housing", "utilities", "window-service"]),
                        "name": "张先生",
                        "phone": f"138{offset + i:08d}",
                        "body": "咨询社保卡补办需要带哪些材料，办理时间多长。",
                    },
                )
                with lock:
                    if status in (200, 201):
                        hotline_times.append(elapsed)
                    else:
                        errors[f"hotline {status}"] += 1

        log(f"rush: {args.tickets} tickets at {args.rate or 'full'}/s by {args.clients} kiosks, {len(staff)} windows")
        started = time.monotonic()
        with ThreadPoolExecutor(args.clients + len(staff) + max(1, len(operators))) as pool:
            windows_done = [pool.submit(window, wid, tok) for wid, tok in staff]
            hotline_done = []
            if operators and args.hotline:
                per = args.hotline // len(operators)
                hotline_done = [pool.submit(operator, t, per, 10000 * n) for n, t in enumerate(operators)]
            kiosks = [pool.submit(kiosk) for _ in range(args.clients)]
            for f in kiosks:
                f.result()
            issuing_wall = time.monotonic() - started
            done_issuing.set()
            for f in windows_done + hotline_done:
                f.result()
        wall = time.monotonic() - started
        time.sleep(1)
        rush_seen = [display.seen[k] - t for k, t in calls_at.items() if k in display.seen]

        # paced: one call every 0.5 s on an otherwise quiet hall: the latency a person in the hall sees
        log(f"paced: {args.paced} calls, one every 0.5 s")
        paced: list[float] = []
        kiosk_client = Client(port)
        wid, token = staff[0]
        window_client = Client(port, token)
        from_service = next(c for c in codes if c.startswith("SI"))
        for _ in range(args.paced):
            kiosk_client.post("/api/v1/convenience/tickets", {"service": from_service, "channel": "kiosk"})
            _status, body, _e = window_client.post(f"/api/v1/convenience/windows/{wid}/call")
            returned = time.time()
            current = (body or {}).get("current") or {}
            key = (str(current.get("number")), int(current.get("call_count", 1)))
            deadline = time.monotonic() + 5
            while key not in display.seen and time.monotonic() < deadline:
                time.sleep(0.005)
            if key in display.seen:
                paced.append(max(0.0, display.seen[key] - returned))
            window_client.post(f"/api/v1/convenience/windows/{wid}/serve")
            time.sleep(0.5)
        display.stop.set()

        checked = verify(stack, issued[0] + args.paced)
        print()
        print(f"peak day: {args.tickets} tickets, {len(staff)} windows, {len(hotline_times)} hotline requests")
        print(f"  wall {wall:.1f} s (issuing {issuing_wall:.1f} s: {issued[0] / issuing_wall:.0f} tickets/s)")
        print(f"  ticket issue: {ms(issue_times)}")
        print(f"  call next:    {ms(call_times)}")
        if hotline_times:
            print(f"  hotline request: {ms(hotline_times)}")
        elif args.hotline:
            print("  hotline: the interaction platform's API is not there (no hotline role); not measured")
        print(f"  display during the rush: showed {len(rush_seen)} of {len(calls_at)} calls, {ms(rush_seen)}")
        print(f"  display, paced calls: {ms(paced)}")
        print(f"  errors: {dict(errors) or 'none'}")
        print(f"  database: {checked}")
        ok = (
            checked["tickets"] == checked["issued_201"] == checked["served"] == checked["called_once"]
            and checked["groups_with_gap_or_duplicate"] == 0
            and all(
                checked["log"].get(a, 0) == checked["tickets"]
                for a in ("convenience.ticket_issued", "convenience.ticket_called", "convenience.ticket_served")
            )
        )
        print(f"  nothing lost or duplicated: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    finally:
        if server is not None:
            server.stop()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
