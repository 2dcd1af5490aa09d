"""CPU and SQL statements per request of the peak day's busy paths, in-process (no HTTP, no other clients), so two
trees can be compared on a shared, noisy machine where the wall-clock peak bench cannot:

    .venv/bin/python bench/convenience_request_cost.py TREE [N]   # TREE: this checkout or another's worktree

The stack of bench/bid_bench.py (PostgreSQL, SeaweedFS), the bench floor and staff of convenience_peak_bench.py;
then N ticket issues, N call+serve pairs, hotline requests and hall reads through the WSGI app's test client.
PROFILE=issue|call+serve|hotline|hall prints a cProfile of that phase; STMTS=1 the statements per request.
"""

import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve()
N = int(sys.argv[2]) if len(sys.argv) > 2 else 300
PROFILE = os.environ.get("PROFILE")
os.chdir(ROOT)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
warnings.filterwarnings("ignore")
import convenience_peak_bench as B  # noqa: E402
from bid_bench import Stack  # noqa: E402

work = Path(tempfile.mkdtemp(prefix="peak-drive-"))
stack = Stack(work)
try:
    stack.start()
    staff, operators = B.setup(stack, 30, 4)
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app()
    client = app.test_client()
    count = [0]
    stmts = {}
    with app.app_context():
        eng = db.engine

    @event.listens_for(eng, "before_cursor_execute")
    def _c(conn, cursor, statement, params, context, executemany):
        count[0] += 1
        key = statement.split("\n")[0][:110]
        stmts[key] = stmts.get(key, 0) + 1

    import random

    rng = random.Random(7)
    codes = list(B.WEIGHTS)
    weights = [B.WEIGHTS[c] for c in codes]
    plan = rng.choices(codes, weights=weights, k=N)

    def measure(name, fn, n):
        # warm up
        fn(0)
        count[0] = 0
        stmts.clear()
        prof = cProfile.Profile() if name == PROFILE else None
        c0 = time.process_time()
        w0 = time.perf_counter()
        if prof:
            prof.enable()
        for i in range(1, n):
            fn(i)
        if prof:
            prof.disable()
        c1 = time.process_time()
        w1 = time.perf_counter()
        print(
            f"{name}: {n - 1} requests, CPU {1000 * (c1 - c0) / (n - 1):.2f} ms/req, "
            f"wall {1000 * (w1 - w0) / (n - 1):.2f} ms/req, {count[0] / (n - 1):.1f} queries/req"
        )
        if os.environ.get("STMTS"):
            for k, v in sorted(stmts.items(), key=lambda kv: -kv[1])[:25]:
                print(f"   {v / (n - 1):5.2f}  {k}")
        if prof:
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(45)
            print(s.getvalue())

    def issue(i):
        r = client.post(
            "/api/v1/convenience/tickets",
            json={"service": plan[i], "channel": "kiosk"},
            headers={"Accept": "application/json"},
        )
        assert r.status_code == 201, r.get_data(as_text=True)

    measure("issue", issue, N)

    def callserve(i):
        wid, tok = staff[i % len(staff)]
        h = {"Authorization": f"Bearer {tok}", "Accept": "application/json"}
        r = client.post(f"/api/v1/convenience/windows/{wid}/call", json={}, headers=h)
        if r.status_code == 409:
            return
        assert r.status_code == 200, r.get_data(as_text=True)
        r = client.post(f"/api/v1/convenience/windows/{wid}/serve", json={}, headers=h)
        assert r.status_code == 200, r.get_data(as_text=True)

    measure("call+serve", callserve, N)
    if operators:

        def hot(i):
            r = client.post(
                "/api/v1/convenience/interaction/hotline",
                json={
                    "kind": "consultation",
                    "category": "social-security",
                    "name": "张先生",
                    "phone": f"138{i:08d}",
                    "body": "咨询社保卡补办需要带哪些材料，办理时间多长。",
                },
                headers={"Authorization": f"Bearer {operators[0]}", "Accept": "application/json"},
            )
            assert r.status_code in (200, 201), r.get_data(as_text=True)

        measure("hotline", hot, min(N, 200))

    def hall(i):
        r = client.get("/api/v1/convenience/hall", headers={"Accept": "application/json"})
        assert r.status_code == 200

    measure("hall", hall, 100)
finally:
    stack.stop()
