"""The production topology under faults at full size (issue 15 §3): 50 bidders, five experts, S3 down 20 s.

    .venv/bin/python bench/prodlike_faults.py [--bidders 50] [--experts 5] [--s3-outage 20] [--bid-size 5.3M]
                                              [--rush-window 40] [--deadline-after 300] [--dir DIR]

The same scenario as tests/integration/test_prodlike.py (its CI-sized version: 8 bidders, five experts, S3
down 10 s), on the same topology (deploy/prodlike.py): publish; the bidders seal and upload over the rush window
while one web process is killed and S3 is stopped; the opening with the worker running it killed; evaluation
with PostgreSQL restarted in the middle of the scoring; publicity; the award. Prints the observations as JSON:
timings, the faults as inflicted, every non-success answer the clients saw by kind, receipts verified offline,
`flask audit verify`, the recorder's segments. Everything is torn down afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bidders", type=int, default=50)
    parser.add_argument("--experts", type=int, default=5)
    parser.add_argument("--s3-outage", type=float, default=20.0)
    parser.add_argument("--bid-size", default="5.3M", help="plain size of each bid (two chunks on S3)")
    parser.add_argument("--rush-window", type=float, default=40.0, help="the bidders start spread over it")
    parser.add_argument("--deadline-after", type=float, default=300.0, help="seconds from publication")
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()

    from tests.integration.test_prodlike import Sizes, load_topology_module, run_scenario

    sizes = Sizes(
        bidders=args.bidders,
        experts=args.experts,
        bid_bytes=parse_size(args.bid_size),
        rush_window=args.rush_window,
        s3_outage=args.s3_outage,
        deadline_after=args.deadline_after,
    )
    work = Path(tempfile.mkdtemp(prefix="prodlike-faults-", dir=args.dir))
    prodlike = load_topology_module()
    env = {"APP_TENDER_MIN_DAYS_TO_DEADLINE": "0", "APP_EVALUATION_PUBLICITY_DAYS": str(10 / 86400)}
    topo = prodlike.Topology(work / "prodlike", env=env)
    saved = dict(os.environ)
    try:
        topo.start()
        result = run_scenario(topo, sizes, work / "verify")
    finally:
        topo.stop()
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
