"""Public tender portal over 10,000 tenders: p50/p95 of searches, tender pages and Atom feeds through the WSGI stack.

    .venv/bin/python bench/portal_bench.py [--tenders 10000] [--rounds 20] [--backend postgresql|sqlite|both]

Not part of the test run; prints figures. The issue's target: p95 < 150 ms on 10,000 tenders.

For each backend a fresh database is built through the migrations (bench/platform_app.migrated_app), the demo data
is seeded (its tenders are real: opened, in publicity, awarded, with their records), 40 buyers are created with
their regions through the services, and --tenders tenders are bulk-inserted as rows with a realistic mix of states
(open for bids, waiting for the opening, opened, failed, cancelled, awarded), categories, budgets (a fifth of them
secret), publication dates over two years, a publication version each, clarifications on a fifth, one or two
documents each. Then a mix of searches (filters alone and together, sorts, a deep page, no match), tender pages and
both feeds (plain and conditional) are sent --rounds times through the Flask test client (routing, argument checks,
queries, templates; no network). Each request's time is taken around the whole request; answers are checked.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import statistics
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.platform_app import migrated_app  # noqa: E402

DISTRICTS = ["丛台区", "复兴区", "邯山区", "肥乡区", "永年区", "峰峰矿区", "武安市", "涉县", "磁县", "临漳县"]
BUYERS = ["教育局", "交通运输局", "卫生健康委员会", "水利局", "住房和城乡建设局", "第一中学", "人民医院", "城市管理局"]
SUBJECTS = ["教学楼", "道路", "桥梁", "污水处理厂", "办公楼", "体育馆", "食堂", "排水管网", "绿化带", "图书馆"]
WORKS = ["改造工程", "新建工程", "维修工程", "提升改造项目"]
GOODS = ["设备采购", "办公家具采购", "医疗设备采购", "信息化设备采购"]
SERVICES = ["物业服务", "监理服务", "设计服务", "造价咨询服务"]
# (status, share): the mix of a platform some years in: most tenders closed, a tenth failed, a few cancelled.
MIX = [("open", 15), ("waiting", 5), ("opened", 15), ("failed", 10), ("cancelled", 5), ("awarded", 50)]

QUERIES: list[dict[str, Any]] = [
    {},
    {"q": "道路"},
    {"q": "GK2026"},
    {"q": "交通运输局"},
    {"region": "河北省邯郸市丛台区"},
    {"category": "goods", "status": "awarded"},
    {"status": "open", "sort": "deadline_asc"},
    {"published_from": "2026-01-01", "published_to": "2026-03-31"},
    {"budget_min": "1000000", "budget_max": "5000000", "sort": "budget_desc"},
    {"q": "改造", "category": "works", "region": "河北省邯郸市", "budget_min": "500000", "per_page": 50},
    {"deadline_from": "2026-06-01", "deadline_to": "2026-06-30", "sort": "deadline_desc"},
    {"page": 50},
    {"q": "没有这样的项目"},
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _buyers(rng: random.Random) -> list[tuple[int, str]]:
    """40 buyers, each with its region set through the portal's service (logged, like the CLI does)."""
    from app.accounts.services_organisations import create_organisation
    from app.core.db import db
    from app.publication.portal.services import set_buyer_region

    made = []
    for i in range(40):
        district = DISTRICTS[i % len(DISTRICTS)]
        name = f"邯郸市{district}{BUYERS[i % len(BUYERS)]}（{i + 1}）"
        org = create_organisation(actor="system:bench", name=name, kind="buyer", uscc=None)
        set_buyer_region(actor="system:bench", organisation_id=org.id, region=f"河北省邯郸市{district}")
        made.append((org.id, name))
    db.session.commit()
    rng.shuffle(made)
    return made


