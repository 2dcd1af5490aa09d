"""The supervision statistics over a million events on PostgreSQL: the page's queries and the CSV, p50 and p95.

    .venv/bin/python bench/supervision_stats_bench.py [--events 1000000] [--days 730] [--repeat 5]

Not part of the test run; prints figures. The issue's target: the statistics queries over one million events with
p95 < 500 ms.

A fresh database is built through the migrations (a new database on 127.0.0.1:5432, trust auth, dropped at the end).
The events are what the statistics count: monitored items (matters taken in and closed, with their promised times;
90 %) and 好差评 ratings (10 %), spread over --days days up to now (today's share as heavy as any other day's),
written with COPY. Then the nightly aggregation stores every past day (timed once: the first night's backfill),
and the statistics are asked for as the page and the CSV do: every period unit (day, week, month, quarter, year)
× every scope (all floors, one floor, one department, a department head's three departments), --repeat times
each, through the view functions themselves (a signed-in supervisor in a request context: the form, the
department list, today's live figures, the stored history, 同比/环比, the template or the CSV). Each request is
timed on its own; p50 and p95 are printed for the page and the CSV, with the slowest case.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.platform_app import migrated_app  # noqa: E402

DEPARTMENTS = [f"示范部门{i:02d}" for i in range(1, 41)]
LEVELS = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"]
ITEM_COLUMNS = (
    "floor, kind, subject, key, reference, department, started_at, promised_due_at, counts_workdays, state, "
    "opened_at, opened_index, closed_at, closed_index, light, fired_rules, lights_done"
)
RATING_COLUMNS = (
    "subject_kind, subject_id, reference, level, comment, rated_at, closed_at, department, department_en, is_excluded"
)


def _items(n: int, now: datetime, days: int, rnd: random.Random) -> Any:
    span = days * 86400
    for i in range(n):
        floor = rnd.choices(["permits", "convenience", "tendering"], weights=[5, 4, 1])[0]
        opened = now - timedelta(seconds=rnd.randrange(span))
        if floor == "permits":
            kind, promise = "desk_decision", timedelta(days=7)
        elif floor == "convenience":
            kind, promise = "ticket_wait", timedelta(minutes=30)
        else:
            kind, promise = "award", timedelta(days=5)
        closed = None
        if rnd.random() < 0.85:
            closed = min(now, opened + promise * rnd.choice([0.2, 0.6, 0.9, 1.3]))
        yield (
            floor,
            kind,
            f"bench:{i}",
            "",
            f"B{i:07d}",
            rnd.choice(DEPARTMENTS),
            opened,
            opened + promise,
            floor == "permits",
            "closed" if closed else "open",
            opened,
            i + 1,
            closed,
            i + 1 if closed else None,
            "green",
            "[]",
            closed is not None,
        )


def _ratings(n: int, now: datetime, days: int, rnd: random.Random) -> Any:
    span = days * 86400
    for i in range(n):
        at = now - timedelta(seconds=rnd.randrange(span))
        kind = rnd.choices(["ticket", "application"], weights=[7, 3])[0]
        yield (
            kind,
            i + 1,
            f"R{i}",
            rnd.choices(LEVELS, weights=[50, 30, 12, 5, 3])[0],
            "",
            at,
            at,
            rnd.choice(DEPARTMENTS),
            "",
            rnd.random() < 0.01,
        )


def load(app: Any, events: int, days: int) -> tuple[int, int, float]:
    """COPY the events in; returns (items, ratings, seconds)."""
    from app.core.db import db
    from app.core.time import now_utc

    rnd = random.Random(7)
    n_ratings = events // 10
    n_items = events - n_ratings
    now = now_utc()
    started = time.perf_counter()
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY supervision_items ({ITEM_COLUMNS}) FROM STDIN") as copy:
                for row in _items(n_items, now, days, rnd):
                    copy.write_row(row)
            with cur.copy(f"COPY convenience_ratings ({RATING_COLUMNS}) FROM STDIN") as copy:
                for row in _ratings(n_ratings, now, days, rnd):
                    copy.write_row(row)
            raw.commit()
            cur.execute("ANALYZE supervision_items")
            cur.execute("ANALYZE convenience_ratings")
            raw.commit()
        finally:
            raw.close()
    return n_items, n_ratings, time.perf_counter() - started


def _supervisor(app: Any) -> tuple[int, int]:
    """A supervisor without the TOTP step (a role holding supervision.watch only) and a head of three departments."""
    from app.accounts.models import Role, User
    from app.core.db import db
    from app.supervision.models import DepartmentHead
    from app.supervision.permissions import WATCH

    with app.app_context():
        role = Role(name="bench-watch", label_en="Bench", label_zh="测试", permissions=[WATCH], requires_totp=False)
        watcher = User(username="bench-watch", display_name="监察", password_hash="x", roles=[role])
        head = User(username="bench-head", display_name="部门负责人", password_hash="x")
        db.session.add_all([role, watcher, head])
        db.session.flush()
        for name in DEPARTMENTS[:3]:
            db.session.add(DepartmentHead(user_id=head.id, department=name))
        db.session.commit()
        return int(watcher.id), int(head.id)


def _time(app: Any, user_id: int, path: str, view: Any) -> float:
    from flask_login import login_user

    from app.accounts.models import User
    from app.core.db import db

    with app.test_request_context(path, headers={"Accept-Language": "zh-CN"}):
        login_user(db.session.get(User, user_id))
        t0 = time.perf_counter()
        out = view()
        body = out[0] if isinstance(out, tuple) else out
        size = len(body if isinstance(body, str) else body.get_data())
        elapsed = time.perf_counter() - t0
        db.session.rollback()
        assert size > 300, (path, size)  # a page, or a CSV with its header and periods
    return elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(events: int, days: int, repeat: int) -> dict[str, Any]:
    from app.core.db import db
    from app.supervision.stats import aggregate
    from app.supervision.stats import views as stats_views

    with migrated_app("postgresql", "stats") as app:
        n_items, n_ratings, load_s = load(app, events, days)
        with app.app_context():
            t0 = time.perf_counter()
            backfill = aggregate.sweep_days()
            db.session.commit()
            backfill_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            aggregate.sweep_days()
            db.session.commit()
            nightly_s = time.perf_counter() - t0
        watcher, head = _supervisor(app)
        cases = []
        for unit in ("day", "week", "month", "quarter", "year"):
            for label, query, who in (
                ("all", "", watcher),
                ("permits", "&floor=permits", watcher),
                ("department", f"&department={DEPARTMENTS[5]}", watcher),
                ("head", "", head),
            ):
                cases.append((f"{unit}/{label}", f"unit={unit}{query}", who))
        page: dict[str, list[float]] = {}
        csv: dict[str, list[float]] = {}
        for _ in range(repeat):
            for name, query, who in cases:
                page.setdefault(name, []).append(_time(app, who, f"/supervision/statistics/?{query}", stats_views.page))
                csv.setdefault(name, []).append(
                    _time(app, who, f"/supervision/statistics/export.csv?{query}", stats_views.export)
                )
        return {
            "items": n_items,
            "ratings": n_ratings,
            "load_s": load_s,
            "backfill": backfill,
            "backfill_s": backfill_s,
            "nightly_s": nightly_s,
            "page": page,
            "csv": csv,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    r = run(args.events, args.days, args.repeat)
    print(
        f"supervision statistics, PostgreSQL: {r['items']:,} monitored items + {r['ratings']:,} ratings over "
        f"{args.days} days, COPYed in {r['load_s']:.1f} s"
    )
    print(
        f"  nightly aggregation: first night (backfill of {r['backfill']['days']} days, {r['backfill']['rows']} rows) "
        f"{r['backfill_s']:.1f} s; an ordinary night (the last 7 days again) {r['nightly_s']:.2f} s"
    )
    for what in ("page", "csv"):
        samples = [v for values in r[what].values() for v in values]
        worst = max(r[what].items(), key=lambda kv: pct(kv[1], 0.95))
        print(
            f"  {what:4}: {len(samples)} requests, p50 {1000 * statistics.median(samples):.0f} ms, "
            f"p95 {1000 * pct(samples, 0.95):.0f} ms, max {1000 * max(samples):.0f} ms "
            f"(slowest case {worst[0]}: p95 {1000 * pct(worst[1], 0.95):.0f} ms)"
        )
    p95 = max(pct([v for values in r[w].values() for v in values], 0.95) for w in ("page", "csv"))
    print(f"  target p95 < 500 ms: {'met' if p95 < 0.5 else 'NOT met'}")
    print(f"  (load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main()
