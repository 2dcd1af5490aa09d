"""The supervision lights sweep over N monitored items on PostgreSQL: seconds for a first sweep and a steady one.

    .venv/bin/python bench/supervision_sweep_bench.py [--items 100000] [--backend postgresql|sqlite]

Not part of the test run; prints figures. The issue's target: the sweep over 100,000 monitored items in < 10 s.

A fresh database is built through the migrations (PostgreSQL: a new database on 127.0.0.1:5432, trust auth, dropped
at the end), the working-day calendar is seeded (chinesecalendar) and the default rules with it, and N items are
inserted in bulk: a mix of the three floors as the ingest makes them — permits desk decisions counted in working
days (due 0–6 working days ahead, some overdue), convenience tickets due in minutes, tender milestones due in hours
or days — about 15 % closed (a third of those late). Then the sweep as the beat runs it (one transaction,
committed): the first run fires the lights due (signals inserted, one evidence-log entry per batch); the second, at
the same instant, re-reads every open item and fires nothing (the steady state of every minute of the day).
Both times are printed, with the signals fired and a check that the second run created none. The clock stands
still at the instant the items were made (app.core.time.FakeClock): on a loaded machine a slow first sweep would
otherwise let the second one see tickets fall due in between.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.platform_app import migrated_app  # noqa: E402

DEPARTMENTS = [f"示范部门{i:02d}" for i in range(1, 41)]


def rows(n: int, now: Any, seed: int = 13) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        floor = rnd.choices(["permits", "convenience", "tendering"], weights=[5, 3, 2])[0]
        if floor == "permits":
            started = now - timedelta(days=rnd.randint(0, 9), hours=rnd.randint(0, 8))
            due = started + timedelta(days=7)
            kind, workdays = "desk_decision", True
        elif floor == "convenience":
            started = now - timedelta(minutes=rnd.randint(0, 40))
            due = started + timedelta(minutes=30)
            kind, workdays = "ticket_wait", False
        else:
            started = now - timedelta(days=rnd.randint(0, 20))
            due = started + timedelta(days=rnd.choice([1, 5, 20]), hours=rnd.randint(0, 12))
            kind, workdays = rnd.choice(["opening", "publicity", "objection_answer", "award"]), False
        closed = rnd.random() < 0.15
        closed_at = None
        if closed:
            closed_at = min(now, due + timedelta(hours=rnd.choice([-48, -2, 3]))) if due > started else now
            closed_at = max(closed_at, started)
        out.append(
            {
                "floor": floor,
                "kind": kind,
                "subject": f"bench:{i}",
                "key": "",
                "reference": f"B{i:07d}",
                "department": rnd.choice(DEPARTMENTS),
                "person_id": None,
                "started_at": started,
                "promised_due_at": due,
                "statutory_due_at": due,
                "counts_workdays": workdays,
                "state": "closed" if closed else "open",
                "opened_at": started,
                "opened_index": i,
                "closed_at": closed_at,
                "closed_index": i if closed else None,
                "light": "green",
                "fired_rules": [],
                "lights_done": False,
            }
        )
    return out


def _backend_pid(db: Any) -> int | None:
    from sqlalchemy import text

    return int(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _proc_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) the PostgreSQL backend `pid` has used: readable when the server runs on this
    machine (a figure the other processes' load disturbs less than the wall-clock time); NaN otherwise."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def run(backend: str, n: int) -> dict[str, Any]:
    from sqlalchemy import func, insert, select

    from app.core.db import db
    from app.core.reference import ensure_reference_data
    from app.core.time import FakeClock, now_utc, set_clock
    from app.permits.calendar import services as calendar
    from app.supervision import lights
    from app.supervision.models import ItemState, MonitoredItem, Signal

    previous_clock = None
    with migrated_app(backend, "supervision") as app:
        try:
            with app.app_context():
                ensure_reference_data()
                now = now_utc()
                previous_clock = set_clock(FakeClock(now))  # both sweeps at the data's instant, however long each takes
                calendar.seed(now.year - 1, now.year)  # what chinesecalendar knows; items due later are skipped, logged
                db.session.commit()
                started = time.perf_counter()
                data = rows(n, now)
                for k in range(0, n, 10_000):
                    db.session.execute(insert(MonitoredItem), data[k : k + 10_000])
                db.session.commit()
                load_s = time.perf_counter() - started
                open_items = db.session.scalar(
                    select(func.count(MonitoredItem.id)).where(MonitoredItem.state == ItemState.OPEN)
                )
            timings = []
            cpu = []
            results = []
            server_cpu = []
            for _ in range(2):
                with app.app_context():
                    backend_pid = _backend_pid(db) if backend == "postgresql" else None
                    s0 = _proc_cpu(backend_pid)
                    t0, c0 = time.perf_counter(), time.process_time()
                    result = lights.sweep_lights()
                    db.session.commit()
                    timings.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                    server_cpu.append(_proc_cpu(backend_pid) - s0)
                    results.append(result)
            with app.app_context():
                signals = db.session.scalar(select(func.count(Signal.id)))
            if results[1]["signals"] != 0:
                raise SystemExit(f"the second sweep fired {results[1]['signals']} signals: not idempotent")
            return {
                "backend": backend,
                "items": n,
                "open": open_items,
                "load_s": load_s,
                "timings": timings,
                "cpu": cpu,
                "server_cpu": server_cpu,
                "results": results,
                "signals": signals,
            }
        finally:
            if previous_clock is not None:
                set_clock(previous_clock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    r = run(args.backend, args.items)
    print(
        f"supervision lights sweep, {r['backend']}: {r['items']} monitored items ({r['open']} open), "
        f"loaded in {r['load_s']:.1f} s"
    )
    first, second = r["timings"]
    print(
        f"  first sweep : {first:6.2f} s, {r['cpu'][0]:.2f} s CPU in this process, "
        f"{r['server_cpu'][0]:.2f} s CPU in the database server's backend  "
        f"({r['results'][0]['signals']} signals: "
        f"{r['results'][0]['red']} red, {r['results'][0]['yellow']} yellow; "
        f"{r['results'][0]['done']} closed items judged)"
    )
    print(f"  steady sweep: {second:6.2f} s  ({r['results'][1]['items']} items re-read, 0 signals)")
    print(f"  target < 10 s: {'met' if max(first, second) < 10 else 'NOT met'}")
    print(f"  (load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