def bulk_insert(count: int, seed: int = 14) -> dict[str, Any]:
    """`count` tenders as rows, with their publication versions, some clarifications and their documents."""
    from sqlalchemy import insert, select

    from app.core.db import db
    from app.core.time import now_utc
    from app.tendering.models import EvaluationMethod, Tender, TenderDocument, TenderStatus, TenderVersion
    from app.tendering.terms import DEFAULT_BID_FORM, DEFAULT_ENVELOPES

    rng = random.Random(seed)
    demo = db.session.scalar(select(Tender).where(Tender.published_at.is_not(None)).limit(1))
    assert demo is not None, "the demo seeding makes tenders"
    buyers = _buyers(rng)
    now = now_utc()
    states = [state for state, share in MIX for _ in range(share)]
    status_of = {
        "open": TenderStatus.PUBLISHED,
        "waiting": TenderStatus.PUBLISHED,
        "opened": TenderStatus.OPENED,
        "failed": TenderStatus.FAILED,
        "cancelled": TenderStatus.CANCELLED,
        "awarded": TenderStatus.AWARDED,
    }
    rows = []
    for n in range(count):
        state = rng.choice(states)
        category = rng.choices(["construction", "goods", "services"], weights=[50, 30, 20])[0]
        kind = {"construction": WORKS, "goods": GOODS, "services": SERVICES}[category]
        buyer_id, buyer_name = rng.choice(buyers)
        if state == "open":
            published = now - timedelta(days=rng.uniform(0, 19))
            deadline = published + timedelta(days=20 + rng.randint(0, 10))
        elif state == "waiting":
            deadline = now - timedelta(hours=rng.uniform(1, 20))
            published = deadline - timedelta(days=20)
        else:
            published = now - timedelta(days=rng.uniform(25, 730))
            deadline = published + timedelta(days=20 + rng.randint(0, 10))
        opening = deadline if state != "waiting" else now + timedelta(hours=rng.uniform(1, 40))
        place = buyer_name.split("（")[0].removeprefix("邯郸市")
        rows.append(
            {
                "reference": f"GK{published.year}{n + 1:06d}",
                "title": f"{place}{rng.choice(SUBJECTS)}{rng.choice(kind)}",
                "buyer_id": buyer_id,
                "agency_id": demo.agency_id,
                "created_by_id": demo.created_by_id,
                "category": category,
                "description": "",
                "budget_amount": rng.randint(100_000, 500_000_000) * 100,
                "budget_currency": "CNY",
                "budget_secret": rng.random() < 0.2,
                "submission_deadline_at": deadline,
                "opening_at": opening,
                "min_bids": 3,
                "evaluation_method": rng.choice(list(EvaluationMethod)),
                "criteria": {},
                "envelopes": DEFAULT_ENVELOPES,
                "bid_form_schema": DEFAULT_BID_FORM,
                "custody_mode": "timed",
                "custody_threshold": 1,
                "custodian_ids": [],
                "platform_holds_share": True,
                "max_bid_size": 50 << 20,
                "status": status_of[state],
                "version": 1,
                "created_at": published - timedelta(days=2),
                "published_at": published,
                "cancelled_at": published + timedelta(days=5) if state == "cancelled" else None,
                "cancel_reason": "项目调整" if state == "cancelled" else None,
                "current_stage": 0 if state in ("open", "waiting", "cancelled") else 1,
                "closed_at": opening + timedelta(minutes=30) if state in ("opened", "failed", "awarded") else None,
                "failure_reason": "有效投标不足（流标）" if state == "failed" else None,
            }
        )
    started = time.perf_counter()
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(Tender), rows[start : start + 1000])
    db.session.flush()
    made = list(
        db.session.execute(
            select(Tender.id, Tender.published_at).where(Tender.reference.in_([r["reference"] for r in rows]))
        )
    )
    versions, documents = [], []
    for tid, published in made:
        versions.append({"tender_id": tid, "number": 1, "kind": "publication", "text": "", "changes": {},
                         "deadline_pushed": False, "created_at": published})  # fmt: skip
        if rng.random() < 0.2:
            versions.append({"tender_id": tid, "number": 2, "kind": "clarification", "text": "澄清：工程量清单更正",
                             "changes": {}, "deadline_pushed": False,
                             "created_at": published + timedelta(days=3)})  # fmt: skip
        for d in range(rng.choice((1, 2))):
            body = f"tender {tid} document {d}".encode()
            documents.append({"tender_id": tid, "name": f"招标文件{d + 1}.pdf", "object_key": f"bench/{tid}/{d}",
                              "sha256": hashlib.sha256(body).hexdigest(), "size": len(body),
                              "content_type": "application/pdf", "added_in_version": 1,
                              "uploaded_at": published})  # fmt: skip
    for table, batch in ((TenderVersion, versions), (TenderDocument, documents)):
        for start in range(0, len(batch), 2000):
            db.session.execute(insert(table), batch[start : start + 2000])
    db.session.commit()
    return {
        "tenders": len(made),
        "versions": len(versions),
        "documents": len(documents),
        "insert_s": time.perf_counter() - started,
        "ids": [tid for tid, _published in made],
    }


