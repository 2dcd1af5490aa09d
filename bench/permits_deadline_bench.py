"""The permits deadline sweep over N open cases with their steps: seconds for a first sweep and a steady one.

    .venv/bin/python bench/permits_deadline_bench.py [--cases 100000] [--backend postgresql|sqlite]

Not part of the test run; prints figures. The issue's target (issue 11, bench/): the deadline sweep over 100,000
open cases with their steps on PostgreSQL in < 10 s.

A fresh database is built through the migrations (PostgreSQL: a new database on 127.0.0.1:5432, trust auth, dropped
at the end), the demo catalogue and the working-day calendar are loaded, and N accepted cases are inserted in bulk,
each with its five steps (受理 done, 审查 running, or 决定 running for a fifth of them, the rest pending) — about
8 % with the running step past its due instant, 4 % past the promised date, 2 % past the statutory one, 5 % with
the clock stopped (a hearing) and past every date, which the sweep must leave alone. Then the sweep as the beat
runs it (one transaction, committed): the first run flags the backlog (one evidence entry per flag); the second,
at the same instant, finds nothing (the steady state of every ten minutes). The clock stands still at the instant
the cases were made (app.core.time.FakeClock).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.platform_app import migrated_app  # noqa: E402

KINDS = ("acceptance", "review", "decision", "production", "delivery")


def build(n: int, now: datetime, items: list[tuple[int, int]], seed: int = 11) -> tuple[list[dict[str, Any]], Any]:
    rnd = random.Random(seed)
    today = now.date()
    apps = []
    plan = []
    for i in range(n):
        item_id, department_id = rnd.choice(items)
        accepted = today - timedelta(days=rnd.randint(0, 30))
        r = rnd.random()
        paused = r < 0.05
        promised_late = 0.05 <= r < 0.09
        statutory_late = 0.09 <= r < 0.11
        step_late = paused or promised_late or statutory_late or 0.11 <= r < 0.17
        promised = accepted + timedelta(days=rnd.randint(20, 40))
        statutory = promised + timedelta(days=20)
        if promised_late or paused:
            promised = today - timedelta(days=rnd.randint(1, 5))
        if statutory_late or paused:
            promised = today - timedelta(days=rnd.randint(6, 9))
            statutory = today - timedelta(days=rnd.randint(1, 5))
        received = datetime.combine(accepted, datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
        apps.append(
            {
                "number": f"SQB{i:09d}",
                "tracking_token": f"t{i:020d}",
                "item_id": item_id,
                "applicant_kind": "enterprise",
                "applicant_name": f"示范企业{i}",
                "applicant_code": "91130400MA0000012X",
                "contact_phone": "",
                "answers": {},
                "channel": "online",
                "received_at": received,
                "clock_started_at": received,
                "status": "accepted",
                "decided_at": received,
                "case_number": f"B{i:09d}",
                "accepted_on": accepted,
                "statutory_due": statutory,
                "promised_due": promised,
                "clock_paused_at": now - timedelta(days=2) if paused else None,
                "joint_mode": "notify",
            }
        )
        running = 2 if rnd.random() < 0.2 else 1
        due_at = now - timedelta(hours=rnd.randint(1, 48)) if step_late else now + timedelta(days=rnd.randint(1, 9))
        plan.append((department_id, received, running, due_at))
    return apps, plan


def run(backend: str, n: int) -> dict[str, Any]:
    from sqlalchemy import func, insert, select

    from app.core.db import db
    from app.core.reference import ensure_reference_data
    from app.core.time import FakeClock, now_utc, set_clock
    from app.permits.calendar import services as calendar
    from app.permits.cases import clock
    from app.permits.cases.models import Application
    from app.permits.cases.processing_models import CaseStep
    from app.permits.catalogue import services as catalogue
    from app.permits.catalogue.models import Item

    previous_clock = None
    with migrated_app(backend, "permits_deadlines") as app:
        try:
            with app.app_context():
                ensure_reference_data()
                now = now_utc()
                previous_clock = set_clock(FakeClock(now))
                catalogue.load_catalogue_file(catalogue.DEMO_CATALOGUE, actor="system:bench")
                calendar.seed(now.year - 1, now.year)
                db.session.commit()
                items = [(r[0], r[1]) for r in db.session.execute(select(Item.id, Item.department_id))]
                started = time.perf_counter()
                apps, plan = build(n, now, items)
                ids: list[int] = []
                for k in range(0, n, 5_000):
                    ids += list(db.session.scalars(insert(Application).returning(Application.id), apps[k : k + 5_000]))
                steps = []
                for app_id, (department_id, received, running, due_at) in zip(ids, plan, strict=True):
                    for position, kind in enumerate(KINDS):
                        status = "done" if position < running else "open" if position == running else "pending"
                        steps.append(
                            {
                                "application_id": app_id,
                                "kind": kind,
                                "position": position,
                                "status": status,
                                "share_days": 2,
                                "department_id": department_id,
                                "started_at": received if position <= running else None,
                                "due_on": due_at.date() if position == running else None,
                                "due_at": due_at if position == running else None,
                                "finished_at": received if position < running else None,
                            }
                        )
                for k in range(0, len(steps), 20_000):
                    db.session.execute(insert(CaseStep), steps[k : k + 20_000])
                db.session.commit()
                if backend == "postgresql":
                    from sqlalchemy import text

                    db.session.execute(text("ANALYZE"))
                    db.session.commit()
                load_s = time.perf_counter() - started
                open_cases = db.session.scalar(select(func.count(Application.id)))
            timings, results = [], []
            for _ in range(2):
                with app.app_context():
                    t0 = time.perf_counter()
                    result = clock.sweep_deadlines()
                    db.session.commit()
                    timings.append(time.perf_counter() - t0)
                    results.append(result)
            if any(results[1].values()):
                raise SystemExit(f"the second sweep flagged {results[1]}: not idempotent")
            return {
                "backend": backend,
                "cases": n,
                "open": open_cases,
                "steps": len(steps),
                "load_s": load_s,
                "timings": timings,
                "results": results,
            }
        finally:
            if previous_clock is not None:
                set_clock(previous_clock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    r = run(args.backend, args.cases)
    print(
        f"permits deadline sweep, {r['backend']}: {r['open']} open cases with {r['steps']} steps, "
        f"loaded in {r['load_s']:.1f} s"
    )
    first, second = r["timings"]
    f = r["results"][0]
    print(
        f"  first sweep : {first:6.2f} s  (flagged {f['steps']} steps past due, {f['promised']} cases past the "
        f"promised date, {f['statutory']} past the statutory one; paused cases left alone)"
    )
    print(f"  steady sweep: {second:6.2f} s  (nothing new)")
    print(f"  target < 10 s: {'met' if max(first, second) < 10 else 'NOT met'}")
    print(f"  (load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