def run(backend: str, count: int, rounds: int) -> dict[str, Any]:
    from sqlalchemy import select, text

    from app.core.db import db
    from app.core.reference import ensure_reference_data, seed_demo_data
    from app.tendering.models import Tender, TenderStatus
    from app.tendering.services_tenders import PUBLIC_STATUSES

    with migrated_app(backend, "portal") as app:
        with app.app_context():
            started = time.perf_counter()
            ensure_reference_data()
            seed_demo_data()
            db.session.commit()
            demo_s = time.perf_counter() - started
            made = bulk_insert(count)
            if backend == "postgresql":
                db.session.execute(text("ANALYZE"))
                db.session.commit()
            total = db.session.scalar(
                select(db.func.count(Tender.id)).where(
                    Tender.status.in_(PUBLIC_STATUSES), Tender.published_at.is_not(None)
                )
            )
            demo_pages = list(
                db.session.scalars(
                    select(Tender.id).where(
                        Tender.status.in_([TenderStatus.OPENED, TenderStatus.AWARDED]), Tender.id.not_in(made["ids"])
                    )
                )
            )
        rng = random.Random(7)
        pages = [*demo_pages, *rng.sample(made["ids"], 20)]
        client = app.test_client()
        zh = {"Accept-Language": "zh-CN"}
        for _ in range(2):  # warm the caches (templates, statement cache) outside the figures
            client.get("/portal/", headers=zh)
            client.get(f"/portal/tenders/{pages[0]}", headers=zh)
            client.get("/portal/feeds/tenders.atom", headers=zh)
        times: dict[str, list[float]] = {"search": [], "tender page": [], "feed": [], "feed 304": []}
        per_query: dict[str, list[float]] = {}
        etags: dict[str, str] = {}

        def timed(kind: str, url: str, expect: int = 200, **kw: Any) -> Any:
            t0 = time.perf_counter()
            response = client.get(url, **kw)
            elapsed = time.perf_counter() - t0
            if response.status_code != expect:
                raise SystemExit(f"{url} {kw} → {response.status_code}")
            times[kind].append(elapsed)
            return response, elapsed

        for _ in range(rounds):
            for query in QUERIES:
                response, elapsed = timed("search", "/portal/", query_string=query, headers=zh)
                per_query.setdefault(str(query), []).append(elapsed)
            for tid in pages:
                timed("tender page", f"/portal/tenders/{tid}", headers=zh)
            for feed in ("tenders", "results"):
                response, _elapsed = timed("feed", f"/portal/feeds/{feed}.atom", headers=zh)
                etags[feed] = response.headers["ETag"]
                timed(
                    "feed 304", f"/portal/feeds/{feed}.atom", expect=304, headers={**zh, "If-None-Match": etags[feed]}
                )
        # The figures mean something only if the searches find what they should.
        shown = re.search(r'id="tender-count">([^<]*)', client.get("/portal/", headers=zh).text)
        if shown is None or re.search(rf"\b{total}\b", shown.group(1)) is None:
            raise SystemExit(f"the default search does not count the {total} public tenders")
        road = client.get("/portal/", query_string={"q": "道路"}, headers=zh).text
        if "道路" not in road:
            raise SystemExit("the keyword search finds nothing")
        return {"backend": backend, "total": total, "demo_s": demo_s, **made, "times": times, "per_query": per_query}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="postgresql")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"tender portal: {args.tenders} tenders bulk-inserted + the demo's, {len(QUERIES)} searches, "
          f"{args.rounds} rounds")  # fmt: skip
    for backend in backends:
        r = run(backend, args.tenders, args.rounds)
        print(
            f"\n{backend}: {r['total']} tenders ({r['tenders']} inserted in {r['insert_s']:.1f} s with "
            f"{r['versions']} versions and {r['documents']} documents; demo seeded in {r['demo_s']:.1f} s)"
        )
        worst = 0.0
        for kind, values in r["times"].items():
            ms = [v * 1000 for v in values]
            p95 = percentile(ms, 95)
            worst = max(worst, p95)
            print(f"  {kind:12} n={len(ms):4}  p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms")
        print("  searches, each:")
        for query, values in r["per_query"].items():
            ms = [v * 1000 for v in values]
            print(f"    p50 {statistics.median(ms):6.1f} ms  p95 {percentile(ms, 95):6.1f} ms  {query}")
        print(f"  target p95 < 150 ms: {'met' if worst < 150 else 'NOT met'} (worst p95 {worst:.1f} ms)")


if __name__ == "__main__":
    main()
